"""The supervision pages through HTTP: who may see them, the dashboard's counts and charts,
drill-down lists, corrections issued and answered by the right department, follow-ups."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support import JOINT_REVIEW_CHAIN, with_joint_review
from support.desk import browser

from engine.base.dates import TZ
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service.accounts import add_user
from engine.service.samples import sample_application
from engine.supervision import corrections
from engine.supervision import sweep as supervision
from engine.supervision.counts import anomaly_counts
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
CULTURE = "QQ-CULTURE-XK-101"
PASSWORD = "supervise-me"


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[Any, Any, ManualClock]]:
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "sup.db", reference.catalogue, clock=clk, sweep_seconds=0)
    svc = app.state.service
    for username, role, dept in (
        ("supervisor", "supervisor", None),
        ("head.culture", "head", "culture"),
        ("head.housing", "head", "housing"),
        ("window.culture", "window", "culture"),
    ):
        add_user(svc.db, username, role, dept, PASSWORD)
    with TestClient(app):
        yield app, svc, clk


def signed_in(app: Any, username: str) -> TestClient:
    return browser(app, username, PASSWORD)  # this module's accounts have their own password


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]


def accepted(svc: Any, key: str) -> str:
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[CULTURE], {})
    number = str(svc.submit(CULTURE, data, uploads, Actor("zhang", "applicant"), key).number)
    svc.act(number, "accept", Actor("w", "window", "culture"), {}, 1)
    return number


def test_only_supervisors_see_the_dashboard(site: Any) -> None:
    app, _, _ = site
    assert TestClient(app, follow_redirects=False).get("/supervision").status_code == 303  # to the login page
    assert signed_in(app, "window.culture").get("/supervision").status_code == 403
    assert signed_in(app, "head.culture").get("/supervision").status_code == 403
    assert signed_in(app, "supervisor").get("/supervision").status_code == 200


def test_dashboard_counts_lists_and_charts(site: Any) -> None:
    app, svc, clk = site
    red = accepted(svc, "r")
    clk.set(datetime(2026, 3, 16, 9, 0, tzinfo=TZ))
    green = accepted(svc, "g")
    clk.set(datetime(2026, 3, 23, 9, 0, tzinfo=TZ))  # the first is past its promised deadline (03-20)
    supervision.sweep(svc)
    client = signed_in(app, "supervisor")
    page = client.get("/supervision?month=2026-03").text
    lights = page.split('id="lights"')[1].split("</table>")[0]
    assert "文广旅" in lights or "文化" in lights
    assert 'light=violation&amp;department=culture">1<' in lights
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 3 and all(ET.fromstring(s).get("role") == "img" for s in svgs)
    assert "近30日按期办结率" in page and "纠错率" in page
    drill = client.get("/supervision/cases?light=violation&department=culture").text
    assert red in drill and green not in drill
    assert "红灯" in client.get(f"/desk/cases/{red}").text.split('id="lights"')[1]  # the case's lights
    assert client.get("/supervision?month=2026-13").status_code == 400


def test_corrections_are_issued_by_supervisors_and_answered_by_the_department(site: Any) -> None:
    app, svc, _ = site
    number = accepted(svc, "c")
    boss = signed_in(app, "supervisor")
    page = boss.get("/supervision/corrections").text
    bad = boss.post("/supervision/corrections", data={"csrf": csrf(page), "department": "culture", "card": "green",
                                                      "reason": "x"})  # fmt: skip
    assert bad.status_code == 422 and "黄牌" in bad.text
    ok = boss.post(
        "/supervision/corrections",
        data={
            "csrf": csrf(page),
            "department": "culture",
            "card": "yellow",
            "reason": "超时未办",
            "days": "3",
            "case_number": number,
        },
    )
    assert ok.status_code == 303
    (issued,) = corrections.listing(svc.db)
    other = signed_in(app, "head.housing")
    listing = other.get("/supervision/corrections").text
    assert "超时未办" not in listing  # another department's notice is not shown to it
    refused = other.post(f"/supervision/corrections/{issued.id}/respond", data={"csrf": csrf(listing), "response": "x"})
    assert refused.status_code == 422
    for odd in ("9" * 4301, "9" * 20, "\u00b2", "x"):  # review of issue 15: a route int convertor answered 500
        r = other.post(f"/supervision/corrections/{odd}/respond", data={"csrf": csrf(listing), "response": "x"})
        assert r.status_code == 404, (odd[:5], r.status_code)
    head = signed_in(app, "head.culture")
    mine = head.get("/supervision/corrections").text
    assert "超时未办" in mine and "发出纠错通知" not in mine  # heads answer, they do not issue
    done = head.post(f"/supervision/corrections/{issued.id}/respond", data={"csrf": csrf(mine), "response": "已办结"})
    assert done.status_code == 303
    assert corrections.listing(svc.db)[0].response == "已办结"


def test_follow_ups_of_dissatisfied_ratings_are_answered_by_the_department(site: Any) -> None:
    app, svc, _ = site
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[CULTURE], {})
    number = svc.submit(CULTURE, data, uploads, Actor("li", "applicant"), "f").number
    svc.act(number, "refuse", Actor("w", "window", "culture"), {"reason": "不符合条件"}, 1)
    svc.act(number, "evaluate", Actor("li", "applicant"), {"rating": "非常不满意", "comment": "态度差"}, 2)
    supervision.sweep(svc)
    head = signed_in(app, "head.culture")
    page = head.get("/supervision/corrections").text
    assert number in page.split('id="followups"')[1] and "态度差" in page
    r = head.post(f"/supervision/followups/{number}/answer", data={"csrf": csrf(page), "answer": "已电话回访致歉"})
    assert r.status_code == 303
    assert number not in head.get("/supervision/corrections").text.split('id="followups"')[1]


def test_the_supervision_export_for_the_province(site: Any) -> None:
    app, svc, clk = site
    number = accepted(svc, "x")
    clk.set(datetime(2026, 3, 23, 9, 0, tzinfo=TZ))
    supervision.sweep(svc)
    client = TestClient(app)
    anonymous = client.get("/api/supervision/summary", params={"from": "2026-03-01", "to": "2026-04-01"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"

    def token(username: str) -> dict[str, str]:
        r = client.post("/api/session", json={"username": username, "password": PASSWORD})
        return {"Authorization": f"Bearer {r.json()['token']}"}

    clerk = client.get("/api/supervision/summary", params={"from": "2026-03-01", "to": "2026-04-01"},
                       headers=token("window.culture"))  # fmt: skip
    assert clerk.status_code == 403
    boss = token("supervisor")
    bad = client.get("/api/supervision/summary", params={"from": "2026-04-01", "to": "2026-03-01"}, headers=boss)
    assert bad.status_code == 400
    r = client.get("/api/supervision/summary", params={"from": "2026-03-01", "to": "2026-04-01"}, headers=boss)
    assert r.status_code == 200
    body = r.json()
    assert body["open"]["culture"]["violation"] == 1 and body["lights"]["culture"]["violation"] == 1
    assert body["period"] == {"from": "2026-03-01", "to": "2026-04-01"} and body["rankings"]["month"] == "2026-03"
    assert set(body) >= {"anomalies", "corrections", "generated_at"}
    assert number


def test_a_deemed_consent_in_a_joint_review_is_an_anomaly_of_its_month(tmp_path: Path, reference: Any) -> None:
    import json

    from engine.service import chains as chain_service
    from engine.service.samples import sample_chain_application

    cat = with_joint_review(reference.catalogue)
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))  # Friday
    app = create_app(REPO, tmp_path / "jr.db", cat, clock=clk, sweep_seconds=0)
    svc = app.state.service
    add_user(svc.db, "supervisor", "supervisor", None, PASSWORD)
    with TestClient(app):
        data, uploads = sample_chain_application(cat, JOINT_REVIEW_CHAIN)
        sub = chain_service.submit(svc, "jr", data, uploads, Actor("qian", "applicant"), "jr1")
        chain_service.accept(svc, sub.number, Actor("front", "frontdesk"))
        # neither department answers; the shared limit of 5 working days from Friday 03-06 ends with
        # Friday 03-13, so on Monday 03-16 both are deemed to consent (one deemed_consent event each)
        clk.set(datetime(2026, 3, 16, 9, 0, tzinfo=TZ))
        assert supervision.sweep(svc).other["deemed_consent"] == 2
        march = (datetime(2026, 3, 1, tzinfo=TZ), datetime(2026, 4, 1, tzinfo=TZ))
        counts = anomaly_counts(svc.db, *march)
        assert counts["housing"]["deemed_consent"] == 1 and counts["cad"]["deemed_consent"] == 1
        april = (datetime(2026, 4, 1, tzinfo=TZ), datetime(2026, 5, 1, tzinfo=TZ))
        assert anomaly_counts(svc.db, *april) == {}

        page = signed_in(app, "supervisor").get("/supervision", params={"month": "2026-03"}).text
        table = page.split('id="anomalies"')[1].split("</table>")[0]
        head = re.findall(r"<th scope=\"col\"[^>]*>([^<]*)</th>", table.split("</thead>")[0])
        row = table.split("齐齐哈尔市人民防空办公室</th>")[1].split("</tr>")[0]
        cells = re.findall(r"<td>([^<]*)</td>", row)
        assert cells[head.index("联审视为同意") - 1] == "1"  # the department column has no <td>
        english = signed_in(app, "supervisor").get("/supervision", params={"month": "2026-03", "lang": "en"}).text
        assert "Deemed consent in joint review" in english.split('id="anomalies"')[1].split("</thead>")[0]

        client = TestClient(app)
        login = client.post("/api/session", json={"username": "supervisor", "password": PASSWORD})
        boss = {"Authorization": f"Bearer {login.json()['token']}"}
        body = client.get("/api/supervision/summary", params={"from": "2026-03-01", "to": "2026-04-01"},
                          headers=boss).json()  # fmt: skip
        assert body["anomalies"]["cad"]["deemed_consent"] == 1 and body["anomalies"]["housing"]["deemed_consent"] == 1
        assert body["labels"]["deemed_consent"] == "联审视为同意"
        assert json.loads(json.dumps(body))["labels"]["violation"] == "红灯"
