"""Assessing a fee schedule against an application: each line that applies, with how its amount
was reached, the reliefs, and the exact total in fen (``assess``).

A schedule always computes in yuan. A money field the form asks in 万元 (its ``unit``,
``MONEY_UNITS``) is stored as the applicant typed it (``1200.00`` meaning 1200 万元) and
converted exactly before it is charged on (× 10 000: 12000000.00 元); pass the form's
units to ``assess`` (``engine.rules.forms.money_units``). The line's text shows both.

Rounding rule (one rule everywhere): each line is computed exactly in Decimal
and rounded once, half up, to the fen (0.005 yuan and above rounds up). A
progressive tiered line adds its exact band parts first and rounds the sum.
Minimum and maximum apply after rounding. A reduction by a percentage rounds
the amount still payable on each line half up to the fen; the relief is the
difference. The total is the exact sum of the rounded lines and reliefs.

Reliefs: an exemption sets the lines it applies to (default: all) to zero. A
reduction lowers a line that no exemption took; when several reductions hold
for one line they do not stack — the line gets the single most favourable one.

Library code: nothing here prints or exits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Literal

from engine.base import conditions
from engine.base.dates import as_date
from engine.base.money import MONEY_UNITS
from engine.rules.fees.results import AppliedRelief, AssessedLine, Assessment
from engine.rules.fees.schedule import (
    CHOICE_TYPES,
    KINDS,
    FeeDataError,
    FeeNotInForce,
    decimal_of,
    format_fen,
    num_text,
    span_text,
    to_fen,
)

_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\Z")
_HUNDRED = Decimal(100)


# --- money -----------------------------------------------------------------------------


def _round_fen(yuan: Decimal) -> int:
    """Exact yuan -> integer fen, rounded half up (the one rounding rule)."""
    return int((yuan * _HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / _HUNDRED


def _yuan_text(yuan: Decimal) -> str:
    """Exact yuan as text: two decimals when fen-exact, every digit otherwise (0.025 元)."""
    if yuan == yuan.quantize(Decimal("0.01")):
        return format_fen(int(yuan * _HUNDRED))
    return f"{num_text(yuan)} 元"


# --- assessment ------------------------------------------------------------------------


def _in_force(effective: Any, on: date) -> bool:
    if not isinstance(effective, Mapping):
        return True
    start, end = as_date(effective.get("from")), as_date(effective.get("until"))
    return (start is None or start <= on) and (end is None or on <= end)


def _period_text(effective: Mapping[str, Any]) -> str:
    start, end = effective.get("from"), effective.get("until")
    return f"from {start} until {end}" if end else f"from {start} (open-ended)"


class _Reader:
    """Reads and checks the form values a schedule needs, with errors that name the field."""

    def __init__(
        self, schedule: Mapping[str, Any], data: Mapping[str, Any], money_units: Mapping[str, str] | None = None
    ) -> None:
        self.fields: Mapping[str, Any] = schedule.get("fields") or {}
        self.data = data
        self.money_units = money_units or {}
        self.typed: dict[str, str] = {}  # field -> the amount as the applicant typed it, with its unit (not 元)

    def label(self, name: str) -> str:
        decl = self.fields.get(name)
        label = decl.get("label") if isinstance(decl, Mapping) else None
        return f"{name} ({label})" if label else name

    def type_of(self, name: str) -> str | None:
        decl = self.fields.get(name)
        kind = decl.get("type") if isinstance(decl, Mapping) else None
        return kind if isinstance(kind, str) else None

    def check_declared(self) -> None:
        """Required fields are present; choice fields hold one of their options."""
        for name, decl in self.fields.items():
            if not isinstance(decl, Mapping):
                continue
            value = conditions.lookup(self.data, name)
            absent = value is None or value == "" or value == [] or value == {}
            if absent:
                if decl.get("required"):
                    raise FeeDataError(f"{self.label(name)} is missing; the fee cannot be assessed without it")
                continue
            if decl.get("type") in CHOICE_TYPES and decl.get("options"):
                allowed = [str(o.get("value")) for o in decl["options"] if isinstance(o, Mapping)]
                values = value if isinstance(value, list) else [value]
                for v in values:
                    if str(v) not in allowed:
                        raise FeeDataError(
                            f"{self.label(name)} is {v!r}, which is not one of its options: {', '.join(allowed)}"
                        )

    def number(self, name: str, line: Mapping[str, Any]) -> Decimal:
        """A non-negative number from the data, as an exact Decimal."""
        what = f"line {line.get('id')!r} ({line.get('name')})"
        value = conditions.lookup(self.data, name)
        if value is None or value == "":
            raise FeeDataError(f"{self.label(name)} is missing; {what} needs it to compute the fee")
        if isinstance(value, bool):
            raise FeeDataError(f"{self.label(name)} must be a number, not {value!r}; {what} needs it")
        number: Decimal | None
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str) and _NUMBER.match(value.strip()):
            number = Decimal(value.strip())
        else:
            number = None
        if number is None or not number.is_finite():
            raise FeeDataError(f"{self.label(name)} must be a number, not {value!r}; {what} needs it")
        if number < 0:
            raise FeeDataError(f"{self.label(name)} must not be negative (got {num_text(number)})")
        kind = self.type_of(name)
        if kind == "integer" and number != number.to_integral_value():
            raise FeeDataError(f"{self.label(name)} must be a whole number, not {num_text(number)}")
        unit = self.money_units.get(name, "元")
        if MONEY_UNITS.get(unit, 1) != 1:  # asked in 万元 on the form: charged on in yuan, exactly
            self.typed[name] = f"{format(number, 'f')} {unit}"
            number = number * MONEY_UNITS[unit]
            kind = "money"
        if kind == "money" and number != number.quantize(Decimal("0.01")):
            raise FeeDataError(
                f"{self.label(name)} is an amount in yuan with at most two decimals, not {num_text(number)}"
            )
        return number


def _line_basis(schedule: Mapping[str, Any], line: Mapping[str, Any]) -> list[dict[str, Any]]:
    basis = line.get("basis") or schedule.get("basis") or []
    return [dict(b) for b in basis if isinstance(b, Mapping)]


def _clamp(fen: int, line: Mapping[str, Any]) -> tuple[int, str]:
    if line.get("minimum") is not None:
        low = to_fen(line["minimum"])
        if fen < low:
            return low, f"，低于最低收费，按 {format_fen(low)} 收取"
    if line.get("maximum") is not None:
        high = to_fen(line["maximum"])
        if fen > high:
            return high, f"，超过最高收费，按 {format_fen(high)} 收取"
    return fen, ""


def _band_charge(band: Mapping[str, Any], part: Decimal, unit: str) -> tuple[Decimal, str]:
    """The exact charge of one band on ``part`` of the value, and its description."""
    if "amount" in band:
        amount = _yuan(to_fen(band["amount"]))
        return amount, f"{_yuan_text(amount)}"
    if "rate" in band:
        rate = _yuan(to_fen(band["rate"]))
        charge = part * rate
        per = unit.strip() or "单位"
        return charge, f"{num_text(part)}{unit} × {_yuan_text(rate)}/{per} = {_yuan_text(charge)}"
    percent = decimal_of(band["percent"])
    charge = part * percent / _HUNDRED
    return charge, f"{num_text(part)}{unit} × {num_text(percent)}% = {_yuan_text(charge)}"


def _tiered(line: Mapping[str, Any], value: Decimal, reader: _Reader, name: str) -> tuple[Decimal, str]:
    bands: Sequence[Mapping[str, Any]] = line["bands"]
    unit = f" {line['unit']}" if line.get("unit") else ""
    value_text = f"{num_text(value)}{unit}"
    if name in reader.typed:  # the amount as the applicant gave it, then what it is in yuan
        value_text = f"{reader.typed[name]}（{value_text}）"
    if line.get("mode") == "whole":
        lower: Decimal | None = None
        for i, band in enumerate(bands, 1):
            upper = band.get("up_to")
            if upper is None or value <= decimal_of(upper):
                span = span_text(lower, None if upper is None else decimal_of(upper), unit)
                charge, how = _band_charge(band, value, unit)
                return charge, f"{value_text}，适用第 {i} 档（{span}）：{how}"
            lower = decimal_of(upper)
        raise FeeDataError(
            f"{reader.label(name)} is {value_text}, above the highest band of line {line.get('id')!r} "
            f"(up to {num_text(lower or Decimal(0))}{unit}); check the value"
        )
    total = Decimal(0)
    parts: list[str] = []
    lower_bound = Decimal(0)
    for i, band in enumerate(bands):
        upper = band.get("up_to")
        upper_bound = None if upper is None else decimal_of(upper)
        if i > 0 and value <= lower_bound:
            break
        part = value - lower_bound if upper_bound is None else min(value, upper_bound) - lower_bound
        part = max(part, Decimal(0))
        charge, how = _band_charge(band, part, unit)
        total += charge
        span = span_text(None if i == 0 else lower_bound, upper_bound, unit)
        parts.append(f"{span}：{how}" if "amount" in band else f"{span}部分 {how}")
        if upper_bound is None:
            break
        lower_bound = upper_bound
    else:
        if value > lower_bound:
            raise FeeDataError(
                f"{reader.label(name)} is {value_text}, above the highest band of line {line.get('id')!r} "
                f"(up to {num_text(lower_bound)}{unit}); check the value"
            )
    return total, f"{value_text}，分段累计：" + "；".join(parts)


def _assess_line(schedule: Mapping[str, Any], line: Mapping[str, Any], reader: _Reader) -> AssessedLine:
    kind = line.get("kind")
    unit = line.get("unit")
    quantity: Decimal | None = None
    if kind == "fixed":
        fen = to_fen(line["amount"])
        rate = f"{format_fen(fen)}/{unit}" if unit else format_fen(fen)
    elif kind == "per_unit":
        quantity = reader.number(line["quantity"], line)
        rate_yuan = _yuan(to_fen(line["rate"]))
        free = Decimal(int(line.get("free_units") or 0))
        charged = max(quantity - free, Decimal(0))
        fen = _round_fen(charged * rate_yuan)
        rate = f"{_yuan_text(rate_yuan)}/{unit}"
        if free:
            rate += f"，首 {num_text(free)} {unit}免收，计费 {num_text(charged)} {unit}"
    elif kind == "tiered":
        quantity = reader.number(line["base"], line)
        exact, rate = _tiered(line, quantity, reader, line["base"])
        fen, clamp_text = _clamp(_round_fen(exact), line)
        rate += clamp_text
    elif kind == "percentage":
        quantity = reader.number(line["base"], line)
        percent = decimal_of(line["percent"])
        exact = quantity * percent / _HUNDRED
        fen, clamp_text = _clamp(_round_fen(exact), line)
        base = _yuan_text(quantity)
        if line["base"] in reader.typed:  # the amount as the applicant gave it, then what it is in yuan
            base = f"{reader.typed[line['base']]}（{base}）"
        rate = f"{base} × {num_text(percent)}% = {_yuan_text(exact)}{clamp_text}"
        unit = unit or "元"
    else:
        raise FeeDataError(f"line {line.get('id')!r} has unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    return AssessedLine(
        id=str(line["id"]),
        name=str(line["name"]),
        kind=str(kind),
        quantity=quantity,
        unit=None if unit is None else str(unit),
        rate=rate,
        amount_fen=fen,
        basis=_line_basis(schedule, line),
        note=line.get("note"),
    )


def _reduced(fen: int, reduction: Mapping[str, Any]) -> int:
    """What is still payable on a line of ``fen`` after one reduction (never more than ``fen``)."""
    if "pay_amount" in reduction:
        return min(fen, to_fen(reduction["pay_amount"]))
    percent = min(max(decimal_of(reduction.get("reduce_percent", 0)), Decimal(0)), _HUNDRED)
    return min(fen, _round_fen(_yuan(fen) * (_HUNDRED - percent) / _HUNDRED))


def assess(
    schedule: Mapping[str, Any],
    data: Mapping[str, Any],
    on: date | None = None,
    money_units: Mapping[str, str] | None = None,
) -> Assessment:
    """Assess a schema-valid fee schedule against application data on a date (default today).
    ``money_units`` gives the unit each money field of the form is asked in (``section.field`` ->
    元 or 万元; engine.rules.forms.money_units); an amount in 万元 is charged on in yuan.

    Raises ``FeeNotInForce`` when ``on`` is outside the schedule's effective period and
    ``FeeDataError`` (naming the field) when a value the fee depends on is missing or invalid.

    A progressive tier: 2 元 a square metre up to 100, 1.50 元 for each one above.

    >>> survey = {"id": "survey", "name": "房产测绘收费", "lines": [{
    ...     "id": "survey", "name": "测绘费", "kind": "tiered", "base": "site.area", "unit": "平方米",
    ...     "mode": "progressive", "bands": [{"up_to": 100, "rate": "2.00"}, {"rate": "1.50"}]}]}
    >>> fee = assess(survey, {"site": {"area": "150"}}, on=date(2026, 3, 2))
    >>> fee.total_fen
    27500
    >>> print(fee.lines[0].rate.replace("；", "；\\n"))  # how the amount was reached, band by band
    150 平方米，分段累计：不超过 100 平方米部分 100 平方米 × 2.00 元/平方米 = 200.00 元；
    超过 100 平方米部分 50 平方米 × 1.50 元/平方米 = 75.00 元

    An exemption that holds takes the whole line back:

    >>> survey["exemptions"] = [
    ...     {"id": "low", "name": "低保家庭免收", "when": {"field": "applicant.low_income", "eq": True}}]
    >>> fee = assess(survey, {"site": {"area": "150"}, "applicant": {"low_income": True}}, on=date(2026, 3, 2))
    >>> fee.total_fen, [(r.name, r.amount_fen) for r in fee.reliefs]
    (0, [('低保家庭免收', -27500)])
    """
    on = on or date.today()
    effective = schedule.get("effective") or {}
    if not _in_force(effective, on):
        raise FeeNotInForce(
            f"fee schedule {schedule.get('id')!r} ({schedule.get('name')}) is in force "
            f"{_period_text(effective)}; {on.isoformat()} is outside that period"
        )
    reader = _Reader(schedule, data, money_units)
    with localcontext() as ctx:
        ctx.prec = 60
        reader.check_declared()
        lines = [
            _assess_line(schedule, line, reader)
            for line in schedule.get("lines") or ()
            if not line.get("when") or conditions.evaluate(line["when"], data)
        ]
        relieving = _Reliefs(schedule, lines, data, on)
        reliefs = relieving.exemptions() + relieving.reductions()  # exemptions first: a reduction never stacks on one
    total = sum(line.amount_fen for line in lines) + sum(r.amount_fen for r in reliefs)
    return Assessment(
        schedule_id=str(schedule.get("id")),
        schedule_name=str(schedule.get("name")),
        lines=tuple(lines),
        reliefs=tuple(reliefs),
        total_fen=total,
        basis=[dict(b) for b in schedule.get("basis") or () if isinstance(b, Mapping)],
        on=on,
    )


class _Reliefs:
    """The schedule's exemptions and reductions that hold for ``data`` on ``on``, applied in turn to what
    is still payable on each assessed line."""

    def __init__(
        self, schedule: Mapping[str, Any], lines: Sequence[AssessedLine], data: Mapping[str, Any], on: date
    ) -> None:
        self.schedule, self.data, self.on = schedule, data, on
        self.payable = {line.id: line.amount_fen for line in lines}
        self.order = [line.id for line in lines]
        self.exempted: set[str] = set()

    def active(self, relief: Mapping[str, Any]) -> bool:
        return _in_force(relief.get("effective"), self.on) and conditions.evaluate(relief["when"], self.data)

    def targets(self, relief: Mapping[str, Any]) -> list[str]:
        wanted = relief.get("applies_to")
        return self.order if not wanted else [i for i in self.order if i in wanted]

    def exemptions(self) -> list[AppliedRelief]:
        """Each exemption that holds sets its lines (not yet exempted) to zero."""
        out: list[AppliedRelief] = []
        for exemption in self.schedule.get("exemptions") or ():
            if not self.active(exemption):
                continue
            hit = [i for i in self.targets(exemption) if i not in self.exempted]
            if not hit:
                continue
            amount = -sum(self.payable[i] for i in hit)
            for i in hit:
                self.payable[i] = 0
                self.exempted.add(i)
            out.append(_relief(self.schedule, exemption, "exemption", amount, hit))
        return out

    def reductions(self) -> list[AppliedRelief]:
        """Each line no exemption took gets the single most favourable reduction that holds for it."""
        reductions = [r for r in self.schedule.get("reductions") or () if self.active(r)]
        effect: dict[int, list[tuple[str, int]]] = {}
        for line_id in self.order:
            if line_id in self.exempted or self.payable[line_id] <= 0:
                continue
            best: tuple[int, int] | None = None  # (payable after, reduction index)
            for index, reduction in enumerate(reductions):
                if line_id in self.targets(reduction):
                    after = _reduced(self.payable[line_id], reduction)
                    if after < self.payable[line_id] and (best is None or after < best[0]):
                        best = (after, index)
            if best is not None:
                effect.setdefault(best[1], []).append((line_id, best[0] - self.payable[line_id]))
                self.payable[line_id] = best[0]
        return [
            _relief(self.schedule, reduction, "reduction", sum(c for _, c in effect[i]), [j for j, _ in effect[i]])
            for i, reduction in enumerate(reductions)
            if i in effect
        ]


def _relief(
    schedule: Mapping[str, Any],
    relief: Mapping[str, Any],
    kind: Literal["exemption", "reduction"],
    amount: int,
    lines: list[str],
) -> AppliedRelief:
    return AppliedRelief(
        id=str(relief["id"]),
        name=str(relief["name"]),
        kind=kind,
        amount_fen=amount,
        basis=[dict(b) for b in relief.get("basis") or schedule.get("basis") or () if isinstance(b, Mapping)],
        lines=tuple(lines),
        note=relief.get("note"),
    )
