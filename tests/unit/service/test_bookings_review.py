"""The review's fixes to appointments (issue 19): the window's actions check who acts and which window
before anything changes, supervisors only watch, one address is capped per day, the configured capacity
decides, days the calendar closed after booking are no one's no-show, arrivals never called stop waiting
at the day's end, too long input is refused (never cut), and home visits fit the center's hours."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from support.bookings import person

from engine.base.dates import TZ
from engine.base.i18n import speaking
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.service import bookings_desk as desk
from engine.service import bookings_visits as visits
from engine.service import query_codes
from engine.service.bookings import Booking, BookingError, Bookings, Busy, Full
from engine.service.cases import CaseService
from engine.service.filing_limits import Filer
from engine.supervision.sweep import sweep

WINDOW = Actor("window.realestate", "window", "realestate")
HOUSING = Actor("window.housing", "window", "housing")
FRONT = Actor("frontdesk", "frontdesk", None)
SUPERVISOR = Actor("supervisor", "supervisor", None)
ADMIN = Actor("admin", "admin", None)
THURSDAY = datetime(2026, 4, 30, 8, 0, tzinfo=TZ)
WEDNESDAY = date(2026, 5, 6)
RESALE = "QQ-REALESTATE-DJ-102"
ASK = {"person": "李大爷", "contact": "13800000001", "address": "龙沙区某街道 1 号"}


@pytest.fixture
def svc(case_service: CaseService) -> CaseService:
    case_service.clock.set(THURSDAY)  # type: ignore[attr-defined]
    return case_service


@pytest.fixture
def bk(svc: CaseService) -> Bookings:
    return Bookings(svc)


def state_of(bk: Bookings, b: Booking) -> str:
    found = bk.get(b.number)
    assert found is not None
    return found.state


def test_another_departments_clerk_changes_nothing(bk: Bookings) -> None:
    b, _ = bk.book("realestate", date(2026, 4, 30), "09:00", **person(1))
    with pytest.raises(desk.NotFound):
        desk.arrive(bk, HOUSING, "realestate", b.number, b.version)
    with pytest.raises(desk.NotFound):
        desk.call_next(bk, HOUSING, "realestate")
    assert state_of(bk, b) == "booked"  # refused before anything was written
    amr = Actor("window.amr", "window", "amr")
    with pytest.raises(desk.NotFound):  # amr's own window, but the booking is realestate's
        desk.arrive(bk, amr, "amr", b.number, b.version)
    assert state_of(bk, b) == "booked"
    arrived = desk.arrive(bk, WINDOW, "realestate", b.number, b.version)
    with pytest.raises(desk.NotFound):
        desk.link_case(bk, amr, "amr", arrived.number, arrived.version, "X")
    assert bk.get(b.number).case_number is None  # type: ignore[union-attr]


def test_supervisors_watch_the_window_and_the_front_desk_works_it(bk: Bookings) -> None:
    b, _ = bk.book("realestate", date(2026, 4, 30), "09:00", **person(1))
    for watcher in (SUPERVISOR, ADMIN):
        assert [x.number for x in desk.day_list(bk, watcher, "realestate", date(2026, 4, 30))] == [b.number]
        with pytest.raises(desk.NotFound):
            desk.arrive(bk, watcher, "realestate", b.number, b.version)
        with pytest.raises(desk.NotFound):
            desk.call_next(bk, watcher, "realestate")
    with pytest.raises(desk.NotFound):
        desk.day_list(bk, HOUSING, "realestate", date(2026, 4, 30))
    assert desk.arrive(bk, FRONT, "realestate", b.number, b.version).queue_number == 1


def test_one_address_books_its_days_number_then_is_told_when_to_try_again(bk: Bookings, svc: Any) -> None:
    assert bk.rules.bookings_per_address == 6  # appointments.yaml per_address_per_day
    mine, other = Filer("one-address", 6, 6), Filer("another-address", 6, 6)
    for i in range(6):
        bk.book("realestate", WEDNESDAY, f"{9 + i // 2:02d}:{30 * (i % 2):02d}", **person(i), filer=mine)
    with pytest.raises(Busy, match="24 小时后再试") as refused:
        bk.book("realestate", WEDNESDAY, "14:00", **person(50), filer=mine)
    assert refused.value.seconds == 24 * 3600
    bk.book("realestate", WEDNESDAY, "14:00", **person(50), filer=other)  # the seat was never taken
    for i in range(4):
        bk.book("realestate", WEDNESDAY, "15:00", **person(60 + i), filer=other)
    with pytest.raises(Full):  # a booking refused is not counted against the address
        bk.book("realestate", WEDNESDAY, "15:00", **person(70), filer=other)
    bk.book("realestate", WEDNESDAY, "16:00", **person(70), filer=other)  # its sixth
    with pytest.raises(Busy):
        bk.book("realestate", WEDNESDAY, "16:00", **person(71), filer=other)
    svc.clock.set(THURSDAY + timedelta(days=1, minutes=1))
    bk.book("realestate", WEDNESDAY, "14:30", **person(80), filer=mine)  # a day later


def test_one_address_asks_for_three_home_visits_a_day(svc: CaseService) -> None:
    mine = Filer("one-address", 3, 3)
    for _ in range(3):
        visits.request(svc, RESALE, qualifies="elderly", **ASK, filer=mine)
    with pytest.raises(Busy):
        visits.request(svc, RESALE, qualifies="elderly", **ASK, filer=mine)
    visits.request(svc, RESALE, qualifies="elderly", **ASK)  # staff or tests: not limited


def with_capacity(bk: Bookings, capacity: int) -> Bookings:
    counter = dataclasses.replace(bk.rules.counters["realestate"], capacity=capacity)
    bk.rules = dataclasses.replace(bk.rules, counters={**bk.rules.counters, "realestate": counter})
    return bk


def free_at(bk: Bookings, start: str) -> int:
    return dict((s.key, n) for s, n in bk.free("realestate", WEDNESDAY))[start]


def test_lowering_the_capacity_closes_the_slot_on_the_page_and_to_a_post(bk: Bookings) -> None:
    for i in range(3):
        bk.book("realestate", WEDNESDAY, "09:00", **person(i))
    lowered = with_capacity(bk, 2)
    assert free_at(lowered, "09:00") == 0
    with pytest.raises(Full):
        lowered.book("realestate", WEDNESDAY, "09:00", **person(9))


def test_raising_the_capacity_opens_seats_the_page_shows(bk: Bookings) -> None:
    for i in range(4):
        bk.book("realestate", WEDNESDAY, "09:00", **person(i))
    raised = with_capacity(bk, 6)
    assert free_at(raised, "09:00") == 2
    raised.book("realestate", WEDNESDAY, "09:00", **person(10))
    raised.book("realestate", WEDNESDAY, "09:00", **person(11))
    assert free_at(raised, "09:00") == 0
    with pytest.raises(Full):
        raised.book("realestate", WEDNESDAY, "09:00", **person(12))


def test_the_no_show_rule_says_its_date_in_english_on_english_pages(bk: Bookings, svc: Any) -> None:
    for day in (date(2026, 5, 6), date(2026, 5, 7), date(2026, 5, 8)):
        bk.book("realestate", day, "09:00", **person(7))
    svc.clock.set(datetime(2026, 5, 9, 8, 0, tzinfo=TZ))
    sweep(svc)
    with speaking("en"), pytest.raises(BookingError) as refused:
        bk.book("realestate", date(2026, 5, 11), "09:00", **person(7))
    assert "2026-6-8" in str(refused.value) and "年" not in str(refused.value)


def closed_on(svc: CaseService, day: date) -> WorkCalendar:
    """The reference calendar with ``day`` closed, as a holiday announced after people booked."""
    docs = [dict(d.data) for d in svc.catalogue.calendars.values()]
    for doc in docs:
        if doc["year"] == day.year:
            doc["holidays"] = [*doc["holidays"], {"name": "临时闭馆", "from": day.isoformat(), "to": day.isoformat()}]
    return WorkCalendar.from_documents(docs)


def test_a_day_closed_after_booking_is_nobodys_no_show(bk: Bookings, svc: Any) -> None:
    closed, worked = date(2026, 5, 6), date(2026, 5, 7)
    a, _ = bk.book("realestate", closed, "09:00", **person(7))
    b, _ = bk.book("realestate", worked, "09:00", **person(7))
    now = datetime(2026, 5, 8, 8, 0, tzinfo=TZ)
    assert desk.mark_no_shows(svc.db, now, closed_on(svc, closed)) == 1
    assert (state_of(bk, a), state_of(bk, b)) == ("closed", "no_show")
    [fig] = desk.figures(svc.db, closed, worked, worked)
    assert (fig.booked, fig.no_shows) == (1, 1)  # the closed day's booking is not counted as booked


def test_an_arrival_never_called_stops_waiting_at_the_days_end(bk: Bookings, svc: Any) -> None:
    today = date(2026, 4, 30)
    b, _ = bk.book("realestate", today, "09:00", **person(1))
    desk.arrive(bk, WINDOW, "realestate", b.number, b.version)
    assert desk.figures(svc.db, today, today, today)[0].waiting == 1
    assert desk.figures(svc.db, today, today, today + timedelta(days=1))[0].waiting == 0  # not today's
    desk.mark_no_shows(svc.db, datetime(2026, 5, 6, 8, 0, tzinfo=TZ), svc.calendar)
    assert state_of(bk, b) == "left"
    [fig] = desk.figures(svc.db, today, today, today)
    assert (fig.arrived, fig.no_shows, fig.waiting) == (1, 0, 0)
    assert desk.call_next(bk, WINDOW, "realestate") is None


def test_too_long_input_is_refused_never_cut(bk: Bookings, svc: Any) -> None:
    with pytest.raises(BookingError, match="50"):
        bk.book("realestate", WEDNESDAY, "09:00", **(person(1) | {"person": "张" * 51}))
    assert bk.book("realestate", WEDNESDAY, "09:00", **(person(1) | {"person": "张" * 50}))[0].person == "张" * 50
    with pytest.raises(BookingError, match="200"):
        visits.request(svc, RESALE, qualifies="elderly", **(ASK | {"address": "路" * 201}))
    with pytest.raises(BookingError, match="1000"):
        visits.request(svc, RESALE, qualifies="elderly", **ASK, detail="x" * 1001)


def test_a_home_visit_is_set_within_the_centers_hours_and_a_month_or_so(svc: CaseService) -> None:
    v, _ = visits.request(svc, RESALE, qualifies="elderly", **ASK)
    wednesday = datetime(2026, 5, 6, 3, 0, tzinfo=TZ)
    with pytest.raises(BookingError, match="08:30"):
        visits.schedule(svc, v, wednesday, "window.realestate")  # 03:00
    with pytest.raises(BookingError):
        visits.schedule(svc, v, datetime(2099, 3, 2, 10, 0, tzinfo=TZ), "window.realestate")
    with pytest.raises(BookingError, match="30"):
        visits.schedule(svc, v, datetime(2026, 7, 1, 10, 0, tzinfo=TZ), "window.realestate")
    assert visits.schedule(svc, v, wednesday.replace(hour=18), "window.realestate").state == "scheduled"  # late


def test_a_home_visits_code_is_read_generously_and_compared_as_a_hash(svc: CaseService) -> None:
    v, code = visits.request(svc, RESALE, qualifies="elderly", **ASK)
    assert visits.verify(svc, v.number.lower(), code.lower().replace("-", " "), "1.2.3.4") == v
    assert query_codes.matches(query_codes.HASHED + query_codes.hash_code(code), code.replace("-", ""))
    assert not query_codes.matches(query_codes.HASHED + query_codes.hash_code(code), "")
    with pytest.raises(BookingError):
        visits.verify(svc, v.number, "2222-3333-44", "1.2.3.4")
