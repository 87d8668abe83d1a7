"""The supervision dashboard and the public disclosure pages in a real browser: they render
their charts and tables, and axe-core finds no serious or critical problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.ledger.db import open_engine
from engine.service.accounts import add_user

PASSWORD = "supervisor-password"


def test_dashboard_and_public_pages(live_server: str, live_db: Path, new_page: Any, axe: Any, screenshot: Any) -> None:
    from playwright.sync_api import expect

    db = open_engine(live_db)
    try:
        add_user(db, "supervisor.e2e", "supervisor", None, PASSWORD)
    except ValueError:
        pass
    db.dispose()
    page = new_page("desktop")
    page.goto(live_server + "/desk/login?next=/supervision")
    page.get_by_label("用户名").fill("supervisor.e2e")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("电子监察")
    expect(page.get_by_role("img", name="近30日每日亮灯")).to_be_visible()
    screenshot(page, "supervision-dashboard")
    axe.check(page, "supervision dashboard")
    page.goto(live_server + "/supervision/corrections")
    axe.check(page, "corrections")
    for path, heading in (("/sunshine", "阳光日志"), ("/announcements", "办件公告")):
        page.goto(live_server + path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        screenshot(page, path.strip("/"))
        axe.check(page, path)
