"""Statutory notices generated from real cases driven through the service (SQLite, manual clock)."""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest

from engine.base.dates import TZ
from engine.catalogue.fields import item_fields
from engine.ledger.db import read_only
from engine.ledger.events import events_of
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.rules.forms import validate
from engine.service.cases import CaseService
from engine.service.documents import Document, _deadline_text, chinese_date, documents_for, documents_of, render
from engine.service.samples import sample_application

VENUE = "QQ-CULTURE-XK-101"  # a licence: extension by the head, a hearing that stops the clock
RESALE = "QQ-REALESTATE-DJ-102"  # a registration (行政确认), not a licence
APPLICANT = Actor("zhang", "applicant")
NAME = "齐齐哈尔市星光娱乐有限公司"


def staff(role: str, dept: str = "culture") -> Actor:
    return Actor(f"{role}@{dept}", role, dept)


@pytest.fixture
def world(case_service: CaseService) -> tuple[CaseService, ManualClock]:
    return case_service, cast(ManualClock, case_service.clock)  # Friday 2026-03-06 09:00


def submit(svc: CaseService, code: str = VENUE, key: str = "k1") -> str:
    cat = svc.catalogue
    data, uploads = sample_application(cat, cat.items[code], {"applicant.name": NAME})
    return svc.submit(code, data, uploads, APPLICANT, key).number


def act(svc: CaseService, number: str, action: str, actor: Actor, **payload: Any) -> None:
    case, _ = svc.load(number)
    svc.act(number, action, actor, payload, case.version)


def docs(svc: CaseService, number: str) -> list[Document]:
    return documents_of(svc, number)


def text(doc: Document) -> str:
    return "\n".join(doc.paragraphs)


def remedy_of(svc: CaseService, code: str = VENUE) -> dict[str, str]:
    return dict(svc.catalogue.items[code].data["remedy"])


def test_a_case_just_submitted_has_no_documents(world) -> None:  # type: ignore[no-untyped-def]
    svc, _ = world
    number = submit(svc)
    assert docs(svc, number) == []
    case, snap = svc.load(number)
    assert documents_for(case, snap, svc.catalogue.center) == []  # no events needed for that


def test_acceptance_notice_in_chinese_with_the_deadlines(world) -> None:  # type: ignore[no-untyped-def]
    svc, clk = world
    number = submit(svc)
    clk.set(datetime(2026, 3, 9, 10, 0, tzinfo=TZ))
    act(svc, number, "accept", staff("window"))
    [doc] = docs(svc, number)
    assert doc.kind == "acceptance" and doc.title == "受理通知书"
    assert doc.addressee == NAME
    assert doc.issuer == "齐齐哈尔市文化广电和旅游局"
    assert doc.date_text == "2026年3月9日"
    assert doc.number == f"〔2026〕受字第 {number} 号"
    body = text(doc)
    assert "于2026年3月6日提交" in body and "受理日期为2026年3月9日" in body
    case, snap = svc.load(number)
    dl = svc.deadlines(case, snap)
    assert dl.promised is not None and dl.legal is not None
    assert f"承诺于{chinese_date(dl.promised)}前办结" in body and f"最迟不超过{chinese_date(dl.legal)}" in body
    assert "10个工作日" in body and "20个工作日" in body
    assert "听证" in body and "不计算在上述期限内" in body
    assert doc.basis.startswith("《中华人民共和国行政许可法》第三十二条")
    assert "娱乐场所管理条例" in doc.basis  # the item's own basis from the YAML


def test_a_notice_is_issued_in_chinese_whatever_the_pages_language(world) -> None:  # type: ignore[no-untyped-def]
    """The limits and bases come from engine.rules.notice, which speaks the page's language: a notice
    shown from an English page is still the Chinese document (only the page names its kind in English)."""
    from engine.base import i18n

    svc, _ = world
    number = submit(svc)
    act(svc, number, "accept", staff("window"))
    chinese = docs(svc, number)
    with i18n.speaking("en"):
        english_page = docs(svc, number)
        assert i18n.gettext(english_page[0].title) == "Notice of acceptance"
    assert english_page == chinese and "10个工作日" in text(chinese[0])


