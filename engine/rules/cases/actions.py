"""The actions on a case, one small function each: ``decide(case, item, action, actor, payload, now,
timing)`` finds the action in :data:`ACTIONS`, lets it check the attempt against the rules (raising
``ActionRefused``) and returns the event that records it. Messages are the translation catalogue's
(``N_``-marked Chinese, English in engine/locale/en), said in the language of the request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.base import stated
from engine.base.i18n import N_, gettext
from engine.rules.cases.guards import day_text, may_act, own_department, refuse_if_lapsed, require
from engine.rules.cases.law import PAUSE_ROLES, assess_step, completeness_lapsed, extension_of, fee_due
from engine.rules.cases.model import RATINGS, TERMINAL, ActionRefused, Actor, Case, Event, FeeMismatch, Timing
from engine.rules.cases.steps import open_steps, step_role, steps_of

NO_FEE_STATED = N_("本事项的办事指南未说明收费情况，不能核定或收取费用")


# the exact-fee gate's refusal: the payment is more, or less, than the assessment
_MORE = N_(
    "缴费金额与核定金额不符：核定 %(assessed)s 元，登记 %(paid)s 元（多 %(difference)s 元）；"
    "须按核定金额足额缴纳，减免只能按收费标准的减免规则核定"
)
_LESS = N_(
    "缴费金额与核定金额不符：核定 %(assessed)s 元，登记 %(paid)s 元（少 %(difference)s 元）；"
    "须按核定金额足额缴纳，减免只能按收费标准的减免规则核定"
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One action someone tries: the case as it stands, its item, who, what they sent, when, and the
    law's clocks (Art. 32 completeness period, Art. 42 legal limit; None when the caller has none)."""

    case: Case
    item: Mapping[str, Any]
    actor: Actor
    #: the payload of the event to record: an action adds what it decided (first_step, as_of_receipt)
    payload: dict[str, Any]
    now: datetime
    timing: Timing | None

    def text(self, key: str) -> str:
        """A payload field as stripped text ("" when absent): reasons must say something."""
        return str(self.payload.get(key, "")).strip()


def accept(a: Attempt) -> None:
    case = a.case
    require(case.state == "submitted", "not_allowed", N_("只有待受理的申请可以受理"))
    first = steps_of(a.item)[0]
    may_act(a.actor, first["role"], case)
    a.payload["first_step"] = first["id"]  # acceptance is the first step's work
    if completeness_lapsed(case, a.timing, a.now):
        a.payload["as_of_receipt"] = True  # Art. 32: accepted from receipt, not from the click


def refuse(a: Attempt) -> None:
    case = a.case
    require(
        case.state in ("submitted", "awaiting_supplement"),
        "not_allowed",
        N_("只有待受理的申请可以不予受理"),
    )
    may_act(a.actor, steps_of(a.item)[0]["role"], case)
    refuse_if_lapsed(case, a.timing, a.now, "refuse")
    require(bool(a.text("reason")), "invalid", N_("不予受理必须说明理由"))


def request_supplement(a: Attempt) -> None:
    """Art. 32: one notice listing everything missing, before the completeness period ends."""
    case = a.case
    require(case.state == "submitted", "not_allowed", N_("只有待受理的申请可以要求补正"))
    may_act(a.actor, steps_of(a.item)[0]["role"], case)
    refuse_if_lapsed(case, a.timing, a.now, "request_supplement")
    require(
        not case.supplement_requested,
        "not_allowed",
        N_("本次申请已经一次性告知过补正材料，不能再次要求补正；请受理或不予受理（行政许可法第三十二条）"),
    )
    missing = a.payload.get("missing")
    require(
        isinstance(missing, list) and len(missing) > 0,
        "invalid",
        N_("补正告知须一次列明全部缺少或不符合要求的材料"),
    )
    known = {m["id"] for m in stated.materials(a.item)}
    for m in missing:  # type: ignore[union-attr]
        require(
            isinstance(m, Mapping) and m.get("material") in known and bool(m.get("reason")),
            "invalid",
            N_("补正项须写明材料（%(materials)s 之一）和原因"),
            materials=", ".join(sorted(known)),
        )


def supplement(a: Attempt) -> None:
    case = a.case
    require(case.state == "awaiting_supplement", "not_allowed", N_("本件没有待补正的材料"))
    if a.actor.role != "applicant":  # the window may hand in what the applicant brought, for its own cases
        may_act(a.actor, steps_of(a.item)[0]["role"], case)


