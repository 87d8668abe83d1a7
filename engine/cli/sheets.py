"""``yangguang import xlsx|csv`` and ``yangguang export xlsx``: the 实施清单 spreadsheet in and out."""

from __future__ import annotations

import argparse
from typing import Any


def add_import_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    """Register ``import xlsx`` and ``import csv`` (being built: issue 20)."""


def add_export_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    """Register ``export xlsx`` (being built: issue 20)."""
