"""The handlers' own words on error and confirmation paths (issue 17): each is a catalogue msgid
translated where it is raised, so a request in English reads English and the Chinese default reads
Chinese. These paths are not on the pages tests/web/test_one_language.py visits: a wrong case number
or query code, a draft or page that is not there, a form past its size, a chain application that is
not there or not in the green channel, the progress page's confirmations, a supplement's problems,
the desk's default reason for a missing material."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support.cases import chain_application
from support.desk import PASSWORD, act, browser
from support.portal import PDF, PERMIT, PNG, csrf, find, submit

from engine.base import i18n
from engine.base.dates import TZ
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service import auth
from engine.service import chains as chain_service
from engine.service.accounts import add_user
from engine.web.app import create_app
from engine.web.portal import browser as portal_browser

REPO = Path(__file__).resolve().parents[2]
ENGLISH = {"Accept-Language": "en"}
CJK = re.compile(r"[\u3400-\u9fff]")
MISSING = "construction_contract"  # a PDF-only material of PERMIT (施工合同)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, reference: Any) -> Iterator[dict[str, Any]]:
    """The app with a front-desk clerk, a chain application waiting for acceptance, and an applicant
    whose case the window asked to supplement without writing a reason (the desk's default)."""
    from argon2 import PasswordHasher, profiles

    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path_factory.mktemp("words") / "words.db", reference.catalogue, clock=clk,
                     sweep_seconds=0)  # fmt: skip
    svc = app.state.service
    with pytest.MonkeyPatch.context() as mp, TestClient(app, follow_redirects=False):
        mp.setattr(auth, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))  # as conftest's cheap_hashes
        add_user(svc.db, "front", "frontdesk", None, PASSWORD)
        add_user(svc.db, "window.housing", "window", "housing", PASSWORD)
        data, uploads = chain_application(svc, "construction")
        chain = chain_service.submit(svc, "construction", data, uploads, Actor("zhou", "applicant"), "words").number
        applicant = TestClient(app, follow_redirects=False)
        number, query_code = submit(applicant, svc)
        asked = act(browser(app, "window.housing"), number, "request_supplement", material=MISSING)
        assert asked.status_code == 303, asked.text
        assert svc.load(number)[0].missing[0]["reason"] == "材料不齐全或不符合法定形式"  # recorded in the source text
        assert find(applicant, number, query_code).status_code == 303  # the grant cookie
        yield {"app": app, "front": browser(app, "front"), "applicant": applicant, "number": number, "chain": chain}


def _form(client: TestClient, page: str, headers: dict[str, str]) -> dict[str, str]:
    """The CSRF token (and the case version, where there is one) of the form on ``page``."""
    text = client.get(page, headers=headers).text
    version = re.search(r'name="version" value="(\d+)"', text)
    return {"csrf": csrf(text), **({"version": version.group(1)} if version else {})}


def _desk_post(s: dict[str, Any], h: dict[str, str], path: str, **fields: str) -> Any:
    return s["front"].post(path, data={**_form(s["front"], "/desk/chains", h), **fields}, headers=h)


def _applicant_post(s: dict[str, Any], h: dict[str, str], path: str, form_page: str, **kw: Any) -> Any:
    client = s["applicant"]
    return client.post(path, data={**_form(client, form_page, h), **kw.pop("data", {})}, headers=h, **kw)


def _progress(s: dict[str, Any]) -> str:
    return f"/progress/{s['number']}"


