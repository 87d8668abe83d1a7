"""Fee schedules and assessments in words: the itemised text ``yangguang fee`` prints and
the one-line-per-fee description guides and one-time notices show."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from engine.base import conditions
from engine.base.dates import as_date
from engine.rules.fees.results import Assessment
from engine.rules.fees.schedule import decimal_of, field_labels, format_fen, num_text, span_text, to_fen

__all__ = ["describe_schedule", "describe_schedule_on", "line_standard", "render_assessment"]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _row(left: str, right: str, width: int = 78) -> str:
    gap = max(width - _width(left) - _width(right), 2)
    return f"{left}{' ' * gap}{right}"


def _basis_text(basis: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for ref in basis:
        law, article = str(ref.get("law", "")), str(ref.get("article", ""))
        parts.append(law if article in ("", "全文") else f"{law} {article}")
    return "；".join(parts)


def render_assessment(a: Assessment) -> str:
    """Itemised text for the command line: lines with quantity, rate, amount and basis; reliefs; total."""
    out = [f"收费标准：{a.schedule_name}（{a.schedule_id}）" + (f"  核定日期：{a.on.isoformat()}" if a.on else "")]
    if a.basis:
        out.append(f"收费依据：{_basis_text(a.basis)}")
    out.append("收费项目：")
    if not a.lines:
        out.append("  （无适用的收费项目）")
    for n, line in enumerate(a.lines, 1):
        out.append(_row(f"  {n}. {line.name}", format_fen(line.amount_fen)))
        if line.quantity is not None and line.kind == "per_unit":
            out.append(f"     数量：{num_text(line.quantity)} {line.unit or ''}".rstrip())
        out.append(f"     标准：{line.rate}")
        if line.basis:
            out.append(f"     依据：{_basis_text(line.basis)}")
        if line.note:
            out.append(f"     备注：{line.note}")
    if a.reliefs:
        out.append("减免：")
        for relief in a.reliefs:
            word = "免收" if relief.kind == "exemption" else "减收"
            out.append(_row(f"  - {word}：{relief.name}", format_fen(relief.amount_fen)))
            names = {line.id: line.name for line in a.lines}
            out.append(f"     适用项目：{'、'.join(names.get(i, i) for i in relief.lines)}")
            if relief.basis:
                out.append(f"     依据：{_basis_text(relief.basis)}")
    out.append(_row("合计：", format_fen(a.total_fen)))
    return "\n".join(out) + "\n"


def _band_standard(band: Mapping[str, Any], unit: str) -> str:
    if "amount" in band:
        return format_fen(to_fen(band["amount"]))
    if "rate" in band:
        return f"{format_fen(to_fen(band['rate']))}/{unit.strip() or '单位'}"
    return f"{num_text(decimal_of(band['percent']))}%"


def line_standard(line: Mapping[str, Any], words: Mapping[str, str]) -> str:
    """The published standard of one line in words (no application data needed)."""
    kind = line.get("kind")
    unit = str(line.get("unit") or "")
    if kind == "fixed":
        fen = format_fen(to_fen(line["amount"]))
        return f"每{unit} {fen}" if unit else fen
    if kind == "per_unit":
        text = f"每{unit} {format_fen(to_fen(line['rate']))}"
        if line.get("free_units"):
            text += f"，首 {line['free_units']} {unit}免收"
        return text + f"，按{words.get(line['quantity'], line['quantity'])}计"
    if kind == "tiered":
        spaced = f" {unit}" if unit else ""
        base = words.get(line["base"], line["base"])
        parts = []
        lower: Decimal | None = None
        for band in line["bands"]:
            upper = None if band.get("up_to") is None else decimal_of(band["up_to"])
            span = span_text(lower, upper, spaced)
            tail = "的部分" if line.get("mode") != "whole" and lower is not None and "amount" not in band else ""
            parts.append(f"{span}{tail}：{_band_standard(band, unit)}")
            lower = upper
        how = "分段累计" if line.get("mode") != "whole" else "所在档次"
        text = f"按{base}{how}——" + "；".join(parts)
    elif kind == "percentage":
        text = f"按{words.get(line['base'], line['base'])}的 {num_text(decimal_of(line['percent']))}%"
    else:
        return ""
    if line.get("minimum") is not None:
        text += f"，最低 {format_fen(to_fen(line['minimum']))}"
    if line.get("maximum") is not None:
        text += f"，最高 {format_fen(to_fen(line['maximum']))}"
    return text


def describe_schedule(schedule: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> list[str]:
    """The schedule in words for guides and one-time notices: one string per line and relief, every
    relief whatever its effective period (the command line's full listing).

    ``labels`` (field -> label, ``=value`` -> option label, as for ``conditions.describe``)
    usually come from the item's form; the schedule's own ``fields`` fill any gaps.
    """
    current, other = describe_schedule_on(schedule, labels, None)
    return current + other


def _relief_period(effective: Any, on: date | None) -> tuple[bool, str]:
    """(in force on ``on``, the period in words). An expired relief says when it lapsed and a future
    one when it takes effect, so a guide never lists a lapsed exemption as if it still applied."""
    if not isinstance(effective, Mapping):
        return True, ""
    start, end = as_date(effective.get("from")), as_date(effective.get("until"))
    if on is not None and end is not None and on > end:
        return False, f"（已于{end.isoformat()}失效）"
    if on is not None and start is not None and on < start:
        return False, f"（自{start.isoformat()}起施行）"
    until = f"至 {effective['until']}" if effective.get("until") else "起"
    return True, f"（{effective.get('from')} {until}）"


def describe_schedule_on(
    schedule: Mapping[str, Any], labels: Mapping[str, str] | None, on: date | None
) -> tuple[list[str], list[str]]:
    """The schedule in words as it stands on ``on`` (the clock's local date): (lines and reliefs in
    force, reliefs that have lapsed or not yet begun, each saying so). With ``on`` None every relief
    counts as in force."""
    words = {**field_labels(schedule), **(labels or {})}
    names = {str(line.get("id")): str(line.get("name")) for line in schedule.get("lines") or ()}
    out: list[str] = []
    other: list[str] = []
    for line in schedule.get("lines") or ():
        text = f"{line.get('name')}：{line_standard(line, words)}"
        if line.get("when"):
            text += f"（{conditions.describe(line['when'], words)}时收取）"
        if line.get("basis"):
            text += f"；依据：{_basis_text(line['basis'])}"
        out.append(text)
    reliefs: list[str] = []
    for section, word in (("exemptions", "免收"), ("reductions", "减收")):
        for relief in schedule.get(section) or ():
            scope = "、".join(names.get(i, i) for i in relief.get("applies_to") or ()) or "全部收费项目"
            if "reduce_percent" in relief:
                effect = f"{scope}减收 {num_text(decimal_of(relief['reduce_percent']))}%"
            elif "pay_amount" in relief:
                effect = f"{scope}减按 {format_fen(to_fen(relief['pay_amount']))}收取"
            else:
                effect = f"免收{scope}"
            text = f"{word}：{relief.get('name')}——{conditions.describe(relief['when'], words)}时，{effect}"
            in_force, period = _relief_period(relief.get("effective"), on)
            text += period
            if relief.get("basis"):
                text += f"；依据：{_basis_text(relief['basis'])}"
            (reliefs if in_force else other).append(text)
    out += reliefs
    if schedule.get("basis"):
        out.append(f"收费依据：{_basis_text(schedule['basis'])}")
    return out, other
