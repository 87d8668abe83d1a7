"""``yangguang edit`` and ``yangguang new item --like``: the commands over engine.authoring.edit.

Expected problems raise engine.cli.errors.UserError (exit 1, a clean message); the library never prints,
this module does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.errors import EXIT_OK, UserError

if TYPE_CHECKING:  # the commands import the library when they run: ruamel.yaml would slow every start
    from engine.authoring import edit as lib
    from engine.base.result import Problem
    from engine.catalogue.model import CheckResult

#: engine.authoring.new_item.NAME_MARK, written out so that building the parser imports nothing
NAME_MARK = "（副本，请改名）"

EDIT_EPILOG = """\
examples:
  yangguang edit QQ-PSB-BA-001 set time_limit.promised 5
  yangguang edit QQ-PSB-BA-001 set materials.rep_id.copies 2
  yangguang edit QQ-PSB-BA-001 set location.window '"D02"'
  yangguang edit QQ-PSB-BA-001 add material '{id: photo, name: 近期免冠照片, required: true}'
  yangguang edit QQ-PSB-BA-001 add material --from material.yaml --after rep_id
  yangguang edit QQ-PSB-BA-001 remove material loss_notice
  yangguang edit realestate-registration set lines.residential.amount 100
  yangguang edit form:realestate set fields.use.label 不动产类别