def test_refusal_states_the_reason_and_the_remedy_escaped(world) -> None:  # type: ignore[no-untyped-def]
    svc, _ = world
    number = submit(svc)
    reason = '场所位于居民楼内 <script>alert("x")</script> & 不符合条件'
    act(svc, number, "refuse", staff("window"), reason=reason)
    [doc] = docs(svc, number)
    assert doc.kind == "refusal" and doc.title == "不予受理决定书"
    body = text(doc)
    assert f"理由：{reason}" in body
    remedy = remedy_of(svc)
    assert remedy["reconsideration"] in body and remedy["litigation"] in body
    assert "申请行政复议" in body and "提起行政诉讼" in body
    page = render(doc, svc.catalogue.center)
    assert "<script>alert" not in page
    assert html.escape(reason, quote=True) in page or "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "齐齐哈尔市政务服务中心" in page and "盖章处" in page and "2026年3月6日" in page


def test_refusal_without_a_remedy_in_the_yaml_still_names_both_rights(world) -> None:  # type: ignore[no-untyped-def]
    svc, _ = world
    number = submit(svc)
    act(svc, number, "refuse", staff("window"), reason="不属于本机关职权范围")
    case, snap = svc.load(number)
    with read_only(svc.db) as conn:
        records = events_of(conn, number)
    bare = {**snap, "item": {k: v for k, v in snap["item"].items() if k != "remedy"}}
    [doc] = documents_for(case, bare, svc.catalogue.center, None, records)
    assert "可以依法申请行政复议或者提起行政诉讼。" in text(doc)


def test_supplement_notice_lists_every_material_and_outlives_the_supplement(world) -> None:  # type: ignore[no-untyped-def]
    svc, clk = world
    number = submit(svc)
    missing = [
        {"material": "floor_plan", "reason": "未标明消防设施位置", "note": "请按 1:100 比例重新绘制"},
        {"material": "declaration", "reason": "缺少拟任法定代表人签字"},
    ]
    act(svc, number, "request_supplement", staff("window"), missing=missing, note="补正材料可邮寄")
    [doc] = docs(svc, number)
    assert doc.kind == "supplement" and doc.number == f"〔2026〕补字第 {number} 号"
    body = text(doc)
    assert "一次性告知" in body
    assert "1. 营业场所平面图（标明包厢、通道、出入口、消防设施位置及使用面积）：未标明消防设施位置" in body
    assert "请按 1:100 比例重新绘制" in body
    assert "书面声明：缺少拟任法定代表人签字" in body and "2. " in body
    assert "说明：补正材料可邮寄" in body
    clk.set(datetime(2026, 3, 10, 9, 0, tzinfo=TZ))
    act(svc, number, "supplement", APPLICANT, uploads={"floor_plan": ["u2"], "declaration": ["u3"]})
    act(svc, number, "accept", staff("window"))
    kinds = [d.kind for d in docs(svc, number)]
    assert kinds == ["supplement", "acceptance"]  # the one-time notice is still there, in order
    assert "未标明消防设施位置" in text(docs(svc, number)[0])


def test_extension_hearing_and_approval_in_order(world) -> None:  # type: ignore[no-untyped-def]
    svc, clk = world
    number = submit(svc)
    act(svc, number, "accept", staff("window"))
    act(svc, number, "complete_step", staff("undertaker"), step="undertake")
    clk.set(datetime(2026, 3, 10, 9, 0, tzinfo=TZ))
    act(svc, number, "start_special_procedure", staff("inspector"), kind="inspection")  # counts: no notice
    act(svc, number, "end_special_procedure", staff("inspector"), kind="inspection")
    act(svc, number, "start_special_procedure", staff("undertaker"), kind="hearing")
    clk.set(datetime(2026, 3, 20, 9, 0, tzinfo=TZ))
    act(svc, number, "end_special_procedure", staff("undertaker"), kind="hearing")
    clk.set(datetime(2026, 3, 23, 9, 0, tzinfo=TZ))
    act(svc, number, "extend", staff("head"), reason="听证中利害关系人提出异议，需进一步核实")
    found = docs(svc, number)
    assert [d.kind for d in found] == ["acceptance", "special_procedure", "extension"]
    acceptance, hearing, extension = found
    assert "最迟不超过" not in text(acceptance)  # the deadline has moved since; the limits stay in words
    assert hearing.title == "特别程序告知书" and hearing.date_text == "2026年3月10日"
    assert "听证" in text(hearing) and "不计算在办理期限内" in text(hearing)
    assert "20个工作日" in text(hearing) and "第四十五条" in hearing.basis
    case, snap = svc.load(number)
    legal = svc.deadlines(case, snap).legal
    assert legal is not None
    assert "延期理由：听证中利害关系人提出异议，需进一步核实" in text(extension)
    assert f"延长10个工作日，延长后的期限截止于{chinese_date(legal)}" in text(extension)
    assert extension.basis == "《中华人民共和国行政许可法》第四十二条"  # the YAML cites the same article
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", extension.date_text)
    act(svc, number, "complete_step", staff("inspector"), step="inspect")
    clk.set(datetime(2026, 3, 24, 15, 0, tzinfo=TZ))
    act(svc, number, "decide", staff("decider"), outcome="approve")
    decision = docs(svc, number)[-1]
    assert decision.kind == "decision_approve" and decision.title == "准予行政许可决定书"
    assert "决定准予行政许可" in text(decision) and "娱乐经营许可证" in text(decision)
    assert "领取方式：窗口领取。" in text(decision)  # the applicant's choice, not the item's offer
    assert decision.date_text == "2026年3月24日" and "第三十八条" in decision.basis
    numbers = [d.number for d in docs(svc, number)]
    assert len(set(numbers)) == len(numbers)
    assert docs(svc, number) == docs(svc, number)  # deterministic


