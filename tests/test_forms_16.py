"""Issue 16, forms: fee reliefs in force on the day, the sunshine month, the notice on paper, the
flowchart's 补正 and refusal branches, the region picker and remembered progress access."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.clock import TZ, ManualClock
from engine.fee_text import describe_schedule, describe_schedule_on
from engine.web import create_app

REPO = Path(__file__).resolve().parent.parent
RESALE = "QQ-REALESTATE-DJ-102"  # fee schedule realestate-registration: 社区服务 exemption 2019-06-01 至 2025-12-31


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[TestClient, Any, ManualClock]]:
    clk = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "forms.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(app) as client:
        yield client, app.state.service, clk


# ---------------------------------------------------------------- fee reliefs in force


def _schedule(reference: Any) -> dict[str, Any]:
    return dict(reference.catalogue.fees["realestate-registration"].data)


def test_a_lapsed_exemption_is_listed_apart_and_says_when_it_lapsed(reference: Any) -> None:
    schedule = _schedule(reference)
    current, other = describe_schedule_on(schedule, None, date(2026, 1, 1))  # the day after 2025-12-31
    assert not any("养老、托育、家政" in line for line in current)
    assert [line for line in other if "养老、托育、家政" in line][0].count("已于2025-12-31失效") == 1
    # the last day of its period it is still in force, written with its period
    current, other = describe_schedule_on(schedule, None, date(2025, 12, 31))
    assert any("养老、托育、家政" in line and "2019-06-01 至 2025-12-31" in line for line in current)
    assert not any("养老、托育、家政" in line for line in other)


def test_a_relief_not_yet_begun_says_from_when(reference: Any) -> None:
    schedule = _schedule(reference)
    _, other = describe_schedule_on(schedule, None, date(2019, 5, 31))  # the day before 2019-06-01
    assert any("养老、托育、家政" in line and "自2019-06-01起施行" in line for line in other)
    # without a date (the command line's full listing) every relief is listed as written
    assert any("2019-06-01 至 2025-12-31" in line for line in describe_schedule(schedule))


def test_the_guide_shows_what_is_in_force_on_the_clocks_day(site: Any) -> None:
    client, _, clk = site
    html = client.get(f"/items/{RESALE}").text  # clock: 2026-03-02, after the exemption lapsed on 2025-12-31
    fee_block = html[html.index("收费</h2>") : html.index("办理流程</h2>")]
    lapsed_at = fee_block.index("已失效或尚未施行的减免")
    assert fee_block.index("养老、托育、家政") > lapsed_at
    assert "已于2025-12-31失效" in fee_block
    clk.set(datetime(2025, 12, 31, 9, 0, tzinfo=TZ))  # its last day: in force again, no lapsed group
    fee_block = client.get(f"/items/{RESALE}").text
    assert "已失效或尚未施行的减免" not in fee_block and "2019-06-01 至 2025-12-31" in fee_block
    api = client.get(f"/api/items/{RESALE}").json()["guide"]
    assert api["fee_not_in_force"] == []


# ---------------------------------------------------------------- the sunshine log opens on a month with data


def test_sunshine_opens_on_the_latest_month_with_cases_and_navigates(site: Any) -> None:
    from test_public import complete, filed

    client, svc, clk = site
    # the clock stands at 2026-03-02: last month (2026-02) has no case, this month one completed
    html = client.get("/sunshine").text
    assert "2026年3月" in html and "2026年3月没有办结的办件" in html  # nothing at all yet: this month, said so
    complete(svc, filed(svc, "s1", "李四"), "w.culture")
    html = client.get("/sunshine").text
    h1 = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert h1 and "2026年3月" in h1.group(1) and "本月，截至今日" in h1.group(1)
    assert "没有办结的办件" not in html.split('id="staff-ranking"')[0]
    assert 'href="/sunshine?month=2026-02"' in html and "下一月" not in html  # no month after today's
    # a month later the log still opens on March, the latest month with data, and April can be reached
    clk.set(datetime(2026, 5, 6, 9, 0, tzinfo=TZ))
    html = client.get("/sunshine").text
    assert "2026年3月" in re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)  # type: ignore[union-attr]
    assert 'href="/sunshine?month=2026-04"' in html
    empty = client.get("/sunshine?month=2026-04").text
    assert "2026年4月没有办结的办件" in empty
    assert client.get("/sunshine?month=2026-13").status_code == 400


# ---------------------------------------------------------------- flowchart: 补正 and refusal branches


def test_the_flowchart_draws_supplement_and_refusal_branches(reference: Any) -> None:
    import xml.etree.ElementTree as ET

    from engine.cases import _groups
    from engine.flowchart import describe, flowchart_svg

    svg_ns = "{http://www.w3.org/2000/svg}"
    for doc in reference.catalogue.items.values():
        item = doc.data
        root = ET.fromstring(flowchart_svg(item))
        drawn = [g.get("data-branch") for g in root.iter(f"{svg_ns}g") if g.get("class") == "branch"]
        assert drawn[:2] == ["补正", "不予受理"], item["code"]
        deciders = any(s.get("role") == "decider" for group in _groups(item) for s in group)  # standard steps too
        refusal = "不予许可" if item.get("type") == "license" else "不予办理"
        assert (refusal in drawn) == deciders, item["code"]
        _, _, width, height = (int(v) for v in root.get("viewBox", "").split())
        for g in root.iter(f"{svg_ns}g"):
            if g.get("class") == "branch":
                rect = g.find(f"{svg_ns}rect")
                assert rect is not None
                assert int(rect.get("x", "")) >= 0 and int(rect.get("y", "")) >= 0
                assert int(rect.get("x", "")) + int(rect.get("width", "")) <= width
                assert int(rect.get("y", "")) + int(rect.get("height", "")) <= height, item["code"]
        # screen readers hear the ways out too
        assert "补正：" in describe(item) and "不予受理：" in describe(item)


# ---------------------------------------------------------------- the one-time notice on paper


def test_the_printed_guide_is_titled_and_dated_like_an_official_notice(site: Any) -> None:
    client, _, clk = site
    clk.set(datetime(2026, 3, 2, 23, 30, tzinfo=TZ))  # late evening in Beijing: still 3月2日 locally
    html = client.get(f"/items/{RESALE}").text
    head = html[html.index('id="print-head"') : html.index("</div>", html.index('id="print-head"'))]
    assert "一次性告知书" in head and "告知日期：2026年3月2日" in head and f"事项编码：{RESALE}" in head
    assert "实施部门：" in head
    clk.set(datetime(2026, 3, 3, 0, 30, tzinfo=TZ))  # after midnight the next day's notice carries the new date
    assert "告知日期：2026年3月3日" in client.get(f"/items/{RESALE}").text
