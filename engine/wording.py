"""The words applicants and staff read for the engine's states, actions and roles (Chinese;
the English catalogue translates them like every other string)."""

from __future__ import annotations

STATES = {
    "submitted": "待受理",
    "awaiting_supplement": "待补正材料",
    "in_progress": "办理中",
    "completed": "已办结",
    "refused": "不予受理",
}

ACTIONS = {
    "submit": "提交申请",
    "accept": "受理",
    "deemed_accept": "视为受理（5个工作日内未处理）",
    "refuse": "不予受理",
    "request_supplement": "一次性告知补正材料",
    "supplement": "补正材料",
    "complete_step": "完成环节",
    "assess_fee": "核定收费",
    "record_payment": "登记缴费",
    "fee_anomaly": "缴费金额不符（已拒收）",
    "extend": "延长办理期限",
    "start_special_procedure": "开始特别程序",
    "end_special_procedure": "结束特别程序",
    "decide": "作出决定",
    "complete": "办结",
    "evaluate": "评价",
}

ROLES = {
    "applicant": "申请人",
    "window": "窗口受理人员",
    "undertaker": "承办人",
    "reviewer": "审核人",
    "decider": "批准人（首席代表）",
    "issuer": "发证人员",
    "inspector": "现场核查人员",
    "head": "部门负责人",
    "supervisor": "监察人员",
    "admin": "系统管理员",
    "system": "系统",
}

SPECIAL_PROCEDURES = {
    "hearing": "听证",
    "tendering": "招标",
    "auction": "拍卖",
    "testing": "检验检测",
    "inspection": "检查",
    "quarantine": "检疫",
    "appraisal": "鉴定",
    "expert_review": "专家评审",
    "public_notice": "公示",
    "collective_decision": "集体讨论决定",
}

DECISIONS = {"approve": "准予许可", "deny": "不予许可"}


def state(value: str) -> str:
    return STATES.get(value, value)


def action(value: str) -> str:
    return ACTIONS.get(value, value)


def role(value: str) -> str:
    return ROLES.get(value, value)
