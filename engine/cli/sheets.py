"""``yangguang import xlsx|csv`` and ``yangguang export xlsx``: the 实施清单 spreadsheet in and out.

Every problem is printed as ``FILE.xlsx!Sheet!C12: error[kind]: message`` (a cell; ``!12`` a whole row,
``!Sheet`` a whole sheet), all at once; exit 1 and nothing written unless ``--partial``. The work is
engine.interchange's; this module reads the options and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli.errors import EXIT_OK, EXIT_USER, UserError


def _mapping(path: Path | None) -> Any:
    from engine.interchange.sheet_mapping import MappingError, load

    try:
        return load(path)
    except MappingError as exc:
        raise UserError("the mapping file does not check:\n" + "\n".join(exc.problems)) from None


def _catalogue_dir(path: Path) -> Path:
    if not (path / "center.yaml").is_file():
        raise UserError(f"{path} is not a catalogue (it has no center.yaml); name a catalogue directory")
    return path


def cmd_import(args: argparse.Namespace) -> int:
    from engine.interchange import sheet_import
    from engine.interchange.sheet_files import UnreadableFile

    root = _catalogue_dir(args.into)
    mapping = _mapping(args.mapping)
    try:
        if args.import_command == "xlsx":
            if not args.file.is_file():
                raise UserError(f"no file {args.file}")
            source = sheet_import.from_xlsx(args.file)
        else:
            missing = [p for p in args.files if not p.exists()]
            if missing:
                raise UserError(f"no file or directory {missing[0]}")
            source = sheet_import.from_csv(args.files)
    except UnreadableFile as exc:
        sys.stderr.write(exc.problem.render() + "\n")
        return EXIT_USER
    outcome = sheet_import.import_items(source, root, mapping, partial=args.partial, write=not args.dry_run)
    for p in outcome.problems:
        sys.stderr.write(p.render() + "\n")
    return _summary(outcome, root, args.dry_run)


def _summary(outcome: Any, root: Path, dry_run: bool) -> int:
    """What was (or would be) written, what was kept of the files rewritten, and the exit code."""
    errors = len(outcome.errors)
    if outcome.skipped:
        sys.stderr.write(
            f"skipped {len(outcome.skipped)} item(s) with errors: {', '.join(c or '?' for c in outcome.skipped)}\n"
        )
    if outcome.no_rows and not errors:
        sys.stderr.write("the items sheet has no item rows (only its header); nothing written\n")
        return EXIT_USER
    if not outcome.written:
        hint = "" if outcome.skipped else " (fix them, or pass --partial to write the items without errors)"
        sys.stderr.write(f"{errors} error(s); nothing written{hint}\n")
        return EXIT_USER
    for code, kept in sorted(outcome.kept.items()):
        sys.stdout.write(f"{code}: kept from its file (the sheet does not carry them): {', '.join(kept)}\n")
    verb = "would write" if dry_run else "wrote"
    sys.stdout.write(
        f"{verb} {len(outcome.written)} item file(s) into {root}: {outcome.new} new, {outcome.rewritten} rewritten\n"
    )
    return EXIT_USER if errors else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from engine.check import report
    from engine.check.pipeline import load
    from engine.interchange.sheet_export import export

    root = _catalogue_dir(args.dir)
    mapping = _mapping(args.mapping)
    result = load(root, None, full=True)
    if not result.ok:
        raise UserError("the catalogue does not check; fix it first:\n" + report.text(result).rstrip("\n"))
    if args.out.suffix.lower() != ".xlsx":
        raise UserError(f"{args.out}: the output file's name must end in .xlsx")
    try:
        done = export(result.catalogue, mapping, args.out)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot write {args.out}: {exc}") from None
    rows = ", ".join(f"{name} {n}" for name, n in done.rows.items())
    sys.stdout.write(f"wrote {done.items} items to {args.out} ({rows} rows)\n")
    if done.inexact:
        sys.stderr.write(
            f"warning: the mapping has no 扩展（YAML） column for what the other columns cannot hold; "
            f"{len(done.inexact)} item(s) will not import back exactly: {', '.join(done.inexact)}\n"
        )
    return EXIT_OK


def _mapping_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mapping", type=Path, default=None, help="column mapping YAML file (default: the national element names)"
    )


def add_import_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    """Register ``import xlsx`` and ``import csv``."""
    x = sub.add_parser("xlsx", help="import an 实施清单 workbook (.xlsx) into item YAML files")
    x.add_argument("file", type=Path, metavar="FILE.xlsx")
    c = sub.add_parser(
        "csv", help="import an 实施清单 saved as CSV files (one per sheet, named 事项.csv, 申请材料.csv…)"
    )
    c.add_argument("files", type=Path, nargs="+", metavar="PATH", help="a directory of .csv files, or the files")
    for p in (x, c):
        p.add_argument("--into", type=Path, required=True, metavar="DIR", help="the catalogue (has center.yaml)")
        _mapping_option(p)
        p.add_argument("--partial", action="store_true", help="write the items without errors; name the others")
        p.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
        p.set_defaults(func=cmd_import)


def add_export_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    """Register ``export xlsx``."""
    x = sub.add_parser("xlsx", help="write the catalogue's items as an 实施清单 workbook (.xlsx)")
    x.add_argument("dir", type=Path, metavar="DIR", help="the catalogue directory")
    x.add_argument("out", type=Path, metavar="OUT.xlsx")
    _mapping_option(x)
    x.set_defaults(func=cmd_export)