PATH is keys separated by dots; an entry of a list is named by its id or its number (from 0).
VALUE is YAML: 5, true, "0230" (quoted: text), {value: 5, unit: working_day}; a number for a
time limit changes only its value. Every edit is checked with the whole catalogue first and
written only if it adds no problem; only the edited lines of the file change."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], catalog: argparse.ArgumentParser) -> None:
    """Register ``edit`` and ``new`` on the ``yangguang`` subcommands."""
    e = sub.add_parser(
        "edit",
        parents=[catalog],
        help="change one value, add or remove a list entry of an item, fee schedule, form section or chain",
        description="Change a catalogue file in place, keeping its comments and layout; checked before writing.",
        epilog=EDIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument(
        "target",
        metavar="TARGET",
        help="item code (or exact name), fee schedule id, form section id or chain id "
        "(item:, fee:, form:, chain: in front when an id names two things), or a catalogue file path",
    )
    e.add_argument("action", choices=("set", "add", "remove"), metavar="ACTION", help="set, add or remove")
    e.add_argument(
        "args",
        nargs="+",
        metavar="ARG",
        help="set PATH VALUE | add LIST [VALUE] | remove LIST ID | remove PATH",
    )
    e.add_argument("--from", dest="from_file", type=Path, metavar="FILE", help="add: read the new entry from FILE")
    e.add_argument("--after", metavar="ID", help="add: insert after this entry (id or number) instead of at the end")
    e.add_argument("--dry-run", action="store_true", help="print the change and the check result; write nothing")
    e.add_argument(
        "--reason",
        help="why the local change (an inherited item's change goes into overrides/CODE.yaml, which needs one)",
    )
    e.set_defaults(func=cmd_edit)

    n = sub.add_parser("new", help="scaffold a new catalogue entry from an existing one")
    n_sub = n.add_subparsers(dest="new_command", required=True, metavar="WHAT")
    ni = n_sub.add_parser(
        "item",
        parents=[catalog],
        help="copy an item's file (comments kept) under a new code",
        description="Copy an item's file under a new code; the copy is checked with the catalogue before writing.",
    )
    ni.add_argument("--like", required=True, metavar="CODE", help="the item to copy")
    ni.add_argument("--code", required=True, metavar="NEWCODE", help="the new item's code")
    ni.add_argument("--name", help=f"the new item's name (default: the source's name with {NAME_MARK})")
    ni.add_argument("--department", metavar="DEPT", help="department id from center.yaml (default: the source's)")
    ni.add_argument(
        "--file",
        metavar="PATH",
        help="where to write it, under items/ (default: items/<department>/<newcode in lower case>.yaml)",
    )
    ni.add_argument(
        "--dry-run", action="store_true", help="check the new item and print where it would go; write nothing"
    )
    ni.set_defaults(func=cmd_new_item)


def _action(args: argparse.Namespace) -> lib.Action:
    from engine.authoring import edit as lib

    rest: list[str] = args.args
    if args.action != "add" and (args.from_file is not None or args.after is not None):
        raise UserError("--from and --after go with `add`")
    if args.action == "set":
        if len(rest) != 2:
            raise UserError("usage: yangguang edit TARGET set PATH VALUE (quote VALUE for the shell if it has spaces)")
        return lib.SetValue(rest[0], lib.value(rest[1]))
    if args.action == "add":
        if len(rest) not in (1, 2) or (len(rest) == 2) == (args.from_file is not None):
            raise UserError("usage: yangguang edit TARGET add LIST VALUE, or add LIST --from FILE.yaml")
        if args.from_file is not None:
            try:
                text = args.from_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UserError(f"cannot read --from {args.from_file}: {exc}") from exc
            return lib.AddEntry(rest[0], lib.value(text, f"--from {args.from_file}"), args.after)
        return lib.AddEntry(rest[0], lib.value(rest[1]), args.after)
    if len(rest) == 2:
        return lib.RemoveEntry(rest[1], rest[0])
    if len(rest) == 1:
        return lib.RemoveEntry(rest[0])
    raise UserError("usage: yangguang edit TARGET remove LIST ID, or remove PATH")


def _refused(result: CheckResult | None, problems: list[Problem], pre_existing: int) -> str:
    """Every problem the edit would add, as `yangguang check` prints them."""
    from engine.catalogue.model import CheckResult
    from engine.check import report

    assert result is not None
    shown = CheckResult(result.catalogue, problems, result.files_checked)
    before = (
        f"\n({pre_existing} problem(s) the catalogue already had are not shown; they are not this edit's)"
        if pre_existing
        else ""
    )
    return "the edit would make the catalogue fail its check:\n" + report.text(shown).rstrip("\n") + before


def _warned(problems: list[Problem]) -> str:
    """Warnings an accepted edit adds (they never refuse an edit; `check --strict` would fail on them)."""
    warnings = [p for p in problems if not p.is_error]
    if not warnings:
        return ""
    lines = "".join(p.render() + "\n" for p in warnings)
    head = f"note: the edit adds {len(warnings)} warning(s); look at each (`yangguang check --strict` fails on them)"
    return f"{head}:\n{lines}"


def _already(pre_existing: int) -> str:
    if not pre_existing:
        return ""
    return (
        f"note: the catalogue already had {pre_existing} problem(s) before this edit; the edit adds none, "
        "so it was allowed — run `yangguang check` to see them\n"
    )


def cmd_edit(args: argparse.Namespace) -> int:
    from engine.authoring import edit as lib
    from engine.authoring import editing

    try:
        outcome = editing.edit(args.catalog, args.target, _action(args), dry_run=args.dry_run, reason=args.reason)
    except lib.EditRefused as exc:
        o = exc.outcome
        sys.stdout.write(f"refused: {o.file} would change as below, but the catalogue would not check\n{o.diff}")
        raise UserError(_refused(o.result, o.new_problems, o.pre_existing) + "\nnothing was written") from exc
    except lib.EditError as exc:
        raise UserError(str(exc)) from exc
    if not outcome.changed:
        sys.stdout.write(f"nothing to change: {outcome.file} already says that\n")
        return EXIT_OK
    if outcome.written:
        sys.stdout.write(f"edited {outcome.file}\n")
    else:
        sys.stdout.write(
            f"dry run: {outcome.file} would change as below and the catalogue checks; nothing was written\n"
        )
    sys.stdout.write(_already(outcome.pre_existing) + _warned(outcome.new_problems) + outcome.diff)
    return EXIT_OK


def cmd_new_item(args: argparse.Namespace) -> int:
    from engine.authoring import edit as lib
    from engine.authoring import new_item as scaffold

    try:
        o = scaffold.new_item(
            args.catalog, args.like, args.code, args.name, args.department, args.file, dry_run=args.dry_run
        )
    except lib.EditRefused as exc:
        r = exc.outcome
        raise UserError(_refused(r.result, r.new_problems, r.pre_existing) + "\nnothing was written") from exc
    except lib.EditError as exc:
        raise UserError(str(exc)) from exc
    verb = "created" if o.written else "dry run: would create"
    out = [f"{verb} {o.file}: item {o.code} {o.name}, copied from {o.like.key} ({o.like.file})"]
    out.append("the catalogue checks with it" if not o.pre_existing else "it adds no problem to the catalogue")
    if not o.written:
        out.append("nothing was written")
    out.append(_already(o.pre_existing).rstrip("\n"))
    out.append(_warned(o.new_problems).rstrip("\n"))
    out.append("next steps:")
    if o.name_kept:
        out.append(
            f"  - the name is the source's with {scaffold.NAME_MARK}: set the real one "
            f"(yangguang edit {o.code} set name 新名称)"
        )
    out.append("  - edit the name, basis and materials (and the time limits, fee, steps, window and contact),")
    out.append("    in an editor or with `yangguang edit`, then run `yangguang check`")
    sys.stdout.write("\n".join(line for line in out if line) + "\n")
    return EXIT_OK
