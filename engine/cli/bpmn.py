"""``yangguang export bpmn``: an item's steps or a chain's stages as BPMN 2.0 XML with diagram interchange."""

from __future__ import annotations

import argparse
from typing import Any


def add_export_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    """Register ``export bpmn`` (being built: issue 20)."""
