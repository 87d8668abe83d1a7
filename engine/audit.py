"""Verifying the record: walk every case's hash chain and report the first event that was
altered, deleted, reordered or inserted (``yangguang audit verify --db PATH``).

The chain's rules are in engine/ledger.py's module docstring.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Engine

from engine.ledger import GENESIS_HASH, cases, event_hash, events, read_only, record_of

__all__ = ["Problem", "VerifyReport", "verify"]


class Problem(NamedTuple):
    case_number: str
    seq: int
    kind: str  # altered | broken_link | gap | inserted | head_mismatch
    message: str


@dataclass
class VerifyReport:
    cases_checked: int = 0
    events_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        """One line per problem (``CASE:SEQ: error[kind]: message``) and a summary line."""
        lines = [f"{p.case_number}:{p.seq}: error[{p.kind}]: {p.message}" for p in self.problems]
        checked = f"{self.cases_checked} cases, {self.events_checked} events checked"
        if self.ok:
            lines.append(f"ok: {checked}; every hash chain is intact")
        else:
            n = len(self.problems)
            lines.append(f"FAILED: {n} case{'s' if n != 1 else ''} with a broken record; {checked}")
        return "\n".join(lines) + "\n"


def _check_case(number: str, version: int, head: str | None, rows: Sequence[Any]) -> Problem | None:
    """The first problem of one case's chain (rows in seq order), or ``None``."""
    seen: dict[str, int] = {GENESIS_HASH: 0}  # hash -> seq of every event walked so far
    prev_hash = GENESIS_HASH
    prev_seq = 0
    for row in rows:
        rec = record_of(row, number)
        if rec.seq == prev_seq:
            return Problem(number, rec.seq, "inserted", f"two events have seq {rec.seq}")
        if rec.seq != prev_seq + 1:
            missing = f"{prev_seq + 1}" if rec.seq == prev_seq + 2 else f"{prev_seq + 1}..{rec.seq - 1}"
            return Problem(number, rec.seq, "gap", f"event(s) {missing} missing before seq {rec.seq}")
        if rec.prev_hash != prev_hash:
            if rec.prev_hash in seen:
                first = seen[rec.prev_hash] + 1
                return Problem(
                    number,
                    first,
                    "inserted",
                    f"seq {rec.seq} links to seq {first - 1}, so event(s) {first}..{rec.seq - 1} were inserted",
                )
            return Problem(
                number,
                rec.seq,
                "broken_link",
                f"prev_hash does not match the hash of seq {prev_seq} (event removed or reordered)",
            )
        try:
            recomputed = event_hash(rec.chained())
        except (TypeError, ValueError, UnicodeError) as exc:
            recomputed = f"unhashable: {exc}"
        if recomputed != rec.hash:
            return Problem(number, rec.seq, "altered", "content does not match its hash (event edited)")
        seen[rec.hash] = rec.seq
        prev_hash, prev_seq = rec.hash, rec.seq
    if prev_seq == 0:
        return Problem(number, 0, "head_mismatch", "the case has no events (its record was removed)")
    if head != prev_hash:
        return Problem(
            number,
            prev_seq,
            "head_mismatch",
            f"the case's last_event_hash is not the hash of its last event (seq {prev_seq}): events after it removed",
        )
    if version != prev_seq:
        return Problem(
            number, prev_seq, "head_mismatch", f"the case is at version {version} but its record has {prev_seq} events"
        )
    return None


def _grouped(rows: Iterator[Any]) -> Iterator[tuple[Any, list[Any]]]:
    case: Any = None
    batch: list[Any] = []
    for row in rows:
        if case is not None and row.c_id != case.c_id:
            yield case, batch
            batch = []
        if case is None or row.c_id != case.c_id:
            case = row
        if row.id is not None:
            batch.append(row)
    if case is not None:
        yield case, batch


def verify(engine: Engine, case_number: str | None = None) -> VerifyReport:
    """Walk every case's events (or one case's) in seq order and report the first problem of each case."""
    report = VerifyReport()
    query = (
        select(
            cases.c.id.label("c_id"),
            cases.c.number.label("c_number"),
            cases.c.version.label("c_version"),
            cases.c.last_event_hash.label("c_head"),
            *events.columns,
        )
        .select_from(cases.outerjoin(events, events.c.case_id == cases.c.id))
        .order_by(cases.c.id, events.c.seq, events.c.id)
    )
    if case_number is not None:
        query = query.where(cases.c.number == case_number)
    with read_only(engine) as conn:
        result = conn.execution_options(stream_results=True).execute(query)
        for case, rows in _grouped(iter(result)):
            report.cases_checked += 1
            report.events_checked += len(rows)
            problem = _check_case(str(case.c_number), int(case.c_version), case.c_head, rows)
            if problem is not None:
                report.problems.append(problem)
    return report
