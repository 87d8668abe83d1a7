"""The working-day calendar: reference data, arithmetic, checks and schema."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from engine.rules.calendar import (
    CalendarInvalid,
    CalendarYearMissing,
    WorkCalendar,
    check_calendar,
)

ROOT = Path(__file__).resolve().parents[3]
CALENDAR_DIR = ROOT / "calendar"
SCHEMA_DIR = ROOT / "schema"
REFERENCE_YEARS = (2025, 2026)
FIRST, LAST = date(2025, 1, 1), date(2026, 12, 31)


# --------------------------------------------------------------------------- helpers


class _Yaml12Loader(yaml.SafeLoader):
    """Safe loader that keeps unquoted dates as strings, as the project loader does (YAML 1.2 style)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)


@cache
def reference_docs() -> tuple[Mapping[str, Any], ...]:
    return tuple(load_yaml(CALENDAR_DIR / f"{year}.yaml") for year in REFERENCE_YEARS)


@cache
def cal() -> WorkCalendar:
    return WorkCalendar.from_documents(reference_docs())


@cache
def validator() -> Draft7Validator:
    registry: Registry = Registry()
    for name in ("common.schema.json", "calendar.schema.json"):
        schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
        registry = registry.with_resource(name, Resource.from_contents(schema))
    schema = json.loads((SCHEMA_DIR / "calendar.schema.json").read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, registry=registry)


def schema_errors(doc: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(doc)]


def days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def reference_add(start: date, n: int) -> date:
    """Step day by day with chinese-calendar: the independent oracle."""
    d = start
    while n > 0:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d):
            n -= 1
    return d


def D(text: str) -> date:
    return date.fromisoformat(text)


# --------------------------------------------------------------------------- reference data


@pytest.mark.parametrize("year", REFERENCE_YEARS)
def test_reference_file_has_modeline_and_is_schema_valid(year: int) -> None:
    path = CALENDAR_DIR / f"{year}.yaml"
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../schema/calendar.schema.json"
    doc = load_yaml(path)
    assert schema_errors(doc) == []
    assert check_calendar(f"calendar/{year}.yaml", doc) == []
    assert doc["year"] == year
    assert doc["basis"]["law"].startswith(f"国务院办公厅关于{year}年部分节假日安排的通知")


@pytest.mark.parametrize("year", REFERENCE_YEARS)
def test_every_day_matches_chinese_calendar(year: int) -> None:
    mismatches = [
        (d.isoformat(), cal().is_working_day(d))
        for d in days(date(year, 1, 1), date(year, 12, 31))
        if cal().is_working_day(d) != chinese_calendar.is_workday(d)
    ]
    assert mismatches == []


@pytest.mark.parametrize("year", REFERENCE_YEARS)
def test_days_off_and_make_up_days_match_chinese_calendar_exactly(year: int) -> None:
    """Weekend days inside a break are listed too, so compare the full sets of days off."""
    doc = next(d for d in reference_docs() if d["year"] == year)
    listed_off = {d for h in doc["holidays"] for d in days(D(h["from"]), D(h["to"]))}
    listed_make_up = {D(m["date"]) for m in doc["make_up_working_days"]}
    package_off = {d for d, name in chinese_calendar.holidays.items() if d.year == year and name is not None}
    package_make_up = {d for d, name in chinese_calendar.workdays.items() if d.year == year and name is not None}
    assert listed_off == package_off
    assert listed_make_up == package_make_up


def test_working_day_counts_per_year() -> None:
    # 261 weekdays each year; 2025: 18 of them off, 5 make-up days; 2026: 19 off, 6 make-up days
    assert cal().working_days_between(D("2025-01-01"), D("2025-12-31")) == 248  # 01-01 is 元旦 anyway
    assert cal().working_days_between(D("2025-12-31"), D("2026-12-31")) == 248
    for year in REFERENCE_YEARS:
        expected = sum(chinese_calendar.is_workday(d) for d in days(date(year, 1, 1), date(year, 12, 31)))
        assert expected == 248


def test_years() -> None:
    assert cal().years == (2025, 2026)
    assert cal().covers(2026) and not cal().covers(2027)


