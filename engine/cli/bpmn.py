"""``yangguang export bpmn``: an item's steps or a chain's stages as BPMN 2.0 XML with diagram interchange."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, UserError

if TYPE_CHECKING:
    from engine.catalogue.model import Catalogue
    from engine.interchange.bpmn import Exported


def cmd_export_bpmn(args: argparse.Namespace) -> int:
    from engine.interchange import bpmn

    if (args.name is None) == (args.all_to is None):
        raise UserError("name one item code or chain id, or give --all DIR (one file per item and chain)")
    cat = common.checked(args.catalog)
    if args.all_to is not None:
        files = bpmn.export_all(cat, args.dialect)
        _write_all(files, args.all_to)
        chains = sum(f.filename.endswith(".chain.bpmn") for f in files)
        print(f"wrote {len(files)} BPMN files to {args.all_to}: {len(files) - chains} items, {chains} chains")
        return EXIT_OK
    name = _known(cat, args.name)
    exported = bpmn.export(cat, name, args.dialect)
    if args.output is None:
        sys.stdout.buffer.write(exported.xml)
        return EXIT_OK
    target = args.output / exported.filename if args.output.is_dir() else args.output
    _write(target, exported.xml)
    print(f"wrote {target} (process {exported.process_id})")
    return EXIT_OK


def _known(cat: Catalogue, name: str) -> str:
    """The item code or chain id as given, else the code of the item with that exact name; UserError with
    close matches and where to find the codes and chains otherwise."""
    import difflib

    if name in cat.items or name in cat.chains:
        return name
    by_name = [code for code, doc in cat.items.items() if cat.data(doc)["name"] == name]
    if by_name:
        return by_name[0]
    close = difflib.get_close_matches(name, [*cat.items, *cat.chains], n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    chains = ", ".join(sorted(cat.chains)) or "none"
    raise UserError(f"no item or chain {name!r}; {hint}`yangguang list` lists the item codes; the chains are: {chains}")


def _write(target: Path, xml: bytes) -> None:
    try:
        target.write_bytes(xml)
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _write_all(files: list[Exported], folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file; --all needs a folder to write one file per item and chain into")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    for exported in files:
        _write(folder / exported.filename, exported.xml)


def add_export_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    """Register ``export bpmn``."""
    p = sub.add_parser(
        "bpmn",
        parents=[catalog],
        help="write an item's steps or a chain's stages as BPMN 2.0 XML with diagram interchange",
        description="Write BPMN 2.0 XML (with diagram interchange, for Camunda Modeler, bpmn.io and SpiffWorkflow): "
        "an item as a process of user tasks with its limits as timers, a chain as call activities of its items' "
        "processes. Working-day limits are exact in the yangguang:limit extension (ISO 8601 has no working days).",
    )
    # the same names as engine.interchange.bpmn.DIALECTS, which the CLI imports only when it runs
    p.add_argument(
        "--dialect",
        choices=("standard", "spiffworkflow"),
        default="standard",
        help="how timers are written: standard ISO 8601 literals (P5D; Camunda, bpmn.io, Flowable), "
        'or quoted Python strings ("P5D"), which stock SpiffWorkflow evaluates; default standard',
    )
    p.add_argument("name", nargs="?", help="item code (or exact item name) or chain id")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="file to write (an existing folder: CODE.bpmn in it); default: standard output",
    )
    # dest is not ``dir``: common.resolve_catalog reads an ``args.dir`` as the catalogue (``check DIR``)
    p.add_argument("--all", dest="all_to", type=Path, metavar="DIR",
                   help="write every item (CODE.bpmn) and chain (ID.chain.bpmn) into DIR")  # fmt: skip
    p.set_defaults(func=cmd_export_bpmn)
