"""Fee schedules and assessments in words: the itemised text ``yangguang fee`` prints and
the one-line-per-fee description guides and one-time notices show.

The description (:func:`describe_schedule_on`, :func:`line_standard`) says the engine's words in
the reader's language (engine.base.i18n: a page's or an API answer's, Chinese on the command
line); names, units and conditions' labels are catalogue data and stay as written. An assessment
(engine.rules.fees) is recorded, so its words stay Chinese, and so does ``render_assessment``."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from engine.base import conditions
from engine.base.dates import as_date
from engine.base.i18n import gettext
from engine.rules.fees.results import Assessment
from engine.rules.fees.schedule import decimal_of, field_labels, format_fen, num_text, to_fen

__all__ = ["describe_schedule", "describe_schedule_on", "line_standard", "render_assessment"]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _row(left: str, right: str, width: int = 78) -> str:
    gap = max(width - _width(left) - _width(right), 2)
    return f"{left}{' ' * gap}{right}"


def _basis_text(basis: Sequence[Mapping[str, Any]], sep: str = "；") -> str:
    parts = []
    for ref in basis:
        law, article = str(ref.get("law", "")), str(ref.get("article", ""))
        parts.append(law if article in ("", "全文") else f"{law} {article}")
    return sep.join(parts)


def _money(fen: int) -> str:
    """``format_fen`` in the reader's language (80.00 元 / 80.00 yuan)."""
    return gettext("%(amount)s 元") % {"amount": format_fen(fen).removesuffix(" 元")}


def _span_words(lower: Decimal | None, upper: Decimal | None, unit: str) -> str:
    """A band's span in the reader's language (as engine.rules.fees words it in an assessment)."""
    if lower is None and upper is None:
        return gettext("全部")
    if lower is None:
        return gettext("不超过 %(upper)s%(unit)s") % {"upper": num_text(upper or Decimal(0)), "unit": unit}
    if upper is None:
        return gettext("超过 %(lower)s%(unit)s") % {"lower": num_text(lower), "unit": unit}
    said = {"lower": num_text(lower), "upper": num_text(upper), "unit": unit}
    return gettext("超过 %(lower)s%(unit)s 至 %(upper)s%(unit)s") % said


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
        return _money(to_fen(band["amount"]))
    if "rate" in band:
        return gettext("%(amount)s/%(unit)s") % {
            "amount": _money(to_fen(band["rate"])),
            "unit": unit.strip() or gettext("单位"),
        }
    return f"{num_text(decimal_of(band['percent']))}%"


def _tiers(line: Mapping[str, Any], words: Mapping[str, str], unit: str) -> str:
    """A tiered line's bands: by the base, band by band (or by the band the whole falls in)."""
    spaced = f" {unit}" if unit else ""
    parts = []
    lower: Decimal | None = None
    for band in line["bands"]:
        upper = None if band.get("up_to") is None else decimal_of(band["up_to"])
        span = _span_words(lower, upper, spaced)
        if line.get("mode") != "whole" and lower is not None and "amount" not in band:
            span = gettext("%(span)s的部分") % {"span": span}
        parts.append(gettext("%(span)s：%(standard)s") % {"span": span, "standard": _band_standard(band, unit)})
        lower = upper
    said = {"base": words.get(line["base"], line["base"]), "bands": gettext("；").join(parts)}
    if line.get("mode") != "whole":
        return gettext("按%(base)s分段累计——%(bands)s") % said
    return gettext("按%(base)s所在档次——%(bands)s") % said


def line_standard(line: Mapping[str, Any], words: Mapping[str, str]) -> str:
    """The published standard of one line in words (no application data needed)."""
    kind = line.get("kind")
    unit = str(line.get("unit") or "")
    if kind == "fixed":
        fen = _money(to_fen(line["amount"]))
        return gettext("每%(unit)s %(amount)s") % {"unit": unit, "amount": fen} if unit else fen
    if kind == "per_unit":
        text = gettext("每%(unit)s %(amount)s") % {"unit": unit, "amount": _money(to_fen(line["rate"]))}
        if line.get("free_units"):
            text += gettext("，首 %(n)s %(unit)s免收") % {"n": line["free_units"], "unit": unit}
        return text + gettext("，按%(quantity)s计") % {"quantity": words.get(line["quantity"], line["quantity"])}
    if kind == "tiered":
        text = _tiers(line, words, unit)
    elif kind == "percentage":
        said = {"base": words.get(line["base"], line["base"]), "percent": num_text(decimal_of(line["percent"]))}
        text = gettext("按%(base)s的 %(percent)s%%") % said
    else:
        return ""
    if line.get("minimum") is not None:
        text += gettext("，最低 %(amount)s") % {"amount": _money(to_fen(line["minimum"]))}
    if line.get("maximum") is not None:
        text += gettext("，最高 %(amount)s") % {"amount": _money(to_fen(line["maximum"]))}
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
        return False, gettext("（已于%(date)s失效）") % {"date": end.isoformat()}
    if on is not None and start is not None and on < start:
        return False, gettext("（自%(date)s起施行）") % {"date": start.isoformat()}
    if effective.get("until"):
        return True, gettext("（%(start)s 至 %(end)s）") % {"start": effective.get("from"), "end": effective["until"]}
    return True, gettext("（%(start)s 起）") % {"start": effective.get("from")}


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
        text = gettext("%(name)s：%(standard)s") % {"name": line.get("name"), "standard": line_standard(line, words)}
        if line.get("when"):
            text += gettext("（%(condition)s时收取）") % {
                "condition": conditions.describe(line["when"], words, gettext)
            }
        out.append(text + _cited(line))
    reliefs: list[str] = []
    for section in ("exemptions", "reductions"):
        for relief in schedule.get(section) or ():
            in_force, period = _relief_period(relief.get("effective"), on)
            (reliefs if in_force else other).append(
                _relief_text(section, relief, names, words) + period + _cited(relief)
            )
    out += reliefs
    if schedule.get("basis"):
        out.append(gettext("收费依据：%(basis)s") % {"basis": _basis_text(schedule["basis"], gettext("；"))})
    return out, other


def _cited(entry: Mapping[str, Any]) -> str:
    """ "；依据：…" for a line or relief that cites its basis, else ""."""
    if not entry.get("basis"):
        return ""
    return gettext("；依据：%(basis)s") % {"basis": _basis_text(entry["basis"], gettext("；"))}


def _relief_text(section: str, relief: Mapping[str, Any], names: Mapping[str, str], words: Mapping[str, str]) -> str:
    """An exemption or a reduction in words: its name, when it applies, and to what."""
    scope = gettext("、").join(names.get(i, i) for i in relief.get("applies_to") or ()) or gettext("全部收费项目")
    if "reduce_percent" in relief:
        effect = gettext("%(scope)s减收 %(percent)s%%") % {
            "scope": scope,
            "percent": num_text(decimal_of(relief["reduce_percent"])),
        }
    elif "pay_amount" in relief:
        effect = gettext("%(scope)s减按 %(amount)s收取") % {
            "scope": scope,
            "amount": _money(to_fen(relief["pay_amount"])),
        }
    else:
        effect = gettext("免收%(scope)s") % {"scope": scope}
    said = {
        "name": relief.get("name"),
        "condition": conditions.describe(relief["when"], words, gettext),
        "effect": effect,
    }
    if section == "exemptions":
        return gettext("免收：%(name)s——%(condition)s时，%(effect)s") % said
    return gettext("减收：%(name)s——%(condition)s时，%(effect)s") % said
