"""``yangguang check``: validate a whole catalogue and report every problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, EXIT_USER


def cmd_check(args: argparse.Namespace) -> int:
    from engine.check import report

    result = common.load(args.catalog, use_cache=not args.no_cache, full=False, args=args)
    sys.stdout.write(report.as_json(result) if args.format == "json" else report.text(result, strict=args.strict))
    return EXIT_OK if result.clean(strict=args.strict) else EXIT_USER


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    c = sub.add_parser("check", parents=[catalog], help="validate a whole catalogue and report every problem")
    c.add_argument("dir", nargs="?", type=Path, help="catalogue directory (same as --catalog)")
    c.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    c.add_argument("--no-cache", action="store_true", help="re-read every file instead of using the content cache")
    c.add_argument(
        "--strict", action="store_true", help="treat warnings (e.g. elements a guide does not state) as errors: exit 1"
    )
    c.set_defaults(func=cmd_check)
