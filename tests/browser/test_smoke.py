"""Smoke test of the applicant portal in a real browser: home page, search, item guide."""

from __future__ import annotations

import re
from typing import Any

import pytest

CONSTRUCTION_PERMIT = "建筑工程施工许可证核发"  # items/housing/construction-permit.yaml
CONSTRUCTION_PERMIT_CODE = "QQ-HOUSING-XK-003"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_search_and_open_the_construction_permit_guide(
    live_server: str, page: Any, viewport: str, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_title("齐齐哈尔市政务服务中心")
    expect(page.get_by_role("heading", level=1)).to_have_text("办事指南")
    expect(page.get_by_role("search")).to_be_visible()
    screenshot(page, f"home-{viewport}")
    axe.check(page, f"home page ({viewport})")

    box = page.get_by_label("搜索事项")
    box.fill("施工")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/\?q=%E6%96%BD%E5%B7%A5$"))  # ?q=施工
    expect(page.get_by_text(re.compile(r"“施工”共找到 \d+ 个事项"))).to_be_visible()
    link = page.get_by_role("link", name=CONSTRUCTION_PERMIT, exact=True)
    expect(link).to_be_visible()
    expect(page.get_by_label("搜索事项")).to_have_value("施工")

    link.click()
    expect(page).to_have_url(live_server + f"/items/{CONSTRUCTION_PERMIT_CODE}")
    expect(page).to_have_title(f"{CONSTRUCTION_PERMIT} — 办事指南")
    expect(page.get_by_role("heading", level=1)).to_have_text(CONSTRUCTION_PERMIT)
    expect(page.get_by_role("heading", name="申请材料（一次性告知）")).to_be_visible()
    expect(page.get_by_text(f"事项编码 {CONSTRUCTION_PERMIT_CODE}")).to_be_visible()
    screenshot(page, f"guide-{viewport}")
    axe.check(page, f"item guide ({viewport})")