# --------------------------------------------------------------------------- known days


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2026-01-01", False),  # 元旦
        ("2026-01-02", False),
        ("2026-01-04", True),  # Sunday, make-up for 元旦
        ("2026-02-13", True),  # Friday before 春节
        ("2026-02-14", True),  # Saturday, make-up for 春节
        ("2026-02-15", False),  # 春节 starts on 腊月二十八, a Sunday
        ("2026-02-17", False),  # 正月初一
        ("2026-02-23", False),  # 正月初七, a Monday
        ("2026-02-24", True),
        ("2026-02-28", True),  # Saturday, make-up for 春节
        ("2026-03-01", False),  # ordinary Sunday
        ("2026-09-20", True),  # Sunday, make-up for 国庆节
        ("2026-09-25", False),  # 中秋节
        ("2026-10-01", False),  # 国庆节
        ("2026-10-07", False),
        ("2026-10-08", True),
        ("2026-10-10", True),  # Saturday, make-up for 国庆节
        ("2026-10-11", False),
        ("2025-01-28", False),  # 2025 春节 starts on 除夕 (added by the 2024 revision)
        ("2025-02-04", False),
        ("2025-02-08", True),
        ("2025-05-02", False),  # 劳动节 day added by the 2024 revision
        ("2025-05-05", False),
        ("2025-04-27", True),
        ("2025-10-06", False),  # 中秋节 merged into 国庆节
        ("2025-10-08", False),
        ("2025-10-09", True),
        ("2025-10-11", True),
    ],
)
def test_known_days(day: str, working: bool) -> None:
    assert cal().is_working_day(D(day)) is working


def test_adding_across_national_day_2026() -> None:
    assert cal().next_working_day(D("2026-09-30")) == D("2026-10-08")
    assert cal().add_working_days(D("2026-09-30"), 1) == D("2026-10-08")
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (make-up day)
    assert cal().add_working_days(D("2026-09-30"), 3) == D("2026-10-10")
    assert cal().working_days_between(D("2026-09-30"), D("2026-10-10")) == 3
    # a 20-working-day decision limit (Administrative Licensing Law art. 42) from 2026-09-21
    assert cal().add_working_days(D("2026-09-21"), 20) == reference_add(D("2026-09-21"), 20)


def test_adding_across_spring_festival() -> None:
    # 2026: Friday 02-13, then the Saturday make-up day, then nine days off
    assert cal().add_working_days(D("2026-02-13"), 1) == D("2026-02-14")
    assert cal().add_working_days(D("2026-02-13"), 2) == D("2026-02-24")
    assert cal().working_days_between(D("2026-02-14"), D("2026-02-23")) == 0
    # a 5-working-day completeness check (art. 32) started on the eve of the 2025 break
    # 02-05, 02-06, 02-07, 02-08 (Saturday make-up day), 02-10
    assert cal().add_working_days(D("2025-01-27"), 4) == D("2025-02-08")
    assert cal().add_working_days(D("2025-01-27"), 5) == D("2025-02-10")
    for start in days(D("2025-01-15"), D("2025-02-20")):
        for n in (1, 5, 10, 20):
            assert cal().add_working_days(start, n) == reference_add(start, n), (start, n)
    for start in days(D("2026-02-01"), D("2026-03-05")):
        for n in (1, 5, 10, 20):
            assert cal().add_working_days(start, n) == reference_add(start, n), (start, n)


def test_adding_across_new_year() -> None:
    assert cal().add_working_days(D("2025-12-31"), 1) == D("2026-01-04")
    assert cal().working_days_between(D("2025-12-30"), D("2026-01-05")) == 3


def test_zero_and_negative() -> None:
    assert cal().add_working_days(D("2026-10-03"), 0) == D("2026-10-03")
    assert cal().working_days_between(D("2026-10-08"), D("2026-10-08")) == 0
    assert cal().working_days_between(D("2026-10-09"), D("2026-10-08")) == 0
    with pytest.raises(ValueError, match="0 or more"):
        cal().add_working_days(D("2026-10-03"), -1)


# --------------------------------------------------------------------------- missing years


@cache
def strict() -> WorkCalendar:
    return WorkCalendar.from_documents(reference_docs(), provisional=False)