def deemed_consent(a: Attempt) -> None:
    """Joint review: a department silent past the shared deadline (视为同意)."""
    case = a.case
    require(a.actor.role == "system", "forbidden", N_("视为同意只能由系统按时限规则记录"))
    require(
        case.state == "in_progress" and bool(case.chain), "not_allowed", N_("只有链条申请中正在办理的办件可以视为同意")
    )
    require(case.decision is None, "not_allowed", N_("本部门已作出决定"))


def deemed_accept(a: Attempt) -> None:
    """Art. 32: the sweep accepts a submission nobody acted on within the completeness period."""
    require(a.case.state == "submitted", "not_allowed", N_("只有待受理的申请可以视为受理"))
    a.payload["first_step"] = steps_of(a.item)[0]["id"]


def complete_step(a: Attempt) -> None:
    case, item = a.case, a.item
    require(case.state == "in_progress", "not_allowed", N_("本件不在办理中"))
    require(not case.paused, "not_allowed", N_("本件暂停计时中（补正或特别程序），请先结束暂停"))
    step_id = a.payload.get("step")
    open_ = {s["id"]: s for s in open_steps(case, item)}
    require(
        step_id in open_,
        "not_allowed",
        N_("当前可办理的环节是 %(steps)s"),
        steps=", ".join(open_) or gettext("无"),
    )
    step = open_[str(step_id)]
    may_act(a.actor, step["role"], case)
    if fee_due(item) and step_id == assess_step(item):
        require(
            case.assessment is not None,
            "not_allowed",
            N_("请先核定收费（assess_fee）再完成本环节"),
        )
    if step_id == "decide" or step["role"] == "decider":
        require(case.decision is not None, "not_allowed", N_("请先作出决定（decide）"))
    if step_id == steps_of(item)[-1]["id"]:
        raise ActionRefused("not_allowed", N_("最后一个环节请用 complete 办结"))


def assess_fee(a: Attempt) -> None:
    case, item = a.case, a.item
    require(stated.fee_stated(item), "not_allowed", NO_FEE_STATED)
    require(case.state == "in_progress" and fee_due(item), "not_allowed", N_("本事项不收费或本件不在办理中"))
    may_act(a.actor, step_role(item, assess_step(item)), case)
    require(case.paid_fen is None, "not_allowed", N_("已缴费，不能重新核定"))


def record_payment(a: Attempt) -> None:
    """The exact-fee gate: a payment must equal the assessment to the fen, or it is refused and logged."""
    case, item, actor = a.case, a.item, a.actor
    require(stated.fee_stated(item), "not_allowed", NO_FEE_STATED)
    require(fee_due(item), "not_allowed", N_("本事项不收费"))
    require(case.assessment is not None, "not_allowed", N_("尚未核定收费"))
    require(case.paid_fen is None, "not_allowed", N_("已登记缴费"))
    require(actor.role != "applicant", "forbidden", N_("缴费由窗口登记"))
    own_department(actor, case)
    sent = a.payload.get("amount_fen")
    amount = sent if isinstance(sent, int) and not isinstance(sent, bool) else -1
    require(amount >= 0, "invalid", N_("amount_fen 须为以分计的整数"))
    total = int(case.assessment["total_fen"])  # type: ignore[index]
    if amount != total:
        raise FeeMismatch(
            _MORE if amount > total else _LESS,
            Event(
                "fee_anomaly",
                a.now,
                actor.username,
                actor.role,
                {"assessed_fen": total, "attempted_fen": amount, "note": str(a.payload.get("note", ""))},
            ),
            assessed=f"{total / 100:.2f}",
            paid=f"{amount / 100:.2f}",
            difference=f"{abs(amount - total) / 100:.2f}",
        )


def extend(a: Attempt) -> None:
    """Art. 42: one extension, with a reason, approved before the legal limit ends."""
    case, timing = a.case, a.timing
    require(case.state == "in_progress", "not_allowed", N_("本件不在办理中"))
    require(not case.extended, "not_allowed", N_("本件已延期一次，不能再次延期（行政许可法第四十二条）"))
    ext = extension_of(a.item)
    require(ext is not None, "not_allowed", N_("本事项不可延期"))
    may_act(a.actor, ext["approver_role"], case)  # type: ignore[index]
    if timing is not None and timing.legal is not None and a.now > timing.legal:
        words = N_(
            "法定办理期限已于%(due)s届满，不能再延长：延长须在法定期限内批准（行政许可法第四十二条）；"
            "超期已记录在案，请尽快作出决定"
        )
        raise ActionRefused("not_allowed", words, due=day_text(timing.legal))
    require(bool(a.text("reason")), "invalid", N_("延期须说明理由"))


