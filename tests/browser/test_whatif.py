"""The administrator's what-if page in a real browser: open an item's 时限预测, propose a shorter promised
limit on the form and see the on-time rate fall with the ``yangguang edit`` command that makes it; propose
one above the legal limit and read the checker's refusal next to the field; axe-core finds no serious or
critical problem. Its own server on a fresh database, so the load is the synthetic one (the shared live
server's cases, recorded by other journeys, would be replayed instead)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from support.whatif import ITEM

from engine.ledger.db import open_engine
from engine.service.accounts import add_user

from .live import serve

PASSWORD = "whatif-password"


@pytest.fixture(scope="module")
def whatif_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("whatif_server")
    with serve(tmp, tmp / "y.db") as base:
        db = open_engine(tmp / "y.db")
        try:
            add_user(db, "admin.whatif", "admin", None, PASSWORD)
        finally:
            db.dispose()
        yield base


def on_time(page: Any) -> list[str]:
    """The item's on-time rate row: live, changed, difference."""
    row = page.locator("#item tbody tr").filter(has=page.get_by_role("rowheader", name="按时办结率（%）"))
    return [cell.strip() for cell in row.locator("td").all_inner_texts()]


def test_an_administrator_tries_a_shorter_promise_and_one_beyond_the_law(
    whatif_server: str, new_page: Any, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    page = new_page("desktop")
    page.goto(f"{whatif_server}/desk/login?next=/admin")
    page.get_by_label("用户名").fill("admin.whatif")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/admin$"))
    page.locator(f'a[href="/admin/items/{ITEM}/whatif"]').click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("时限预测：道路旅客运输经营许可")
    assert on_time(page) == ["100", "100", "0"]  # the disk is the live catalogue: nothing changes
    axe.check(page, "what-if, unchanged")

    page.get_by_label("承诺时限", exact=True).fill("5")
    page.get_by_role("button", name="预测").click()
    expect(page.locator("#shown")).to_contain_text("您在上面填写的修改")
    live, changed, difference = on_time(page)
    assert live == "100" and float(changed) < 50 and difference.startswith("-")
    expect(page.locator("#commands pre")).to_have_text(f"yangguang edit {ITEM} set time_limit.promised 5\n")
    screenshot(page, "whatif-shorter-promise")
    axe.check(page, "what-if, a shorter promise")

    field = page.get_by_label("承诺时限", exact=True)
    field.fill("30")
    page.get_by_role("button", name="预测").click()
    field = page.get_by_label("承诺时限", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-promised-refused")).to_contain_text("longer than the legal limit")
    expect(page.locator("#not-simulated")).to_be_visible()
    expect(page.locator("#item")).to_have_count(0)
    expect(page.locator("#commands")).to_have_count(0)
    screenshot(page, "whatif-beyond-the-law")
    axe.check(page, "what-if, refused")
