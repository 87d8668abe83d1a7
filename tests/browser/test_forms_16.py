"""Issue 16, forms, in a real browser: the region picker with and without JavaScript at phone and
desktop widths, remembered progress access and "forget this device", the sunshine log's month, and
the guide printed as a one-time notice with its title and date."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from engine.base.dates import TZ
from engine.check.pipeline import load
from engine.ledger.db import open_engine
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.rules.clock import SystemClock
from engine.service.cases import CaseService
from engine.service.samples import sample_application

REPO = Path(__file__).resolve().parents[2]
WATER = "QQ-WATER-XK-001"  # 取水许可: abstraction.intake_area is a region field
RESALE = "QQ-REALESTATE-DJ-102"
WIDTHS = [320, 390, 1280]
AREA = '[name="abstraction.intake_area"]'


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, "the page must not scroll sideways"


@pytest.mark.parametrize("width", WIDTHS)
def test_region_picker_without_javascript(
    live_server: str, new_page: Any, width: int, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    page = new_page((width, 800), java_script_enabled=False)
    page.goto(f"{live_server}/apply/{WATER}/abstraction")
    area = page.locator(AREA)
    expect(area).to_be_visible()
    # the center's province (黑龙江) by city first: a local county is one choice away
    assert area.locator('optgroup[label="黑龙江省齐齐哈尔市"] option[value="230202"]').count() == 1
    expect(page.get_by_text("其他省份：在列表末尾选择省份，保存后再选择县（区）。")).to_be_visible()
    _no_sideways_scroll(page)
    # another province: choose it, save, then its counties are offered
    area.select_option("110000")
    page.get_by_role("button", name="保存并继续").click()
    expect(page.locator("#error-summary")).to_contain_text("已选择北京市，请继续选择到县（区）")
    area = page.locator(AREA)
    assert area.locator('optgroup[label="北京市"] option[value="110105"]').count() == 1
    area.select_option("110105")
    page.get_by_role("button", name="保存并继续").click()
    expect(page.locator("#error-summary")).not_to_contain_text("取水地点")  # other fields may still be empty
    expect(page.locator(AREA)).to_have_value("110105")
    screenshot(page, f"region-nojs-{width}")
    # axe needs a script: the same plain <select>, in a browser whose copy of the code list never arrives
    checked = new_page((width, 800))
    checked.route("**/static/regions.tsv", lambda route: route.abort())
    checked.goto(f"{live_server}/apply/{WATER}/abstraction")
    expect(checked.locator(AREA)).to_be_visible()
    axe.check(checked, f"region picker as a plain select ({width}px)")


@pytest.mark.parametrize("width", WIDTHS)
def test_region_picker_with_javascript_is_three_linked_selects(
    live_server: str, new_page: Any, width: int, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    page = new_page((width, 800))
    page.goto(f"{live_server}/apply/{WATER}/abstraction")
    province = page.get_by_label("省（区、市）")
    city = page.get_by_label("市（地区、州）")
    county = page.get_by_label("县（区）", exact=True)
    expect(province).to_be_visible()
    expect(page.locator("select[data-area]")).to_be_hidden()  # the plain select stepped aside
    # it opens on the center's province, every county of it already choosable (grouped by city)
    expect(province).to_have_value("230000")
    assert county.locator('optgroup[label="齐齐哈尔市"] option[value="230202"]').count() == 1
    expect(page.get_by_text("其他省份：在列表末尾选择省份")).to_be_hidden()  # words for the plain select only
    province.select_option(label="北京市")  # another province: its cities and counties follow
    expect(county.locator('option[value="230202"]')).to_have_count(0)
    city.select_option(label="北京市")  # 市辖区 reads as the city's own name
    expect(county.locator('option[value="110105"]')).to_have_count(1)
    province.select_option(label="黑龙江省")
    city.select_option(label="齐齐哈尔市")
    county.select_option(label="龙江县")
    expect(county).to_have_attribute("name", "abstraction.intake_area")
    _no_sideways_scroll(page)
    screenshot(page, f"region-js-{width}")
    axe.check(page, f"region picker with JavaScript ({width}px)")
    page.get_by_role("button", name="保存并继续").click()
    # the answer is kept: after the page comes back (other fields unanswered) 龙江县 is still chosen
    expect(page.get_by_label("县（区）", exact=True)).to_have_value("230221")
    expect(page.locator("#error-summary")).not_to_contain_text("取水地点")


def _case_with_code(live_db: Path) -> tuple[str, str]:
    """A case filed straight into the live server's database (the journey tests walk the form)."""
    cat = load(REPO).catalogue
    db = open_engine(live_db)
    try:
        calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
        svc = CaseService(cat, db, SystemClock(), calendar)
        data, uploads = sample_application(cat, cat.items[RESALE], {})
        done = svc.submit(RESALE, data, uploads, Actor("a", "applicant"), f"forms16-{datetime.now(TZ).isoformat()}")
        return str(done.number), str(done.query_code)
    finally:
        db.dispose()


