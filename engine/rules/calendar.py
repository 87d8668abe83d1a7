"""The working-day calendar: statutory holidays and make-up working days (调休), one YAML file per year.

Administrative Licensing Law art. 82 counts time limits in working days, excluding
statutory holidays. A day is a working day when it is Monday to Friday and not inside a
holiday break, or when it is a make-up working day (a Saturday or Sunday the State
Council notice says is worked).

Each ``calendar/<year>.yaml`` holds one year (see ``schema/calendar.schema.json``)::

    year: 2026
    basis: {law: 国务院办公厅关于2026年部分节假日安排的通知, article: 全文}
    holidays:
      - {name: 春节, from: 2026-02-15, to: 2026-02-23}
    make_up_working_days:
      - {date: 2026-02-14, holiday: 春节}

Years without a file. Every year after the last file (from 2025, through 2099) is counted by
the provisional rule of ``engine.rules.holiday_rule`` — the statutory days off of 《全国年节及纪念日放假办法》
alone, no make-up working days — because the State Council announces next year's arrangement
only in the autumn, and a deadline in the next year must still be given. Such a year is
*provisional*: ``is_provisional(day)`` is True for every date in it, and every deadline that
reaches into it is shown as 暂定 until its file is added. Since provisional years only ever follow
the last file, a result is provisional exactly when its own date is (a computation runs forwards
from its start). Anything else without a file — a year before the first file or between two
files, a year before 2025 (an earlier revision of the 办法) or after 2099 — raises
``CalendarYearMissing``, as it does for every year when the calendar is built with
``provisional=False``.

Each year is precomputed into a working-day bitmap and a running count, and all working days
are kept in one sorted array, so ``is_working_day``, ``working_days_between`` and
``add_working_days`` are O(1) after construction; a provisional year is computed the first time
a date reaches it (the array only grows at its end, so earlier counts stay valid).
"""

from __future__ import annotations

import re
import threading
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import PurePosixPath
from typing import Any

from engine.base.dates import as_date as _as_date
from engine.base.result import Finding, Path
from engine.rules import holiday_rule

__all__ = [
    "CalendarInvalid",
    "CalendarYearMissing",
    "MissingCalendar",
    "WorkCalendar",
    "check_calendar",
    "missing_years",
]

_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class CalendarYearMissing(LookupError):
    """Working-day arithmetic touched a year that has no calendar file."""

    def __init__(self, year: int, loaded: Iterable[int] = (), provisional: bool = True) -> None:
        self.year = year
        self.loaded = tuple(sorted(loaded))
        have = ", ".join(str(y) for y in self.loaded) or "none"
        why = (
            f"only the years after the last calendar file, {holiday_rule.FIRST_YEAR} to {holiday_rule.LAST_YEAR}, "
            "are counted provisionally"
            if provisional
            else "this calendar counts no year provisionally"
        )
        super().__init__(
            f"no working-day calendar for {year} (calendars loaded: {have}); "
            f"add calendar/{year}.yaml from the State Council notice "
            f"(国务院办公厅关于{year}年部分节假日安排的通知) — {why}"
        )

    def __str__(self) -> str:  # LookupError would otherwise show the repr of the args
        return str(self.args[0])


