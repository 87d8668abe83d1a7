"""The browser fixtures themselves: axe really finds problems, viewports are what they say."""

from __future__ import annotations

from typing import Any

import pytest

from .a11y import format_violations

BAD_PAGE = """<!doctype html><html><head></head><body>
<main><img id="logo" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input id="q"></main></body></html>"""


def test_axe_reports_serious_and_critical_violations_readably(page: Any, axe: Any) -> None:
    page.set_content(BAD_PAGE)
    found = axe(page)
    rules = {v["id"] for v in found}
    assert {"image-alt", "label", "document-title", "html-has-lang"} <= rules, rules
    assert all(v["impact"] in ("serious", "critical") for v in found)
    with pytest.raises(AssertionError) as err:
        axe.check(page, "the bad page")
    message = str(err.value)
    assert "on the bad page" in message
    assert "[critical] image-alt: Images must have alternative text" in message
    assert "at #logo" in message and "at #q" in message
    assert format_violations([]) == "no axe violations"


def test_phone_page_is_phone_sized(phone_page: Any, page: Any) -> None:
    assert phone_page.viewport_size == {"width": 375, "height": 740}
    assert phone_page.evaluate("() => navigator.maxTouchPoints") > 0
    assert page.viewport_size == {"width": 1280, "height": 800}
    assert page.evaluate("() => navigator.language") == "zh-CN"
