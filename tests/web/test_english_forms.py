"""English pages say the engine's own words in English: the portal form's field errors and "only if"
hints, region errors, the desk's 403 — while catalogue data (field labels, option labels, region
names) stays as written and Chinese pages stay byte-identical. Real app, real SQLite, real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support.desk import PASSWORD, browser
from support.portal import PDF, PERMIT, csrf, fill_sections, form_values

from engine.base import regions
from engine.base.dates import TZ
from engine.base.i18n import activate
from engine.rules import forms
from engine.rules.clock import ManualClock
from engine.rules.form_values import Invalid
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
WATER = "QQ-WATER-XK-001"  # 取水许可: applicant, contact, abstraction (with an area field)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture
def app(tmp_path: Path, reference: Any) -> Iterator[Any]:
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    application = create_app(REPO, tmp_path / "en.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(application, follow_redirects=False):
        yield application


def _catalogue_words(svc: Any) -> list[str]:
    """Every field and option label of the item's form: catalogue data, left as written on any page."""
    cat = svc.catalogue
    words: list[str] = []
    for info in forms.item_fields(cat.items[WATER], cat.forms).values():
        words.append(str(info.spec["label"]))
        words += [str(o["label"]) for o in info.spec.get("options", [])]
    return sorted(words, key=len, reverse=True)  # longest first: a label inside another is not cut apart


def _post_page(app: Any, lang: str, section: str, values: dict[str, str]) -> str:
    client = TestClient(app, follow_redirects=False)
    first = client.get(f"/apply/{WATER}?lang={lang}")
    url = first.headers["location"].split("?")[0].rsplit("/", 1)[0] + f"/{section}"
    page = client.get(url).text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post(url, data={"csrf": token, **values})
    assert r.status_code == 422, r.text
    return r.text


def _engine_words(html: str) -> list[str]:
    """The error and condition texts of a form page (without the screen-reader 'Error:' prefix)."""
    errors = re.findall(r'<p class="error"[^>]*><span class="sr">[^<]*</span>(.*?)</p>', html)
    hints = re.findall(r'<span class="when">(.*?)</span>', html)
    return errors + hints


def _without(text: str, words: list[str]) -> str:
    for word in words:
        text = text.replace(word, "")
    return text


def test_the_empty_first_page_in_english_has_english_errors_and_hints(app: Any) -> None:
    html = _post_page(app, "en", "applicant", {})
    said = _engine_words(html)
    assert "Choose 申请人类型" in said  # a choice is chosen, its label as the catalogue writes it
    assert "Enter 申请人名称（姓名）" in said
    assert "Only if 申请人类型 is 法人或其他组织" in said  # the condition in words, option label as written
    assert "Only if 是否委托代理人办理 is Yes" in said
    labels = _catalogue_words(app.state.service)
    leftover = [s for s in said if CJK.search(_without(s, labels))]
    assert leftover == []
    assert "The 18-character citizen ID number; the last may be X" in html  # the engine's default hint


def test_the_empty_first_page_in_chinese_is_unchanged(app: Any) -> None:
    said = _engine_words(_post_page(app, "zh_CN", "applicant", {}))
    assert "请选择申请人类型" in said and "请填写申请人名称（姓名）" in said
    assert "仅当申请人类型为法人或其他组织时填写" in said and "仅当是否委托代理人办理为是时填写" in said
    assert not [s for s in said if re.search(r"[A-Za-z]{3,}", s)]


def test_typed_values_are_judged_in_english_on_english_pages(app: Any) -> None:
    bad = {"contact.phone": "12", "contact.email": "nobody"}
    said = " | ".join(_engine_words(_post_page(app, "en", "contact", bad)))
    assert "is not a phone number; enter an 11-digit mobile number" in said
    assert "is not an email address; enter one like name@example.com" in said
    assert not CJK.search(_without(said, _catalogue_words(app.state.service)))
    chinese = " | ".join(_engine_words(_post_page(app, "zh_CN", "contact", bad)))
    assert "格式不正确，请填写 11 位手机号码或带区号的固定电话，如 0452-1234567" in chinese


def test_field_error_keeps_chinese_for_the_api_and_translates_for_pages(reference: Any) -> None:
    cat = reference.catalogue
    _, errors = forms.validate(cat, cat.items[WATER], {"applicant": {"name": "x", "type": "nobody"}})
    wrong = {e.field: e for e in errors}["applicant.type"]
    assert wrong.message.startswith("申请人类型的选项无效，请从以下选项中选择：自然人、")  # as the API answers
    assert wrong.text() == wrong.message  # Chinese: the very same words
    activate("en")
    try:
        assert wrong.message.startswith("申请人类型的选项无效")  # the stored message never changes language
        assert wrong.text().startswith("申请人类型: that choice is not offered; choose one of: 自然人, ")
    finally:
        activate("zh_CN")


def _region_page(app: Any, lang: str, typed: str) -> str:
    from engine.service.samples import sample_application

    client = TestClient(app, follow_redirects=False)
    client.get(f"/?lang={lang}")  # remembered in the cookie for the walk through the pages
    svc = app.state.service
    draft = fill_sections(client, svc, WATER)
    data, _ = sample_application(svc.catalogue, svc.catalogue.items[WATER], {})
    values = {f"abstraction.{k}": v for k, v in form_values(data["abstraction"]).items()}
    url = f"/apply/{WATER}/abstraction"
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(f"{url}?draft={draft}").text)
    assert token
    body = values | {"csrf": token.group(1), "draft": draft, "abstraction.intake_area": typed}
    r = client.post(url, data=body)
    assert r.status_code == 422, r.text
    return r.text


