"""The case state machine on reference items: rules a window clerk or applicant would notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.rules.cases.actions import decide
from engine.rules.cases.fold import apply
from engine.rules.cases.model import ActionRefused, Actor, Case, Event, FeeMismatch
from engine.rules.cases.steps import open_steps

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
APPLICANT = Actor("zhang", "applicant")


def staff(role: str, dept: str = "realestate", backup: str | None = None) -> Actor:
    return Actor(f"{role}-{dept}", role, dept, backup)


def item(reference, code: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return reference.catalogue.items[code].data  # type: ignore[no-any-return]


def start(it: dict[str, Any]) -> Case:
    case = Case("N1", it["code"], it["department"])
    return apply(case, Event("submit", T0, "zhang", "applicant", {"data": {}, "uploads": {}}))


def act(case: Case, it: dict[str, Any], action: str, actor: Actor, **payload: Any) -> Case:
    event = decide(case, it, action, actor, payload, T0 + timedelta(hours=case.version))
    return apply(case, event)


@pytest.fixture
def resale(reference) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return item(reference, "QQ-REALESTATE-DJ-102")


def test_full_lifecycle_with_parallel_steps_and_exact_fee(resale: dict[str, Any]) -> None:
    c = start(resale)
    c = act(c, resale, "accept", staff("window"))
    assert c.state == "in_progress"
    assert {s["id"] for s in open_steps(c, resale)} == {"review", "tax"}  # parallel_with: review
    c = act(c, resale, "complete_step", staff("reviewer"), step="review")
    assert [s["id"] for s in open_steps(c, resale)] == ["tax"]  # joined before decide
    c = act(c, resale, "complete_step", staff("undertaker"), step="tax")
    assert [s["id"] for s in open_steps(c, resale)] == ["decide"]
    c = act(c, resale, "assess_fee", staff("decider"), assessment={"total_fen": 10000})
    c = act(c, resale, "decide", staff("decider"), outcome="approve")
    c = act(c, resale, "complete_step", staff("decider"), step="decide")
    with pytest.raises(ActionRefused, match="足额缴费"):
        act(c, resale, "complete", staff("issuer"), step="complete")
    for wrong in (9999, 10001, 0):
        with pytest.raises(FeeMismatch) as info:
            act(c, resale, "record_payment", staff("window"), amount_fen=wrong)
        assert info.value.record.action == "fee_anomaly"
        assert info.value.record.payload == {"assessed_fen": 10000, "attempted_fen": wrong, "note": ""}
    c = act(c, resale, "record_payment", staff("window"), amount_fen=10000)
    c = act(c, resale, "complete", staff("issuer"), step="complete")
    assert c.state == "completed"
    with pytest.raises(ActionRefused, match="申请人"):
        act(c, resale, "evaluate", staff("window"), rating="满意")
    c = act(c, resale, "evaluate", APPLICANT, rating="满意", comment="快")
    with pytest.raises(ActionRefused, match="已评价"):
        act(c, resale, "evaluate", APPLICANT, rating="满意")


def test_wrong_role_or_department_is_refused_and_backup_may_act(resale: dict[str, Any]) -> None:
    c = start(resale)
    with pytest.raises(ActionRefused) as info:
        act(c, resale, "accept", staff("reviewer"))
    assert info.value.code == "forbidden"
    with pytest.raises(ActionRefused, match="部门"):
        act(c, resale, "accept", staff("window", dept="amr"))
    with pytest.raises(ActionRefused, match="部门"):  # staff with no department act for none
        act(c, resale, "accept", Actor("x", "window", None))
    c = act(c, resale, "accept", staff("reviewer", backup="window"))  # AB角
    assert c.state == "in_progress"


def test_one_time_supplement_notice(resale: dict[str, Any]) -> None:
    c = start(resale)
    with pytest.raises(ActionRefused, match="一次列明"):
        act(c, resale, "request_supplement", staff("window"), missing=[])
    mat = resale["materials"][0]["id"]
    c = act(c, resale, "request_supplement", staff("window"), missing=[{"material": mat, "reason": "复印件不清晰"}])
    assert c.state == "awaiting_supplement" and c.paused
    c = act(c, resale, "supplement", APPLICANT, uploads={mat: ["u1"]})
    assert c.state == "submitted" and not c.paused
    with pytest.raises(ActionRefused, match="第三十二条"):
        act(c, resale, "request_supplement", staff("window"), missing=[{"material": mat, "reason": "again"}])
    with pytest.raises(ActionRefused, match="理由"):
        act(c, resale, "refuse", staff("window"), reason=" ")
    c = act(c, resale, "refuse", staff("window"), reason="不符合法定条件")
    assert c.state == "refused"
    with pytest.raises(ActionRefused):
        act(c, resale, "accept", staff("window"))


def test_deemed_acceptance_dates_back_to_receipt(resale: dict[str, Any]) -> None:
    c = start(resale)
    c = act(c, resale, "deemed_accept", Actor("system", "system"))
    assert c.state == "in_progress" and c.deemed_accepted and c.accepted_at == T0


def test_extension_once_with_reason_by_the_approving_role(reference) -> None:  # type: ignore[no-untyped-def]
    it = item(reference, "QQ-CULTURE-XK-101")
    head = Actor("head", "head", it["department"])
    c = act(start(it), it, "accept", Actor("w", "window", it["department"]))
    with pytest.raises(ActionRefused, match="head"):
        act(c, it, "extend", Actor("w", "window", it["department"]), reason="需要现场核查")
    with pytest.raises(ActionRefused, match="理由"):
        act(c, it, "extend", head)
    c = act(c, it, "extend", head, reason="需要现场核查")
    with pytest.raises(ActionRefused, match="一次"):
        act(c, it, "extend", head, reason="again")


def test_special_procedure_pauses_and_blocks_steps(reference) -> None:  # type: ignore[no-untyped-def]
    it = item(reference, "QQ-CULTURE-XK-101")
    w = Actor("w", "window", it["department"])
    c = act(start(it), it, "accept", w)
    u = Actor("u", "undertaker", it["department"])  # the window receives; the undertaker holds the hearing
    with pytest.raises(ActionRefused, match="本事项的特别程序"):
        act(c, it, "start_special_procedure", u, kind="hearing_x")
    kind = it["special_procedures"][0]["kind"]
    c = act(c, it, "start_special_procedure", u, kind=kind)
    assert c.paused
    step = open_steps(c, it)[0]
    with pytest.raises(ActionRefused, match="暂停"):
        act(c, it, "complete_step", Actor("x", step["role"], it["department"]), step=step["id"])
    c = act(c, it, "end_special_procedure", u, kind=kind)
    assert not c.paused and c.pauses[0]["end"] is not None


def _licence(**time_limit: Any) -> dict[str, Any]:
    tl = {"legal": {"value": 20, "unit": "working_day"}, "promised": {"value": 10, "unit": "working_day"}}
    return {"code": "X-1", "type": "license", "department": "d", "time_limit": {**tl, **time_limit}}


def test_a_licence_has_the_laws_extension_unless_its_yaml_says_otherwise_with_a_basis() -> None:
    from engine.rules.cases.law import extension_of

    law = extension_of(_licence())
    assert law is not None and law["limit"] == {"value": 10, "unit": "working_day"} and law["approver_role"] == "head"
    assert law["basis"][0]["article"] == "第四十二条第一款"
    joint = extension_of({**_licence(), "joint_departments": ["tax"]})  # 联合办理: 45 + 15 (Art. 42 para. 2)
    assert joint is not None and joint["limit"]["value"] == 15 and joint["basis"][0]["article"] == "第四十二条第二款"
    basis = [{"law": "某条例", "article": "第九条"}]
    assert extension_of(_licence(extension={"allowed": False, "basis": basis})) is None
    other = extension_of(_licence(extension={"limit": {"value": 30, "unit": "natural_day"}, "basis": basis}))
    assert other is not None and other["limit"]["value"] == 30 and other["basis"] == basis
    # a decision on the spot (legal limit 0) is excepted by Art. 42; other item types only by their YAML
    assert extension_of(_licence(legal={"value": 0, "unit": "working_day"})) is None
    assert extension_of({**_licence(), "type": "confirmation"}) is None


def test_the_notice_says_where_the_extension_comes_from() -> None:
    from engine.rules.notice import extension_text

    assert extension_text(_licence()) == (
        "经本机关负责人批准，可延长10个工作日（一次），延期理由将书面告知；依据：《中华人民共和国行政许可法》第四十二条第一款"
    )
    basis = [{"law": "某条例", "article": "第九条"}]
    excluded = _licence(extension={"allowed": False, "basis": basis})
    assert extension_text(excluded) == "不可延长（依据：《某条例》第九条）"
    assert extension_text({**_licence(), "type": "confirmation"}) == "无延长期限的规定"


def test_after_the_completeness_period_the_desk_offers_acceptance_only(resale: dict[str, Any]) -> None:
    from engine.rules.cases.model import Timing
    from engine.web.desk.actions import available

    c = start(resale)
    window = staff("window")
    period_end = T0 + timedelta(days=7)
    in_time = available(c, resale, window, period_end, Timing(period_end))
    assert {"accept", "refuse", "request_supplement"} <= set(in_time)
    late = period_end + timedelta(microseconds=1)
    offered = available(c, resale, window, late, Timing(period_end))
    assert "accept" in offered and "refuse" not in offered and "request_supplement" not in offered


def test_refusals_speak_the_language_of_the_request(resale: dict[str, Any]) -> None:
    """A refusal is the catalogue's Chinese message, said in English to an English request (pages and
    the API alike): it used to carry both halves, "中文 / English", for every reader."""
    from engine.base.i18n import activate

    c = start(resale)
    with pytest.raises(ActionRefused) as chinese:
        act(c, resale, "refuse", staff("window"))
    assert str(chinese.value) == chinese.value.message == "不予受理必须说明理由"
    activate("en")
    try:
        with pytest.raises(ActionRefused) as english:
            act(c, resale, "refuse", staff("window"))
        with pytest.raises(ActionRefused) as role:
            act(c, resale, "accept", staff("reviewer"))
        paid = act(
            act(c, resale, "accept", staff("window")),
            resale,
            "assess_fee",
            staff("decider"),
            assessment={"total_fen": 10000},
        )
        with pytest.raises(FeeMismatch) as fee:
            act(paid, resale, "record_payment", staff("window"), amount_fen=9999)
    finally:
        activate("zh_CN")
    assert str(english.value) == english.value.message == "a refusal needs a reason"
    assert role.value.message == "only the role window may do this; your role is reviewer"
    assert "assessed 100.00 yuan, recorded 99.99 yuan (0.01 yuan too little)" in fee.value.message
    assert english.value.code == "invalid" and fee.value.record.payload["attempted_fen"] == 9999