class CalendarInvalid(ValueError):
    """A calendar document given to ``WorkCalendar.from_documents`` has problems."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.findings = tuple(findings)
        lines = "; ".join(f"{f.file}: {f.message}" for f in self.findings)
        super().__init__(f"invalid working-day calendar: {lines}")


# --------------------------------------------------------------------------- checks


def _date_problem(value: Any) -> str:
    if isinstance(value, str) and _DATE.match(value):
        y, mo = int(value[:4]), int(value[5:7])
        if not 1 <= mo <= 12:
            return f"{value} is not a real date: there is no month {mo}; write the date as the notice has it"
        days = (date(y + mo // 12, mo % 12 + 1, 1) - date(y, mo, 1)).days if 1 <= y <= 9998 else 31
        return f"{value} is not a real date: {y}-{mo:02d} has {days} days; write the date as the notice has it"
    return f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-10-01"


def _is_year(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entries(data: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    """The mapping entries of the list ``data[key]`` with their indexes; anything else is skipped."""
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, entry) for i, entry in enumerate(value) if isinstance(entry, Mapping)]


def _span(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"


@dataclass(frozen=True, slots=True)
class _Break:
    index: int
    name: str
    first: date
    last: date


def _check(file: str, data: Mapping[str, Any], *, check_file_name: bool) -> list[Finding]:
    if not isinstance(data, Mapping):
        return []
    check = _CalendarCheck(file, data)
    if check_file_name:
        check.file_name()
    check.make_up_days(check.holidays())
    return check.findings


class _CalendarCheck:
    """The findings of one calendar document, part by part: its file name, its holiday breaks, its
    make-up working days (which refer to the breaks by name and must not fall in one)."""

    def __init__(self, file: str, data: Mapping[str, Any]) -> None:
        self.file, self.data = file, data
        self.findings: list[Finding] = []
        year = data.get("year")
        self.year: int | None = year if _is_year(year) else None
        self.names: dict[str, int] = {}  # break name -> its entry

    def add(self, path: Path, kind: str, message: str) -> None:
        self.findings.append(Finding(self.file, path, kind, message))

    def file_name(self) -> None:
        year = self.year
        if year is None:
            return
        file_name = PurePosixPath(self.file.replace("\\", "/")).name
        stem = file_name.rsplit(".", 1)[0]
        if stem != str(year):
            if re.fullmatch(r"[0-9]{4}", stem):
                message = (
                    f"the file {file_name} is for {stem} but says year: {year}; "
                    f"correct the year or rename the file to {year}.yaml"
                )
            else:
                message = f"calendar files are named after their year: rename {file_name} to {year}.yaml"
            self.add(("year",), "calendar-year", message)

    def dated(self, path: Path, value: Any) -> date | None:
        """The date at ``path`` if it is real and in the file's year; a finding otherwise."""
        d = _as_date(value)
        if d is None:
            self.add(path, "calendar-date", _date_problem(value))
            return None
        if self.year is not None and d.year != self.year:
            self.add(
                path,
                "calendar-year",
                f"{d.isoformat()} is in {d.year}, but this is the calendar for {self.year}; every date goes in "
                f"the file of its own year — move it to calendar/{d.year}.yaml with a note naming the notice "
                "that announced it",
            )
            return None
        return d

    def holidays(self) -> list[_Break]:
        """The holiday breaks that are well formed: named once, real dates in order, no day twice."""
        breaks: list[_Break] = []
        for i, entry in _entries(self.data, "holidays"):
            name = entry.get("name")
            label = name if isinstance(name, str) else f"holidays[{i}]"
            if isinstance(name, str):
                if name in self.names:
                    self.add(
                        ("holidays", i, "name"),
                        "calendar-duplicate",
                        f"the holiday name {name} is used twice (also entry {self.names[name] + 1}); give each "
                        "break its own name — write one entry for a break the notice announces as one",
                    )
                else:
                    self.names[name] = i
            first = self.dated(("holidays", i, "from"), entry.get("from"))
            last = self.dated(("holidays", i, "to"), entry.get("to"))
            if first is None or last is None:
                continue
            if last < first:
                self.add(
                    ("holidays", i, "to"),
                    "calendar-range",
                    f"the break {label} ends on {last.isoformat()}, before it starts on {first.isoformat()}; "
                    "'to' must be the same as or after 'from'",
                )
                continue
            for other in breaks:
                if first <= other.last and other.first <= last:
                    self._overlap(i, label, first, last, other)
            breaks.append(_Break(i, label, first, last))
        return breaks

    def _overlap(self, i: int, label: str, first: date, last: date, other: _Break) -> None:
        overlap_first, overlap_last = max(first, other.first), min(last, other.last)
        key = "to" if other.first <= last <= other.last and not other.first <= first else "from"
        self.add(
            ("holidays", i, key),
            "calendar-duplicate",
            f"the break {label} ({_span(first, last)}) overlaps {other.name} "
            f"({_span(other.first, other.last)}) on {_span(overlap_first, overlap_last)}; list each "
            "day off once — when the notice merges two holidays into one break, write one entry "
            "such as 国庆节、中秋节",
        )

    def make_up_days(self, breaks: list[_Break]) -> None:
        """Make-up working days: each names a break, is listed once, is no day off, and is a weekend day."""
        seen: dict[date, int] = {}
        for j, entry in _entries(self.data, "make_up_working_days"):
            holiday = entry.get("holiday")
            if isinstance(holiday, str) and holiday not in self.names:
                known = "、".join(self.names) or "none"
                self.add(
                    ("make_up_working_days", j, "holiday"),
                    "calendar-reference",
                    f"{holiday} is not the name of a break in holidays (names: {known}); "
                    "use the name exactly as written there",
                )
            d = self.dated(("make_up_working_days", j, "date"), entry.get("date"))
            if d is None:
                continue
            path: Path = ("make_up_working_days", j, "date")
            if d in seen:
                self.add(
                    path,
                    "calendar-duplicate",
                    f"{d.isoformat()} is already a make-up working day (entry {seen[d] + 1}); list it once",
                )
                continue
            seen[d] = j
            clash = next((b for b in breaks if b.first <= d <= b.last), None)
            if clash is not None:
                self.add(
                    path,
                    "calendar-conflict",
                    f"{d.isoformat()} is listed as a make-up working day but is a day off in the break "
                    f"{clash.name} ({_span(clash.first, clash.last)}); check the notice and remove it from "
                    "one of the two lists",
                )
            elif d.weekday() < 5:
                self.add(
                    path,
                    "calendar-make-up-weekday",
                    f"{d.isoformat()} is a {_WEEKDAYS[d.weekday()]}; a make-up working day (调休上班日) must be "
                    "a Saturday or Sunday that the notice says is worked — check the date against the notice",
                )


