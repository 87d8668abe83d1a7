"""Staff pages in words, not codes, through HTTP (TestClient on the real app and a real SQLite
file): labels for answers, step names for step ids, local time for stored UTC instants, each role
landing on its own work, the decide flow without a stale form, a supplement reason never dropped
silently, the worklist's applicant column, 请选择 for choices and 未申请 for a service not asked for."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient
from support.desk import PASSWORD, browser
from support.portal import PERMIT, csrf, find

from engine.base import wording
from engine.rules import forms
from engine.rules.cases.model import Actor
from engine.service import auth
from engine.service import chains as chain_service
from engine.service.accounts import add_user
from engine.service.samples import sample_application, sample_chain_application

APPLICANT = Actor("applicant", "applicant")  # as the portal and the API file (engine.web.portal.apply.APPLICANT)


def visible_text(html: str) -> str:
    """What a person reads: the page without tags, scripts, styles or attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def file_permit(svc: Any, key: str = "k1", **choices: Any) -> str:
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], choices)
    return str(svc.submit(PERMIT, data, uploads, APPLICANT, key).number)


def act(client: TestClient, number: str, action: str, **data: Any) -> Any:
    page = client.get(f"/desk/cases/{number}").text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    return client.post(
        f"/desk/cases/{number}/act", data={"csrf": csrf(page), "version": version, "action": action, **data}
    )


# ------------------------------------------------------------------------------ time


def test_an_instant_near_midnight_utc_is_the_next_local_day() -> None:
    # 2026-12-06 23:00 UTC + 8 h = 2026-12-07 07:00 in Beijing: the next day, as people read it
    late = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    assert wording.local_time(late) == "2026-12-07 07:00"
    assert wording.local_time("2026-12-06T23:00:00.000000+00:00") == "2026-12-07 07:00"  # as stored
    assert wording.local_time(late, seconds=True) == "2026-12-07 07:00:00"
    assert wording.local_day("2026-12-06T16:00:00+00:00") == "2026-12-07"  # 00:00 local
    assert wording.iso_local(late) == "2026-12-07T07:00:00+08:00"
    assert wording.local_time(None) == "" and wording.iso_local(None) is None
    with pytest.raises(ValueError, match="no time zone"):
        wording.local_time("2026-12-06T23:00:00")  # a naive text is never guessed


def test_desk_chains_and_the_api_show_local_time_with_offset(desk: Any) -> None:
    app, svc, clk = desk
    clk.set(datetime(2026, 12, 6, 23, 0, tzinfo=UTC))  # Monday 2026-12-07 07:00 in Beijing
    add_user(svc.db, "front", "frontdesk", None, PASSWORD)
    data, uploads = sample_chain_application(svc.catalogue, svc.catalogue.chains["organization"].data)
    chain_service.submit(svc, "organization", data, uploads, APPLICANT, "c1")
    page = browser(app, "front").get("/desk/chains")
    assert "2026-12-07 07:00" in page.text and "2026-12-06T23" not in page.text
    number = file_permit(svc)
    r = browser(app, "window.housing").get(f"/desk/cases/{number}")
    assert "2026-12-07 07:00" in visible_text(r.text)  # 办理过程: submitted at 07:00 local
    token = auth.start_session(svc.db, "window.housing", PASSWORD, clk.now()).token
    answer = TestClient(app).get(f"/api/cases/{number}", headers={"Authorization": f"Bearer {token}"}).json()
    assert answer["received_at"] == "2026-12-07T07:00:00+08:00"
    assert answer["events"][0]["at"] == "2026-12-07T07:00:00+08:00"


# ------------------------------------------------------------------------------ words, not codes


def test_the_case_page_shows_labels_and_step_names_never_codes(desk: Any) -> None:
    app, svc, _ = desk
    number = file_permit(svc)
    act(browser(app, "window.housing"), number, "accept")
    act(browser(app, "reviewer.housing"), number, "complete_step", step="review", note="齐全")
    case, _snap = svc.load(number)
    text = visible_text(browser(app, "decider.housing").get(f"/desk/cases/{number}").text)
    codes = {str(v) for section in case.data.values() for v in section.values() if isinstance(v, str | bool)}
    stored = {c for c in codes if re.fullmatch(r"[a-z_]+|True|False", c)}  # option values and booleans
    assert {"public_tender", "False"} <= stored  # the sample answers hold codes ...
    for code in stored:
        assert not re.search(rf"(?<![\w.]){code}(?![\w.])", text), code  # ... and the page shows none
    assert "公开招标" in text and "否" in text
    assert "完成环节：审核" in text and "完成环节：review" not in text  # 办理过程
    assert "批准并核发电子证照：" in text and "decide：" not in text  # 环节时限
    # the log names who acted: staff by account and role, the applicant by role only (its stored actor
    # is the code "applicant")
    assert "（申请人）" in text and "applicant" not in text
    assert "（window.housing，窗口受理人员）" in text
    english = browser(app, "decider.housing")
    english.cookies.set("lang", "en")
    assert " No " in visible_text(english.get(f"/desk/cases/{number}?lang=en").text)  # 否 in English


def test_supervision_case_list_names_steps_and_filters(desk: Any) -> None:
    app, svc, _ = desk
    number = file_permit(svc)
    act(browser(app, "window.housing"), number, "accept")
    text = visible_text(browser(app, "supervisor").get("/supervision/cases?light=green").text)
    assert number in text and "审核" in text and " review " not in text
    assert "绿灯" in text and "green" not in text


# ------------------------------------------------------------------------------ landing and navigation


