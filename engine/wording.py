"""The words applicants and staff read for the engine's states, actions and roles (Chinese;
the English catalogue translates them like every other string)."""

from __future__ import annotations

from engine.i18n import gettext


def N_(message: str) -> str:
    """Mark a string for the translation catalogue; it is translated where it is shown."""
    return message


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