def test_a_strict_calendar_never_counts_a_year_without_its_file() -> None:
    with pytest.raises(CalendarYearMissing) as info:
        strict().is_working_day(D("2027-01-04"))
    message = str(info.value)
    assert "2027" in message and "add calendar/2027.yaml from the State Council notice" in message
    assert "counts no year provisionally" in message
    assert info.value.year == 2027
    assert isinstance(info.value, LookupError)
    assert strict().provisional_from is None and not strict().is_provisional(D("2027-01-04"))

    with pytest.raises(CalendarYearMissing, match=r"calendar/2027\.yaml"):
        strict().add_working_days(D("2026-12-28"), 10)
    with pytest.raises(CalendarYearMissing, match=r"calendar/2027\.yaml"):
        strict().working_days_between(D("2026-12-01"), D("2027-01-10"))
    # the last working day of 2026 is still reachable
    last = strict().add_working_days(D("2026-12-01"), strict().working_days_between(D("2026-12-01"), LAST))
    assert last == D("2026-12-31")


def test_the_year_after_the_last_file_is_counted_provisionally() -> None:
    assert cal().provisional_from == 2027 and cal().years == (2025, 2026)
    assert not cal().is_provisional(D("2026-12-31")) and cal().is_provisional(D("2027-01-01"))
    # 2027 by the statutory days alone: 元旦 Friday 01-01 off, Monday 01-04 works (no notice, no bridge)
    assert not cal().is_working_day(D("2027-01-01")) and cal().is_working_day(D("2027-01-04"))
    # Monday 2026-12-28 + 10 working days: 12-29, 30, 31 (3), [01-01 元旦], 01-04..08 (8), 01-11 (9), 01-12 (10)
    assert cal().add_working_days(D("2026-12-28"), 10) == D("2027-01-12")
    # (2026-12-01, 2027-01-10]: 12-02..04 (3) and four weeks to 12-31 (3 + 5 + 5 + 5 + 4 = 22), then
    # 01-04..08 (5) in 2027
    assert cal().working_days_between(D("2026-12-01"), D("2027-01-10")) == 22 + 5
    # 春节 2027: 除夕 Friday 02-05 to 初三 Monday 02-08 off; Tuesday 02-09 works again
    assert [cal().is_working_day(D(f"2027-02-{d:02d}")) for d in range(4, 10)] == [
        True, False, False, False, False, True,
    ]  # fmt: skip
    # far ahead, and through every provisional year on the way: 2028 follows 2027
    assert cal().is_provisional(D("2099-12-31")) and cal().is_working_day(D("2028-01-03"))
    assert cal().add_working_days(D("2027-12-31"), 1) == D("2028-01-03")  # 2028-01-01 元旦 is a Saturday


def test_years_the_rule_does_not_cover_still_raise() -> None:
    # before the first file (the 2024 arrangement was published: add its file), and past 2099
    with pytest.raises(CalendarYearMissing, match=r"calendar/2024\.yaml"):
        cal().add_working_days(D("2024-12-31"), 1)
    with pytest.raises(CalendarYearMissing, match=r"calendar/2024\.yaml"):
        cal().working_days_between(D("2024-12-01"), D("2025-01-10"))
    with pytest.raises(CalendarYearMissing, match=r"calendar/2100\.yaml"):
        cal().is_working_day(D("2100-01-04"))
    with pytest.raises(CalendarYearMissing, match=r"calendar/2100\.yaml"):
        cal().add_working_days(D("2099-12-20"), 20)
    # no file at all: the rule starts with 2025, when the revised 办法 came into force
    empty = WorkCalendar({})
    assert empty.provisional_from == 2025 and not empty.is_working_day(D("2025-01-01"))
    with pytest.raises(CalendarYearMissing, match=r"calendar/2024\.yaml"):
        empty.is_working_day(D("2024-06-03"))


