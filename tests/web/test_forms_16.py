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
from support.cases import complete, filed
from support.portal import fill_sections, form_values, submit

from engine.base.dates import TZ
from engine.rules.clock import ManualClock
from engine.rules.fees.text import describe_schedule, describe_schedule_on
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
RESALE = "QQ-REALESTATE-DJ-102"  # fee schedule realestate-registration: 社区服务 exemption 2019-06-01 至 2025-12-31


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[TestClient, Any, ManualClock]]:
    clk = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "forms.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(app, follow_redirects=False) as client:
        yield client, app.state.service, clk


# ---------------------------------------------------------------- fee reliefs in force


def _schedule(reference: Any) -> dict[str, Any]:
    return dict(reference.catalogue.fees["realestate-registration"].data)


def test_a_lapsed_exemption_is_listed_apart_and_says_when_it_lapsed(reference: Any) -> None:
    schedule = _schedule(reference)
    current, other = describe_schedule_on(schedule, None, date(2026, 1, 1))  # the day after 2025-12-31
    assert not any("养老、托育、家政" in line for line in current)
    assert next(line for line in other if "养老、托育、家政" in line).count("已于2025-12-31失效") == 1
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

    from engine.rules.cases.steps import step_groups
    from engine.web.flowchart import describe, flowchart_svg

    svg_ns = "{http://www.w3.org/2000/svg}"
    for doc in reference.catalogue.items.values():
        item = doc.data
        root = ET.fromstring(flowchart_svg(item))
        drawn = [g.get("data-branch") for g in root.iter(f"{svg_ns}g") if g.get("class") == "branch"]
        assert drawn[:2] == ["补正", "不予受理"], item["code"]
        deciders = any(s.get("role") == "decider" for group in step_groups(item) for s in group)  # standard steps too
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


# ---------------------------------------------------------------- the region picker

WATER = "QQ-WATER-XK-001"  # 取水许可: abstraction.intake_area is `type: area`


def test_region_codes_are_checked_against_the_shipped_list(reference: Any) -> None:
    from engine.base import regions

    data = regions.regions()
    assert data.name("230202") == "黑龙江省齐齐哈尔市龙沙区"
    assert data.name("110101") == "北京市东城区"  # 市辖区 is not part of a place's name
    assert data.selectable("441900") and data.name("441900") == "广东省东莞市"  # a city without counties
    assert not data.selectable("230200") and not data.selectable("230000")
    assert "130171" not in data.by_code  # a development zone is not an administrative division
    assert regions.problem("230202", "取水地点", None) is None
    assert "不是有效的行政区划代码" in (regions.problem("239999", "取水地点", None) or "")
    assert "请继续选择到县（区）" in (regions.problem("230200", "取水地点", None) or "")
    assert "须在黑龙江省范围内" in (regions.problem("110101", "取水地点", "230000") or "")
    assert regions.answer("230202") == {"code": "230202", "name": "黑龙江省齐齐哈尔市龙沙区"}


def _page(client: TestClient, url: str) -> tuple[str, str]:
    html = client.get(url).text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert token
    return html, token.group(1)


def _abstraction_url(client: TestClient, svc: Any) -> tuple[str, str, dict[str, str]]:
    from engine.service.samples import sample_application

    draft = fill_sections(client, svc, WATER)
    data, _ = sample_application(svc.catalogue, svc.catalogue.items[WATER], {})
    values = {f"abstraction.{k}": v for k, v in form_values(data["abstraction"]).items()}
    return f"/apply/{WATER}/abstraction", draft, values


def test_without_javascript_a_region_is_chosen_province_then_county(site: Any) -> None:
    client, svc, _ = site
    url, draft, values = _abstraction_url(client, svc)
    html, token = _page(client, f"{url}?draft={draft}")
    select = html[html.index('name="abstraction.intake_area"') : html.index("</select>", html.index("intake_area"))]
    # the center's province (齐齐哈尔 is in 黑龙江) by city, then the other provinces
    assert '<optgroup label="黑龙江省齐齐哈尔市"><option value="230202"' in select
    assert '<optgroup label="其他省（区、市）">' in select and '<option value="110000">北京市</option>' in select
    # step 1: another province is chosen and saved: its counties are offered, nothing is lost
    body = values | {"csrf": token, "draft": draft, "abstraction.intake_area": "110000"}
    r = client.post(url, data=body)
    assert r.status_code == 422 or r.status_code == 200
    assert "已选择北京市，请继续选择到县（区）" in r.text
    assert '<optgroup label="北京市"><option value="110101">东城区</option>' in r.text
    # an unknown code (typed into the request) is refused with a way forward
    r = client.post(url, data=body | {"abstraction.intake_area": "239999"})
    assert "“239999”不是有效的行政区划代码，请从列表中选择省、市、县（区）" in r.text
    # step 2: a county: saved, and the check page and the desk read its name, not its code
    r = client.post(url, data=body | {"abstraction.intake_area": "110105"})
    assert r.status_code == 303, r.text
    check = client.get(f"/apply/{WATER}/check?draft={draft}").text
    assert "<dd>北京市朝阳区</dd>" in check and "<dd>110105</dd>" not in check