#: (name, the request, its status, the msgid it answers, the msgid's %-parameters)
PATHS: list[tuple[str, Callable[[dict[str, Any], dict[str, str]], Any], int, str, dict[str, str]]] = [
    ("chain-accept-unknown", lambda s, h: _desk_post(s, h, "/desk/chains/QQL20990101000001/accept"),
     404, "没有这份链条申请。", {}),
    ("chain-card-unknown", lambda s, h: s["front"].get("/desk/chains/QQL20990101000001/card", headers=h),
     404, "没有这份链条申请。", {}),
    ("chain-card-not-green", lambda s, h: s["front"].get(f"/desk/chains/{s['chain']}/card", headers=h),
     404, "这份链条申请不在绿色通道中，没有效能督办卡。", {}),
    ("chain-green-no-basis", lambda s, h: _desk_post(s, h, f"/desk/chains/{s['chain']}/accept", green_channel="yes"),
     422, "请填写列入重点项目的依据（如重点项目名单的文件名称）", {}),
    ("apply-unknown-item", lambda s, h: s["applicant"].get("/apply/QQ-NO-SUCH-ITEM/applicant", headers=h),
     404, "没有这个事项，请从首页查找。", {}),
    ("apply-unknown-chain", lambda s, h: s["applicant"].get("/chains/no-such-chain/apply", headers=h),
     404, "没有这个审批链条，请从首页查找。", {}),
    ("apply-unknown-draft", lambda s, h: s["applicant"].get(f"/apply/{PERMIT}/applicant?draft=0f0f", headers=h),
     404, "找不到这份申请草稿（可能已过期，或不是在这个浏览器中填写的），请重新开始。", {}),
    ("apply-unknown-page", lambda s, h: s["applicant"].get(f"/apply/{PERMIT}/no-such-page", headers=h),
     404, "这一页不存在或已不需要填写，请从第一页开始。", {}),
    ("apply-check-posted", lambda s, h: _applicant_post(s, h, f"/apply/{PERMIT}/check", f"/apply/{PERMIT}/applicant"),
     405, "请使用“提交申请”按钮。", {}),
    ("progress-wrong-code", lambda s, h: _applicant_post(s, h, "/progress", "/progress",
                                                         data={"number": s["number"], "query_code": "0"}),
     404, "没有与此办件编号和查询码相符的办件，请核对后重新输入。", {}),
    ("progress-not-granted", lambda s, h: TestClient(s["app"]).post(f"{_progress(s)}/evaluate", headers=h),
     403, "请先用办件编号和查询码查询本件。", {}),
    ("progress-no-version", lambda s, h: s["applicant"].post(
        f"{_progress(s)}/evaluate", data={"csrf": _form(s["applicant"], _progress(s), h)["csrf"]}, headers=h),
     400, "表单缺少办件版本，请刷新页面后重试。", {}),
    ("progress-no-document", lambda s, h: s["applicant"].get(f"{_progress(s)}/documents/99", headers=h),
     404, "没有这份文书。", {}),
    ("progress-supplemented", lambda s, h: s["applicant"].get(f"{_progress(s)}?done=supplement", headers=h),
     200, "补正材料已提交，窗口将审查后决定是否受理。", {}),
    ("progress-rated", lambda s, h: s["applicant"].get(f"{_progress(s)}?done=evaluate", headers=h),
     200, "感谢您的评价。", {}),
    ("progress-default-reason", lambda s, h: s["applicant"].get(_progress(s), headers=h),
     200, "材料不齐全或不符合法定形式", {}),
    ("supplement-nothing", lambda s, h: _applicant_post(s, h, f"{_progress(s)}/supplement", _progress(s),
                                                        files=[("x", ("", b"", "text/plain"))]),
     422, "请上传补正的%(name)s", {"name": "施工合同"}),
    ("supplement-wrong-format", lambda s, h: _applicant_post(
        s, h, f"{_progress(s)}/supplement", _progress(s), files=[(f"file-{MISSING}", ("scan.png", PNG, "image/png"))]),
     422, "文件“%(name)s”：%(why)s", {"name": "scan.png", "why": ""}),  # why: engine.service.uploads
    ("sunshine-month", lambda s, h: s["applicant"].get("/sunshine?month=9999-99", headers=h),
     400, "月份格式为 YYYY-MM，例如 2026-03。", {}),
]  # fmt: skip


def _said(msgid: str, params: dict[str, str], language: str) -> str:
    with i18n.speaking(language):
        words = i18n.gettext(msgid)
    return words % params if params else words


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize(("name", "request_", "status", "msgid", "params"), PATHS, ids=[p[0] for p in PATHS])
def test_a_handlers_words_are_in_the_requests_language(
    site: dict[str, Any], language: str, name: str, request_: Any, status: int, msgid: str, params: dict[str, str]
) -> None:
    r = request_(site, ENGLISH if language == "en" else {})
    text = html.unescape(r.text)
    assert r.status_code == status, (name, r.status_code, text[:2000])
    said = _said(msgid, params, language)
    assert said in text, (name, said)
    if language == "en":
        assert not CJK.search(said) or params, said  # the English is English (beside a catalogue name)
        assert msgid % params not in text, (name, "the Chinese is still there")


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_a_form_past_its_size_is_refused_in_the_requests_language(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    """413 from an application page and from a supplement (engine.web.portal.browser.TOO_LARGE)."""
    monkeypatch.setattr(portal_browser, "MAX_REQUEST", 1024)
    said = _said(portal_browser.TOO_LARGE, {}, language)
    headers = ENGLISH if language == "en" else {}
    big = [("file-application", ("big.pdf", PDF + b"0" * 4096, "application/pdf"))]
    for path in (f"/apply/{PERMIT}/materials", f"/progress/{site['number']}/supplement"):
        r = site["applicant"].post(path, data={"csrf": "x"}, files=big, headers=headers)
        assert r.status_code == 413 and said in html.unescape(r.text), (path, r.text[:500])
