"""A money field asked in 万元: the applicant types 1200 beside 万元, and the form, the check page,
the desk, the JSON API and a fee charged on it all agree — 1200.00 万元, which is exactly
12,000,000.00 元 (1,200,000,000 fen) wherever money is computed."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.base.dates import TZ
from engine.catalogue.model import Document
from engine.rules import form_values
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.rules.fees.assessment import assess
from engine.rules.fees.schedule import FeeDataError
from engine.rules.form_values import Invalid
from engine.service.accounts import add_user
from engine.service.samples import sample_application
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
PERMIT = "QQ-HOUSING-XK-003"  # 建筑工程施工许可证核发: project.investment and construction.contract_price in 万元
PASSWORD = "money-units"
SCHEDULE = {  # a fee of 0.3 % of the project's investment (an example schedule, not a real one)
    "id": "scale-fee",
    "name": "按投资额计收的示例费",
    "basis": [{"law": "示例收费文件", "article": "第一条"}],
    "effective": {"from": "2025-01-01"},
    "fields": {"project.investment": {"label": "项目总投资", "type": "money", "unit": "元"}},
    "lines": [
        {"id": "scale", "name": "按投资额收费", "kind": "percentage", "base": "project.investment", "percent": "0.3"}
    ],
}


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[Any, Any]]:
    """The reference catalogue, with the permit charging SCHEDULE on its investment."""
    cat = reference.catalogue
    permit = cat.items[PERMIT]
    charged = {**permit.data, "fee": {"schedule": "scale-fee"}}
    cat = dataclasses.replace(
        cat,
        items={**cat.items, PERMIT: Document(permit.file, "item", charged, permit.key)},
        fees={**cat.fees, "scale-fee": Document("fees/scale-fee.yaml", "fee", SCHEDULE)},
    )
    app = create_app(REPO, tmp_path / "money.db", cat, clock=ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ)),
                     sweep_seconds=0)  # fmt: skip
    svc = app.state.service
    add_user(svc.db, "supervisor", "supervisor", None, PASSWORD)
    add_user(svc.db, "decider.housing", "decider", "housing", PASSWORD)
    with TestClient(app):
        yield app, svc


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]


def test_an_amount_in_wan_yuan_reads_the_same_everywhere(site: Any) -> None:
    app, svc = site
    client = TestClient(app, follow_redirects=False)
    page = client.get(f"/apply/{PERMIT}/project").text
    investment = page.split('id="f-project-investment"')[1].split("</div>")[0]
    assert '<span class="unit">万元</span>' in investment
    assert "单位：万元，最多六位小数（精确到分）" in page and "单位：元，精确到分" not in page

    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], {})
    section = {f"project.{k}": str(v) for k, v in data["project"].items()} | {"project.investment": "1200"}
    r = client.post(f"/apply/{PERMIT}/project", data={"csrf": csrf(page), **section})
    assert r.status_code == 303, r.text
    draft = re.search(r"draft=([0-9a-f]+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    check = client.get(f"/apply/{PERMIT}/check?draft={draft}").text
    assert "1200.00 万元" in check and "1200.00 元" not in check

    data["project"]["investment"] = "1200"
    case = svc.submit(PERMIT, data, uploads, Actor("zhang", "applicant"), "m1")
    filed, _ = svc.load(case.number)
    assert filed.data["project"]["investment"] == "1200.00"  # stored as typed; 万元 is in the pinned form

    desk = TestClient(app, follow_redirects=False)
    login = desk.get("/desk/login").text
    desk.post("/desk/login", data={"username": "supervisor", "password": PASSWORD, "csrf": csrf(login)})
    shown = desk.get(f"/desk/cases/{case.number}").text
    assert "<td>1200.00 万元</td>" in shown

    token = client.post("/api/session", json={"username": "supervisor", "password": PASSWORD}).json()["token"]
    body = client.get(f"/api/cases/{case.number}", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["data"]["project"]["investment"] == "1200.00"
    # 1200 万元 = 12,000,000.00 元 = 1,200,000,000 fen
    assert body["money"]["project.investment"] == {"value": "1200.00", "unit": "万元", "fen": 1_200_000_000}
    fields = {f["name"]: f for f in client.get(f"/api/items/{PERMIT}/form").json()["fields"]}
    assert fields["project.investment"]["unit"] == "万元" and fields["applicant.name"].get("unit") is None


def test_a_fee_charged_on_an_amount_in_wan_yuan_is_exact(site: Any) -> None:
    app, svc = site
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], {})
    data["project"]["investment"] = "1200"
    number = svc.submit(PERMIT, data, uploads, Actor("zhang", "applicant"), "m2").number
    case = svc.act(number, "accept", Actor("w", "window", "housing"), {}, 1)
    case = svc.act(number, "assess_fee", Actor("decider.housing", "decider", "housing"), {}, case.version)
    (line,) = case.assessment["lines"]
    # 1200 万元 = 12,000,000.00 元; × 0.3 % = 36,000.00 元 = 3,600,000 fen (not 3.60 元 on "1200 元")
    assert line["quantity"] == "12000000" and line["amount_fen"] == 3_600_000
    assert line["rate"] == "1200.00 万元（12000000.00 元） × 0.3% = 36000.00 元"
    assert case.assessment["total_fen"] == 3_600_000
    desk = TestClient(app, follow_redirects=False)
    login = desk.get("/desk/login").text
    desk.post("/desk/login", data={"username": "decider.housing", "password": PASSWORD, "csrf": csrf(login)})
    assert "1200.00 万元（12000000.00 元） × 0.3% = 36000.00 元" in desk.get(f"/desk/cases/{number}").text


def test_wan_yuan_amounts_are_exact_to_the_fen() -> None:
    spec = {"id": "capital", "label": "注册资本", "type": "money", "unit": "万元"}
    coerce = form_values.coerce
    assert coerce(spec, "1,200") == "1200.00" and coerce(spec, "1234.5678") == "1234.5678"
    assert coerce(spec, "0.000001") == "0.000001"  # one fen
    with pytest.raises(Invalid, match="最多保留6位小数"):
        coerce(spec, "0.0000001")  # a tenth of a fen
    with pytest.raises(Invalid, match="最多保留2位小数"):
        coerce({**spec, "unit": "元"}, "12.345")
    # 1234.5678 万元 = 12,345,678.00 元; × 0.3 % = 37,037.034 元, half up to the fen: 37,037.03 元
    got = assess(SCHEDULE, {"project": {"investment": "1234.5678"}}, date(2026, 3, 6), {"project.investment": "万元"})
    assert got.lines[0].quantity == Decimal("12345678.0000") and got.total_fen == 3_703_703
    assert assess(SCHEDULE, {"project": {"investment": "1200.00"}}, date(2026, 3, 6)).total_fen == 360  # in 元
    with pytest.raises(FeeDataError):
        assess(SCHEDULE, {"project": {"investment": "0.0000001"}}, date(2026, 3, 6), {"project.investment": "万元"})
