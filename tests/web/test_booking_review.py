"""The appointment pages after the review (issue 19): another window's bookings are not found, supervisors
only watch, one address is capped per day, a booking whose window left appointments.yaml can still be
seen and cancelled, the call message is the server's own, the slot page opens on a day with seats,
the person follows and cancels a home visit with its code, and the home-visit list is masked for all
but the scheduling department and paged."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

from starlette.testclient import TestClient
from support import REPO
from support.bookings import person
from support.desk import PASSWORD, browser
from support.portal import csrf

from engine.base.dates import TZ
from engine.rules.clock import ManualClock
from engine.service import bookings_visits as visits
from engine.service.accounts import add_user
from engine.web.app import create_app

THURSDAY = datetime(2026, 4, 30, 8, 0, tzinfo=TZ)
RESALE = "QQ-REALESTATE-DJ-102"


def book(client: Any, day: str, start: str, n: int, counter: str = "realestate") -> Any:
    page = client.get(f"/booking/{counter}?day={day}")
    assert page.status_code == 200, page.text
    return client.post(f"/booking/{counter}", data={"csrf": csrf(page.text), "day": day, "start": start, **person(n)})


def number_and_code(html: str) -> tuple[str, str]:
    found = re.search(r'id="booking-number">([^<]+)<', html), re.search(r'id="booking-code">([^<]+)<', html)
    assert found[0] and found[1], html
    return found[0].group(1), found[1].group(1)


def test_posts_for_another_window_or_its_bookings_are_not_found(desk: tuple[Any, Any, ManualClock]) -> None:
    app, svc, clk = desk
    clk.set(THURSDAY)
    number, _ = number_and_code(book(TestClient(app), "2026-04-30", "09:00", 1).text)
    add_user(svc.db, "window.amr", "window", "amr", PASSWORD)
    amr = browser(app, "window.amr")
    token = csrf(amr.get("/desk/bookings").text)
    arrive = {"csrf": token, "number": number, "version": "0"}
    assert amr.post("/desk/bookings/realestate/arrive", data=arrive).status_code == 404
    assert amr.post("/desk/bookings/amr/arrive", data=arrive).status_code == 404  # its window, not its booking
    assert amr.post("/desk/bookings/amr/link", data={**arrive, "case_number": "X"}).status_code == 404
    listing = browser(app, "window.realestate").get("/desk/bookings").text
    assert "签到取号" in listing and "已签到" not in listing  # nothing was changed


def test_supervisors_see_the_day_list_and_act_on_none(desk: tuple[Any, Any, ManualClock]) -> None:
    app, _, clk = desk
    clk.set(THURSDAY)
    number, _ = number_and_code(book(TestClient(app), "2026-04-30", "09:00", 1).text)
    supervisor = browser(app, "supervisor")
    page = supervisor.get("/desk/bookings?counter=realestate")
    assert page.status_code == 200 and number in page.text and 'id="watch-only"' in page.text
    assert 'id="call-next"' not in page.text and "签到取号" not in page.text
    token = csrf(page.text)
    assert supervisor.post("/desk/bookings/realestate/call-next", data={"csrf": token}).status_code == 404
    arrive = {"csrf": token, "number": number, "version": "0"}
    assert supervisor.post("/desk/bookings/realestate/arrive", data=arrive).status_code == 404


def test_the_front_desk_signs_people_in(desk: tuple[Any, Any, ManualClock]) -> None:
    app, svc, clk = desk
    clk.set(THURSDAY)
    number, _ = number_and_code(book(TestClient(app), "2026-04-30", "09:00", 1).text)
    add_user(svc.db, "frontdesk", "frontdesk", None, PASSWORD)
    front = browser(app, "frontdesk")
    page = front.get("/desk/bookings?counter=realestate")
    arrive = {"csrf": csrf(page.text), "number": number, "version": "0"}
    assert front.post("/desk/bookings/realestate/arrive", data=arrive).status_code == 303


def test_a_call_message_is_the_servers_own(desk: tuple[Any, Any, ManualClock]) -> None:
    app, _, clk = desk
    clk.set(THURSDAY)
    window = browser(app, "window.realestate")
    forged = window.get("/desk/bookings?counter=realestate&done=called-<b>ANYTHING</b>").text
    assert "ANYTHING" not in forged and 'id="called"' not in forged
    assert 'id="called"' not in window.get("/desk/bookings?counter=realestate&done=called").text  # none called yet


def test_one_address_is_told_when_it_may_book_again(portal: tuple[TestClient, Any, ManualClock]) -> None:
    client, _, clk = portal
    clk.set(THURSDAY)
    for n in range(6):
        assert book(client, "2026-05-06", f"{9 + n // 2:02d}:{30 * (n % 2):02d}", n).status_code == 200
    refused = book(client, "2026-05-06", "14:00", 50)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == str(24 * 3600)
    assert "24 小时后再试" in refused.text and 'value="张50"' in refused.text  # what was typed is kept
    page = client.get("/home-visit/" + RESALE)
    data = {"csrf": csrf(page.text), "qualifies": "elderly", "person": "李大爷", "contact": "13800000001"}
    for _ in range(3):
        assert client.post("/home-visit/" + RESALE, data={**data, "address": "龙沙区 1 号"}).status_code == 200
    assert client.post("/home-visit/" + RESALE, data={**data, "address": "龙沙区 1 号"}).status_code == 429


def test_a_booking_whose_window_was_removed_is_shown_and_can_be_cancelled(tmp_path: Any, reference: Any) -> None:
    clk = ManualClock(THURSDAY)
    db = tmp_path / "site.db"
    before = TestClient(create_app(REPO, db, reference.catalogue, clock=clk, sweep_seconds=0))
    number, code = number_and_code(book(before, "2026-05-06", "09:00", 1).text)
    data = dict(reference.catalogue.appointments)
    data["counters"] = [c for c in data["counters"] if c["id"] != "realestate"]
    without = dataclasses.replace(reference.catalogue, appointments=data)
    after = TestClient(create_app(REPO, db, without, clock=clk, sweep_seconds=0))
    token = csrf(after.get("/booking").text)
    mine = after.post("/booking-manage", data={"csrf": token, "number": number, "query_code": code})
    assert mine.status_code == 200 and 'id="no-move"' in mine.text and "已预约" in mine.text
    move = {"csrf": token, "number": number, "query_code": code, "version": "0", "slot": "2026-05-07|09:00"}
    assert after.post("/booking-manage/move", data=move).status_code == 422
    cancelled = after.post("/booking-manage/cancel", data={**move, "slot": ""})
    assert cancelled.status_code == 200 and "预约已取消" in cancelled.text


def test_late_in_the_day_the_slot_page_opens_on_a_day_with_seats(portal: tuple[TestClient, Any, ManualClock]) -> None:
    client, _, clk = portal
    clk.set(datetime(2026, 4, 30, 18, 20, tzinfo=TZ))  # Thursday: the last late slot (18:00) has closed
    page = client.get("/booking/realestate").text
    assert 'name="day" value="2026-05-06"' in page  # after the 劳动节 break, not today with nothing left


def test_the_person_follows_and_cancels_a_home_visit(desk: tuple[Any, Any, ManualClock]) -> None:
    app, svc, _ = desk
    applicant = TestClient(app, follow_redirects=False)
    page = applicant.get("/home-visit/" + RESALE)
    data = {"csrf": csrf(page.text), "qualifies": "elderly", "person": "李大爷", "contact": "13800000001"}
    done = applicant.post("/home-visit/" + RESALE, data={**data, "address": "龙沙区 1 号"}).text
    number = re.search(r'id="visit-number">([^<]+)<', done).group(1)  # type: ignore[union-attr]
    code = re.search(r'id="visit-code">([^<]+)<', done).group(1)  # type: ignore[union-attr]
    token = csrf(applicant.get("/booking").text)
    wrong = applicant.post("/home-visit-manage", data={"csrf": token, "number": number, "query_code": "2222-3333-44"})
    assert wrong.status_code == 404 and "申请号或查询码不正确" in wrong.text
    mine = applicant.post("/home-visit-manage", data={"csrf": token, "number": number, "query_code": code})
    assert mine.status_code == 200 and "待安排" in mine.text and "部门将与您联系安排" in mine.text
    visits.schedule(svc, visits.get(svc, number), datetime(2026, 3, 9, 10, 0, tzinfo=TZ), "window.realestate")  # type: ignore[arg-type]
    planned = applicant.post("/home-visit-manage", data={"csrf": token, "number": number, "query_code": code})
    assert "2026-03-09 10:00" in planned.text
    stale = {"csrf": token, "number": number, "query_code": code, "version": "0"}
    assert applicant.post("/home-visit-manage/cancel", data=stale).status_code == 409
    cancelled = applicant.post("/home-visit-manage/cancel", data={**stale, "version": "1"})
    assert (
        cancelled.status_code == 200 and "上门服务申请已取消" in cancelled.text and 'id="cancel"' not in cancelled.text
    )


def test_the_home_visit_list_is_full_for_the_department_masked_for_others_and_paged(
    desk: tuple[Any, Any, ManualClock],
) -> None:
    app, svc, _ = desk
    for i in range(visits.PAGE + 1):
        visits.request(
            svc, RESALE, qualifies="elderly", person="王阿姨", contact=f"1380000{i:04d}", address="建华区幸福路 2 号"
        )
    department = browser(app, "window.realestate").get("/desk/home-visits").text
    assert "王阿姨" in department and "13800000000" in department and "建华区幸福路 2 号" in department
    assert 'id="next-page"' in department and department.count("安排上门") == visits.PAGE
    second = browser(app, "window.realestate").get("/desk/home-visits?page=2").text
    assert second.count("安排上门") == 1 and 'rel="prev"' in second
    watcher = browser(app, "supervisor").get("/desk/home-visits").text
    assert "王阿姨" not in watcher and "王*" in watcher and "138****0000" in watcher
    assert "建华区幸福路 2 号" not in watcher and "安排上门" not in watcher
    assert browser(app, "window.realestate").get("/desk/home-visits?page=x").status_code == 200


def test_a_guide_links_its_own_counter_and_only_when_there_is_one(tmp_path: Any, reference: Any) -> None:
    data = dict(reference.catalogue.appointments)
    data["counters"] = [c for c in data["counters"] if c["id"] != "housing"]  # the housing window takes no bookings
    without = dataclasses.replace(reference.catalogue, appointments=data)
    client = TestClient(create_app(REPO, tmp_path / "site.db", without, clock=ManualClock(THURSDAY), sweep_seconds=0))
    assert 'href="/booking/marriage"' in client.get("/items/QQ-CIVIL-DJ-101").text  # the item's own counter
    assert 'href="/booking/amr"' in client.get("/items/QQ-AMR-XK-103").text  # its department's window
    housing = client.get("/items/QQ-HOUSING-XK-003").text
    assert 'id="book"' not in housing and 'href="/booking' not in housing  # no counter serves it
    assert 'href="/booking"' in client.get("/").text
