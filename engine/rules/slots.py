"""Appointment slots: appointments.yaml read into counters, and a counter's slots of a day on the working-day calendar.

Pure arithmetic, no database: engine.service.bookings asks which slots a counter (a window or one
item) has on a day, whether a day may be booked yet, and whether the no-show rule bars a person.

* A counter's slots are its sessions cut into ``slot_minutes`` pieces; a piece that does not fit
  before a session's end is no slot. Late service (延时服务) adds its own sessions, on the working days
  of its weekdays only, with its own capacity.
* Only working days have slots (``WorkCalendar.is_working_day``): none on official holidays or
  ordinary weekends, and a make-up working day (调休上班日) opens like any working day. A day whose
  year has no calendar file and no provisional rule has none either (nobody can say it is open).
* The no-show rule: ``count`` no-shows within ``within_days`` natural days bar booking for
  ``blocked_days`` from the last of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.base.result import Finding
from engine.catalogue.model import Catalogue
from engine.rules.calendar import CalendarYearMissing, WorkCalendar

__all__ = [
    "Counter",
    "NoShowRule",
    "Rules",
    "Slot",
    "blocked_until",
    "check",
    "hours_of",
    "parse_time",
    "rules_of",
    "slots",
    "unbookable",
]  # fmt: skip

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BOOK_AHEAD_DAYS = 14  # appointments.yaml's default book_ahead_days
SAME_DAY_UNTIL = 30  # minutes before a slot starts that it closes for booking (same_day_until)
BOOKINGS_PER_ADDRESS = 6  # per_address_per_day.bookings: bookings one address may make within 24 hours
HOME_VISITS_PER_ADDRESS = 3  # per_address_per_day.home_visits
HOURS = (time(8, 30), time(17, 30))  # a home visit's hours when appointments.yaml names no counter


def parse_time(text: str) -> time:
    """``HH:MM`` (the schema's pattern) as a time."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True, slots=True)
class Slot:
    start: time
    end: time
    late: bool  # a late-service (延时服务) slot
    capacity: int

    @property
    def key(self) -> str:
        """The slot as the bookings store it: its start, ``HH:MM``."""
        return self.start.strftime("%H:%M")


@dataclass(frozen=True, slots=True)
class Counter:
    """One bookable window or item of appointments.yaml."""

    id: str
    name: str
    department: str  # whose window it is (for an item: the item's department)
    item: str | None  # only this item is booked here
    sessions: tuple[tuple[time, time], ...]
    slot_minutes: int
    capacity: int
    late_weekdays: frozenset[int] = frozenset()  # date.weekday() numbers
    late_sessions: tuple[tuple[time, time], ...] = ()
    late_capacity: int = 0


@dataclass(frozen=True, slots=True)
class NoShowRule:
    count: int
    within_days: int
    blocked_days: int


@dataclass(frozen=True, slots=True)
class Rules:
    counters: Mapping[str, Counter]
    book_ahead_days: int = BOOK_AHEAD_DAYS
    same_day_until: int = SAME_DAY_UNTIL
    no_show: NoShowRule | None = None
    bookings_per_address: int = BOOKINGS_PER_ADDRESS
    home_visits_per_address: int = HOME_VISITS_PER_ADDRESS

    def for_item(self, code: str, department: str) -> list[Counter]:
        """Where an item is booked: its own counters, else its department's window."""
        own = [c for c in self.counters.values() if c.item == code]
        return own or [c for c in self.counters.values() if c.item is None and c.department == department]

    def last_day(self, today: date) -> date:
        return today + timedelta(days=self.book_ahead_days)


def _sessions(raw: Iterable[Mapping[str, str]]) -> tuple[tuple[time, time], ...]:
    return tuple((parse_time(s["start"]), parse_time(s["end"])) for s in raw)


def rules_of(
    data: Mapping[str, Any] | None, departments: Sequence[Mapping[str, Any]], item_departments: Mapping[str, str]
) -> Rules:
    """The rules of a checked appointments.yaml (None: nothing to book). A counter whose window,
    department or item is unknown is left out (``check`` reports it)."""
    if not data:
        return Rules({})
    by_window = {d.get("window"): d["id"] for d in departments if d.get("window")}
    known = {d["id"] for d in departments}
    counters: dict[str, Counter] = {}
    for raw in data.get("counters", []):
        if "item" in raw:
            department = item_departments.get(raw["item"])
        elif "window" in raw:
            department = by_window.get(raw["window"])
        else:
            department = raw["department"] if raw["department"] in known else None
        if department is None:
            continue
        late = raw.get("late") or {}
        counters[raw["id"]] = Counter(
            raw["id"], raw["name"], department, raw.get("item"), _sessions(raw["sessions"]),
            raw["slot_minutes"], raw["capacity"],
            frozenset(WEEKDAYS.index(w) for w in late.get("weekdays", [])),
            _sessions(late.get("sessions", [])), late.get("capacity", raw["capacity"]),
        )  # fmt: skip
    rule = data.get("no_show")
    no_show = NoShowRule(rule["count"], rule["within_days"], rule["blocked_days"]) if rule else None
    ahead, until = data.get("book_ahead_days", BOOK_AHEAD_DAYS), data.get("same_day_until", SAME_DAY_UNTIL)
    per = data.get("per_address_per_day") or {}
    return Rules(
        counters, ahead, until, no_show, per.get("bookings", BOOKINGS_PER_ADDRESS),
        per.get("home_visits", HOME_VISITS_PER_ADDRESS),
    )  # fmt: skip


def _cut(sessions: Iterable[tuple[time, time]], minutes: int, late: bool, capacity: int) -> list[Slot]:
    out = []
    for start, end in sessions:
        at = _minutes(start)
        while at + minutes <= _minutes(end):
            out.append(Slot(time(at // 60, at % 60), time((at + minutes) // 60, (at + minutes) % 60), late, capacity))
            at += minutes
    return out


def is_open(calendar: WorkCalendar, day: date) -> bool:
    """Whether the center opens on ``day``: a working day (make-up working days too)."""
    try:
        return calendar.is_working_day(day)
    except CalendarYearMissing:
        return False


def slots(counter: Counter, day: date, calendar: WorkCalendar) -> list[Slot]:
    """The counter's slots on ``day`` in time order: none when the center is closed that day."""
    if not is_open(calendar, day):
        return []
    found = _cut(counter.sessions, counter.slot_minutes, False, counter.capacity)
    if day.weekday() in counter.late_weekdays:
        found += _cut(counter.late_sessions, counter.slot_minutes, True, counter.late_capacity)
    return sorted(found, key=lambda s: s.start)


def hours_of(rules: Rules, department: str) -> tuple[time, time]:
    """When the center serves ``department``: from the earliest start to the latest end of its counters'
    sessions (late service included); of every counter when it has none; :data:`HOURS` without counters."""
    counters = [c for c in rules.counters.values() if c.department == department] or list(rules.counters.values())
    spans = [s for c in counters for s in (*c.sessions, *c.late_sessions)]
    if not spans:
        return HOURS
    return min(a for a, _ in spans), max(b for _, b in spans)


def closes_at(day: date, slot: Slot, same_day_until: int, tz: Any) -> datetime:
    """The last instant the slot may be booked (or a booking moved into it)."""
    return datetime.combine(day, slot.start, tzinfo=tz) - timedelta(minutes=same_day_until)


def blocked_until(rule: NoShowRule | None, no_shows: Iterable[date], today: date) -> date | None:
    """The first day a person may book again when the no-show rule bars them today, else None."""
    if rule is None:
        return None
    recent = sorted(d for d in no_shows if today - timedelta(days=rule.within_days) < d <= today)
    if len(recent) < rule.count:
        return None
    until = recent[-1] + timedelta(days=rule.blocked_days + 1)
    return until if until > today else None


# ------------------------------------------------------------------------------ checking the file


def unbookable(cat: Catalogue, departments: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """A warning for each item whose ``online.booking`` is true while appointments.yaml has no counter
    for it (its own, or its department's window): its guide would promise booking nobody can make."""
    items = {code: cat.data(doc) or {} for code, doc in cat.items.items()}
    rules = rules_of(cat.appointments, departments, {c: str(d.get("department", "")) for c, d in items.items()})
    out = []
    for code, data in sorted(items.items()):
        online = data.get("online")
        if isinstance(online, Mapping) and online.get("booking") and not rules.for_item(code, data["department"]):
            out.append(
                Finding(
                    cat.items[code].file,
                    ("online", "booking"),
                    "booking-no-counter",
                    "online.booking is true but appointments.yaml has no counter for this item or its "
                    "department's window; add one there, or set booking to false",
                )
            )
    return out


def _overlaps(sessions: Sequence[tuple[int, Mapping[str, str]]]) -> Iterable[tuple[int, int]]:
    """(index, index of the session it overlaps, or -1 when it ends before it starts) for bad sessions."""
    spans: list[tuple[int, tuple[int, int]]] = []
    for i, s in sessions:
        a, b = _minutes(parse_time(s["start"])), _minutes(parse_time(s["end"]))
        if b <= a:
            yield i, -1
            continue
        for j, (c, d) in spans:
            if a < d and c < b:
                yield i, j
        spans.append((i, (a, b)))


def check(
    file: str, data: Mapping[str, Any], departments: Sequence[Mapping[str, Any]], items: Mapping[str, str]
) -> list[Finding]:
    """What the schema cannot say: a counter id twice, an unknown window, department or item, a
    session that ends before it starts or overlaps another (late sessions included)."""
    out: list[Finding] = []
    windows = {str(d["window"]) for d in departments if d.get("window")}
    known = {d["id"] for d in departments}
    seen: dict[str, int] = {}
    for n, raw in enumerate(data.get("counters", [])):
        here = ("counters", n)
        if raw["id"] in seen:
            out.append(
                Finding(
                    file,
                    (*here, "id"),
                    "duplicate-counter",
                    f"counter id {raw['id']!r} is already used by counters[{seen[raw['id']]}]; "
                    "give each counter its own id",
                )
            )
        seen.setdefault(raw["id"], n)
        if "window" in raw and raw["window"] not in windows:
            out.append(
                Finding(
                    file,
                    (*here, "window"),
                    "unknown-window",
                    f"no department in center.yaml has window {raw['window']!r}; "
                    f"write it as center.yaml does ({', '.join(sorted(windows))})",
                )
            )
        if "department" in raw and raw["department"] not in known:
            out.append(
                Finding(
                    file,
                    (*here, "department"),
                    "unknown-department",
                    f"department {raw['department']!r} is not in center.yaml (add it there or fix the id)",
                )
            )
        if "item" in raw and raw["item"] not in items:
            out.append(
                Finding(
                    file,
                    (*here, "item"),
                    "unknown-item",
                    f"no item has code {raw['item']!r}; fix the code or remove the counter",
                )
            )
        late = raw.get("late") or {}
        every = [(i, s) for i, s in enumerate(raw["sessions"])] + [
            (100 + i, s) for i, s in enumerate(late.get("sessions", []))
        ]
        for i, j in _overlaps(every):
            path = (*here, "sessions", i) if i < 100 else (*here, "late", "sessions", i - 100)
            other = "" if j < 0 else (f" sessions[{j}]" if j < 100 else f" late.sessions[{j - 100}]")
            why = (
                "the session ends before it starts"
                if j < 0
                else f"the session overlaps{other}; sessions must not overlap"
            )
            out.append(Finding(file, path, "session-overlap" if j >= 0 else "session-order", why))
    return out
