"""Appointments on the virtual clock with the reference catalogue's appointments.yaml: slots on the
working-day calendar, late hours, book / move / cancel with the query code, the window's day list,
call next, the no-show rule, and the last seat of a slot taken exactly once under concurrency."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from support.bookings import person, race

from engine.base.dates import TZ
from engine.ledger.db import open_engine
from engine.ledger.migrations import migrate
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service import bookings_desk as desk
from engine.service.bookings import Booking, BookingError, Bookings, Full, Stale
from engine.service.cases import CaseService
from engine.supervision.sweep import sweep

WINDOW = Actor("window.realestate", "window", "realestate")
THURSDAY = datetime(2026, 4, 30, 8, 0, tzinfo=TZ)  # the day before the 劳动节 break (May 1-5); May 9 is worked


@pytest.fixture
def svc(case_service: CaseService) -> CaseService:
    case_service.clock.set(THURSDAY)  # type: ignore[attr-defined]
    return case_service


@pytest.fixture
def bk(svc: CaseService) -> Bookings:
    return Bookings(svc)


def starts(bk: Bookings, counter: str, day: date) -> list[str]:
    return [s.key for s, _ in bk.free(counter, day)]


def test_a_holiday_has_no_slots_and_a_make_up_working_day_has(bk: Bookings) -> None:
    assert starts(bk, "realestate", date(2026, 5, 4)) == []  # 劳动节
    assert starts(bk, "realestate", date(2026, 5, 10)) == []  # an ordinary Sunday
    assert starts(bk, "realestate", date(2026, 5, 9))[:2] == ["08:30", "09:00"]  # Saturday, worked (调休)
    open_days = {d for d, is_open in bk.days("realestate") if is_open}
    assert date(2026, 5, 9) in open_days and date(2026, 5, 1) not in open_days
    with pytest.raises(BookingError):
        bk.book("realestate", date(2026, 5, 4), "09:00", **person(1))


def test_late_hours_add_slots_on_their_weekdays_only(bk: Bookings) -> None:
    thursday = bk.free("realestate", date(2026, 4, 30))
    late = [(s.key, free) for s, free in thursday if s.late]
    assert late == [("17:00", 2), ("17:30", 2), ("18:00", 2)]  # late capacity 2, not the counter's 4
    wednesday = bk.free("realestate", date(2026, 5, 6))
    assert not any(s.late for s, _ in wednesday) and wednesday[-1][0].key == "16:30"
    assert not any(s.late for s, _ in bk.free("amr", date(2026, 4, 30)))  # amr has no late service


def test_booking_further_ahead_than_allowed_or_past_a_slots_closing_is_refused(bk: Bookings, svc: Any) -> None:
    with pytest.raises(BookingError):
        bk.book("realestate", date(2026, 5, 20), "09:00", **person(1))  # 20 days ahead, 14 allowed
    svc.clock.set(THURSDAY.replace(hour=8, minute=45))
    assert "09:00" not in starts(bk, "realestate", date(2026, 4, 30))  # closes 30 minutes before
    with pytest.raises(BookingError):
        bk.book("realestate", date(2026, 4, 30), "09:00", **person(1))
    assert "09:30" in starts(bk, "realestate", date(2026, 4, 30))


def test_book_move_and_cancel_with_the_query_code(bk: Bookings) -> None:
    day, other = date(2026, 5, 6), date(2026, 5, 7)
    b, code = bk.book("realestate", day, "09:00", **person(1))
    assert (b.state, b.day, b.start, b.department) == ("booked", "2026-05-06", "09:00", "realestate")
    assert dict((s.key, n) for s, n in bk.free("realestate", day))["09:00"] == 3
    with pytest.raises(BookingError):
        bk.verify(b.number, "2222-2222-22", "1.2.3.4")
    found = bk.verify(b.number, code.lower().replace("-", " "), "1.2.3.4")  # read generously
    moved = bk.move(found, other, "17:30")
    assert (moved.state, moved.day, moved.start, moved.late) == ("moved", "2026-05-07", "17:30", True)
    assert dict((s.key, n) for s, n in bk.free("realestate", day))["09:00"] == 4  # the old seat is free again
    assert dict((s.key, n) for s, n in bk.free("realestate", other))["17:30"] == 1
    with pytest.raises(Stale):
        bk.cancel(found)  # the version read before the move
    cancelled = bk.cancel(bk.verify(b.number, code, "1.2.3.4"))
    assert cancelled.state == "cancelled"
    assert dict((s.key, n) for s, n in bk.free("realestate", other))["17:30"] == 2
    with pytest.raises(BookingError):
        bk.move(cancelled, day, "10:00")


def test_one_active_booking_per_person_counter_and_day(bk: Bookings) -> None:
    day = date(2026, 5, 6)
    bk.book("realestate", day, "09:00", **person(1))
    with pytest.raises(BookingError):
        bk.book("realestate", day, "10:00", **person(1))
    bk.book("amr", day, "10:00", **person(1))  # another window is fine


def test_bad_person_details_are_refused(bk: Bookings) -> None:
    day = date(2026, 5, 6)
    right = person(1)["id_number"]
    bad_check_char = right[:-1] + ("0" if right[-1] != "0" else "1")
    for wrong in ({"person": " "}, {"id_number": bad_check_char}, {"contact": "138-abc"}):
        with pytest.raises(BookingError):
            bk.book("realestate", day, "09:00", **(person(1) | wrong))
    with pytest.raises(BookingError):
        bk.book("nowhere", day, "09:00", **person(1))


def test_the_window_marks_arrivals_calls_next_and_links_the_case(bk: Bookings, svc: Any) -> None:
    today = date(2026, 4, 30)
    made = [bk.book("realestate", today, start, **person(i))[0] for i, start in enumerate(("10:00", "09:00", "09:30"))]
    assert [b.start for b in desk.day_list(bk, WINDOW, "realestate", today)] == ["09:00", "09:30", "10:00"]
    first = desk.arrive(bk, WINDOW, "realestate", made[2].number, made[2].version)
    second = desk.arrive(bk, WINDOW, "realestate", made[0].number, made[0].version)
    assert (first.queue_number, second.queue_number, first.state) == (1, 2, "arrived")
    with pytest.raises(BookingError):
        desk.arrive(bk, WINDOW, "realestate", made[0].number, made[0].version)  # already arrived: its version moved on
    called = desk.call_next(bk, WINDOW, "realestate")
    assert called is not None and (called.number, called.state) == (made[2].number, "served")
    assert desk.now_serving(bk, "realestate")[0] == called and desk.now_serving(bk, "realestate")[1] == 1
    assert desk.call_next(bk, WINDOW, "realestate").number == made[0].number  # type: ignore[union-attr]
    assert desk.call_next(bk, WINDOW, "realestate") is None
    from support.cases import file_case

    number = file_case(svc, "QQ-REALESTATE-DJ-102")
    linked = desk.link_case(bk, WINDOW, "realestate", called.number, called.version, number)
    assert linked.case_number == number
    with pytest.raises(BookingError):
        desk.link_case(bk, WINDOW, "realestate", linked.number, linked.version, "NO-SUCH-CASE")


def test_a_future_booking_cannot_be_marked_arrived(bk: Bookings) -> None:
    b, _ = bk.book("realestate", date(2026, 5, 6), "09:00", **person(1))
    with pytest.raises(BookingError):
        desk.arrive(bk, WINDOW, "realestate", b.number, b.version)


def test_the_sweep_marks_no_shows_and_the_rule_then_blocks_booking(bk: Bookings, svc: Any) -> None:
    days = [date(2026, 5, 6), date(2026, 5, 7), date(2026, 5, 8)]
    for day in days:
        bk.book("realestate", day, "09:00", **person(7))
    svc.clock.set(datetime(2026, 5, 9, 8, 0, tzinfo=TZ))  # the make-up Saturday
    report = sweep(svc)
    assert report.other.get("booking_no_shows") == 3
    assert sweep(svc).other.get("booking_no_shows") is None  # once
    assert [b.state for b in desk.day_list(bk, WINDOW, "realestate", days[0])] == ["no_show"]
    with pytest.raises(BookingError, match="2026年6月8日"):  # 30 days from the last no-show (May 8)
        bk.book("realestate", date(2026, 5, 11), "09:00", **person(7))
    bk.book("realestate", date(2026, 5, 11), "09:00", **person(8))  # nobody else is blocked
    svc.clock.set(datetime(2026, 6, 8, 8, 0, tzinfo=TZ))
    bk.book("realestate", date(2026, 6, 9), "09:00", **person(7))


def test_two_no_shows_do_not_block(bk: Bookings, svc: Any) -> None:
    for day in (date(2026, 5, 6), date(2026, 5, 7)):
        bk.book("realestate", day, "09:00", **person(7))
    svc.clock.set(datetime(2026, 5, 9, 8, 0, tzinfo=TZ))
    sweep(svc)
    bk.book("realestate", date(2026, 5, 11), "09:00", **person(7))


def last_seat_race(bk: Bookings, n: int = 8) -> list[Any]:
    day = date(2026, 5, 6)
    for i in range(3):  # realestate takes 4 a slot: 3 taken, 1 left
        bk.book("realestate", day, "09:00", **person(100 + i))
    return race(n, lambda i: bk.book("realestate", day, "09:00", **person(i))[0])


def assert_one_winner(bk: Bookings, results: list[Any]) -> None:
    won = [r for r in results if isinstance(r, Booking)]
    assert len(won) == 1, results
    assert all(isinstance(r, Full) for r in results if r not in won), results
    active = [b for b in desk.day_list(bk, WINDOW, "realestate", date(2026, 5, 6)) if b.active]
    assert len(active) == 4
    assert dict((s.key, n) for s, n in bk.free("realestate", date(2026, 5, 6)))["09:00"] == 0


def test_n_threads_for_the_last_seat_exactly_one_wins(bk: Bookings) -> None:
    assert_one_winner(bk, last_seat_race(bk))


def test_n_threads_for_the_last_seat_on_postgresql(svc: CaseService, pg_url: str) -> None:
    db = open_engine(pg_url)
    try:
        migrate(db)
        bk = Bookings(replace_db(svc, db))
        assert_one_winner(bk, last_seat_race(bk, 12))
    finally:
        db.dispose()


def replace_db(svc: CaseService, db: Any) -> CaseService:
    return CaseService(svc.catalogue, db, ManualClock(THURSDAY), svc.calendar)


def test_moves_racing_for_the_last_seat_leave_one_winner(bk: Bookings) -> None:
    day, other = date(2026, 5, 6), date(2026, 5, 7)
    for i in range(3):
        bk.book("realestate", day, "10:00", **person(100 + i))
    mine = [bk.book("realestate", other, "09:00" if i < 4 else "09:30", **person(i))[0] for i in range(6)]
    results = race(6, lambda i: bk.move(mine[i], day, "10:00"))
    assert len([r for r in results if isinstance(r, Booking)]) == 1
    assert all(isinstance(r, Full) for r in results if not isinstance(r, Booking))
    free = dict((s.key, n) for s, n in bk.free("realestate", other))
    assert free["09:00"] + free["09:30"] == 8 - 6 + 1  # the winner's old seat was given back
    assert dict((s.key, n) for s, n in bk.free("realestate", day))["10:00"] == 0


def test_counter_figures_for_supervision(bk: Bookings, svc: Any) -> None:
    today = date(2026, 4, 30)
    a, _ = bk.book("realestate", today, "09:00", **person(1))
    bk.book("realestate", today, "09:30", **person(2))
    desk.arrive(bk, WINDOW, "realestate", a.number, a.version)
    [fig] = desk.figures(svc.db, today, today + timedelta(days=1), today)
    assert (fig.department, fig.booked, fig.arrived, fig.waiting, fig.no_shows) == ("realestate", 2, 1, 1, 0)
