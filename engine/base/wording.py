"""The words applicants and staff read for the engine's states, actions and roles (Chinese;
the English catalogue translates them like every other string)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from engine.base.dates import TZ
from engine.base.i18n import N_, gettext

STATES = {
    "submitted": N_("待受理"),
    "awaiting_supplement": N_("待补正材料"),
    "in_progress": N_("办理中"),
    "completed": N_("已办结"),
    "refused": N_("不予受理"),
}

ACTIONS = {
    "submit": N_("提交申请"),
    "accept": N_("受理"),
    "deemed_accept": N_("视为受理（5个工作日内未处理）"),
    "refuse": N_("不予受理"),
    "request_supplement": N_("一次性告知补正材料"),
    "supplement": N_("补正材料"),
    "complete_step": N_("完成环节"),
    "assess_fee": N_("核定收费"),
    "record_payment": N_("登记缴费"),
    "fee_anomaly": N_("缴费金额不符（已拒收）"),
    "extend": N_("延长办理期限"),
    "start_special_procedure": N_("开始特别程序"),
    "end_special_procedure": N_("结束特别程序"),
    "decide": N_("作出决定"),
    "complete": N_("办结"),
    "evaluate": N_("评价"),
    "deemed_consent": N_("联审逾期未表态，视为同意"),
}

ROLES = {
    "applicant": N_("申请人"),
    "window": N_("窗口受理人员"),
    "undertaker": N_("承办人"),
    "reviewer": N_("审核人"),
    "decider": N_("批准人（首席代表）"),
    "issuer": N_("发证人员"),
    "inspector": N_("现场核查人员"),
    "head": N_("部门负责人"),
    "supervisor": N_("监察人员"),
    "admin": N_("系统管理员"),
    "frontdesk": N_("综合受理窗口"),
    "system": N_("系统"),
}

SPECIAL_PROCEDURES = {
    "hearing": N_("听证"),
    "tendering": N_("招标"),
    "auction": N_("拍卖"),
    "testing": N_("检验检测"),
    "inspection": N_("现场勘查"),
    "quarantine": N_("检疫"),
    "appraisal": N_("鉴定"),
    "expert_review": N_("专家评审"),
    "public_notice": N_("公示"),
    "collective_decision": N_("集体审议"),
}

DECISIONS = {"approve": N_("准予许可"), "deny": N_("不予许可")}


def state(value: str) -> str:
    return gettext(STATES[value]) if value in STATES else value


def action(value: str) -> str:
    return gettext(ACTIONS[value]) if value in ACTIONS else value


def role(value: str) -> str:
    return gettext(ROLES[value]) if value in ROLES else value


def special_procedure(value: str) -> str:
    return gettext(SPECIAL_PROCEDURES[value]) if value in SPECIAL_PROCEDURES else value


def decision(value: str | None) -> str:
    return gettext(DECISIONS[value]) if value in DECISIONS else ""


def yes_no(value: bool) -> str:
    """A boolean as a person reads it: 是 / 否 (Yes / No)."""
    return gettext("是") if value else gettext("否")


def step_names(steps: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Step id -> the name the item gives it (staff read names, never ids)."""
    return {str(s["id"]): str(s.get("name") or s["id"]) for s in steps}


def step_text(steps: Sequence[Mapping[str, Any]], value: str | None) -> str:
    """A stored step id — or several, comma-joined (parallel steps) — as the steps' names."""
    names = step_names(steps)
    return gettext("、").join(names.get(part, part) for part in (value or "").split(",") if part)


def next_steps(steps: Sequence[Mapping[str, Any]], step_id: str) -> list[Mapping[str, Any]]:
    """The steps that open once ``step_id`` (and any step parallel to it) is done: the next group,
    where a step with ``parallel_with`` joins the group of the step it names (as engine.rules.cases
    groups them); [] after the last."""
    groups: list[list[Mapping[str, Any]]] = []
    where: dict[str, int] = {}
    for step in steps:
        other = step.get("parallel_with")
        if other in where:
            where[str(step["id"])] = where[str(other)]
            groups[where[str(other)]].append(step)
        else:
            where[str(step["id"])] = len(groups)
            groups.append([step])
    at = where.get(step_id)
    return groups[at + 1] if at is not None and at + 1 < len(groups) else []


# ------------------------------------------------------------------------ times people read
# The ledger stores instants in UTC (engine.ledger.db.iso); a person reads them in the center's
# local time (China Standard Time, engine.base.dates.TZ: center.yaml names no other zone). Every
# page, document, CSV and API answer goes through these two functions — ``local_time`` is also
# the Jinja filter ``local`` (engine.web.app) — so 23:00 UTC is never shown as the day before.


def _instant(moment: datetime | str | None) -> datetime | None:
    if moment is None or moment == "":
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; stored instants are UTC with offset")
    return moment


def local_time(moment: datetime | str | None, seconds: bool = False) -> str:
    """A stored instant (aware datetime or its stored ISO text) as a person reads it: local date
    and time to the minute (``2026-12-07 07:00``), or to the second; "" for none."""
    instant = _instant(moment)
    if instant is None:
        return ""
    return instant.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def local_day(moment: datetime | str | None) -> str:
    """The local date of a stored instant (``2026-12-07``); "" for none."""
    instant = _instant(moment)
    return "" if instant is None else instant.astimezone(TZ).date().isoformat()


def iso_local(moment: datetime | date | str | None) -> str | None:
    """An instant for JSON and CSV: ISO 8601 in local time with its offset
    (``2026-12-07T07:00:00+08:00``); a plain date stays a date; None for none."""
    if isinstance(moment, date) and not isinstance(moment, datetime):
        return moment.isoformat()
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.isoformat()  # a wall-clock time of unknown zone: passed on, never guessed
    instant = _instant(moment)
    return None if instant is None else instant.astimezone(TZ).isoformat()