def test_staff_read_a_regions_name_on_the_desk_and_beside_its_code_in_the_api(site: Any) -> None:
    from engine.rules.cases.model import Actor
    from engine.service.samples import sample_application

    _, svc, _ = site
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[WATER], {})
    data["abstraction"]["intake_area"] = "230221"  # 龙江县
    number = str(svc.submit(WATER, data, uploads, Actor("a", "applicant"), "area-1").number)
    case, snap = svc.load(number)
    from engine.rules import forms

    assert forms.area_answers(case.data, snap["item"], snap.get("forms", {})) == {
        "abstraction.intake_area": {"code": "230221", "name": "黑龙江省齐齐哈尔市龙江县"}
    }
    from engine.web.portal.form_view import answer_text

    assert answer_text({"type": "area", "label": "取水地点"}, "230221") == "黑龙江省齐齐哈尔市龙江县"


# ---------------------------------------------------------------- remembered progress access


def _lookup(client: TestClient, number: str, code: str, remember: bool) -> Any:
    page = client.get("/progress")
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert token
    body = {"csrf": token.group(1), "number": number, "query_code": code} | ({"remember": "1"} if remember else {})
    return client.post("/progress", data=body)


def test_a_remembered_browser_opens_its_case_without_the_code_until_it_forgets(site: Any) -> None:
    client, svc, clk = site
    number, code = submit(client, svc)
    r = _lookup(client, number, code, remember=True)
    assert r.status_code == 303 and r.headers["location"] == f"/progress/{number}"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("yg_device="))
    # long-lived (30 days = 2592000 s), never readable by scripts, not sent by cross-site posts
    assert "Max-Age=2592000" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Path=/progress" in cookie
    assert not any(h.startswith(f"yg_case_{number}=") for h in r.headers.get_list("set-cookie"))
    device = client.cookies.get("yg_device")
    jar = next(c for c in client.cookies.jar if c.name == "yg_device")

    def keep(value: str) -> None:  # what a browser (or whoever copied the cookie) sends
        client.cookies.delete("yg_device")
        client.cookies.set("yg_device", value, domain=jar.domain, path="/progress")

    # nine days later (past any 8-hour grant) the page still opens, and /progress lists the case
    clk.set(datetime(2026, 3, 11, 9, 0, tzinfo=TZ))
    assert client.get(f"/progress/{number}").status_code == 200
    listed = client.get("/progress").text
    assert f'href="/progress/{number}"' in listed and "忘记此设备" in listed
    # a forged device id opens nothing
    keep("0" * 32 + ".deadbeef")
    assert client.get(f"/progress/{number}").status_code == 303
    keep(str(device))
    # forget this device: the button needs the page's CSRF token, then the same cookie is refused at once
    page = client.get("/progress").text
    token = re.search(r'action="/progress/forget">\s*<input type="hidden" name="csrf" value="([0-9a-f]+)"', page)
    assert token
    assert client.post("/progress/forget", data={"csrf": "0" * 64}).status_code == 403
    r = client.post("/progress/forget", data={"csrf": token.group(1)})
    assert r.status_code == 303 and "此设备已不再记住任何办件" in client.get(r.headers["location"]).text
    keep(str(device))  # a copy kept somewhere: revoked server-side
    r = client.get(f"/progress/{number}")
    assert r.status_code == 303 and r.headers["location"] == f"/progress?number={number}"
    assert f'href="/progress/{number}"' not in client.get("/progress").text


def test_a_remembered_grant_ends_after_thirty_days_and_the_code_limits_still_apply(site: Any) -> None:
    client, svc, clk = site
    number, code = submit(client, svc)
    assert _lookup(client, number, code, remember=True).status_code == 303
    # remembered at 2026-03-02 09:00 (the clock of the fixture): 30 days later is 2026-04-01 09:00
    clk.set(datetime(2026, 4, 1, 8, 59, tzinfo=TZ))
    assert client.get(f"/progress/{number}").status_code == 200
    clk.set(datetime(2026, 4, 1, 9, 0, 1, tzinfo=TZ))
    assert client.get(f"/progress/{number}").status_code == 303
    # ticking the box does not lift the guessing limit: 20 wrong codes per client, then 429 for all
    wrong = "2222-2222-22" if code != "2222-2222-22" else "3333-3333-33"
    answers = [_lookup(client, number, wrong, remember=True).status_code for _ in range(21)]
    assert answers == [404] * 20 + [429]
    assert _lookup(client, number, code, remember=True).status_code == 429