def _special_procedure(a: Attempt, starting: bool) -> None:
    """Art. 45: a special procedure the item declares, started once and ended once, by PAUSE_ROLES."""
    case = a.case
    require(case.state == "in_progress", "not_allowed", N_("本件不在办理中"))
    kinds = {sp["kind"]: sp for sp in a.item.get("special_procedures", [])}
    kind = a.payload.get("kind")
    require(kind in kinds, "invalid", N_("本事项的特别程序：%(kinds)s"), kinds=", ".join(kinds) or gettext("无"))
    open_kinds = {q["kind"] for q in case.pauses if q["end"] is None}
    if starting:
        require(kind not in open_kinds, "not_allowed", N_("该特别程序已在进行"))
    else:
        require(kind in open_kinds, "not_allowed", N_("该特别程序没有在进行"))
    may_act(a.actor, PAUSE_ROLES, case)


def start_special_procedure(a: Attempt) -> None:
    _special_procedure(a, starting=True)


def end_special_procedure(a: Attempt) -> None:
    _special_procedure(a, starting=False)


def record_decision(a: Attempt) -> None:
    """The ``decide`` action: approve or deny (a denial with its reason) at the decider's step."""
    case, item = a.case, a.item
    require(case.state == "in_progress", "not_allowed", N_("本件不在办理中"))
    decide_step = next((s for s in steps_of(item) if s["role"] == "decider"), None)
    open_ids = {s["id"] for s in open_steps(case, item)}
    require(
        decide_step is None or decide_step["id"] in open_ids,
        "not_allowed",
        N_("尚未到批准环节"),
    )
    may_act(a.actor, decide_step["role"] if decide_step else "decider", case)
    outcome = a.payload.get("outcome")
    require(outcome in ("approve", "deny"), "invalid", N_("outcome 须为 approve 或 deny"))
    if outcome == "deny":
        require(bool(a.text("reason")), "invalid", N_("不予许可必须说明理由"))


def complete(a: Attempt) -> None:
    """The last step: every earlier step done, the decision recorded, and a granted fee paid exactly."""
    case, item = a.case, a.item
    require(case.state == "in_progress", "not_allowed", N_("本件不在办理中"))
    last = steps_of(item)[-1]
    open_ids = {s["id"] for s in open_steps(case, item)}
    require(last["id"] in open_ids, "not_allowed", N_("前面的环节尚未办完"))
    may_act(a.actor, last["role"], case)
    if last["id"] == "decide" or last["role"] == "decider":  # the decision is the last step's work
        require(case.decision is not None, "not_allowed", N_("请先作出决定（decide）"))
    if fee_due(item) and case.decision == "approve":
        require(
            case.assessment is not None and case.paid_fen == case.assessment["total_fen"],
            "not_allowed",
            N_("尚未足额缴费，不能办结"),
        )


def evaluate(a: Attempt) -> None:
    """The applicant rates the service once the case has ended."""
    case = a.case
    require(case.state in TERMINAL, "not_allowed", N_("办结后才能评价"))
    require(case.evaluation is None, "not_allowed", N_("本件已评价"))
    require(a.actor.role == "applicant", "forbidden", N_("评价由申请人作出"))
    require(a.payload.get("rating") in RATINGS, "invalid", N_("评价等级：%(ratings)s"), ratings="、".join(RATINGS))


#: action -> its check (``submit`` and ``fee_anomaly`` are recorded by the service, never decided here)
ACTIONS: dict[str, Callable[[Attempt], None]] = {
    "accept": accept,
    "refuse": refuse,
    "request_supplement": request_supplement,
    "supplement": supplement,
    "deemed_consent": deemed_consent,
    "deemed_accept": deemed_accept,
    "complete_step": complete_step,
    "assess_fee": assess_fee,
    "record_payment": record_payment,
    "extend": extend,
    "start_special_procedure": start_special_procedure,
    "end_special_procedure": end_special_procedure,
    "decide": record_decision,
    "complete": complete,
    "evaluate": evaluate,
}


def decide(
    case: Case,
    item: Mapping[str, Any],
    action: str,
    actor: Actor,
    payload: Mapping[str, Any],
    now: datetime,
    timing: Timing | None = None,
) -> Event:
    """Check one action against the rules and return the event that records it. ``timing`` carries
    the law's clocks (Art. 32 completeness period, Art. 42 legal limit); without it those rules
    cannot be applied, so every caller that records an action passes it."""
    if case.state in TERMINAL and action != "evaluate":
        ended = N_("本件已办结，不能再办理") if case.state == "completed" else N_("本件已不予受理，不能再办理")
        raise ActionRefused("not_allowed", ended)
    check = ACTIONS.get(action)
    if check is None:
        raise ActionRefused("invalid", N_("没有这个操作：%(action)s"), action=repr(action))
    p = dict(payload)
    check(Attempt(case, item, actor, p, now, timing))
    return Event(action, now, actor.username, actor.role, p)
