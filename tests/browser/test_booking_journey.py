"""Appointments in a real browser: an applicant books a slot, moves it and cancels it with the number and
query code; a window clerk signs a booked person in (queue ticket), calls the next one, and the hall's screen
shows the number. axe-core finds no serious or critical problem on the pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from support.bookings import person

from engine.ledger.booking_tables import bookings
from engine.ledger.db import iso, open_engine
from engine.rules.clock import SystemClock, local_date
from engine.service.accounts import add_user
from engine.service.bookings import person_key
from engine.service.query_codes import hash_code

PASSWORD = "booking-window-password"


def test_book_move_and_cancel(live_server: str, new_page: Any, axe: Any, screenshot: Any) -> None:
    from playwright.sync_api import expect

    page = new_page("desktop")
    page.goto(live_server + "/booking")
    axe.check(page, "booking index")
    page.get_by_role("link", name="不动产登记窗口").click()
    # the live server runs on today's date: the page opens on the first day with a free seat (late at night
    # that is a later day, never today with nothing left)
    expect(page.locator('#slots input[type="radio"]:not([disabled])').first).to_be_visible()
    page.locator('#slots input[type="radio"]:not([disabled])').first.check()
    me = person(901)
    page.get_by_label("姓名").fill(me["person"])
    page.get_by_label("居民身份证号码").fill(me["id_number"])
    page.get_by_label("手机号码").fill(me["contact"])
    axe.check(page, "booking slots")
    page.get_by_role("button", name="确认预约").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("预约成功")
    number, code = page.locator("#booking-number").inner_text(), page.locator("#booking-code").inner_text()
    screenshot(page, "booking-done")
    page.goto(live_server + "/booking")
    page.get_by_label("预约号").fill(number)
    page.get_by_label("查询码", exact=True).fill(code)
    page.get_by_role("button", name="查询预约").click()
    expect(page.locator("#booking-state")).to_have_text("已预约")
    axe.check(page, "my booking")
    options = page.locator("#slot option")
    page.locator("#slot").select_option(options.nth(1).get_attribute("value"))
    page.get_by_role("button", name="改约").click()
    expect(page.get_by_role("status")).to_contain_text("已改约到新的时段")
    expect(page.locator("#booking-state")).to_have_text("已改约")
    page.get_by_role("button", name="取消预约").click()
    expect(page.get_by_role("status")).to_contain_text("预约已取消")
    expect(page.locator("#booking-state")).to_have_text("已取消")


def test_the_window_signs_in_and_calls_next(
    live_server: str, live_db: Path, new_page: Any, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    db = open_engine(live_db)
    try:
        add_user(db, "window.booking-e2e", "window", "realestate", PASSWORD)
        now = SystemClock().now()
        today = local_date(now).isoformat()  # the server's day: arrival is for today's bookings
        me = person(902)
        with db.begin() as conn:  # a booking made this morning (the server's own clock decides the slots)
            conn.execute(
                bookings.insert().values(
                    number="B99010100000902", counter="realestate", department="realestate", day=today, start="09:00",
                    late=False, state="booked", person=me["person"], person_key=person_key(me["id_number"]),
                    contact=me["contact"], query_code=hash_code("2345-6789-AC"), version=0, created_at=iso(now),
                    updated_at=iso(now),
                )
            )  # fmt: skip
    finally:
        db.dispose()
    page = new_page("desktop")
    page.goto(live_server + "/desk/login?next=/desk/bookings")
    page.get_by_label("用户名").fill("window.booking-e2e")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("预约叫号")
    row = page.locator("#day-list tr", has_text="B99010100000902")
    expect(row).not_to_contain_text(me["person"])  # masked on the list
    axe.check(page, "window day list")
    row.get_by_role("button", name="签到取号").click()
    queue = page.locator("#queue-number").inner_text()
    assert re.fullmatch(r"\d+", queue)
    screenshot(page, "booking-ticket")
    page.get_by_role("link", name="返回预约叫号").click()
    page.get_by_role("button", name="叫下一位").click()
    expect(page.locator("#called")).to_contain_text(f"请 {queue} 号到窗口办理")
    hall = new_page("desktop")
    hall.goto(live_server + "/hall/realestate")
    expect(hall.locator("#now-serving")).to_have_text(queue)
    screenshot(hall, "booking-hall")
    axe.check(hall, "hall screen")
