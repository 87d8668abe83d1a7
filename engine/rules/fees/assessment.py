"""Fee schedules (收费标准): exact, itemised assessment with its legal basis.

A schedule (``fees/<id>.yaml``, checked by ``schema/fee.schema.json``) has fee
lines of four kinds, plus exemptions (免收) and reductions (减收)::

    fixed       amount                      80 yuan per case
    per_unit    rate × (quantity − free)    10 yuan per certificate, first copy free
    tiered      bands of a numeric field    progressive (分段累计, like tax) or whole
    percentage  percent of a money field    with optional minimum and maximum

Money is exact: amounts in YAML are integer yuan or strings with at most two
decimals, held here as integer fen (1 yuan = 100 fen) and never as floats.

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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Literal

from engine.base import conditions
from engine.base.dates import as_date
from engine.base.money import MONEY_UNITS
from engine.base.result import Path

__all__ = [
    "AppliedRelief",
    "AssessedLine",
    "Assessment",
    "FeeDataError",
    "FeeNotInForce",
    "assess",
    "field_labels",
    "format_fen",
    "referenced_fields",
    "to_fen",
]

KINDS = ("fixed", "per_unit", "tiered", "percentage")
NUMERIC_TYPES = ("integer", "number", "money")
CHOICE_TYPES = ("select", "radio", "checkbox")
_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?\Z")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\Z")
_HUNDRED = Decimal(100)


class FeeDataError(ValueError):
    """The application data cannot be assessed: a field is missing, not a number, or out of range."""


class FeeNotInForce(FeeDataError):
    """The assessment date is outside the schedule's effective period."""


# --- money -----------------------------------------------------------------------------


def to_fen(money: int | str | Decimal) -> int:
    """Convert a YAML money value (integer yuan, or a string such as "12.50") to integer fen.

    Floats are refused: 0.1 + 0.2 is not 0.3 in binary, and money must be exact.
    """
    if isinstance(money, bool) or isinstance(money, float):
        raise TypeError(f'money must be integer yuan or a string like "12.50", not {money!r}')
    if isinstance(money, int):
        return money * 100
    if isinstance(money, str):
        text = money.strip()
        negative = text.startswith("-")
        if not _MONEY.match(text.removeprefix("-")):
            raise ValueError(f'{money!r} is not an amount in yuan with at most two decimals, such as "12.50"')
        fen = int((Decimal(text.removeprefix("-")) * 100).to_integral_value())
        return -fen if negative else fen
    if isinstance(money, Decimal):
        if not money.is_finite() or money != money.quantize(Decimal("0.01")):
            raise ValueError(f"{money} is not an amount in yuan with at most two decimals")
        return int(money * 100)
    raise TypeError(f'money must be integer yuan or a string like "12.50", not {money!r}')


def format_fen(fen: int) -> str:
    """Format integer fen as yuan with two decimals: ``8000`` -> ``"80.00 元"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d} 元"


def _round_fen(yuan: Decimal) -> int:
    """Exact yuan -> integer fen, rounded half up (the one rounding rule)."""
    return int((yuan * _HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / _HUNDRED


def _dec(value: Any) -> Decimal:
    """A schema-valid decimal or money value from a schedule (int or numeric string)."""
    return Decimal(str(value).strip())


def _num_text(value: Decimal) -> str:
    """A plain number without exponent or trailing zeros: 3, 120.5, 0.025."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _yuan_text(yuan: Decimal) -> str:
    """Exact yuan as text: two decimals when fen-exact, every digit otherwise (0.025 元)."""
    if yuan == yuan.quantize(Decimal("0.01")):
        return format_fen(int(yuan * _HUNDRED))
    return f"{_num_text(yuan)} 元"


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessedLine:
    """One fee line that applies, with how its amount was reached."""

    id: str
    name: str
    kind: str
    #: the quantity or base value read from the form (None for a fixed line)
    quantity: Decimal | None
    unit: str | None
    #: the rate, band or percentage in words, e.g. "10.00 元/本，首 1 本免收"
    rate: str
    amount_fen: int
    basis: list[dict[str, Any]]
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "quantity": None if self.quantity is None else _num_text(self.quantity),
            "unit": self.unit,
            "rate": self.rate,
            "amount_fen": self.amount_fen,
            "amount": format_fen(self.amount_fen),
            "basis": self.basis,
            "note": self.note,
        }


@dataclass(frozen=True)
class AppliedRelief:
    """An exemption or reduction that changed the assessment; ``amount_fen`` is negative (or 0)."""

    id: str
    name: str
    kind: Literal["exemption", "reduction"]
    amount_fen: int
    basis: list[dict[str, Any]]
    #: ids of the lines it changed
    lines: tuple[str, ...] = ()
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "amount_fen": self.amount_fen,
            "amount": format_fen(self.amount_fen),
            "lines": list(self.lines),
            "basis": self.basis,
            "note": self.note,
        }


