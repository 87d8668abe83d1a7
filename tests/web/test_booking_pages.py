"""The appointment pages: the portal's booking (holidays closed, late hours marked), move and cancel with
the number and query code, home-visit requests; the window's day list, arrival ticket, call next and the
hall screen; bad input never a 500; and the last seats of a slot given exactly once to concurrent HTTP
requests against a real server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from starlette.testclient import TestClient
from support import REPO, free_port, wait_for
from support.bookings import person, race
from support.desk import PASSWORD, browser
from support.portal import csrf

from engine.base.dates import TZ
from engine.rules.clock import ManualClock
from engine.service.accounts import add_user
from engine.web.app import create_app

THURSDAY = datetime(2026, 4, 30, 8, 0, tzinfo=TZ)  # May 1-5 is the 劳动节 break; Saturday May 9 is worked


def book(client: Any, day: str, start: str, n: int, counter: str = "realestate") -> Any:
    page = client.get(f"/booking/{counter}?day={day}")
    assert page.status_code == 200, page.text
    return client.post(f"/booking/{counter}", data={"csrf": csrf(page.text), "day": day, "start": start, **person(n)})


def number_and_code(html: str) -> tuple[str, str]:
    number = re.search(r'id="booking-number">([^<]+)<', html)
    code = re.search(r'id="booking-code">([^<]+)<', html)
    assert number and code, html
    return number.group(1), code.group(1)


def test_the_portal_books_moves_and_cancels(portal: tuple[TestClient, Any, ManualClock]) -> None:
    client, _, clk = portal
    clk.set(THURSDAY)
    index = client.get("/booking")
    assert index.status_code == 200 and "不动产登记窗口" in index.text and "有延时服务" in index.text
    page = client.get("/booking/realestate?day=2026-05-04")
    assert "2026-05-04 周一 （不开放）" in page.text  # the holiday is listed closed, and not offered
    assert 'href="/booking/realestate?day=2026-05-09"' in page.text  # the make-up Saturday is
    thursday = client.get("/booking/realestate?day=2026-04-30").text
    assert '17:00–17:30 <span class="tag">延时服务</span>' in thursday
    done = book(client, "2026-05-06", "09:00", 1)
    assert done.status_code == 200 and "预约成功" in done.text
    number, code = number_and_code(done.text)
    mine = client.post("/booking-manage", data={"csrf": csrf(index.text), "number": number, "query_code": code})
    assert mine.status_code == 200 and "已预约" in mine.text
    version = re.search(r'name="version" value="(\d+)"', mine.text).group(1)  # type: ignore[union-attr]
    moved = client.post(
        "/booking-manage/move",
        data={
            "csrf": csrf(mine.text),
            "number": number,
            "query_code": code,
            "version": version,
            "slot": "2026-05-09|10:00",
        },
    )
    assert moved.status_code == 200 and "已改约到新的时段" in moved.text and "2026-05-09 周六 10:00" in moved.text
    stale = client.post(
        "/booking-manage/cancel",
        data={"csrf": csrf(mine.text), "number": number, "query_code": code, "version": version},
    )
    assert stale.status_code == 409  # the version read before the move
    version = re.search(r'name="version" value="(\d+)"', moved.text).group(1)  # type: ignore[union-attr]
    cancelled = client.post(
        "/booking-manage/cancel",
        data={"csrf": csrf(mine.text), "number": number, "query_code": code, "version": version},
    )
    assert (
        cancelled.status_code == 200
        and "预约已取消" in cancelled.text
        and "改约" not in cancelled.text.split("</h1>")[1].split("预约已取消")[1]
    )


def test_a_wrong_code_gets_the_same_answer_as_an_unknown_number(portal: tuple[TestClient, Any, ManualClock]) -> None:
    client, _, clk = portal
    clk.set(THURSDAY)
    number, _ = number_and_code(book(client, "2026-05-06", "09:00", 1).text)
    token = csrf(client.get("/booking").text)
    wrong = client.post("/booking-manage", data={"csrf": token, "number": number, "query_code": "2222-2222-22"})
    unknown = client.post(
        "/booking-manage", data={"csrf": token, "number": "B26050600000000", "query_code": "2222-2222-22"}
    )
    assert wrong.status_code == unknown.status_code == 404
    assert "预约号或查询码不正确" in wrong.text and "预约号或查询码不正确" in unknown.text


@pytest.mark.parametrize(
    "data",
    [
        {"day": "not-a-day", "start": "09:00"},
        {"day": "2026-05-06", "start": "25:99"},
        {"day": "2026-05-06", "start": "09:00", "id_number": "x" * 5000},
        {"day": "2026-05-06", "start": ""},
        {"day": "2026-05-04", "start": "09:00"},  # a holiday
        {"day": "2099-01-01", "start": "09:00"},
    ],
)
def test_bad_booking_input_is_a_page_saying_what_to_fix(portal: tuple[TestClient, Any, ManualClock], data: Any) -> None:
    client, _, clk = portal
    clk.set(THURSDAY)
    token = csrf(client.get("/booking/realestate").text)
    r = client.post("/booking/realestate", data={"csrf": token, **person(1), **data})
    assert r.status_code == 422 and "请修改以下问题后再继续" in r.text


def test_unknown_counters_and_forms_without_a_token_are_refused(portal: tuple[TestClient, Any, ManualClock]) -> None:
    client, _, _ = portal
    assert client.get("/booking/nowhere").status_code == 404
    assert client.get("/hall/nowhere").status_code == 404
    assert client.post("/booking/realestate", data={"day": "2026-05-06"}).status_code == 403
    token = csrf(client.get("/booking").text)
    assert client.post("/booking-manage/delete", data={"csrf": token}).status_code == 404
    assert client.get("/home-visit/QQ-AMR-DJ-001").status_code == 404  # no home visits for this item


def test_a_home_visit_request(portal: tuple[TestClient, Any, ManualClock]) -> None:
    client, _, _ = portal
    page = client.get("/home-visit/QQ-REALESTATE-DJ-102")
    assert page.status_code == 200 and "老年人" in page.text and "重点项目" not in page.text
    data = {
        "csrf": csrf(page.text),
        "qualifies": "elderly",
        "person": "李大爷",
        "contact": "13800000001",
        "address": "龙沙区 1 号",
    }
    done = client.post("/home-visit/QQ-REALESTATE-DJ-102", data=data)
    assert done.status_code == 200 and 'id="visit-number"' in done.text
    refused = client.post("/home-visit/QQ-REALESTATE-DJ-102", data={**data, "qualifies": "key_project"})
    assert refused.status_code == 422


def test_the_window_signs_in_calls_next_and_the_hall_shows_it(desk: tuple[Any, Any, ManualClock]) -> None:
    app, _, clk = desk
    clk.set(THURSDAY)
    applicant = TestClient(app, follow_redirects=False)
    for n, start in ((1, "09:00"), (2, "09:30")):
        assert book(applicant, "2026-04-30", start, n).status_code == 200
    window = browser(app, "window.realestate")
    listing = window.get("/desk/bookings")
    assert listing.status_code == 200 and "张*" in listing.text and "张1" not in listing.text  # masked
    assert "138****0001" in listing.text
    version = re.search(r'name="version" value="(\d+)"', listing.text).group(1)  # type: ignore[union-attr]
    first = re.search(r'name="number" value="(B\d+)"', listing.text).group(1)  # type: ignore[union-attr]
    arrived = window.post(
        "/desk/bookings/realestate/arrive", data={"csrf": csrf(listing.text), "number": first, "version": version}
    )
    assert arrived.status_code == 303
    ticket = window.get(arrived.headers["location"])
    assert ticket.status_code == 200 and 'id="queue-number">1<' in ticket.text
    assert "暂未叫号" in applicant.get("/hall/realestate").text
    called = window.post("/desk/bookings/realestate/call-next", data={"csrf": csrf(listing.text)})
    assert called.status_code == 303 and called.headers["location"].endswith("done=called")
    hall = applicant.get("/hall/realestate")
    assert 'id="now-serving" style="font-size:8rem;font-weight:bold;line-height:1;margin:.5rem 0">1<' in hall.text
    assert "张" not in hall.text.split("<main", 1)[1]  # no names on the hall's screen
    after = window.get(called.headers["location"])
    assert "请 1 号到窗口办理" in after.text and "已叫号办理" in after.text
    nobody = window.post("/desk/bookings/realestate/call-next", data={"csrf": csrf(listing.text)})
    assert "nobody" in nobody.headers["location"]


def test_another_departments_window_is_not_found(desk: tuple[Any, Any, ManualClock]) -> None:
    app, svc, clk = desk
    clk.set(THURSDAY)
    add_user(svc.db, "window.complaints", "window", "complaints", PASSWORD)
    office = browser(app, "window.complaints")  # the complaints office takes no bookings
    page = office.get("/desk/bookings")
    assert page.status_code == 200 and "您所在部门没有开通预约的窗口" in page.text
    token = csrf(page.text)
    assert office.post("/desk/bookings/realestate/call-next", data={"csrf": token}).status_code == 404
    assert TestClient(app, follow_redirects=False).get("/desk/bookings").status_code == 303  # to the login page


def test_the_department_schedules_a_home_visit(desk: tuple[Any, Any, ManualClock]) -> None:
    app, _, _ = desk
    applicant = TestClient(app, follow_redirects=False)
    page = applicant.get("/home-visit/QQ-REALESTATE-DJ-102")
    data = {
        "csrf": csrf(page.text),
        "qualifies": "disabled",
        "person": "王阿姨",
        "contact": "13800000002",
        "address": "建华区 2 号",
    }
    assert applicant.post("/home-visit/QQ-REALESTATE-DJ-102", data=data).status_code == 200
    window = browser(app, "window.realestate")
    listing = window.get("/desk/home-visits")
    assert "王阿姨" in listing.text and "待安排" in listing.text
    number = re.search(r"/desk/home-visits/(H\d+)/schedule", listing.text).group(1)  # type: ignore[union-attr]
    form = {"csrf": csrf(listing.text), "version": "0", "day": "2026-03-09", "time": "10:00", "note": ""}
    assert window.post(f"/desk/home-visits/{number}/schedule", data=form).status_code == 303
    assert "已安排" in window.get("/desk/home-visits").text
    bad = window.post(f"/desk/home-visits/{number}/schedule", data={**form, "version": "1", "day": "2026-03-07"})
    assert bad.status_code == 422  # a Saturday
    other = browser(app, "window.housing")
    token = csrf(other.get("/desk/home-visits").text)
    assert other.post(f"/desk/home-visits/{number}/done", data={"csrf": token, "version": "1"}).status_code == 404


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path: Path, reference: Any) -> Iterator[str]:
    """The app served by a real uvicorn server on 127.0.0.1 (on its virtual clock), on SQLite or PostgreSQL."""
    db: Any = tmp_path / "live.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    app = create_app(REPO, db, reference.catalogue, clock=ManualClock(THURSDAY), sweep_seconds=0, reload_seconds=0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for("the server", lambda: server.started, 30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_concurrent_http_requests_get_exactly_the_slots_seats(live: str) -> None:
    """12 browsers post for the same slot (4 seats) at once: exactly 4 are booked, 8 told it is full."""
    clients = [httpx.Client(base_url=live, timeout=30) for _ in range(12)]
    tokens = [csrf(c.get("/booking/realestate?day=2026-05-06").text) for c in clients]

    def attempt(i: int) -> int:
        data = {"csrf": tokens[i], "day": "2026-05-06", "start": "09:00", **person(i)}
        r = clients[i].post("/booking/realestate", data=data)
        assert r.status_code == 200 or "已经约满" in r.text, r.text
        return r.status_code

    results = race(12, attempt)
    assert sorted(results) == [200] * 4 + [422] * 8, results
    page = clients[0].get("/booking/realestate?day=2026-05-06").text
    assert re.search(r'value="09:00" disabled', page)
    for c in clients:
        c.close()


def test_the_supervision_dashboard_counts_appointments_per_department(desk: tuple[Any, Any, ManualClock]) -> None:
    app, _, clk = desk
    clk.set(THURSDAY)
    applicant = TestClient(app, follow_redirects=False)
    for n, start in ((1, "09:00"), (2, "09:30")):
        assert book(applicant, "2026-04-30", start, n).status_code == 200
    page = browser(app, "supervisor").get("/supervision?month=2026-04")
    assert page.status_code == 200
    table = page.text.split('id="bookings"', 1)[1].split("</table>", 1)[0]
    assert "<td>不动产登记中心</td><td>2</td><td>0</td><td>0</td><td>0</td>" in table


def test_the_guide_links_to_booking_and_home_visits(portal: tuple[TestClient, Any, ManualClock]) -> None:
    client, _, _ = portal
    resale = client.get("/items/QQ-REALESTATE-DJ-102").text
    assert 'href="/home-visit/QQ-REALESTATE-DJ-102"' in resale and 'href="/booking/realestate"' in resale
    assert 'id="home-visit"' not in client.get("/items/QQ-AMR-DJ-001").text
