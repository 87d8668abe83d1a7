"""The checks every action shares: who may act (role, AB backup, department), Art. 32's lapse, a condition."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from engine.rules.cases.law import completeness_lapsed
from engine.rules.cases.model import ActionRefused, Actor, Case, Timing

_CST = ZoneInfo("Asia/Shanghai")  # dates in messages are Beijing dates, like every deadline

LAPSED = (
    "收到申请材料后的受理审查期限已于{due}届满，其间未一次告知补正、也未作出不予受理决定；依照行政许可法"
    "第三十二条，自收到申请材料之日起即为受理，不能再{what}。请办理“受理”（受理日期为收到申请之日），材料的问题在审查中"
    "依法处理，不符合条件的作出不予许可决定并说明理由 / the completeness period of Art. 32 has passed: the application "
    "counts as accepted from receipt; accept it and deal with the materials in the review"
)


def may_act(actor: Actor, role: str | tuple[str, ...], case: Case) -> None:
    """The action needs one of ``role`` (own, or stood in for as AB backup) in the case's department."""
    roles = (role,) if isinstance(role, str) else role
    if actor.role == "frontdesk" and case.chain and "window" in roles:
        return  # 统一受理: the center's front desk accepts a chain's cases for every department
    if actor.role in roles or actor.backup_role in roles:
        own_department(actor, case)
        return
    raise ActionRefused(
        "forbidden",
        f"此操作须由角色 {'、'.join(roles)} 办理，你的角色是 {actor.role} / "
        f"this action needs role {' or '.join(repr(r) for r in roles)}, you have {actor.role!r}",
    )


def own_department(actor: Actor, case: Case) -> None:
    if actor.department != case.department:  # staff without a department act for none
        raise ActionRefused(
            "forbidden",
            f"只有{case.department}部门的人员可以办理本件 / only staff of "
            f"department {case.department!r} may act on this case",
        )


def refuse_if_lapsed(case: Case, timing: Timing | None, now: datetime, what: str) -> None:
    if completeness_lapsed(case, timing, now):
        due = timing.completeness if timing else None
        when = day_text(due) if due else "此前"
        raise ActionRefused("not_allowed", LAPSED.format(due=when, what=what))


def day_text(moment: datetime) -> str:
    """The Beijing date of ``moment`` as a message says it."""
    day = moment.astimezone(_CST)
    return f"{day.year}年{day.month}月{day.day}日"


def require(cond: bool, code: str, message: str) -> None:
    if not cond:
        raise ActionRefused(code, message)
