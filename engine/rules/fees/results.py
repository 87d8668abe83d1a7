"""An assessment as records: each line that applies with how its amount was reached, each relief,
and the exact total in fen, with ``as_dict`` for the case record and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from engine.rules.fees.schedule import format_fen, num_text


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
            "quantity": None if self.quantity is None else num_text(self.quantity),
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
