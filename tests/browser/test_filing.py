"""The filing limit as an applicant meets it (engine.service.filing_limits): past it, pressing 提交申请 brings
the check page back with the reason and the wait, every answer still on it and the button to try
again — readable at 320, 390 and 1280 px, axe clean. Its own server, whose limit is one filing an
hour (the shared live server keeps the limits out of reach of the other browser tests)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from support.portal import csrf, form_values

from engine.service.samples import sample_application

from .live import serve

ITEM = "QQ-GRID-GG-002"  # four sections, no materials to upload


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("filing_server")
    # the second filing from 127.0.0.1 is refused
    with serve(tmp, tmp / "y.db", YANGGUANG_FILINGS_PER_HOUR_PER_ADDRESS="1") as base:
        yield base


def fill_in(page: Any, base: str, data: dict[str, Any]) -> str:
    """Answer every section page (in this browser's context: its cookie owns the draft); the check page's URL."""
    r = page.request.get(f"{base}/apply/{ITEM}", max_redirects=0)
    url = base + r.headers["location"]
    while "/check" not in url:
        html = page.request.get(url).text()
        section = url.split("?")[0].rsplit("/", 1)[1]
        values = {f"{section}.{k}": v for k, v in form_values(data.get(section, {})).items()}
        draft = re.search(r"draft=([0-9a-f]+)", url)
        form = {"csrf": csrf(html), **values} | ({"draft": draft.group(1)} if draft else {})
        # multi-valued answers (checkboxes) would need a list; this item's answers are single values
        r = page.request.post(url.split("?")[0], form=form, max_redirects=0)
        assert r.status == 303, r.text()
        url = base + r.headers["location"]
    return url


def test_past_the_filing_limit_the_check_page_comes_back_with_everything(
    limited_server: str, new_page: Any, reference: Any, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    data, _ = sample_application(reference.catalogue, reference.catalogue.items[ITEM], {})
    page = new_page("desktop")
    first = page.request.post(f"{limited_server}/api/cases", data={"item": ITEM, "data": data, "idempotency_key": "1"})
    assert first.status == 201, first.text()  # this address's one filing of the hour
    page.goto(fill_in(page, limited_server, data))
    page.get_by_role("button", name="提交申请").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()  # read out first, as every error summary is
    expect(summary).to_contain_text("同一地址提交申请过于频繁，请 60 分钟后再提交。")
    expect(summary).to_contain_text("您填写的内容和上传的材料都已保存")
    expect(page.get_by_text("11010519491231002X")).to_be_visible()  # the answers, as typed
    expect(page.get_by_role("button", name="提交申请")).to_be_visible()  # to try again later
    for width, height in ((320, 640), (390, 844), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width + 1, f"the page scrolls sideways at {width} px"
        screenshot(page, f"filing-limit-{width}")
        axe.check(page, f"the check page past the filing limit ({width} px)")
    page.locator("#error-summary a").click()  # the summary's link leads to the button
    expect(page.locator("#fix-submit")).to_be_in_viewport()
