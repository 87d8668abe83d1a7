"""What a person does in the browser, shared by the journeys (test_journey, test_chain_journey,
test_demo_journeys, test_layout): answer a generated section page, sign in on the desk, submit one
action's form on a case. Playwright pages; the fixtures that make them are in conftest.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PASSWORD = "journey-password"  # every staff account the journeys create on the live server


def fill_page(page: Any, section: str, values: Mapping[str, Any]) -> None:
    """Answer one generated section page the way a person would, field by field."""
    for key, value in values.items():
        name = f"{section}.{key}"
        if isinstance(value, bool):
            value = "true" if value else "false"
        boxes = page.locator(f'[name="{name}"]')
        if boxes.count() == 0 or not boxes.first.is_visible():
            continue  # a field the form does not ask (its condition is false)
        kind = boxes.first.get_attribute("type") or boxes.first.evaluate("e => e.tagName.toLowerCase()")
        if kind == "radio":
            page.check(f'[name="{name}"][value="{value}"]')
        elif kind == "checkbox":
            for v in value if isinstance(value, list) else [value]:
                page.check(f'[name="{name}"][value="{v}"]')
        elif kind == "select":
            boxes.first.select_option(str(value))
        else:
            boxes.first.fill(str(value))


def login(new_page: Any, base: str, username: str) -> Any:
    """A new desktop page signed in on the desk as ``username`` (with PASSWORD)."""
    page = new_page("desktop")
    page.goto(base + "/desk")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/desk$"))
    return page


def do(page: Any, base: str, number: str, action: str, **fields: str) -> None:
    """Open the case on the desk and submit one action's form."""
    from playwright.sync_api import expect  # here, not at the top: a missing Playwright fails the fixture, saying how

    page.goto(f"{base}/desk/cases/{number}")
    form = page.locator(f'form:has(input[name="action"][value="{action}"])')
    if "step" in fields:
        form = form.filter(has=page.locator(f'input[name="step"][value="{fields.pop("step")}"]'))
    for name, value in fields.items():
        target = form.locator(f'[name="{name}"]')
        if target.first.get_attribute("type") == "radio":
            form.locator(f'[name="{name}"][value="{value}"]').check()
        else:
            target.first.fill(value)
    form.locator('button[type="submit"]').click()
    expect(page.get_by_role("status")).to_contain_text("已办理")