def test_every_role_lands_on_its_own_work_and_sees_what_waits(desk: Any) -> None:
    app, svc, _ = desk
    add_user(svc.db, "front", "frontdesk", None, PASSWORD)
    add_user(svc.db, "root", "admin", None, PASSWORD)
    data, uploads = sample_chain_application(svc.catalogue, svc.catalogue.chains["organization"].data)
    chain_service.submit(svc, "organization", data, uploads, APPLICANT, "c1")
    file_permit(svc)
    for user, landing in [
        ("front", "/desk/chains"),
        ("supervisor", "/supervision"),
        ("root", "/admin"),
        ("window.housing", "/desk"),
        ("reviewer.housing", "/desk"),
    ]:
        client = TestClient(app, follow_redirects=False)
        page = client.get("/desk/login")
        r = client.post("/desk/login", data={"username": user, "password": PASSWORD, "csrf": csrf(page.text)})
        assert r.headers["location"] == landing, user
        assert client.get(landing).status_code == 200, user
    front = visible_text(browser(app, "front").get("/desk").text)
    assert "链条申请统一受理（1）" in front and "链条申请等待统一受理：1 件" in front
    number = file_permit(svc, key="k2")
    window = visible_text(browser(app, "window.housing").get(f"/desk/cases/{number}").text)
    assert "待办件（2）" in window  # the window's two cases wait for acceptance; every page links them
    asked = browser(app, "front").get("/desk/login?next=/desk")  # a page asked for wins over the landing
    assert asked.status_code == 200


def test_the_worklist_names_the_applicant_masked(desk: Any) -> None:
    app, svc, _ = desk
    file_permit(svc, **{"applicant.type": "natural_person", "applicant.name": "张三丰"})
    text = visible_text(browser(app, "window.housing").get("/desk").text)
    assert "申请人" in text and "张*丰" in text and "张三丰" not in text


# ------------------------------------------------------------------------------ forms in words


def test_deciding_asks_for_an_outcome_in_words_and_offers_no_stale_form(desk: Any) -> None:
    app, svc, _ = desk
    number = file_permit(svc)
    window = browser(app, "window.housing")
    page = visible_text(window.get(f"/desk/cases/{number}").text)
    assert "受理后开始计算办理期限，转入「审核」（审核人）环节。" in page
    act(window, number, "accept")
    reviewer = browser(app, "reviewer.housing")
    assert "提交后转入「批准并核发电子证照」（批准人（首席代表））环节。" in visible_text(
        reviewer.get(f"/desk/cases/{number}").text
    )
    act(reviewer, number, "complete_step", step="review")
    decider = browser(app, "decider.housing")
    r = act(decider, number, "decide", reason="材料齐全")
    assert r.status_code == 422
    text = visible_text(r.text)
    assert "请选择决定：“准予”或“不予准予”，再提交。" in text and "outcome" not in text and "approve" not in text
    assert "材料齐全</textarea>" in r.text  # the reason typed is kept
    r = act(decider, number, "decide", outcome="approve")
    assert r.status_code == 303
    after = decider.get(r.headers["location"]).text
    text = visible_text(after)
    assert "已办理：作出决定：准予许可" in text and "下一步：请在下方办结并送达。" in text
    assert 'value="decide"' not in after and 'value="complete"' in after  # no second decide form
    assert "作出决定：准予许可 （decider.housing" in text  # the log says what was decided


def test_a_reason_for_an_unticked_material_is_not_dropped_silently(desk: Any) -> None:
    app, svc, _ = desk
    number = file_permit(svc)
    window = browser(app, "window.housing")
    r = act(
        window, number, "request_supplement", material="application",
        **{"reason-application": "缺签字", "reason-construction_contract": "缺少盖章页", "note": "请一并补齐"},
    )  # fmt: skip
    assert r.status_code == 422
    text = visible_text(r.text)
    assert "未勾选的材料填写的说明未被采用：施工合同。" in text
    assert 'value="缺少盖章页"' in r.text and 'value="缺签字"' in r.text and "请一并补齐</textarea>" in r.text
    assert re.search(r'id="sup-application" name="material" value="application" checked', r.text)
    case, _ = svc.load(number)
    assert case.state == "submitted" and not case.supplement_requested  # nothing was sent
    r = act(window, number, "request_supplement", material=["application", "construction_contract"],
            **{"reason-application": "缺签字", "reason-construction_contract": "缺少盖章页"})  # fmt: skip
    assert r.status_code == 303
    assert [m["reason"] for m in svc.load(number)[0].missing] == ["缺签字", "缺少盖章页"]


def test_an_empty_choice_says_choose_not_fill_in(desk: Any) -> None:
    _, svc, _ = desk
    cat = svc.catalogue
    data, _ = sample_application(cat, cat.items[PERMIT])
    del data["project"]["nature"]
    _, errors = forms.validate(cat, cat.items[PERMIT], data, None)
    assert [e.message for e in errors if e.field == "project.nature"] == ["请选择建设性质"]


def test_a_service_the_applicant_did_not_ask_for_reads_not_applied(desk: Any) -> None:
    app, svc, _ = desk
    data, uploads = sample_chain_application(svc.catalogue, svc.catalogue.chains["organization"].data)
    data["chain_services"] = {"wanted": ["QQ-BANK-GG-001"]}  # the bank account, not the telephone line
    sub = chain_service.submit(svc, "organization", data, uploads, APPLICANT, "c1")
    client = TestClient(app, follow_redirects=False)
    assert find(client, sub.number, sub.query_code).status_code == 303
    services = re.search(r'<ul id="chain-services">(.*?)</ul>', client.get(f"/progress/{sub.number}").text, re.S)
    assert services is not None
    items = [visible_text(li) for li in re.findall(r"<li>(.*?)</li>", services.group(1), re.S)]
    assert any("待前一阶段办结后自动发起" in i for i in items if "银行" in i)
    assert any("未申请" in i for i in items if "电信" in i or "通信" in i), items
