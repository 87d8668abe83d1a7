"""The case state machine: what may happen next, decided by the item's YAML alone.

Pure logic, no storage: ``decide(case, item, action, actor, payload, now)`` checks an
action and returns the event to record (or raises ``ActionRefused``);
``apply(case, event)`` folds an event into the state. A case's state is therefore
always ``fold(events)`` — the store keeps both and a test proves they agree.

States::

    submitted ──accept──────────────▶ in_progress ──steps…──▶ decided ──complete──▶ completed
        │  ├──refuse──▶ refused                      (decide: approve | deny)
        │  └──request_supplement──▶ awaiting_supplement ──supplement──▶ submitted
        └──(5 working days, nobody acted: Art. 32)──▶ in_progress, deemed accepted on receipt

Administrative Licensing Law rules enforced here: one supplement list per submission
(Art. 32), deemed acceptance after the completeness period (Art. 32), one extension
with a reason by the approving role (Art. 42), special procedures that pause the clock
(Art. 45), and the exact-fee gate (a payment must equal the assessment to the fen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.base import stated

_CST = ZoneInfo("Asia/Shanghai")  # dates in messages are Beijing dates, like every deadline

STANDARD_STEPS: tuple[dict[str, Any], ...] = (
    {"id": "accept", "name": "受理", "role": "window"},
    {"id": "undertake", "name": "承办", "role": "undertaker"},
    {"id": "review", "name": "审核", "role": "reviewer"},
    {"id": "decide", "name": "批准", "role": "decider"},
    {"id": "complete", "name": "办结", "role": "window"},
)
RATINGS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
BAD_RATINGS = ("不满意", "非常不满意")  # each opens a follow-up the department must answer
RATING_SCORE = {"非常满意": 100, "满意": 75, "基本满意": 50, "不满意": 25, "非常不满意": 0}  # for rankings
TERMINAL = ("refused", "completed")


@dataclass(frozen=True, slots=True)
class Timing:
    """The law's clocks as they stand for this case now, computed by the caller from the working-day
    calendar (this module knows no calendar): what Art. 32 and Art. 42 decisions depend on."""

    #: the end of the Art. 32 completeness period of this submission (None: unknown or not running)
    completeness: datetime | None = None
    #: the legal limit as extended and shifted by pauses (None: unknown, or suspended by a pause)
    legal: datetime | None = None


def completeness_lapsed(case: Case, timing: Timing | None, now: datetime) -> bool:
    """Art. 32: the completeness period passed with no one-time supplement notice and no refusal, so
    the application is accepted as of the day the materials were received — whatever staff or the
    sweep do afterwards, and whenever they do it."""
    return (
        case.state == "submitted"
        and not case.supplement_requested
        and timing is not None
        and timing.completeness is not None
        and now > timing.completeness
    )


LAPSED = (
    "收到申请材料后的受理审查期限已于{due}届满，其间未一次告知补正、也未作出不予受理决定；依照行政许可法"
    "第三十二条，自收到申请材料之日起即为受理，不能再{what}。请办理“受理”（受理日期为收到申请之日），材料的问题在审查中"
    "依法处理，不符合条件的作出不予许可决定并说明理由 / the completeness period of Art. 32 has passed: the application "
    "counts as accepted from receipt; accept it and deal with the materials in the review"
)


class ActionRefused(Exception):
    """An action the rules do not allow now; ``code`` maps to an HTTP status, ``message`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # forbidden | invalid | conflict | not_allowed
        self.message = message


class FeeMismatch(ActionRefused):
    """A payment that differs from the assessment: refused, and ``record`` is logged as a fee anomaly."""

    def __init__(self, message: str, record: Event) -> None:
        super().__init__("invalid", message)
        self.record = record


@dataclass(frozen=True, slots=True)
class Actor:
    username: str
    role: str  # applicant, window, undertaker, reviewer, decider, issuer, inspector, head, supervisor
    department: str | None = None
    #: AB角: the role this person stands in for (their own role otherwise)
    backup_role: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    action: str
    at: datetime
    actor: str
    role: str
    payload: dict[str, Any]


@dataclass(slots=True)
class Case:
    number: str
    item_code: str
    department: str
    state: str = "submitted"
    received_at: datetime | None = None
    accepted_at: datetime | None = None
    deemed_accepted: bool = False
    supplement_requested: bool = False  # the one-time notice was given for this submission
    missing: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[dict[str, Any]] = field(default_factory=list)  # {kind, start, end, name}
    done_steps: list[str] = field(default_factory=list)
    step_started: dict[str, datetime] = field(default_factory=dict)
    extended: bool = False
    extension: dict[str, Any] | None = None
    assessment: dict[str, Any] | None = None  # {total_fen, lines, ...}
    paid_fen: int | None = None
    decision: str | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None  # the decision (Art. 44: a granted licence is delivered within 10 days)
    ended_at: datetime | None = None  # completion or refusal
    rated_at: datetime | None = None
    chain: str | None = None  # the chain application this case was filed for
    deemed_consent: bool = False  # joint review: silent past the shared deadline (视为同意)
    evaluation: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    uploads: dict[str, list[str]] = field(default_factory=dict)
    refusal_reason: str | None = None
    fee_anomalies: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0

    @property
    def paused(self) -> bool:
        return any(p["end"] is None for p in self.pauses)


# item mapping id -> (the item, its steps, its groups); the item is kept so an id is never reused
_PLANS: dict[int, tuple[Mapping[str, Any], list[dict[str, Any]], list[list[dict[str, Any]]]]] = {}


def _plan(item: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """The item's steps and their groups, worked out once per item mapping (callers only read them:
    an item is never edited in place; a changed item is a new mapping under a new catalogue version)."""
    hit = _PLANS.get(id(item))
    if hit is not None and hit[0] is item:
        return hit[1], hit[2]
    raw = item.get("steps", "standard")
    steps = [dict(s) for s in (STANDARD_STEPS if raw == "standard" else raw)]
    groups: list[list[dict[str, Any]]] = []
    where: dict[str, int] = {}
    for step in steps:  # a step with ``parallel_with`` joins the group of the step it names
        other = step.get("parallel_with")
        if other in where:
            groups[where[other]].append(step)
            where[step["id"]] = where[other]
        else:
            where[step["id"]] = len(groups)
            groups.append([step])
    if len(_PLANS) > 10_000:
        _PLANS.clear()
    _PLANS[id(item)] = (item, steps, groups)
    return steps, groups


def steps_of(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The item's steps in order (shared: read, do not modify)."""
    return _plan(item)[0]


def _groups(item: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    """Steps in order, where a step with ``parallel_with`` joins the group of the step it names."""
    return _plan(item)[1]


def open_steps(case: Case, item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The steps that may be worked now: the first group with unfinished steps (parallel steps together)."""
    if case.state != "in_progress":
        return []
    for group in _groups(item):
        todo = [s for s in group if s["id"] not in case.done_steps]
        if todo:
            return todo
    return []


NO_FEE_STATED = (
    "本事项的办事指南未说明收费情况，不能核定或收取费用 / the item's published guide does not state its fee: "
    "no fee can be assessed or collected"
)


def fee_due(item: Mapping[str, Any]) -> bool:
    """Whether the item charges by a fee schedule (never when its fee is not stated)."""
    fee = item.get("fee")
    return isinstance(fee, Mapping) and "schedule" in fee


def assess_step(item: Mapping[str, Any]) -> str:
    fee = item.get("fee")
    return str(fee.get("assess_at", "decide")) if isinstance(fee, Mapping) else "decide"


#: Art. 45 special procedures (hearing, testing, expert review, …) stop the legal clock: started and
#: ended by the staff of the case's department who examine the application and decide on it, and
#: their head — not by reception (window, front desk), the issuer, or anyone outside the department
PAUSE_ROLES: tuple[str, ...] = ("undertaker", "reviewer", "decider", "inspector", "head")


def _may_act(actor: Actor, role: str | tuple[str, ...], case: Case) -> None:
    """The action needs one of ``role`` (own, or stood in for as AB backup) in the case's department."""
    roles = (role,) if isinstance(role, str) else role
    if actor.role == "frontdesk" and case.chain and "window" in roles:
        return  # 统一受理: the center's front desk accepts a chain's cases for every department
    if actor.role in roles or actor.backup_role in roles:
        _own_department(actor, case)
        return
    raise ActionRefused(
        "forbidden",
        f"此操作须由角色 {'、'.join(roles)} 办理，你的角色是 {actor.role} / "
        f"this action needs role {' or '.join(repr(r) for r in roles)}, you have {actor.role!r}",
    )


def _own_department(actor: Actor, case: Case) -> None:
    if actor.department != case.department:  # staff without a department act for none
        raise ActionRefused(
            "forbidden",
            f"只有{case.department}部门的人员可以办理本件 / only staff of "
            f"department {case.department!r} may act on this case",
        )


def _lapsed(case: Case, timing: Timing | None, now: datetime, what: str) -> None:
    if completeness_lapsed(case, timing, now):
        due = timing.completeness if timing else None
        day = due.astimezone(_CST) if due else None
        when = f"{day.year}年{day.month}月{day.day}日" if day else "此前"
        raise ActionRefused("not_allowed", LAPSED.format(due=when, what=what))


def _require(cond: bool, code: str, message: str) -> None:
    if not cond:
        raise ActionRefused(code, message)


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
    p = dict(payload)
    ev = Event(action, now, actor.username, actor.role, p)
    if case.state in TERMINAL and action != "evaluate":
        raise ActionRefused(
            "not_allowed",
            f"本件已{'办结' if case.state == 'completed' else '不予受理'}，不能再办理 / the case is {case.state}",
        )
    if action == "accept":
        _require(case.state == "submitted", "not_allowed", f"只有待受理的申请可以受理 / case is {case.state}")
        _may_act(actor, steps_of(item)[0]["role"], case)
        p["first_step"] = steps_of(item)[0]["id"]  # acceptance is the first step's work
        if completeness_lapsed(case, timing, now):
            p["as_of_receipt"] = True  # Art. 32: accepted from receipt, not from the click
        return ev
    if action == "refuse":
        _require(
            case.state in ("submitted", "awaiting_supplement"),
            "not_allowed",
            f"只有待受理的申请可以不予受理 / case is {case.state}",
        )
        _may_act(actor, steps_of(item)[0]["role"], case)
        _lapsed(case, timing, now, "不予受理")
        _require(bool(str(p.get("reason", "")).strip()), "invalid", "不予受理必须说明理由 / a refusal needs a reason")
        return ev
    if action == "request_supplement":
        _require(case.state == "submitted", "not_allowed", f"只有待受理的申请可以要求补正 / case is {case.state}")
        _may_act(actor, steps_of(item)[0]["role"], case)
        _lapsed(case, timing, now, "要求补正")
        _require(
            not case.supplement_requested,
            "not_allowed",
            "本次申请已经一次性告知过补正材料，不能再次要求补正；请受理或不予受理（行政许可法第三十二条）/ "
            "the one-time supplement notice was already given for this submission (Art. 32)",
        )
        missing = p.get("missing")
        _require(
            isinstance(missing, list) and len(missing) > 0,
            "invalid",
            "补正告知须一次列明全部缺少或不符合要求的材料 / list every missing or defective material at once",
        )
        known = {m["id"] for m in stated.materials(item)}
        for m in missing:  # type: ignore[union-attr]
            _require(
                isinstance(m, Mapping) and m.get("material") in known and bool(m.get("reason")),
                "invalid",
                f"补正项须写明材料（{', '.join(sorted(known))} 之一）和原因 / each entry needs a material id "
                "and a reason",
            )
        return ev
    if action == "supplement":
        _require(case.state == "awaiting_supplement", "not_allowed", f"本件没有待补正的材料 / case is {case.state}")
        if actor.role != "applicant":  # the window may hand in what the applicant brought, for its own cases
            _may_act(actor, steps_of(item)[0]["role"], case)
        return ev
    if action == "deemed_consent":  # joint review: a department silent past the shared deadline
        _require(actor.role == "system", "forbidden", "only the engine's timed rules record a deemed consent")
        _require(case.state == "in_progress" and bool(case.chain), "not_allowed", "only a chain's running case")
        _require(case.decision is None, "not_allowed", "the department has already decided")
        return ev
    if action == "deemed_accept":
        _require(case.state == "submitted", "not_allowed", "only a waiting submission can be deemed accepted")
        p["first_step"] = steps_of(item)[0]["id"]
        return ev
    if action == "complete_step":
        _require(case.state == "in_progress", "not_allowed", f"本件不在办理中 / case is {case.state}")
        _require(not case.paused, "not_allowed", "本件暂停计时中（补正或特别程序），请先结束暂停 / the case is paused")
        step_id = p.get("step")
        open_ = {s["id"]: s for s in open_steps(case, item)}
        _require(
            step_id in open_,
            "not_allowed",
            f"当前可办理的环节是 {', '.join(open_) or '无'} / open steps: {', '.join(open_) or 'none'}",
        )
        step = open_[str(step_id)]
        _may_act(actor, step["role"], case)
        if fee_due(item) and step_id == assess_step(item):
            _require(
                case.assessment is not None,
                "not_allowed",
                "请先核定收费（assess_fee）再完成本环节 / assess the fee before completing this step",
            )
        if step_id == "decide" or step["role"] == "decider":
            _require(case.decision is not None, "not_allowed", "请先作出决定（decide）/ record the decision first")
        if step_id == steps_of(item)[-1]["id"]:
            raise ActionRefused("not_allowed", "最后一个环节请用 complete 办结 / use the complete action")
        return ev
    if action == "assess_fee":
        _require(stated.fee_stated(item), "not_allowed", NO_FEE_STATED)
        _require(case.state == "in_progress" and fee_due(item), "not_allowed", "本事项不收费或本件不在办理中")
        _may_act(actor, _step_role(item, assess_step(item)), case)
        _require(case.paid_fen is None, "not_allowed", "已缴费，不能重新核定 / already paid")
        return ev
    if action == "record_payment":
        _require(stated.fee_stated(item), "not_allowed", NO_FEE_STATED)
        _require(fee_due(item), "not_allowed", "本事项不收费 / this item charges no fee")
        _require(case.assessment is not None, "not_allowed", "尚未核定收费 / the fee has not been assessed")
        _require(case.paid_fen is None, "not_allowed", "已登记缴费 / payment already recorded")
        _require(actor.role != "applicant", "forbidden", "缴费由窗口登记 / staff record payments")
        _own_department(actor, case)
        amount = p.get("amount_fen")
        _require(
            isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0,
            "invalid",
            "amount_fen 须为以分计的整数 / amount_fen must be an integer number of fen",
        )
        total = int(case.assessment["total_fen"])  # type: ignore[index]
        if amount != total:
            word = "多" if amount > total else "少"  # type: ignore[operator]
            raise FeeMismatch(
                f"缴费金额与核定金额不符：核定 {total / 100:.2f} 元，登记 {amount / 100:.2f} 元（{word}"  # type: ignore[operator]
                f" {abs(amount - total) / 100:.2f} 元）；须按核定金额足额缴纳，减免只能按收费标准的减免规则核定 / "  # type: ignore[operator]
                "the payment must equal the assessment to the fen",
                Event(
                    "fee_anomaly",
                    now,
                    actor.username,
                    actor.role,
                    {"assessed_fen": total, "attempted_fen": amount, "note": str(p.get("note", ""))},
                ),
            )
        return ev
    if action == "extend":
        _require(case.state == "in_progress", "not_allowed", f"本件不在办理中 / case is {case.state}")
        _require(
            not case.extended, "not_allowed", "本件已延期一次，不能再次延期（行政许可法第四十二条）/ one extension only"
        )
        ext = extension_of(item)
        _require(ext is not None, "not_allowed", "本事项不可延期 / this item allows no extension")
        _may_act(actor, ext["approver_role"], case)  # type: ignore[index]
        if timing is not None and timing.legal is not None and now > timing.legal:
            day = timing.legal.astimezone(_CST)
            raise ActionRefused(
                "not_allowed",
                f"法定办理期限已于{day.year}年{day.month}月{day.day}日届满，不能再延长：延长须在法定期限内批准"
                "（行政许可法第四十二条）；超期已记录在案，请尽快作出决定 / the legal limit has expired: an extension "
                "must be approved before it ends",
            )
        _require(bool(str(p.get("reason", "")).strip()), "invalid", "延期须说明理由 / an extension needs a reason")
        return ev
    if action in ("start_special_procedure", "end_special_procedure"):
        _require(case.state == "in_progress", "not_allowed", f"本件不在办理中 / case is {case.state}")
        kinds = {sp["kind"]: sp for sp in item.get("special_procedures", [])}
        kind = p.get("kind")
        _require(
            kind in kinds, "invalid", f"本事项的特别程序：{', '.join(kinds) or '无'} / declared: {', '.join(kinds)}"
        )
        open_kinds = {q["kind"] for q in case.pauses if q["end"] is None}
        if action == "start_special_procedure":
            _require(kind not in open_kinds, "not_allowed", "该特别程序已在进行 / already running")
        else:
            _require(kind in open_kinds, "not_allowed", "该特别程序没有在进行 / not running")
        _may_act(actor, PAUSE_ROLES, case)
        return ev
    if action == "decide":
        _require(case.state == "in_progress", "not_allowed", f"本件不在办理中 / case is {case.state}")
        decide_step = next((s for s in steps_of(item) if s["role"] == "decider"), None)
        open_ids = {s["id"] for s in open_steps(case, item)}
        _require(
            decide_step is None or decide_step["id"] in open_ids,
            "not_allowed",
            "尚未到批准环节 / the decision step is not open yet",
        )
        _may_act(actor, decide_step["role"] if decide_step else "decider", case)
        _require(p.get("outcome") in ("approve", "deny"), "invalid", "outcome 须为 approve 或 deny")
        if p.get("outcome") == "deny":
            _require(
                bool(str(p.get("reason", "")).strip()), "invalid", "不予许可必须说明理由 / a denial needs a reason"
            )
        return ev
    if action == "complete":
        _require(case.state == "in_progress", "not_allowed", f"本件不在办理中 / case is {case.state}")
        last = steps_of(item)[-1]
        open_ids = {s["id"] for s in open_steps(case, item)}
        _require(last["id"] in open_ids, "not_allowed", "前面的环节尚未办完 / earlier steps are not finished")
        _may_act(actor, last["role"], case)
        if last["id"] == "decide" or last["role"] == "decider":  # the decision is the last step's work
            _require(case.decision is not None, "not_allowed", "请先作出决定（decide）/ record the decision first")
        if fee_due(item) and case.decision == "approve":
            _require(
                case.assessment is not None and case.paid_fen == case.assessment["total_fen"],
                "not_allowed",
                "尚未足额缴费，不能办结 / the exact fee has not been paid",
            )
        return ev
    if action == "evaluate":
        _require(case.state in TERMINAL, "not_allowed", "办结后才能评价 / rate the service once the case ends")
        _require(case.evaluation is None, "not_allowed", "本件已评价 / already rated")
        _require(actor.role == "applicant", "forbidden", "评价由申请人作出 / the applicant rates the service")
        _require(p.get("rating") in RATINGS, "invalid", f"评价等级：{'、'.join(RATINGS)}")
        return ev
    raise ActionRefused("invalid", f"unknown action {action!r}")


#: Art. 42 para. 1: the head of the authority may extend a licence decision once by 10 days; para. 2:
#: unified, joint or centralised handling (an item with joint-handling departments) once by 15 days,
#: approved by the head of the people's government at the same level. Art. 82: working days.
LAW_EXTENSION: dict[str, Any] = {
    "limit": {"value": 10, "unit": "working_day"},
    "approver_role": "head",
    "basis": [{"law": "中华人民共和国行政许可法", "article": "第四十二条第一款"}],
    "by_law": True,
}
LAW_EXTENSION_JOINT: dict[str, Any] = {
    "limit": {"value": 15, "unit": "working_day"},
    "approver_role": "head",
    "basis": [{"law": "中华人民共和国行政许可法", "article": "第四十二条第二款"}],
    "by_law": True,
    "joint": True,
}


def extension_of(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The one extension this item allows (limit, approver_role, basis), or None.

    A licence (``type: license``) has the law's extension unless its YAML says otherwise with a
    basis (``extension: {allowed: false, basis}`` or another limit): other laws and regulations may
    set other rules (Art. 42: 法律、法规另有规定的，依照其规定). A licence decided on the spot (legal
    limit 0) has none: Art. 42 excepts it. Other item types have an extension only when their YAML
    gives one."""
    tl = item.get("time_limit", {})
    written = tl.get("extension")
    if isinstance(written, Mapping):
        if written.get("allowed", True) is False:
            return None
        if "limit" in written:
            return {"approver_role": "head", **written, "by_law": False}
    if item.get("type") != "license" or not tl.get("legal", {}).get("value"):
        return None
    base = LAW_EXTENSION_JOINT if item.get("joint_departments") else LAW_EXTENSION
    if isinstance(written, Mapping):  # e.g. only another approver role, or a note
        return {**base, **{k: v for k, v in written.items() if k != "allowed"}}
    return dict(base)


#: Art. 44: 行政机关作出准予行政许可的决定，应当自作出决定之日起十日内向申请人颁发、送达行政许可证件
#: (working days, Art. 82).
DELIVERY_LIMIT: dict[str, Any] = {"value": 10, "unit": "working_day"}


def delivery_running(case: Case, item: Mapping[str, Any]) -> bool:
    """Art. 44's clock runs from a decision to grant a licence until the case is completed (the
    licence issued or delivered)."""
    return (
        item.get("type") == "license"
        and case.decision == "approve"
        and case.decided_at is not None
        and case.state == "in_progress"
    )


def _step_role(item: Mapping[str, Any], step_id: str) -> str:
    for s in steps_of(item):
        if s["id"] == step_id:
            return str(s["role"])
    return "decider"


def apply(case: Case, event: Event) -> Case:
    """Fold one recorded event into the state (no checks: events are facts)."""
    c = replace(
        case,
        done_steps=list(case.done_steps),
        pauses=[dict(p) for p in case.pauses],
        step_started=dict(case.step_started),
        fee_anomalies=list(case.fee_anomalies),
        version=case.version + 1,
    )
    a, p, at = event.action, event.payload, event.at
    if a == "submit":
        c.state, c.received_at = "submitted", at
        c.data, c.uploads = dict(p.get("data", {})), {k: list(v) for k, v in p.get("uploads", {}).items()}
        c.chain = p.get("chain")
    elif a in ("accept", "deemed_accept"):
        c.state = "in_progress"
        # Art. 32: after the completeness period an application is accepted from receipt, whether the
        # sweep (deemed_accept) or a member of staff (accept, as_of_receipt) records it
        c.deemed_accepted = a == "deemed_accept" or bool(p.get("as_of_receipt"))
        c.accepted_at = c.received_at if c.deemed_accepted else at
        first = p.get("first_step")
        if first:
            c.done_steps.append(first)
    elif a == "deemed_consent":  # the department's part ends here: the joint decision is its result
        c.decision, c.deemed_consent = "approve", True
        c.state, c.ended_at = "completed", at
    elif a == "refuse":
        c.state, c.refusal_reason, c.ended_at = "refused", p.get("reason"), at
    elif a == "request_supplement":
        c.state, c.supplement_requested = "awaiting_supplement", True
        c.missing = list(p.get("missing", []))
        c.pauses.append({"kind": "supplement", "start": at, "end": None})
    elif a == "supplement":
        c.state = "submitted"
        for k, v in p.get("uploads", {}).items():
            c.uploads.setdefault(k, []).extend(v)
        if p.get("data"):  # corrected form data, validated as a whole by the service
            c.data = dict(p["data"])
        c.missing = []
        _close(c, "supplement", at)
    elif a == "complete_step":
        c.done_steps.append(p["step"])
    elif a == "assess_fee":
        c.assessment = dict(p["assessment"])
    elif a == "record_payment":
        c.paid_fen = int(p["amount_fen"])
    elif a == "extend":
        c.extended, c.extension = True, dict(p)
    elif a == "start_special_procedure":
        c.pauses.append({"kind": p["kind"], "start": at, "end": None})
    elif a == "end_special_procedure":
        _close(c, p["kind"], at)
    elif a == "decide":
        c.decision, c.decision_reason, c.decided_at = p["outcome"], p.get("reason"), at
    elif a == "complete":
        c.state, c.ended_at = "completed", at
        c.done_steps.append(p.get("step", "complete"))
    elif a == "fee_anomaly":
        c.fee_anomalies.append(dict(p))
    elif a == "evaluate":
        c.evaluation, c.rated_at = {"rating": p["rating"], "comment": p.get("comment", "")}, at
    return c


def _close(c: Case, kind: str, at: datetime) -> None:
    for pause in c.pauses:
        if pause["kind"] == kind and pause["end"] is None:
            pause["end"] = at
