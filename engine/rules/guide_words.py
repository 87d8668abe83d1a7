"""The words a published guide (办事指南) uses for the item schema's codes: item types, levels, time
units, applicants, states, handling forms, the basis headings, online depth, material sources,
the standard steps, roles and special procedures; a duration and a legal basis in words. Shared by
the one-time notice, the documents, the flowchart and ``yangguang diff``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.base.wording import N_

TYPE_NAMES = {
    "license": "行政许可",
    "confirmation": "行政确认",
    "payment": "行政给付",
    "ruling": "行政裁决",
    "reward": "行政奖励",
    "filing": "备案",
    "other_power": "其他行政权力",
    "public_service": "公共服务",
}
LEVEL_NAMES = {
    "national": "国家级",
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "乡镇级",
    "village": "村（社区）级",
}
UNIT_NAMES = {"working_day": "个工作日", "natural_day": "个自然日", "minute": "分钟"}
APPLICANT_NAMES = {"natural_person": "自然人", "legal_person": "法人及其他组织"}
SERVICE_OBJECT_NAMES = {
    "natural_person": "自然人",
    "enterprise_legal_person": "企业法人",
    "public_institution": "事业单位法人",
    "social_organisation": "社会组织法人",
    "unincorporated_enterprise": "非法人企业",
    "individual_business": "个体工商户",
    "government_agency": "机关",
    "other_organisation": "其他组织",
}
STATE_NAMES = {"in_use": "在用", "suspended": "暂停", "cancelled": "取消"}
NATURE_NAMES = {
    "statutory_authority": "法定机关",
    "authorised_organisation": "法律法规授权组织",
    "entrusted_organisation": "受委托组织",
}
HANDLING_FORM_NAMES = {"window": "窗口办理", "online": "网上办理", "courier": "快递申请"}
#: the basis kinds, each printed under its own heading, in this order
BASIS_HEADINGS = (
    ("basis", N_("设定依据")),
    ("implementation_basis", N_("实施依据")),
    ("handling_basis", N_("办理依据")),
    ("conditions_basis", N_("受理条件依据")),
)
NOT_STATED_TEXT = "未说明"
ASK = "请向窗口咨询"
ONLINE_DEPTH = {0: "不支持网上办理", 1: "网上咨询查询", 2: "网上预审（下载表格）", 3: "网上受理", 4: "全程网办"}
SOURCE_NAMES = {"applicant": "申请人自备", "government": "政府部门核发", "intermediary": "中介机构", "other": "其他"}
STEP_NAMES = {"accept": "受理", "undertake": "承办", "review": "审核", "decide": "批准", "complete": "办结"}
ROLE_NAMES = {
    "window": "窗口受理人员",
    "undertaker": "承办人",
    "reviewer": "审核人",
    "decider": "批准人",
    "issuer": "发证人员",
    "inspector": "现场核查人员",
    "head": "部门负责人",
}
PROCEDURE_NAMES = {
    "hearing": "听证",
    "tendering": "招标",
    "auction": "拍卖",
    "testing": "检验检测",
    "inspection": "现场勘查",
    "quarantine": "检疫",
    "appraisal": "鉴定",
    "expert_review": "专家评审",
    "public_notice": "公示",
    "collective_decision": "集体审议",
}


def duration_text(d: Mapping[str, Any]) -> str:
    return f"{d['value']}{UNIT_NAMES[d['unit']]}"


def basis_text(refs: list[Mapping[str, Any]]) -> str:
    return "；".join(
        f"《{r['law'].strip('《》')}》{r['article']}" if not r["law"].startswith("《") else f"{r['law']}{r['article']}"
        for r in refs
    )