def test_gap_between_loaded_years_is_missing() -> None:
    synthetic_2027 = {  # test-only data, not the real 2027 arrangement
        "year": 2027,
        "basis": {"law": "test", "article": "全文"},
        "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-01"}],
        "make_up_working_days": [],
    }
    gap = WorkCalendar.from_documents([reference_docs()[0], synthetic_2027])
    assert gap.years == (2025, 2027) and gap.provisional_from == 2028
    assert gap.is_working_day(D("2027-01-04"))
    # a year between two files is never counted by the rule: its notice exists, add the file
    with pytest.raises(CalendarYearMissing, match=r"calendar/2026\.yaml"):
        gap.add_working_days(D("2025-12-31"), 1)
    with pytest.raises(CalendarYearMissing, match=r"calendar/2026\.yaml"):
        gap.working_days_between(D("2025-12-01"), D("2027-01-10"))
    with pytest.raises(CalendarYearMissing, match=r"calendar/2026\.yaml"):
        gap.add_working_days(D("2025-12-01"), 600)


# --------------------------------------------------------------------------- properties

in_range = st.dates(min_value=FIRST, max_value=LAST)
small = st.integers(min_value=0, max_value=30)


@st.composite
def start_and_count(draw: st.DrawFn) -> tuple[date, int]:
    """A date and a count whose result stays inside 2026."""
    start = draw(in_range)
    room = cal().working_days_between(start, LAST)
    return start, draw(st.integers(min_value=0, max_value=room))


@given(start_and_count())
def test_add_then_count_is_identity(case: tuple[date, int]) -> None:
    start, n = case
    assert cal().working_days_between(start, cal().add_working_days(start, n)) == n


@given(start_and_count())
def test_result_is_a_working_day_after_start(case: tuple[date, int]) -> None:
    start, n = case
    result = cal().add_working_days(start, n)
    if n == 0:
        assert result == start
    else:
        assert result > start
        assert cal().is_working_day(result)
        assert chinese_calendar.is_workday(result)


@given(in_range.filter(lambda d: d < date(2026, 12, 1)), st.integers(min_value=0, max_value=15))
def test_add_matches_day_by_day_oracle(start: date, n: int) -> None:
    assert cal().add_working_days(start, n) == reference_add(start, n)


@given(in_range.filter(lambda d: d <= date(2026, 9, 15)), small, small)  # m + n <= 60 stays inside 2026
def test_add_is_associative(start: date, m: int, n: int) -> None:
    assert cal().add_working_days(start, m + n) == cal().add_working_days(cal().add_working_days(start, m), n)


@given(in_range.filter(lambda d: d <= date(2026, 9, 15)), small, small)  # m + n <= 60 stays inside 2026
def test_add_is_monotonic_in_n(start: date, m: int, n: int) -> None:
    low, high = sorted((m, n))
    a, b = cal().add_working_days(start, low), cal().add_working_days(start, high)
    assert a <= b
    assert (a < b) == (low < high)


@given(
    in_range.filter(lambda d: d <= date(2026, 10, 31)),
    in_range.filter(lambda d: d <= date(2026, 10, 31)),
    st.integers(min_value=1, max_value=30),
)
def test_add_is_monotonic_in_start(a: date, b: date, n: int) -> None:
    a, b = sorted((a, b))
    assert cal().add_working_days(a, n) <= cal().add_working_days(b, n)


@given(in_range, in_range, in_range)
def test_count_is_additive(a: date, b: date, c: date) -> None:
    a, b, c = sorted((a, b, c))
    between = cal().working_days_between
    assert between(a, c) == between(a, b) + between(b, c)


@given(in_range, in_range)
def test_count_is_largest_n_not_past_end(start: date, end: date) -> None:
    k = cal().working_days_between(start, end)
    assert k >= 0
    if end <= start:
        assert k == 0
        return
    assert cal().add_working_days(start, k) <= end
    if cal().working_days_between(start, LAST) > k:
        assert cal().add_working_days(start, k + 1) > end


@given(in_range.filter(lambda d: d < date(2026, 12, 31)))
def test_next_working_day(d: date) -> None:
    nxt = cal().next_working_day(d)
    assert nxt > d and cal().is_working_day(nxt)
    assert not any(cal().is_working_day(x) for x in days(d + timedelta(days=1), nxt - timedelta(days=1)))


# --------------------------------------------------------------------------- check_calendar


