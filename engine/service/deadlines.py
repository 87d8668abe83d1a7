"""A case's deadlines from the working-day calendar: the Art. 32 completeness period, the promised
and legal limits (shifted by pauses that stop the clock, lengthened by the one extension), each open
step's own limit and Art. 44's delivery. ``DeadlineClock`` remembers what it computed, because a
case asks for the same deadlines after every action."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.rules import clock
from engine.rules.calendar import CalendarYearMissing, WorkCalendar
from engine.rules.cases.law import DELIVERY_LIMIT, delivery_running, extension_of
from engine.rules.cases.model import Case, Timing
from engine.rules.cases.steps import open_steps
from engine.service import provisional

log = logging.getLogger("yangguang.service")
DUE_CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class Deadlines:
    completeness: datetime | None  # Art. 32: accept, refuse or ask for supplements by then
    promised: datetime | None  # None while the clock is stopped
    legal: datetime | None
    steps: dict[str, datetime | None]
    #: Art. 44: issue or deliver a granted licence by then (None when not running)
    delivery: datetime | None = None
    #: the calendar's first provisional year when one of these dates lies in it (暂定, engine.service.provisional)
    provisional_from: int | None = None

    def is_provisional(self, moment: datetime | None) -> bool:
        return provisional.is_provisional(moment, self.provisional_from)


def pauses_clock(item: Mapping[str, Any], kind: str) -> bool:
    """Whether the item's special procedure ``kind`` stops the clock (it does not count toward the limit)."""
    return any(sp["kind"] == kind and not sp["counts_toward_limit"] for sp in item.get("special_procedures", []))


def clock_stopped(case: Case, item: Mapping[str, Any]) -> bool:
    """A supplement or a special procedure that does not count toward the limit is running."""
    return any(p["end"] is None and (p["kind"] == "supplement" or pauses_clock(item, p["kind"])) for p in case.pauses)


class DeadlineClock:
    """The deadlines of cases under one calendar and the center's completeness period."""

    def __init__(self, calendar: WorkCalendar, completeness_days: int) -> None:
        self.calendar = calendar
        self.completeness_days = completeness_days
        self._dues: dict[tuple[Any, ...], datetime | None] = {}
        self._completeness: dict[datetime, datetime] = {}  # start -> the Art. 32 period's end
        # number -> (case, item, its deadlines): an action asks for the deadlines of the case it starts
        # from, which the previous action computed for the case it left (the same object, cached by
        # engine.service.cases; a folded case is never changed afterwards, so identity means equality)
        self._last: dict[str, tuple[Case, Mapping[str, Any], Deadlines]] = {}

    def deadlines(self, case: Case, item: Mapping[str, Any]) -> Deadlines:
        hit = self._last.get(case.number)
        if hit is not None and hit[0] is case and hit[1] is item:
            return hit[2]
        if len(self._last) >= DUE_CACHE_SIZE:
            self._last.clear()
        due = self._deadlines(case, item)
        self._last[case.number] = (case, item, due)
        return due

    def _deadlines(self, case: Case, item: Mapping[str, Any]) -> Deadlines:
        cal = self.calendar
        completeness = self.completeness_due(case)
        if case.accepted_at is None:
            return Deadlines(completeness, None, None, {}, provisional_from=provisional.since(cal, completeness))
        pauses = tuple(
            clock.Pause(p["start"], p["end"], p["kind"])
            for p in case.pauses
            if p["kind"] == "supplement" or pauses_clock(item, p["kind"])
        )
        tl = item["time_limit"]
        promised = self.due(case.accepted_at, tl["promised"], pauses)
        legal = self.due(case.accepted_at, tl["legal"], pauses)
        ext = extension_of(item) if case.extended else None
        if ext is not None:
            limit = ext["limit"]
            promised = clock.extend(promised, limit, cal) if promised else None
            legal = clock.extend(legal, limit, cal) if legal else None
        steps: dict[str, datetime | None] = {}
        for step in open_steps(case, item):
            if "limit" in step and step["id"] in case.step_started:
                steps[step["id"]] = self.due(case.step_started[step["id"]], step["limit"], pauses)
        delivery = None
        if delivery_running(case, item) and case.decided_at is not None:
            delivery = self.due(case.decided_at, DELIVERY_LIMIT, ())  # no pause stops it
        shown = None if case.state != "submitted" else completeness
        since = provisional.since(cal, shown, promised, legal, delivery, *steps.values())
        return Deadlines(shown, promised, legal, steps, delivery=delivery, provisional_from=since)

    def timing(self, case: Case, item: Mapping[str, Any]) -> Timing:
        """The law's clocks the state machine needs: the Art. 32 period and the Art. 42 legal limit."""
        due = self.deadlines(case, item)
        return Timing(completeness=due.completeness, legal=due.legal)

    def completeness_due(self, case: Case) -> datetime | None:
        """Art. 32: accept, refuse or give the one-time notice within the center's completeness
        period (5 working days unless center.yaml says fewer) of receipt. After the applicant
        supplements, the same period runs from the supplement: the engine does not deem such a
        case accepted (the notice was given), but the worklist and supervision see it due."""
        if case.received_at is None:
            return None
        start = case.received_at
        ended = [p["end"] for p in case.pauses if p["kind"] == "supplement" and p["end"] is not None]
        if ended:
            start = max(ended)
        if start not in self._completeness:  # the same for every action until the case is accepted
            if len(self._completeness) >= DUE_CACHE_SIZE:
                self._completeness.clear()
            try:
                self._completeness[start] = clock.deemed_acceptance_due(start, self.calendar, self.completeness_days)
            except CalendarYearMissing as exc:
                log.warning("completeness deadline unknown: %s", exc)
                return None
        return self._completeness[start]

    def due(self, start: datetime, limit: Mapping[str, Any], pauses: tuple[clock.Pause, ...]) -> datetime | None:
        """``clock.due_with_pauses`` remembered: a case asks for the same deadlines after every action."""
        key = (start, limit.get("value"), limit.get("unit"), pauses)
        if key not in self._dues:
            if len(self._dues) >= DUE_CACHE_SIZE:
                self._dues.clear()
            try:
                self._dues[key] = clock.due_with_pauses(start, limit, pauses, self.calendar)
            except CalendarYearMissing as exc:
                # A year after the last calendar file is counted provisionally (engine.rules.calendar);
                # one no rule covers (before the first file) leaves the deadline unknown (None) and
                # the case goes on; say so in the log every time.
                log.warning("deadline unknown: %s", exc)
                return None
        return self._dues[key]