@pytest.mark.parametrize("width", WIDTHS)
def test_remembered_progress_access_and_forget(
    live_server: str, live_db: Path, new_page: Any, width: int, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    number, code = _case_with_code(live_db)
    page = new_page((width, 800))
    page.goto(f"{live_server}/progress")
    page.get_by_label("办件编号").fill(number)
    page.get_by_label("查询码").fill(code)
    page.get_by_label("在此设备上记住").check()
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(f"/progress/{number}$"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "yg_device")
    assert (
        cookie["httpOnly"]
        and cookie["sameSite"] == "Lax"
        and cookie["expires"] > datetime.now().timestamp() + 29 * 86400
    )
    # the next visit lists the case and opens it without the code
    page.goto(f"{live_server}/progress")
    remembered = page.locator("#remembered")
    expect(remembered.get_by_role("link", name=number)).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, f"progress-remembered-{width}")
    axe.check(page, f"remembered cases ({width}px)")
    remembered.get_by_role("link", name=number).click()
    expect(page).to_have_url(re.compile(f"/progress/{number}$"))
    # forget this device: the list is gone and the case asks for its code again
    page.goto(f"{live_server}/progress")
    page.get_by_role("button", name="忘记此设备").click()
    expect(page.get_by_role("status")).to_contain_text("此设备已不再记住任何办件")
    expect(page.locator("#remembered")).to_have_count(0)
    page.goto(f"{live_server}/progress/{number}")
    expect(page).to_have_url(re.compile(r"/progress\?number="))


@pytest.mark.parametrize("width", WIDTHS)
def test_sunshine_names_its_month_and_navigates(live_server: str, new_page: Any, width: int, axe: Any) -> None:
    from playwright.sync_api import expect

    page = new_page((width, 800))
    page.goto(f"{live_server}/sunshine")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"\d{4}年\d{1,2}月"))
    shown = re.search(r"(\d{4})年(\d{1,2})月", heading.inner_text())
    assert shown
    year, month = int(shown.group(1)), int(shown.group(2))
    before = (year, month - 1) if month > 1 else (year - 1, 12)
    page.get_by_role("link", name="上一月").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{before[0]}年{before[1]}月")
    expect(page.get_by_role("link", name="下一月")).to_be_visible()
    _no_sideways_scroll(page)
    axe.check(page, f"sunshine log ({width}px)")


def test_the_guide_prints_as_a_titled_dated_one_time_notice(live_server: str, page: Any, screenshot: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/items/{RESALE}")
    head = page.locator("#print-head")
    expect(head).to_be_hidden()  # on screen the guide is a web page
    page.emulate_media(media="print")
    expect(head).to_be_visible()
    today = datetime.now(TZ).date()  # the server's clock is the system clock, local (Beijing) date
    expect(head).to_contain_text("一次性告知书")
    expect(head).to_contain_text(f"告知日期：{today.year}年{today.month}月{today.day}日")
    expect(head).to_contain_text("实施部门：")
    expect(head).to_contain_text(f"事项编码：{RESALE}")
    screenshot(page, "guide-print")
