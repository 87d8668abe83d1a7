"""The checks every action shares: who may act (role, AB backup, department), Art. 32's lapse, a condition.

Messages are the translation catalogue's (``N_``-marked Chinese; English in engine/locale/en): an
``ActionRefused`` says them in the language of the request it is raised in."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from engine.base.i18n import N_, gettext
from engine.rules.cases.law import completeness_lapsed
from engine.rules.cases.model import ActionRefused, Actor, Case, Timing

_CST = ZoneInfo("Asia/Shanghai")  # dates in messages are Beijing dates, like every deadline

#: Art. 32, after the completeness period: what refusing or asking for supplements is told, by action
LAPSED = {
    "refuse": N_(
        "收到申请材料后的受理审查期限已于%(due)s届满，其间未一次告知补正、也未作出不予受理决定；依照行政许可法"
        "第三十二条，自收到申请材料之日起即为受理，不能再不予受理。请办理“受理”（受理日期为收到申请之日），"
        "材料的问题在审查中依法处理，不符合条件的作出不予许可决定并说明理由"
    ),
    "request_supplement": N_(
        "收到申请材料后的受理审查期限已于%(due)s届满，其间未一次告知补正、也未作出不予受理决定；依照行政许可法"
        "第三十二条，自收到申请材料之日起即为受理，不能再要求补正。请办理“受理”（受理日期为收到申请之日），"
        "材料的问题在审查中依法处理，不符合条件的作出不予许可决定并说明理由"
    ),
}


def may_act(actor: Actor, role: str | tuple[str, ...], case: Case) -> None:
    """The action needs one of ``role`` (own, or stood in for as AB backup) in the case's department."""
    roles = (role,) if isinstance(role, str) else role
    if actor.role == "frontdesk" and case.chain and "window" in roles:
        return  # 统一受理: the center's front desk accepts a chain's cases for every department
    if actor.role in roles or actor.backup_role in roles:
        own_department(actor, case)
        return
    words = N_("此操作须由角色 %(roles)s 办理，你的角色是 %(role)s")
    raise ActionRefused("forbidden", words, roles=gettext("、").join(roles), role=actor.role)


def own_department(actor: Actor, case: Case) -> None:
    if actor.department != case.department:  # staff without a department act for none
        raise ActionRefused("forbidden", N_("只有%(department)s部门的人员可以办理本件"), department=case.department)


def refuse_if_lapsed(case: Case, timing: Timing | None, now: datetime, action: str) -> None:
    """Art. 32: once the completeness period has passed unanswered, ``action`` (refuse, request_supplement)
    is too late — the application counts as accepted from receipt."""
    if completeness_lapsed(case, timing, now):
        assert timing is not None and timing.completeness is not None  # completeness_lapsed says so
        raise ActionRefused("not_allowed", LAPSED[action], due=day_text(timing.completeness))


def day_text(moment: datetime) -> str:
    """The Beijing date of ``moment`` as a message says it, in the request's language."""
    day = moment.astimezone(_CST)
    return gettext("%(year)s年%(month)s月%(day)s日") % {"year": day.year, "month": day.month, "day": day.day}


def require(cond: bool, code: str, words: str, **params: object) -> None:
    """Refuse with ``code`` and the catalogue's ``words`` (filled with ``params``) unless ``cond`` holds."""
    if not cond:
        raise ActionRefused(code, words, **params)