def check_calendar(file: str, data: Mapping[str, Any]) -> list[Finding]:
    """Semantic checks of one calendar document that its schema cannot express.

    Kinds: ``calendar-date`` (not a real date), ``calendar-year`` (a date outside the
    file's year, or a file name that does not match ``year``), ``calendar-range``
    (``from`` after ``to``), ``calendar-duplicate`` (overlapping breaks, a repeated break
    name or make-up day), ``calendar-conflict`` (a make-up working day inside a break),
    ``calendar-make-up-weekday`` (a make-up working day on Monday to Friday) and
    ``calendar-reference`` (a make-up day naming an unknown break). Never raises on a
    document that passed the schema.
    """
    return _check(file, data, check_file_name=True)


# --------------------------------------------------------------------------- arithmetic


@dataclass(frozen=True, slots=True)
class _Year:
    first_ordinal: int  # ordinal of 1 January
    working: bytes  # working[i] == 1 when day i of the year (0-based) is a working day
    before: array[int]  # before[i] == working days among days 0..i-1 of the year
    offset: int  # working days in all loaded years before this one


def _year_table(year: int, off: frozenset[date], make_up: frozenset[date], ordinals: array[int]) -> _Year:
    """One year's table; its working days are appended to ``ordinals`` (which holds every earlier year's)."""
    start = date(year, 1, 1)
    size = (date(year + 1, 1, 1) - start).days
    working = bytearray(size)
    before: array[int] = array("l", [0]) * (size + 1)
    offset, count = len(ordinals), 0
    first_ordinal = start.toordinal()
    for i in range(size):
        day = start + timedelta(days=i)
        if day in make_up or (day.weekday() < 5 and day not in off):
            working[i] = 1
            count += 1
            ordinals.append(first_ordinal + i)
        before[i + 1] = count
    return _Year(first_ordinal, bytes(working), before, offset)