def raw_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "year": 2026,
        "basis": {"law": "国务院办公厅关于2026年部分节假日安排的通知", "article": "全文"},
        "holidays": [
            {"name": "春节", "from": "2026-02-15", "to": "2026-02-23"},
            {"name": "国庆节", "from": "2026-10-01", "to": "2026-10-07"},
        ],
        "make_up_working_days": [
            {"date": "2026-02-14", "holiday": "春节"},
            {"date": "2026-10-10", "holiday": "国庆节"},
        ],
    }
    doc.update(changes)
    return doc


def small_doc(**changes: Any) -> dict[str, Any]:
    """A schema-valid document: check_calendar only ever sees those."""
    doc = raw_doc(**changes)
    assert schema_errors(doc) == [], "test documents must be schema-valid"
    return doc


def kinds(findings: list[Any]) -> list[tuple[str, tuple[str | int, ...]]]:
    return [(f.kind, f.path) for f in findings]


def test_small_doc_is_clean() -> None:
    assert check_calendar("calendar/2026.yaml", small_doc()) == []


SPRING_ONLY = [{"date": "2026-02-14", "holiday": "春节"}]


def test_not_a_real_date() -> None:
    doc = small_doc(
        holidays=[{"name": "春节", "from": "2026-02-15", "to": "2026-02-30"}],
        make_up_working_days=SPRING_ONLY,
    )
    findings = check_calendar("calendar/2026.yaml", doc)
    assert kinds(findings) == [("calendar-date", ("holidays", 0, "to"))]
    assert "2026-02-30 is not a real date" in findings[0].message
    assert "28 days" in findings[0].message
    doc = small_doc(make_up_working_days=[{"date": "2026-13-01", "holiday": "春节"}])
    assert kinds(check_calendar("calendar/2026.yaml", doc)) == [("calendar-date", ("make_up_working_days", 0, "date"))]


def test_date_outside_the_year() -> None:
    doc = small_doc(holidays=[{"name": "元旦", "from": "2025-12-31", "to": "2026-01-01"}], make_up_working_days=[])
    findings = check_calendar("calendar/2026.yaml", doc)
    assert kinds(findings) == [("calendar-year", ("holidays", 0, "from"))]
    assert "calendar/2025.yaml" in findings[0].message


def test_file_name_must_match_year() -> None:
    findings = check_calendar("calendar/2025.yaml", small_doc())
    assert kinds(findings) == [("calendar-year", ("year",))]
    assert "2026.yaml" in findings[0].message
    assert kinds(check_calendar("calendar/holidays.yaml", small_doc())) == [("calendar-year", ("year",))]


def test_make_up_day_inside_a_break() -> None:
    doc = small_doc(make_up_working_days=[{"date": "2026-02-21", "holiday": "春节"}])
    findings = check_calendar("calendar/2026.yaml", doc)
    assert kinds(findings) == [("calendar-conflict", ("make_up_working_days", 0, "date"))]
    assert "春节" in findings[0].message and "2026-02-21" in findings[0].message


def test_make_up_day_on_a_weekday() -> None:
    doc = small_doc(make_up_working_days=[{"date": "2026-02-13", "holiday": "春节"}])
    findings = check_calendar("calendar/2026.yaml", doc)
    assert kinds(findings) == [("calendar-make-up-weekday", ("make_up_working_days", 0, "date"))]
    assert "Friday" in findings[0].message and "Saturday or Sunday" in findings[0].message


def test_duplicates() -> None:
    doc = small_doc(
        make_up_working_days=[
            {"date": "2026-02-14", "holiday": "春节"},
            {"date": "2026-02-14", "holiday": "春节"},
        ]
    )
    assert kinds(check_calendar("calendar/2026.yaml", doc)) == [
        ("calendar-duplicate", ("make_up_working_days", 1, "date"))
    ]
    doc = small_doc(
        holidays=[
            {"name": "国庆节", "from": "2026-10-01", "to": "2026-10-07"},
            {"name": "中秋节", "from": "2026-10-06", "to": "2026-10-08"},
        ],
        make_up_working_days=[],
    )
    findings = check_calendar("calendar/2026.yaml", doc)
    assert kinds(findings) == [("calendar-duplicate", ("holidays", 1, "from"))]
    assert "2026-10-06 to 2026-10-07" in findings[0].message
    doc = small_doc(
        holidays=[
            {"name": "春节", "from": "2026-02-15", "to": "2026-02-17"},
            {"name": "春节", "from": "2026-02-18", "to": "2026-02-23"},
        ],
        make_up_working_days=SPRING_ONLY,
    )
    assert kinds(check_calendar("calendar/2026.yaml", doc)) == [("calendar-duplicate", ("holidays", 1, "name"))]


