"""Home search as people use it, in a real browser: everyday words, a chain among the results (issue 16)."""

from __future__ import annotations

import re
from typing import Any

import pytest

ESTABLISH = "企业设立登记"  # items/amr/enterprise-establishment-registration.yaml, keyword 开公司
ORGANIZATION_CHAIN = '组织机构设立审批链条（企业开办"一照多证"）'  # chains/organization.yaml, keyword 开公司


@pytest.mark.parametrize("width", [320, 390, 1280])
def test_typing_kai_gongsi_finds_enterprise_registration_first_and_the_chain(
    live_server: str, new_page: Any, width: int, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    page = new_page((width, 800))
    page.goto(live_server + "/")
    box = page.get_by_label("搜索事项")
    box.fill("开公司")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/\?q=%E5%BC%80%E5%85%AC%E5%8F%B8$"))  # ?q=开公司
    expect(page.get_by_text("“开公司”共找到 1 个事项、1 个一件事。")).to_be_visible()

    results = page.locator("ol.results > li")
    first = results.nth(0).get_by_role("link")
    expect(first).to_have_text(ESTABLISH)
    expect(first).to_have_attribute("href", "/items/QQ-AMR-DJ-001")
    chain = page.get_by_role("link", name=ORGANIZATION_CHAIN, exact=True)
    expect(chain).to_be_visible()
    expect(chain).to_have_attribute("href", "/chains/organization")
    expect(results.nth(1).locator(".tag")).to_have_text("一件事")
    # nothing runs off a narrow screen: the page is no wider than the window
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"search-kai-gongsi-{width}")
    axe.check(page, f"home search results ({width} px)")

    chain.click()
    expect(page).to_have_url(live_server + "/chains/organization")
    expect(page.get_by_role("heading", level=1)).to_contain_text("组织机构设立审批链条")


@pytest.mark.parametrize("query", ["qysl", "jianzhu"])
def test_pinyin_finds_the_item_in_a_phone_browser(live_server: str, new_page: Any, query: str) -> None:
    from playwright.sync_api import expect

    page = new_page((390, 800))
    page.goto(live_server + "/?q=" + query)
    expected = {"qysl": ESTABLISH, "jianzhu": "建筑工程施工许可证核发"}[query]
    expect(page.locator("ol.results > li").nth(0).get_by_role("link")).to_have_text(expected)
