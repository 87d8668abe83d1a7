"""Unknown is not none: an element the published guide does not state is recorded as 未说明, checks clean
with warning[not-stated], and nothing the engine shows or does claims what the item does not say."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support import copy_catalogue

from engine.authoring.diff import compare
from engine.base import stated
from engine.base.dates import TZ
from engine.check.pipeline import load
from engine.cli.main import main
from engine.rules import notice
from engine.rules.cases.actions import decide
from engine.rules.cases.fold import apply
from engine.rules.cases.model import ActionRefused, Actor, Case, Event
from engine.rules.clock import ManualClock
from engine.service.accounts import add_user
from engine.supervision.counts import max_visits_of
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "checks" / "not-stated"
PASSWORD = "administer-me"

# an item of the reference's market-regulation department whose published guide states neither its fee nor
# its materials, visits or result (modelled on guides that say only 详见窗口)
UNSTATED = """\
# yaml-language-server: $schema=../../schema/item.schema.json
code: QQ-AMR-QT-901
name: 示例事项（指南未写明收费和材料）
type: other_power
department: amr
level: city
basis:
  - {law: 中华人民共和国行政许可法, article: 第十二条}
conditions: not_stated
applicants: [legal_person]
time_limit:
  legal: {value: 20, unit: working_day}
  promised: {value: 10, unit: working_day}