@dataclass(frozen=True)
class Assessment:
    """The itemised fee for one application: lines, reliefs and the exact total in fen."""

    schedule_id: str
    schedule_name: str
    lines: tuple[AssessedLine, ...]
    reliefs: tuple[AppliedRelief, ...]
    total_fen: int
    basis: list[dict[str, Any]]
    on: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "schedule_name": self.schedule_name,
            "on": self.on.isoformat() if self.on else None,
            "lines": [line.as_dict() for line in self.lines],
            "reliefs": [relief.as_dict() for relief in self.reliefs],
            "total_fen": self.total_fen,
            "total": format_fen(self.total_fen),
            "basis": self.basis,
        }


# --- assessment ------------------------------------------------------------------------


def _in_force(effective: Any, on: date) -> bool:
    if not isinstance(effective, Mapping):
        return True
    start, end = as_date(effective.get("from")), as_date(effective.get("until"))
    return (start is None or start <= on) and (end is None or on <= end)


def _period_text(effective: Mapping[str, Any]) -> str:
    start, end = effective.get("from"), effective.get("until")
    return f"from {start} until {end}" if end else f"from {start} (open-ended)"


def field_labels(schedule: Mapping[str, Any]) -> dict[str, str]:
    """Labels for ``conditions.describe``: field name -> label, and ``=value`` -> option label."""
    out: dict[str, str] = {}
    for name, decl in (schedule.get("fields") or {}).items():
        if not isinstance(decl, Mapping):
            continue
        if isinstance(decl.get("label"), str):
            out[name] = decl["label"]
        for option in decl.get("options") or ():
            if isinstance(option, Mapping) and "value" in option and "label" in option:
                out.setdefault(f"={option['value']}", str(option["label"]))
    return out


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
            raise FeeDataError(f"{self.label(name)} must not be negative (got {_num_text(number)})")
        kind = self.type_of(name)
        if kind == "integer" and number != number.to_integral_value():
            raise FeeDataError(f"{self.label(name)} must be a whole number, not {_num_text(number)}")
        unit = self.money_units.get(name, "元")
        if MONEY_UNITS.get(unit, 1) != 1:  # asked in 万元 on the form: charged on in yuan, exactly
            self.typed[name] = f"{format(number, 'f')} {unit}"
            number = number * MONEY_UNITS[unit]
            kind = "money"
        if kind == "money" and number != number.quantize(Decimal("0.01")):
            raise FeeDataError(
                f"{self.label(name)} is an amount in yuan with at most two decimals, not {_num_text(number)}"
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
        return charge, f"{_num_text(part)}{unit} × {_yuan_text(rate)}/{per} = {_yuan_text(charge)}"
    percent = _dec(band["percent"])
    charge = part * percent / _HUNDRED
    return charge, f"{_num_text(part)}{unit} × {_num_text(percent)}% = {_yuan_text(charge)}"


def _tiered(line: Mapping[str, Any], value: Decimal, reader: _Reader, name: str) -> tuple[Decimal, str]:
    bands: Sequence[Mapping[str, Any]] = line["bands"]
    unit = f" {line['unit']}" if line.get("unit") else ""
    value_text = f"{_num_text(value)}{unit}"
    if name in reader.typed:  # the amount as the applicant gave it, then what it is in yuan
        value_text = f"{reader.typed[name]}（{value_text}）"
    if line.get("mode") == "whole":
        lower: Decimal | None = None
        for i, band in enumerate(bands, 1):
            upper = band.get("up_to")
            if upper is None or value <= _dec(upper):
                span = _span_text(lower, None if upper is None else _dec(upper), unit)
                charge, how = _band_charge(band, value, unit)
                return charge, f"{value_text}，适用第 {i} 档（{span}）：{how}"
            lower = _dec(upper)
        raise FeeDataError(
            f"{reader.label(name)} is {value_text}, above the highest band of line {line.get('id')!r} "
            f"(up to {_num_text(lower or Decimal(0))}{unit}); check the value"
        )
    total = Decimal(0)
    parts: list[str] = []
    lower_bound = Decimal(0)
    for i, band in enumerate(bands):
        upper = band.get("up_to")
        upper_bound = None if upper is None else _dec(upper)
        if i > 0 and value <= lower_bound:
            break
        part = value - lower_bound if upper_bound is None else min(value, upper_bound) - lower_bound
        part = max(part, Decimal(0))
        charge, how = _band_charge(band, part, unit)
        total += charge
        span = _span_text(None if i == 0 else lower_bound, upper_bound, unit)
        parts.append(f"{span}：{how}" if "amount" in band else f"{span}部分 {how}")
        if upper_bound is None:
            break
        lower_bound = upper_bound
    else:
        if value > lower_bound:
            raise FeeDataError(
                f"{reader.label(name)} is {value_text}, above the highest band of line {line.get('id')!r} "
                f"(up to {_num_text(lower_bound)}{unit}); check the value"
            )
    return total, f"{value_text}，分段累计：" + "；".join(parts)


def _span_text(lower: Decimal | None, upper: Decimal | None, unit: str) -> str:
    if lower is None and upper is None:
        return "全部"
    if lower is None:
        return f"不超过 {_num_text(upper or Decimal(0))}{unit}"
    if upper is None:
        return f"超过 {_num_text(lower)}{unit}"
    return f"超过 {_num_text(lower)}{unit} 至 {_num_text(upper)}{unit}"


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
            rate += f"，首 {_num_text(free)} {unit}免收，计费 {_num_text(charged)} {unit}"
    elif kind == "tiered":
        quantity = reader.number(line["base"], line)
        exact, rate = _tiered(line, quantity, reader, line["base"])
        fen, clamp_text = _clamp(_round_fen(exact), line)
        rate += clamp_text
    elif kind == "percentage":
        quantity = reader.number(line["base"], line)
        percent = _dec(line["percent"])
        exact = quantity * percent / _HUNDRED
        fen, clamp_text = _clamp(_round_fen(exact), line)
        base = _yuan_text(quantity)
        if line["base"] in reader.typed:  # the amount as the applicant gave it, then what it is in yuan
            base = f"{reader.typed[line['base']]}（{base}）"
        rate = f"{base} × {_num_text(percent)}% = {_yuan_text(exact)}{clamp_text}"
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
    percent = min(max(_dec(reduction.get("reduce_percent", 0)), Decimal(0)), _HUNDRED)
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
        payable = {line.id: line.amount_fen for line in lines}
        order = [line.id for line in lines]

        def active(relief: Mapping[str, Any]) -> bool:
            return _in_force(relief.get("effective"), on) and conditions.evaluate(relief["when"], data)

        def targets(relief: Mapping[str, Any]) -> list[str]:
            wanted = relief.get("applies_to")
            return order if not wanted else [i for i in order if i in wanted]

        reliefs: list[AppliedRelief] = []
        exempted: set[str] = set()
        for exemption in schedule.get("exemptions") or ():
            if not active(exemption):
                continue
            hit = [i for i in targets(exemption) if i not in exempted]
            if not hit:
                continue
            amount = -sum(payable[i] for i in hit)
            for i in hit:
                payable[i] = 0
                exempted.add(i)
            reliefs.append(_relief(schedule, exemption, "exemption", amount, hit))

        reductions = [r for r in schedule.get("reductions") or () if active(r)]
        effect: dict[int, list[tuple[str, int]]] = {}
        for line_id in order:
            if line_id in exempted or payable[line_id] <= 0:
                continue
            best: tuple[int, int] | None = None  # (payable after, reduction index)
            for index, reduction in enumerate(reductions):
                if line_id in targets(reduction):
                    after = _reduced(payable[line_id], reduction)
                    if after < payable[line_id] and (best is None or after < best[0]):
                        best = (after, index)
            if best is not None:
                effect.setdefault(best[1], []).append((line_id, best[0] - payable[line_id]))
                payable[line_id] = best[0]
        for index, reduction in enumerate(reductions):
            if index in effect:
                changes = effect[index]
                reliefs.append(
                    _relief(schedule, reduction, "reduction", sum(c for _, c in changes), [i for i, _ in changes])
                )
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


# --- fields a schedule reads -----------------------------------------------------------


def referenced_fields(schedule: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    """Yield (path inside the schedule, field name) for every form field the schedule reads.

    Covers line quantities and bases, and every condition on lines, exemptions and
    reductions. The ``fields`` declarations themselves are not references.
    """
    lines = schedule.get("lines")
    for i, line in enumerate(lines if isinstance(lines, list) else ()):
        if not isinstance(line, Mapping):
            continue
        if isinstance(line.get("when"), Mapping):
            yield from conditions.referenced_fields(line["when"], ("lines", i, "when"))
        for key in ("quantity", "base"):
            if isinstance(line.get(key), str):
                yield ("lines", i, key), line[key]
    for section in ("exemptions", "reductions"):
        reliefs = schedule.get(section)
        for i, relief in enumerate(reliefs if isinstance(reliefs, list) else ()):
            if isinstance(relief, Mapping) and isinstance(relief.get("when"), Mapping):
                yield from conditions.referenced_fields(relief["when"], (section, i, "when"))