def test_a_later_hearing_hides_a_date_the_extension_can_no_longer_vouch_for(world) -> None:  # type: ignore[no-untyped-def]
    svc, clk = world
    number = submit(svc)
    act(svc, number, "accept", staff("window"))
    act(svc, number, "extend", staff("head"), reason="需要补充调查")
    assert "延长后的期限截止于" in text(docs(svc, number)[-1])
    clk.set(datetime(2026, 3, 10, 9, 0, tzinfo=TZ))
    act(svc, number, "start_special_procedure", staff("undertaker"), kind="hearing")
    extension = next(d for d in docs(svc, number) if d.kind == "extension")
    assert "自原期限届满之日起延长10个工作日" in text(extension)


def test_denial_gives_reasons_and_remedy(world) -> None:  # type: ignore[no-untyped-def]
    svc, _ = world
    number = submit(svc)
    act(svc, number, "accept", staff("window"))
    for step, role in (("undertake", "undertaker"), ("inspect", "inspector")):
        act(svc, number, "complete_step", staff(role), step=step)
    act(svc, number, "decide", staff("decider"), outcome="deny", reason="场所距离小学不足 200 米")
    doc = docs(svc, number)[-1]
    assert doc.kind == "decision_deny" and doc.title == "不予行政许可决定书"
    body = text(doc)
    assert "理由：场所距离小学不足 200 米" in body and "决定不予行政许可" in body
    assert remedy_of(svc)["reconsideration"] in body and remedy_of(svc)["litigation"] in body
    assert doc.number == f"〔2026〕不准字第 {number} 号"


def test_deemed_acceptance_dates_back_to_receipt(world) -> None:  # type: ignore[no-untyped-def]
    svc, clk = world
    number = submit(svc)
    clk.set(datetime(2026, 3, 16, 8, 0, tzinfo=TZ))  # the 6th working day
    assert svc.sweep() == [number]
    [doc] = docs(svc, number)
    assert doc.kind == "deemed_acceptance"
    assert doc.date_text == "2026年3月16日"
    assert "自收到申请材料之日起即为受理，受理日期为2026年3月6日" in text(doc)
    assert "第三十二条" in text(doc)


def test_an_acceptance_clicked_after_the_art32_period_is_dated_from_receipt(world) -> None:  # type: ignore[no-untyped-def]
    svc, clk = world
    number = submit(svc)
    clk.set(datetime(2026, 3, 16, 8, 0, tzinfo=TZ))  # the 6th working day, before any sweep
    act(svc, number, "accept", staff("window"))
    [doc] = docs(svc, number)
    assert doc.kind == "deemed_acceptance"  # not a notice that says it was accepted on 03-16
    assert "受理日期为2026年3月6日" in text(doc) and "第三十二条" in text(doc)