visits: not_stated
online: {depth: 1}
fee: not_stated
materials: not_stated
result: not_stated
effective: {from: 2025-01-01}
"""


def show(capsys: pytest.CaptureFixture[str], code: str, catalog: Path = FIXTURE) -> str:
    assert main(["show", code, "--catalog", str(catalog)]) == 0
    return capsys.readouterr().out


# ---------------------------------------------------------------- the checker


def test_not_stated_elements_check_clean_with_a_warning_at_each_line(capsys: pytest.CaptureFixture[str]) -> None:
    result = load(FIXTURE)
    assert result.ok and not result.clean(strict=True)
    lines = [p.render() for p in result.problems]
    # items/a.yaml: fee on line 15, materials on line 22 (see the fixture)
    assert any(line.startswith("items/a.yaml:15:6: warning[not-stated]: ") and "fee (收费)" in line for line in lines)
    assert any(line.startswith("items/a.yaml:22:12: warning[not-stated]:") for line in lines)
    assert any(line.startswith("items/b.yaml:18:1: warning[not-stated]:") and "incomplete" in line for line in lines)
    assert main(["check", str(FIXTURE), "--no-cache"]) == 0
    assert main(["check", str(FIXTURE), "--no-cache", "--strict"]) == 1
    assert "8 warning(s)" in capsys.readouterr().out


def test_time_limits_cannot_be_not_stated(tmp_path: Path) -> None:
    root = tmp_path / "cat"
    (root / "items").mkdir(parents=True)
    (root / "center.yaml").write_bytes((FIXTURE / "center.yaml").read_bytes())
    text = (FIXTURE / "items" / "b.yaml").read_text(encoding="utf-8")
    (root / "items" / "b.yaml").write_text(
        text.replace("  legal: {value: 20, unit: working_day}", "  legal: not_stated"), encoding="utf-8"
    )
    lines = [p.render() for p in load(root).problems]
    assert any("error[type]" in line and "time_limit.legal" in line for line in lines), lines


# ---------------------------------------------------------------- the one-time notice


def test_the_notice_says_unstated_and_never_claims_a_complete_list(capsys: pytest.CaptureFixture[str]) -> None:
    out = show(capsys, "QQ-A-001")
    assert "收费情况未说明，请向窗口咨询" in out and "不收费" not in out
    assert "受理条件：\n  未说明，请向窗口咨询" in out
    assert "申请材料：\n  未说明，请向窗口咨询" in out and "无需提交材料" not in out
    assert "到现场次数：未说明" in out and "网上办理：未说明" in out and "审批结果：未说明" in out
    assert "以上为本事项需提交的全部材料" not in out
    assert out.rstrip().endswith("本事项公布的办事指南未说明申请材料，请向窗口咨询。")
    assert "注意：本事项公布的办事指南未说明申请材料，不能在线申请" in out


def test_an_incomplete_list_is_given_as_published(capsys: pytest.CaptureFixture[str]) -> None:
    out = show(capsys, "QQ-B-001")
    assert "1. 申请书 —— 必需；纸质材料份数未说明" in out
    assert "以上为本事项需提交的全部材料" not in out
    assert out.rstrip().endswith(
        "以上材料清单按公布的办事指南照录，可能不完整（指南只列出申请书，其余写“其他材料详见窗口”），请向窗口咨询。"
    )


@pytest.mark.parametrize(
    ("material", "words"),
    [
        ({}, "纸质材料份数未说明"),  # nothing stated: no 0, no "no paper"
        ({"originals": 1}, "原件1份"),  # copies omitted: not 复印件0份
        ({"originals": 1, "copies": 0}, "原件1份、无需复印件"),  # written 0: said, in words
        ({"originals": 0, "copies": 0}, "无需原件和复印件"),
        ({"paper": False}, "无需纸质材料"),
        ({"paper": True}, "需纸质材料，份数未说明"),
        (
            {"copies": 2, "paper_size": "A4", "paper_requirements": "双面打印，加盖公章"},
            "复印件2份，A4纸张，双面打印，加盖公章",
        ),
    ],
)
def test_paper_copies_say_only_what_the_item_states(material: dict[str, Any], words: str) -> None:
    assert notice.paper_text(material) == words


def test_a_stated_empty_list_still_says_no_materials(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = tmp_path / "cat"
    (root / "items").mkdir(parents=True)
    (root / "center.yaml").write_bytes((FIXTURE / "center.yaml").read_bytes())
    text = (FIXTURE / "items" / "b.yaml").read_text(encoding="utf-8")
    text = text.replace("materials:\n  - {id: form, name: 申请书, required: true}\n", "materials: []\n")
    (root / "items" / "b.yaml").write_text(
        text.replace("materials_incomplete: 指南只列出申请书，其余写“其他材料详见窗口”。\n", "")
    )
    out = show(capsys, "QQ-B-001", root)
    assert "申请材料：\n  无需提交材料" in out
    assert out.rstrip().endswith("以上为本事项需提交的全部材料，一次性告知。材料齐全、符合法定形式的，窗口当场受理。")


# ---------------------------------------------------------------- the engine


def test_an_unstated_fee_can_be_neither_assessed_nor_paid(capsys: pytest.CaptureFixture[str]) -> None:
    item = copy.deepcopy(load(FIXTURE).catalogue.items["QQ-A-001"].data)
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    case = apply(Case("N1", "QQ-A-001", "amr"), Event("submit", t0, "zhang", "applicant", {"data": {}, "uploads": {}}))
    case = apply(case, decide(case, item, "accept", Actor("w", "window", "amr"), {}, t0))
    for action, payload in (
        ("assess_fee", {"assessment": {"total_fen": 100}}),
        ("record_payment", {"amount_fen": 100}),
    ):
        with pytest.raises(ActionRefused, match="未说明收费情况") as info:
            decide(case, item, action, Actor("d", "decider", "amr"), payload, t0)
        assert info.value.code == "not_allowed"
    # yangguang fee says the same instead of pretending the item is free
    assert main(["fee", "QQ-A-001", "--data", "-", "--catalog", str(FIXTURE)]) == 1
    err = capsys.readouterr().err
    assert "does not state its fee" in err and "不收费" not in err


def test_supervision_does_not_flag_visits_an_item_does_not_state() -> None:
    cat = load(FIXTURE).catalogue
    assert max_visits_of(cat) == {"QQ-B-001": 1}  # QQ-A-001: visits not_stated, nothing to exceed
    assert stated.visits_max(cat.items["QQ-A-001"].data) is None


def test_the_change_notice_words_a_fee_that_becomes_unstated() -> None:
    old = load(FIXTURE).catalogue
    new = copy.copy(old)
    items = dict(old.items)
    doc = old.items["QQ-B-001"]
    data = copy.deepcopy(doc.data)
    data["fee"] = "not_stated"
    items["QQ-B-001"] = dataclasses.replace(doc, data=data)
    new.items = items
    changes = [c for c in compare(old, new) if c.code == "QQ-B-001"]
    assert [(c.kind, c.text) for c in changes] == [("not-stated", "收费改为未说明（公布的办事指南未写明）")]


# ---------------------------------------------------------------- the site


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path]]:
    monkeypatch.setenv("YANGGUANG_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_catalogue(tmp_path / "catalogue")
    (root / "items" / "amr" / "unstated.yaml").write_text(UNSTATED, encoding="utf-8")
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(root, tmp_path / "site.db", clock=clk, sweep_seconds=0, reload_seconds=0)
    add_user(app.state.service.db, "admin", "admin", None, PASSWORD)
    with TestClient(app):
        yield app, root


def test_the_guide_shows_the_gap_and_offers_no_online_application(site: Any) -> None:
    app, _ = site
    client = TestClient(app)
    page = client.get("/items/QQ-AMR-QT-901").text
    assert "收费情况未说明，请向窗口咨询" in page and "办事指南未说明受理条件，请向窗口咨询。" in page
    assert 'href="/apply/QQ-AMR-QT-901"' not in page and "不能在线申请" in page
    assert "以上为本事项需提交的全部材料" not in page and "无需提交材料" not in page
    # the window and phone to turn to: the market-regulation department's window in center.yaml, the center's phone
    assert "齐齐哈尔市市场监督管理局窗口" in page and "咨询电话：12345" in page
    # the portal says the same instead of a form that could never be complete
    form = client.get("/apply/QQ-AMR-QT-901")
    assert form.status_code == 409 and "未说明申请材料，不能在线申请" in form.text and "12345" in form.text
    english = client.get("/apply/QQ-AMR-QT-901?lang=en")
    assert english.status_code == 409 and "does not list its materials" in english.text


def test_the_api_refuses_an_application_and_gives_the_whole_guide(site: Any) -> None:
    app, _ = site
    client = TestClient(app)
    body = {"item": "QQ-AMR-QT-901", "data": {}, "uploads": {}, "idempotency_key": "k1"}
    refused = client.post("/api/cases", json=body)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "item_unavailable" and "12345" in error["message"]
    guide = client.get("/api/items/QQ-AMR-QT-901").json()["guide"]
    assert guide["fee"] == ["收费情况未说明，请向窗口咨询"] and guide["fee_stated"] is False
    assert guide["materials_stated"] is False and guide["materials"] == [] and guide["visits"] == "未说明"
    assert guide["unavailable"].startswith("本事项公布的办事指南未说明申请材料")
    seal = client.get("/api/items/QQ-PSB-BA-001").json()["guide"]
    assert seal["unavailable"] == "" and seal["closing"].startswith("以上为本事项需提交的全部材料")
    # omitted counts are null in the API, never 0
    assert all(m["copies"] is None or isinstance(m["copies"], int) for m in seal["materials"])


def test_admin_lists_the_live_catalogues_warnings(site: Any) -> None:
    app, root = site
    client = TestClient(app, follow_redirects=False)
    login = client.get("/desk/login").text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', login).group(1)  # type: ignore[union-attr]
    client.post("/desk/login", data={"username": "admin", "password": PASSWORD, "csrf": token})
    page = client.get("/admin").text
    section = page.split('id="check-warnings"')[1].split("</section>")[0]
    assert "线上目录有 5 条警告" in section  # conditions, visits, fee, materials, result of the one item
    assert "items/amr/unstated.yaml" in section and "warning[not-stated]" in section
    # an edit that states the fee goes live and takes its warning with it
    path = root / "items" / "amr" / "unstated.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("fee: not_stated", "fee: free"), encoding="utf-8")
    assert app.reload_now().result == "switched"
    section = client.get("/admin").text.split('id="check-warnings"')[1].split("</section>")[0]
    assert "线上目录有 4 条警告" in section and "fee (收费)" not in section


def test_a_suspended_item_cannot_be_applied_for(site: Any) -> None:
    app, root = site
    path = root / "items" / "psb" / "seal-engraving-filing.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("type: filing\n", "type: filing\nstate: suspended\n"), encoding="utf-8"
    )
    assert app.reload_now().result == "switched"
    client = TestClient(app)
    page = client.get("/items/QQ-PSB-BA-001").text
    assert "事项状态" in page and "暂停" in page and 'href="/apply/QQ-PSB-BA-001"' not in page
    assert client.get("/apply/QQ-PSB-BA-001").status_code == 409
    body = {"item": "QQ-PSB-BA-001", "data": {}, "uploads": {}, "idempotency_key": "k2"}
    answer = client.post("/api/cases", json=body)
    assert answer.status_code == 409 and "暂停" in json.dumps(answer.json(), ensure_ascii=False)
    answer = client.post("/api/cases", json=body, headers={"Accept-Language": "en"})  # the request's language
    assert answer.status_code == 409 and "suspended" in json.dumps(answer.json(), ensure_ascii=False)


def test_serve_keeps_the_warnings_for_admin_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))  # the app, not a listening server
    db = tmp_path / "serve.db"
    assert main(["serve", "--catalog", str(FIXTURE), "--db", str(db), "--sweep-seconds", "0"]) == 0
    assert len(served[0].warnings) == 8 and all(p.kind == "not-stated" for p in served[0].warnings)
    assert "8 warning(s)" in capsys.readouterr().err


def test_a_county_cannot_declare_the_citys_required_materials_unstated(tmp_path: Path) -> None:
    import shutil

    for name in ("center.yaml", "items", "forms", "fees", "chains", "calendar"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    county = tmp_path / "examples" / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    (county / "overrides" / "QQ-PSB-BA-001.yaml").write_text(
        "code: QQ-PSB-BA-001\nreason: 本县指南未列材料。\nmaterials: not_stated\n", encoding="utf-8"
    )
    found = [p for p in load(county).problems if p.file == "overrides/QQ-PSB-BA-001.yaml"]
    # the override's own not-stated warning, and the error: the city requires four materials (two always, two
    # under a condition) that a county may explain but not drop
    assert sorted((p.line, p.kind) for p in found) == [(3, "not-stated"), (3, "overlay-material")]
    error = next(p for p in found if p.is_error)
    assert "says the materials are not stated, but the parent requires 4" in error.message
    assert error.related[0][0] == "../../items/psb/seal-engraving-filing.yaml"