def test_a_region_error_is_in_english_and_never_echoes_a_long_value(app: Any) -> None:
    typed = "9" * 500  # typed into the request, not chosen from the list
    said = _engine_words(_region_page(app, "en", typed))
    cut = "9" * regions.SHOWN + "…"
    label = "取水地点（行政区划）"
    advice = "choose a province, city and county (district) from the list"
    assert f"{label} “{cut}” is not a valid region code; {advice}" in said
    assert "9" * (regions.SHOWN + 1) not in " ".join(said)
    chinese = _engine_words(_region_page(app, "zh_CN", typed))
    assert f"{label}“{cut}”不是有效的行政区划代码，请从列表中选择省、市、县（区）" in chinese
    assert _engine_words(_region_page(app, "zh_CN", "239999")) == [
        f"{label}“239999”不是有效的行政区划代码，请从列表中选择省、市、县（区）"  # short values quoted whole
    ]


def test_a_region_outside_within_and_a_province_alone_in_english() -> None:
    activate("en")
    try:
        found = regions.problem_words("110101", "取水地点", "230000")
        assert found is not None
        assert Invalid("invalid_area", found[0], **found[1]).text() == (
            "取水地点 must be within 黑龙江省; choose again"  # the region's name is data, as written
        )
        found = regions.problem_words("230200", "取水地点")
        assert found is not None
        assert Invalid("invalid_area", found[0], **found[1]).text() == (
            "取水地点: 黑龙江省齐齐哈尔市 chosen; go on and choose the county (district)"
        )
    finally:
        activate("zh_CN")


# ---------------------------------------------------------------- the desk's own refusals


def _error_page_message(html: str) -> str:
    found = re.search(r"<h1>\d+</h1><p>(.*?)</p>", html)
    assert found, html
    return found.group(1)


def test_a_role_refused_a_page_reads_why_in_its_language(tmp_path: Path, reference: Any) -> None:
    from engine.service.accounts import add_user

    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    application = create_app(REPO, tmp_path / "desk.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(application, follow_redirects=False):
        add_user(application.state.service.db, "window.housing", "window", "housing", PASSWORD)
        client = browser(application, "window.housing")
        chinese = client.get("/desk/chains")  # a window clerk does not oversee approval chains
        assert chinese.status_code == 403 and _error_page_message(chinese.text) == "您的角色无权查看此页面。"
        english = client.get("/desk/chains?lang=en")
        assert english.status_code == 403 and _error_page_message(english.text) == "Your role may not see this page."
        missing = client.get("/desk/cases/NO-SUCH-CASE?lang=en")
        assert missing.status_code == 404 and _error_page_message(missing.text) == "There is no such case."


def test_a_refused_file_reads_why_in_english_on_english_pages(tmp_path: Path, reference: Any) -> None:
    """An empty upload and a text file named .pdf were refused in Chinese on the English materials page."""
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    application = create_app(REPO, tmp_path / "up.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(application, follow_redirects=False) as client:
        draft = fill_sections(client, application.state.service, PERMIT)
        client.cookies.set("yg_lang", "en")
        page = client.get(f"/apply/{PERMIT}/materials?draft={draft}")
        files = [
            ("file-application", ("form.pdf", b"just text, not a PDF", "application/pdf")),
            ("file-construction_contract", ("empty.pdf", b"", "application/pdf")),
            ("file-land_use", ("ok.pdf", PDF, "application/pdf")),
        ]
        r = client.post(f"/apply/{PERMIT}/materials", data={"csrf": csrf(page.text), "draft": draft}, files=files)
    assert r.status_code == 422
    assert "The file “empty.pdf” is empty" in r.text
    assert "The file “form.pdf”: Only PDF, OFD" in r.text
    assert "是空的" not in r.text and "只接受" not in r.text


def test_a_money_field_without_its_own_unit_says_yuan_in_the_page_language(reference: Any) -> None:
    """The engine's default money unit (a field that names no ``unit``) read 元 on English pages;
    a unit the catalogue writes stays as written."""
    import copy

    from engine.web.portal import form_view

    cat = reference.catalogue
    doc = copy.deepcopy(cat.items["QQ-REALESTATE-DJ-102"])  # 不动产转移登记（二手房买卖）: 成交价格, unit 元
    section = next(
        s for s in doc.data["form"]["sections"] if isinstance(s, dict) and any(f["id"] == "price" for f in s["fields"])
    )
    price = next(f for f in section["fields"] if f.get("id") == "price")
    del price["unit"]

    def unit(language: str) -> str:
        activate(language)
        try:
            shown = form_view.widgets(cat, doc, section["id"], {}, {})
        finally:
            activate("zh_CN")
        return next(w.unit for w in shown if w.name.endswith(".price"))

    assert unit("zh_CN") == "元" and unit("en") == "yuan"
    price["unit"] = "万元"
    assert unit("en") == "万元"  # catalogue data: as written
