"""``yangguang import`` and ``yangguang export``: the catalogue in and out of spreadsheets and BPMN.

The two groups are assembled here; each format registers its own actions (engine.cli.sheets for xlsx and
CSV, engine.cli.bpmn for BPMN 2.0), so a format's options and messages live in one module.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli import bpmn, sheets


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    imp = sub.add_parser("import", help="turn an 实施清单 spreadsheet (xlsx or CSV) into item YAML files")
    isub = imp.add_subparsers(dest="import_command", required=True, metavar="FORMAT")
    sheets.add_import_parsers(isub, catalog)
    exp = sub.add_parser("export", help="write the catalogue as an 实施清单 spreadsheet or as BPMN 2.0 diagrams")
    esub = exp.add_subparsers(dest="export_command", required=True, metavar="FORMAT")
    sheets.add_export_parsers(esub, catalog)
    bpmn.add_export_parsers(esub, catalog)
