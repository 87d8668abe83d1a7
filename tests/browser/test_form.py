"""The generated form in a real browser: conditional fields follow the answers through
static/portal.js (the same condition vocabulary as the server), the page works at phone
width, and the English translation is served when asked for."""

from __future__ import annotations

from typing import Any

import pytest

PERMIT = "QQ-HOUSING-XK-003"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_conditional_fields_follow_the_answers(
    live_server: str, page: Any, viewport: str, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/apply/{PERMIT}/applicant")
    person_id = page.locator('[name="applicant.id_card"]')
    company_code = page.locator('[name="applicant.credit_code"]')
    agent = page.locator('[name="applicant.agent_name"]')
    # nothing chosen yet: fields that depend on the answer are hidden by the script
    expect(person_id).to_be_hidden()
    expect(company_code).to_be_hidden()
    page.get_by_label("自然人").check()
    expect(person_id).to_be_visible()
    expect(company_code).to_be_hidden()
    page.get_by_label("法人或其他组织").check()
    expect(company_code).to_be_visible()
    expect(person_id).to_be_hidden()
    expect(agent).to_be_hidden()
    page.locator('[name="applicant.by_agent"][value="true"]').check()
    expect(agent).to_be_visible()
    # the words for browsers without JavaScript are not shown when the script runs
    expect(page.get_by_text("仅当申请人类型为自然人时填写")).to_be_hidden()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, "the form must not scroll sideways"
    screenshot(page, f"form-{viewport}")
    axe.check(page, f"form ({viewport})")


def test_without_javascript_every_field_is_shown_with_its_condition(live_server: str, new_page: Any) -> None:
    from playwright.sync_api import expect

    page = new_page("desktop", java_script_enabled=False)
    page.goto(f"{live_server}/apply/{PERMIT}/applicant")
    expect(page.locator('[name="applicant.id_card"]')).to_be_visible()
    expect(page.get_by_text("仅当申请人类型为自然人时填写")).to_be_visible()


def test_the_english_interface(live_server: str, page: Any, axe: Any, screenshot: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Service guide")
    page.goto(f"{live_server}/apply/{PERMIT}/applicant")  # the choice is remembered
    expect(page.get_by_role("button", name="Save and continue")).to_be_visible()
    screenshot(page, "form-english")
    axe.check(page, "form in English")
