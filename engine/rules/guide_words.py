"""The words a published guide (办事指南) uses for the item schema's codes: item types, levels, time
units, applicants, states, handling forms, the basis headings, online depth, material sources,
the standard steps, roles and special procedures; a duration and a legal basis in words. Shared by
the one-time notice, the documents, the flowchart and ``yangguang diff``. The tables hold the
Chinese, marked for the translation catalogue; where they are shown they are translated (gettext)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.base import wording
from engine.base.i18n import N_, gettext, ngettext

TYPE_NAMES = {
    "license": N_("行政许可"),
    "confirmation": N_("行政确认"),
    "payment": N_("行政给付"),
    "ruling": N_("行政裁决"),
    "reward": N_("行政奖励"),
    "filing": N_("备案"),
    "other_power": N_("其他行政权力"),
    "public_service": N_("公共服务"),
}
LEVEL_NAMES = {
    "national": N_("国家级"),
    "province": N_("省级"),
    "city": N_("市级"),
    "county": N_("县级"),
    "township": N_("乡镇级"),
    "village": N_("村（社区）级"),
}
UNIT_NAMES = {"working_day": "个工作日", "natural_day": "个自然日", "minute": "分钟"}  # the change notice's (Chinese)
APPLICANT_NAMES = {"natural_person": N_("自然人"), "legal_person": N_("法人及其他组织")}
SERVICE_OBJECT_NAMES = {
    "natural_person": N_("自然人"),
    "enterprise_legal_person": N_("企业法人"),
    "public_institution": N_("事业单位法人"),
    "social_organisation": N_("社会组织法人"),
    "unincorporated_enterprise": N_("非法人企业"),
    "individual_business": N_("个体工商户"),
    "government_agency": N_("机关"),
    "other_organisation": N_("其他组织"),
}
STATE_NAMES = {"in_use": N_("在用"), "suspended": N_("暂停"), "cancelled": N_("取消")}
NATURE_NAMES = {
    "statutory_authority": N_("法定机关"),
    "authorised_organisation": N_("法律法规授权组织"),
    "entrusted_organisation": N_("受委托组织"),
}
HANDLING_FORM_NAMES = {"window": N_("窗口办理"), "online": N_("网上办理"), "courier": N_("快递申请")}
#: the basis kinds, each printed under its own heading, in this order
BASIS_HEADINGS = (
    ("basis", N_("设定依据")),
    ("implementation_basis", N_("实施依据")),
    ("handling_basis", N_("办理依据")),
    ("conditions_basis", N_("受理条件依据")),
)
NOT_STATED_TEXT = N_("未说明")
ASK = N_("请向窗口咨询")
ONLINE_DEPTH = {
    0: N_("不支持网上办理"),
    1: N_("网上咨询查询"),
    2: N_("网上预审（下载表格）"),
    3: N_("网上受理"),
    4: N_("全程网办"),
}
SOURCE_NAMES = {
    "applicant": N_("申请人自备"),
    "government": N_("政府部门核发"),
    "intermediary": N_("中介机构"),
    "other": N_("其他"),
}
STEP_NAMES = {
    "accept": N_("受理"),
    "undertake": N_("承办"),
    "review": N_("审核"),
    "decide": N_("批准"),
    "complete": N_("办结"),
}
ROLE_NAMES = {
    "window": N_("窗口受理人员"),
    "undertaker": N_("承办人"),
    "reviewer": N_("审核人"),
    "decider": N_("批准人"),
    "issuer": N_("发证人员"),
    "inspector": N_("现场核查人员"),
    "head": N_("部门负责人"),
}
# the same words the staff pages and the applicant's progress page use for a paused clock
PROCEDURE_NAMES = wording.SPECIAL_PROCEDURES


def duration_text(d: Mapping[str, Any]) -> str:
    """3个工作日, 2个自然日, 30分钟 — or 3 working days … in the reader's language."""
    n = d["value"]
    if d["unit"] == "working_day":
        words = ngettext("%(n)s个工作日", "%(n)s个工作日", n)
    elif d["unit"] == "natural_day":
        words = ngettext("%(n)s个自然日", "%(n)s个自然日", n)
    else:
        words = ngettext("%(n)s分钟", "%(n)s分钟", n)
    return words % {"n": n}


def basis_text(refs: list[Mapping[str, Any]]) -> str:
    """The laws and articles cited, each law's (Chinese) title in 《》 as it is cited in any language."""
    return gettext("；").join(
        f"《{r['law'].strip('《》')}》{r['article']}" if not r["law"].startswith("《") else f"{r['law']}{r['article']}"
        for r in refs
    )