class WorkCalendar:
    """Working days from one or more year calendars; see the module docstring."""

    __slots__ = ("_exact", "_lock", "_ordinals", "_rule_from", "_tables")

    def __init__(
        self, years: Mapping[int, tuple[frozenset[date], frozenset[date]]], *, provisional: bool = True
    ) -> None:
        """Build from ``{year: (days off, make-up working days)}``; prefer ``from_documents``.
        ``provisional=False``: no provisional years, every year without a file raises."""
        tables: dict[int, _Year] = {}
        ordinals: array[int] = array("l")
        for year in sorted(years):
            tables[year] = _year_table(year, *years[year], ordinals)
        self._tables = tables
        self._ordinals = ordinals
        self._exact = tuple(sorted(years))
        after_files = self._exact[-1] + 1 if self._exact else holiday_rule.FIRST_YEAR
        self._rule_from = max(after_files, holiday_rule.FIRST_YEAR) if provisional else None
        self._lock = threading.Lock()

    @classmethod
    def from_documents(cls, docs: Iterable[Mapping[str, Any]], *, provisional: bool = True) -> WorkCalendar:
        """Build from parsed calendar documents, one per year (dates as YYYY-MM-DD strings).

        Raises ``CalendarInvalid`` when a document has a problem ``check_calendar`` would
        report (other than its file name) or when two documents are for the same year.
        ``provisional``: see ``__init__``.
        """
        years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        problems: list[Finding] = []
        for doc in docs:
            year = doc.get("year") if isinstance(doc, Mapping) else None
            if not isinstance(year, int) or isinstance(year, bool):
                problems.append(Finding("<calendar>", ("year",), "calendar-year", "the document has no year"))
                continue
            file = f"calendar/{year}.yaml"
            if year in years:
                problems.append(Finding(file, ("year",), "calendar-duplicate", f"two calendar documents for {year}"))
                continue
            found = _check(file, doc, check_file_name=False)
            if found:
                problems.extend(found)
                continue
            off: set[date] = set()
            for _, entry in _entries(doc, "holidays"):
                first, last = _as_date(entry.get("from")), _as_date(entry.get("to"))
                if first is not None and last is not None:
                    off.update(first + timedelta(days=k) for k in range((last - first).days + 1))
            make_up = {_as_date(entry.get("date")) for _, entry in _entries(doc, "make_up_working_days")}
            years[year] = (frozenset(off), frozenset(d for d in make_up if d is not None))
        if problems:
            raise CalendarInvalid(problems)
        return cls(years, provisional=provisional)

    # ----------------------------------------------------------------- queries

    @property
    def years(self) -> tuple[int, ...]:
        """The years that have a calendar file, in order."""
        return self._exact

    def covers(self, year: int) -> bool:
        """True when ``year`` has a calendar file."""
        return year in self._exact

    @property
    def provisional_from(self) -> int | None:
        """The first year counted by the provisional rule (the year after the last file, 2025 at
        the earliest); None when the calendar was built with ``provisional=False``."""
        return self._rule_from

    def is_provisional(self, d: date) -> bool:
        """True when ``d`` lies in a year without a file that the provisional rule counts: a
        deadline on ``d`` is 暂定 (module docstring)."""
        return self._rule_from is not None and d.year >= self._rule_from

    def _by_rule(self, year: int) -> bool:
        return self._rule_from is not None and self._rule_from <= year <= holiday_rule.LAST_YEAR

    def _extend(self, through: int) -> None:
        """Compute the provisional years up to ``through``. Only appends: the ranks of the years
        already there stay valid, so a reader holding the previous arrays still gets right answers."""
        assert self._rule_from is not None
        with self._lock:
            tables = dict(self._tables)
            ordinals = array("l", self._ordinals)
            year = max([self._rule_from - 1, *tables]) + 1
            while year <= through:
                tables[year] = _year_table(year, holiday_rule.days_off(year), frozenset(), ordinals)
                year += 1
            self._ordinals = ordinals  # the longer array first: every rank of ``tables`` fits in it
            self._tables = tables

    def _table(self, year: int) -> _Year:
        table = self._tables.get(year)
        if table is None:
            if not self._by_rule(year):
                raise CalendarYearMissing(year, self._exact, self._rule_from is not None)
            self._extend(year)
            table = self._tables[year]
        return table

    def _require_years(self, first: int, last: int) -> None:
        for year in range(first, last + 1):
            self._table(year)

    def _rank(self, d: date) -> int:
        """Working days from the first loaded year up to and including ``d``."""
        table = self._table(d.year)
        return table.offset + table.before[d.toordinal() - table.first_ordinal + 1]

    def is_working_day(self, d: date) -> bool:
        """True for Monday to Friday outside every break, and for make-up working days."""
        table = self._table(d.year)
        return table.working[d.toordinal() - table.first_ordinal] == 1

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself not counted); ``start`` when n == 0."""
        if n < 0:
            raise ValueError(f"n must be 0 or more, not {n}")
        rank = self._rank(start)
        if n == 0:
            return start
        index = rank + n - 1
        while index >= len(self._ordinals):
            following = max(self._tables) + 1
            if not self._by_rule(following):
                year = start.year + 1
                while year in self._tables:
                    year += 1
                raise CalendarYearMissing(year, self._exact, self._rule_from is not None)
            self._extend(following)
        result = date.fromordinal(self._ordinals[index])
        if result.year > start.year + 1:
            self._require_years(start.year + 1, result.year - 1)
        return result

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.add_working_days(d, 1)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open interval (start, end]; 0 when end <= start."""
        start_rank, end_rank = self._rank(start), self._rank(end)
        if end <= start:
            return 0
        if end.year > start.year + 1:
            self._require_years(start.year + 1, end.year - 1)
        return end_rank - start_rank


#: from this day of the year (month, day) next year's calendar is expected: the State Council
#: publishes the next year's holiday notice in autumn or early winter
NEXT_YEAR_EXPECTED = (11, 1)


@dataclass(frozen=True, slots=True)
class MissingCalendar:
    """A year whose ``calendar/<year>.yaml`` an administrator should add now."""

    year: int
    #: ``current``: deadlines this year are already provisional (暂定); ``next``: from 1 November,
    #: while deadlines that run into next year are provisional
    when: str


def missing_years(calendars: Iterable[int] | Mapping[int, Any], today: date) -> list[MissingCalendar]:
    """The calendar years missing on ``today`` (the center's local date), most urgent first:
    the current year whenever it is absent, and next year from 1 November on. ``calendars``
    is the catalogue's ``calendars`` (year -> document) or just its years."""
    have = set(calendars)
    out = []
    if today.year not in have:
        out.append(MissingCalendar(today.year, "current"))
    if (today.month, today.day) >= NEXT_YEAR_EXPECTED and today.year + 1 not in have:
        out.append(MissingCalendar(today.year + 1, "next"))
    return out