def test_the_decision_prints_the_delivery_method_the_applicant_chose(world) -> None:  # type: ignore[no-untyped-def]
    svc, _ = world
    cat = svc.catalogue
    # 娱乐场所经营许可 offers window and courier (result.delivery), so the form offers exactly those
    spec = next(i.spec for n, i in item_fields(cat.items[VENUE], cat.forms).items() if n == "contact.delivery")
    assert [o["value"] for o in spec["options"]] == ["window", "courier"]
    data, uploads = sample_application(cat, cat.items[VENUE], {"applicant.name": NAME, "contact.delivery": "courier"})
    number = svc.submit(VENUE, data, uploads, APPLICANT, "mail").number
    act(svc, number, "accept", staff("window"))
    for step, role in (("undertake", "undertaker"), ("inspect", "inspector")):
        act(svc, number, "complete_step", staff(role), step=step)
    act(svc, number, "decide", staff("decider"), outcome="approve")
    assert "领取方式：邮寄送达。" in text(docs(svc, number)[-1])
    online = {**data, "contact": {**data["contact"], "delivery": "online"}}
    errors = validate(cat, cat.items[VENUE], online, None)[1]  # 电子证照 is not offered for this item
    assert [e.field for e in errors] == ["contact.delivery"]


def test_a_registration_is_not_called_a_licence(world) -> None:  # type: ignore[no-untyped-def]
    svc, _ = world
    cat = svc.catalogue
    data, uploads = sample_application(cat, cat.items[RESALE], {"applicant.name": "李四"})
    number = svc.submit(RESALE, data, uploads, APPLICANT, "r1").number
    dept = cat.items[RESALE].data["department"]
    act(svc, number, "accept", staff("window", dept))
    act(svc, number, "complete_step", staff("reviewer", dept), step="review")
    act(svc, number, "complete_step", staff("undertaker", dept), step="tax")
    act(svc, number, "decide", staff("decider", dept), outcome="deny", reason="房屋已被查封")
    acceptance, decision = docs(svc, number)
    assert decision.title == "不予办理决定书" and "行政许可" not in text(decision)
    assert "行政许可法" not in acceptance.basis and "行政许可法" not in decision.basis
    assert decision.addressee == "李四"
    assert "承诺自受理之日起1个工作日内办结" in text(acceptance) and "2026年3月9日前办结" in text(acceptance)


def test_dates_are_shown_in_china_time() -> None:
    late = datetime(2026, 3, 6, 17, 30, tzinfo=TZ).astimezone(datetime.now().astimezone().tzinfo)
    assert chinese_date(datetime.fromisoformat("2026-03-06T16:30:00+00:00")) == "2026年3月7日"  # 00:30 in Beijing
    assert _deadline_text(late, "minute") == "2026年3月6日 17:30"
    assert _deadline_text(late, "working_day") == "2026年3月6日"


def test_immediate_item_says_so(world) -> None:  # type: ignore[no-untyped-def]
    svc, _ = world
    code = "QQ-CIVIL-DJ-101"
    cat = svc.catalogue
    data, uploads = sample_application(cat, cat.items[code], {})
    number = svc.submit(code, data, uploads, APPLICANT, "m1").number
    act(svc, number, "accept", staff("window", cat.items[code].data["department"]))
    body = text(docs(svc, number)[0])
    assert "本事项为即办件，当场办结" in body and "法定期限截止于" in body and "承诺于" not in body


def test_events_are_required_past_submission(world) -> None:  # type: ignore[no-untyped-def]
    svc, _ = world
    number = submit(svc)
    act(svc, number, "refuse", staff("window"), reason="不符合条件")
    case, snap = svc.load(number)
    with pytest.raises(ValueError, match="events"):
        documents_for(case, snap, svc.catalogue.center)


def test_the_page_is_standalone_printable_a4(world) -> None:  # type: ignore[no-untyped-def]
    svc, _ = world
    number = submit(svc)
    act(svc, number, "accept", staff("window"))
    page = render(docs(svc, number)[0], svc.catalogue.center)
    assert page.lstrip().startswith("<!doctype html>")
    assert "@media print" in page and "size: A4" in page and "@page" in page
    assert 'name="viewport"' in page and "SimSun" in page
    assert "<nav" not in page and "<script" not in page
    assert "受理通知书" in page and NAME in page and "盖章处" in page
    source = (Path(__file__).resolve().parents[3] / "engine/web/templates/documents/notice.html").read_text()
    assert "{% extends" not in source
    assert render(docs(svc, number)[0], None)  # no center: still a page
