"""Adversarial review of issue 16: holes a hostile client found in the merged features, each
pinned by a test that failed before its fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.base.dates import TZ
from engine.rules.clock import ManualClock
from engine.supervision import rankings
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[TestClient]:
    clk = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "review.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    "month",
    [
        "99999999999999999999-01",  # int() of the year overflowed a C long: 500
        "0001-01",  # a valid-looking month whose first instant is before year 1 in UTC: 500
        "２０２６-01",  # full-width digits: int() took them, the page echoed ２０２６-01 into its links
    ],
)
def test_a_month_the_sunshine_log_cannot_show_is_a_400_not_a_500(site: TestClient, month: str) -> None:
    """Hole: /sunshine?month=… and /sunshine/{month}.csv answered 500 (OverflowError) for a huge year
    or year 0001, and 200 with full-width digits echoed into the page's links."""
    page = site.get("/sunshine", params={"month": month})
    assert page.status_code == 400
    assert "2026-03" in page.text  # the error says what a month looks like
    data = site.get(f"/sunshine/{month}.csv")
    assert data.status_code == 404
    with pytest.raises(ValueError):  # /api/supervision/summary?month= answers 400 on this ValueError
        rankings.month_bounds(month)


def test_the_sunshine_month_error_is_english_on_an_english_page(site: TestClient) -> None:
    """Hole: /sunshine?lang=en&month=9999-99 showed the Chinese 月份格式为 … on an English page."""
    page = site.get("/sunshine", params={"month": "9999-99", "lang": "en"})
    assert page.status_code == 400
    assert "月份" not in page.text and "YYYY-MM" in page.text


def test_the_english_sunshine_log_names_the_ratings_in_english(site: TestClient) -> None:
    """Hole: /sunshine?lang=en headed its rating tables 非常满意 … 非常不满意 (no catalogue entry for
    the five ratings) and wrote Download： with a full-width colon."""
    html = site.get("/sunshine", params={"month": "2026-02", "lang": "en"}).text
    for zh in ("非常满意", "基本满意", "不满意", "：</"):
        assert zh not in html
    assert '<th scope="col">Very satisfied</th>' in html and "Download:" in html
    # the Chinese page keeps its words
    zh_page = site.get("/sunshine", params={"month": "2026-02", "lang": "zh_CN"}).text
    assert '<th scope="col">非常满意</th>' in zh_page and "下载：" in zh_page
