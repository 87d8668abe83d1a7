"""The ``yangguang`` command: the parser assembled from one module per command group, and ``main``.

Each command module registers its sub-commands with ``add_parsers(sub, catalog)`` (``catalog`` is the
parent parser that gives ``--catalog``) and imports the engine only inside its commands, so building the
parser stays cheap. Exit codes and the mapping of exceptions to them: engine.cli.errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine import __version__
from engine.cli import (
    audit,
    check,
    common,
    db,
    diff,
    edit,
    errors,
    interchange,
    items,
    notify,
    serve,
    simulate,
    users,
)

#: in the order ``yangguang --help`` lists their commands
GROUPS = (check, items, audit, simulate, users, serve, notify, db, diff, edit, interchange)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yangguang", description="阳光 Yangguang: check and serve an approval catalogue.")
    p.add_argument("--version", action="version", version=f"yangguang {__version__}")
    catalog = common.catalog_option()
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub, catalog)
    return p


def _command(args: argparse.Namespace) -> int:
    common.resolve_catalog(args)  # which catalogue the command reads; a UserError like the command's own
    code: int = args.func(args)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return errors.run(_command, args)


if __name__ == "__main__":
    sys.exit(main())