def test_from_after_to() -> None:
    doc = small_doc(
        holidays=[{"name": "春节", "from": "2026-02-23", "to": "2026-02-15"}],
        make_up_working_days=SPRING_ONLY,
    )
    findings = check_calendar("calendar/2026.yaml", doc)
    assert kinds(findings) == [("calendar-range", ("holidays", 0, "to"))]


def test_make_up_day_names_an_unknown_holiday() -> None:
    doc = small_doc(make_up_working_days=[{"date": "2026-02-14", "holiday": "新春"}])
    findings = check_calendar("calendar/2026.yaml", doc)
    assert kinds(findings) == [("calendar-reference", ("make_up_working_days", 0, "holiday"))]
    assert "春节" in findings[0].message


def test_from_documents_refuses_bad_documents() -> None:
    bad = small_doc(make_up_working_days=[{"date": "2026-02-21", "holiday": "春节"}])
    with pytest.raises(CalendarInvalid, match="make-up working day") as info:
        WorkCalendar.from_documents([bad])
    assert [f.kind for f in info.value.findings] == ["calendar-conflict"]
    with pytest.raises(CalendarInvalid, match="two calendar documents for 2026"):
        WorkCalendar.from_documents([small_doc(), small_doc()])


date_text = st.one_of(
    st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 30)).map(date.isoformat),
    st.from_regex(r"\A20[0-9]{2}-[0-9]{2}-[0-9]{2}\Z"),
)
names = st.sampled_from(["元旦", "春节", "国庆节", "中秋节"])


@given(
    st.lists(st.fixed_dictionaries({"name": names, "from": date_text, "to": date_text}), min_size=1, max_size=4),
    st.lists(st.fixed_dictionaries({"date": date_text, "holiday": names}), max_size=4),
)
def test_checks_never_raise_on_schema_valid_documents(holidays: list[Any], make_up: list[Any]) -> None:
    doc = small_doc(holidays=holidays, make_up_working_days=make_up)
    findings = check_calendar("calendar/2026.yaml", doc)
    assert all(f.file == "calendar/2026.yaml" and f.message for f in findings)
    try:
        built = WorkCalendar.from_documents([doc])
    except CalendarInvalid as error:
        assert error.findings
    else:
        assert built.years == (2026,)
        assert findings == []


# --------------------------------------------------------------------------- schema


def test_schema_describes_every_property_in_both_languages() -> None:
    schema = json.loads((SCHEMA_DIR / "calendar.schema.json").read_text(encoding="utf-8"))

    def walk(node: Any, where: str) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") == "object" and node.get("additionalProperties") is not False:
                yield f"{where}: object without additionalProperties: false"
            for key, prop in node.get("properties", {}).items():
                text = prop.get("description", "")
                if " / " not in text:
                    yield f"{where}.{key}: description must be Chinese / English"
            for key, value in node.items():
                yield from walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{where}[{i}]")

    assert list(walk(schema, "$")) == []


def test_schema_rejects_unknown_keys_and_bad_shapes() -> None:
    assert schema_errors(raw_doc() | {"extra": 1})
    assert schema_errors(raw_doc(year="2026"))
    assert schema_errors(raw_doc(holidays=[{"name": "春节", "dates": ["2026-02-15"]}]))
    assert schema_errors(raw_doc(make_up_working_days=[{"date": "2026/02/14", "holiday": "春节"}]))
    assert schema_errors(
        raw_doc(basis={"law": "国务院办公厅关于2026年部分节假日安排的通知", "article": "全文", "no": 1})
    )
    assert schema_errors({k: v for k, v in raw_doc().items() if k != "basis"})
