"""``yangguang show``, ``list`` and ``fee``: what a catalogue says about its items and chains — one item's
one-time notice (or, with ``--explain``, where each of its values comes from), a chain's stages and critical
path, every item in a line, an item's itemised fee for given application data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, UserError

if TYPE_CHECKING:
    from engine.catalogue.model import Catalogue


def cmd_show(args: argparse.Namespace) -> int:
    from engine.rules import notice
    from engine.rules.notice_text import render_text

    if args.explain:
        return _explain(args)
    cat = common.checked(args.catalog)
    if args.code in cat.chains and args.code not in cat.items:
        sys.stdout.write(_chain_text(cat, cat.chains[args.code].data))
        return EXIT_OK
    _refuse_withdrawn(cat, args.code)
    item = common.item(cat, args.code)
    sys.stdout.write(render_text(notice.build(cat, item)))
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    """``show CODE --explain`` works on what loaded even when the catalogue has problems: it is the
    tool for finding out which layer set a value that now breaks a rule."""
    from engine.check.explain import explain

    result = common.load(args.catalog)
    cat = result.catalogue
    _refuse_withdrawn(cat, args.code)

    def refuse(file: str, why: str) -> None:  # with the problems of the file to fix
        raise UserError("\n".join([*(p.render() for p in result.problems if p.file == file), why]))

    if args.code in cat.broken_items and args.code not in cat.items:
        file = cat.broken_items[args.code]
        refuse(file, f"item {args.code} is left out of the catalogue: {file} has problems; fix them first")
    cut = next((layer for layer in cat.layers if layer.cut), None)
    if cut is not None and args.code not in cat.items:
        refuse(
            cut.center_file,
            f"{cut.center_file} cannot be followed to its parent, so nothing this catalogue inherits is loaded; "
            "fix it first (`yangguang check` lists the problems)",
        )
    item = common.item(cat, args.code)
    if not result.ok:
        sys.stderr.write(
            f"note: the catalogue has {len(result.problems)} problem(s) (`yangguang check` lists them); "
            "this is the item as it loaded\n"
        )
    sys.stdout.write(explain(cat, item.data["code"]))
    return EXIT_OK


def _refuse_withdrawn(cat: Catalogue, code: str) -> None:
    if code in cat.withdrawn and code not in cat.items:
        reason, where = cat.withdrawn[code]
        raise UserError(f"item {code} is withdrawn here by {where}: {reason}")


def _chain_text(cat: Catalogue, chain: dict[str, Any]) -> str:
    """A chain's stages, members and critical path of promised limits."""
    from engine.rules import chains

    modes = {"serial": "串联", "parallel": "并联", "joint_review": "联审联验"}
    path = chains.critical_path(cat, chain)
    lines = [f"{chain['name']}（{chain['id']}）"]
    for stage, timing in zip(chain["stages"], path.stages, strict=True):
        optional = "（可选）" if "when" in stage else ""
        lines.append(
            f"  {stage['id']} {stage['name']} — {modes[stage['mode']]}{optional}, {chains.days_text(timing.minutes)}"
        )
        for code in stage["items"]:
            item = cat.items.get(code)
            lines.append(f"    {code} {item.data['name'] if item else '(missing)'}")
    promised = chains.days_text(path.promised_minutes) if path.promised_minutes is not None else "none"
    lines.append(f"critical path: {path.render()}")
    lines.append(f"promised: {promised} — {'fits' if path.fits else 'DOES NOT FIT'}")
    return "\n".join(lines) + "\n"


def cmd_list(args: argparse.Namespace) -> int:
    cat = common.checked(args.catalog)
    for code in sorted(cat.items):
        d = cat.items[code].data
        promised = d["time_limit"]["promised"]
        limit = "即办" if promised["value"] == 0 else f"{promised['value']} {promised['unit']}"
        sys.stdout.write(f"{code}\t{d['department']}\t{limit}\t{d['name']}\n")
    return EXIT_OK


def cmd_fee(args: argparse.Namespace) -> int:
    from engine.rules import forms
    from engine.rules.fees.assessment import assess
    from engine.rules.fees.schedule import FeeDataError
    from engine.rules.fees.text import render_assessment

    cat = common.checked(args.catalog)
    item = common.item(cat, args.code)
    fee = item.data["fee"]
    if fee == "not_stated":
        raise UserError(
            f"{item.data['code']} {item.data['name']}: the published guide does not state its fee (收费情况未说明); "
            "no assessment is possible — ask the department, then write the fee in the item"
        )
    if not isinstance(fee, dict) or "schedule" not in fee:
        sys.stdout.write(f"{item.data['name']}: 不收费 (free of charge)\n")
        return EXIT_OK
    data = _fee_data(args.data)
    from datetime import date

    on = date.fromisoformat(args.on) if args.on else None
    try:
        sections = {k: cat.data(d) for k, d in cat.forms.items()}
        units = forms.money_units(item.data, sections)  # --data gives amounts in the units the form asks
        assessment = assess(cat.fees[fee["schedule"]].data, data, on=on, money_units=units)
    except FeeDataError as exc:
        raise UserError(str(exc)) from exc
    sys.stdout.write(render_assessment(assessment))
    return EXIT_OK


def _fee_data(source: str) -> dict[str, Any]:
    """``--data``: a JSON object of form sections, from a file or ('-') standard input."""
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read --data {source}: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"--data {source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(data, dict):
        raise UserError('--data must hold a JSON object of form sections, e.g. {"realestate": {"use": "residential"}}')
    return data


def _date(text: str) -> str:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc
    return text


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    s = sub.add_parser(
        "show",
        parents=[catalog],
        help="print an item's one-time notice (一次告知), or a chain's stages and critical path",
    )
    s.add_argument("code", help="item code (or exact item name), or chain id")
    s.add_argument(
        "--explain",
        action="store_true",
        help="print the resolved item with the layer and file:line each value comes from",
    )
    s.set_defaults(func=cmd_show)

    ls = sub.add_parser("list", parents=[catalog], help="list every item: code, department, promised limit, name")
    ls.set_defaults(func=cmd_list)

    f = sub.add_parser("fee", parents=[catalog], help="print an item's itemised fee assessment for application data")
    f.add_argument("code", help="item code")
    f.add_argument("--data", required=True, help="JSON file of application data ('-' for standard input)")
    f.add_argument("--on", type=_date, help="assessment date YYYY-MM-DD (default: today)")
    f.set_defaults(func=cmd_fee)
