"""Catalogue values in words, for the change notice (``engine.authoring.diff``).

How ``yangguang diff`` puts one value or one changed value into Chinese: time limits
(``承诺时限 10→5 个工作日``, 即办), money (exact yuan from integer fen, never float), percentages,
whether a material is required (and on what condition, spelled with the item's form labels),
legal-basis edits, the steps and a changed field of a step or chain stage, and the names of
fields that have no wording of their own (``FIELD_WORDS``), down to the generic
``字段 X（词）已修改：A→B`` fallback.

It is kept apart from ``engine.authoring.diff`` so that the comparison there reads as what is compared,
and the vocabulary here can be extended (a new field's name, a new unit) without touching it.
Everything here is a pure function of the values given: nothing compares catalogues, prints
or exits.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.base import conditions
from engine.base.stated import NOT_STATED, NOT_STATED_ELEMENTS
from engine.catalogue.fields import item_fields
from engine.catalogue.model import Catalogue, Document
from engine.rules.fees.schedule import to_fen
from engine.rules.guide_words import ROLE_NAMES, STEP_NAMES, UNIT_NAMES, basis_text

__all__ = [
    "CENTER_WORDS",
    "FIELD_WORDS",
    "MODE_WORDS",
    "MONEY_WORDS",
    "PERCENT_WORDS",
    "arrow_text",
    "basis_change",
    "decimal_of",
    "duration_change",
    "duration_key",
    "duration_text",
    "fen_of",
    "field_word",
    "form_labels",
    "generic_text",
    "is_duration",
    "money_change",
    "percent_change",
    "plain_number",
    "required_text",
    "said",
    "short_value",
    "stage_change",
    "step_change",
    "steps_words",
    "yuan",
]

#: words for fields that have no wording of their own (the generic "字段 X 已修改" line)
FIELD_WORDS = {
    "basic_code": "基本目录编码", "short_name": "简称", "handling": "办理项", "level": "行使层级",
    "entrusted_department": "受委托部门", "joint_departments": "联办机构", "source_of_power": "权力来源",
    "quantity_limit": "数量限制", "applicants": "服务对象", "time_limit.extension": "延长期限",
    "time_limit.legal_basis": "法定时限依据", "visits.reason": "到现场原因", "online.booking": "网上预约",
    "online.courier": "物流快递", "online.self_service": "自助终端办理", "online.cross_region": "跨区域通办",
    "online.payment": "网上支付", "fee.assess_at": "核定收费环节", "fee.basis": "不收费依据", "form": "申请表单",
    "special_procedures": "特别程序", "result": "审批结果", "validity": "有效期", "delivery": "送达方式",
    "location": "办理地点", "window": "窗口", "hours": "办理时间", "contact": "咨询方式",
    "complaint": "监督投诉方式", "remedy": "救济途径", "reconsideration": "行政复议", "litigation": "行政诉讼",
    "rights_obligations": "权利和义务", "intermediary_services": "中介服务", "effective": "有效期间",
    "from": "施行日期", "until": "废止日期", "keywords": "检索关键词", "themes": "主题分类", "faq": "常见问题",
    "note": "备注", "phone": "电话", "web": "网址", "email": "电子邮箱", "address": "地址", "name": "名称",
    "kind": "类型", "originals": "原件份数", "copies": "复印件份数", "formats": "电子格式",
    "max_size_mb": "文件大小上限（MB）", "paper": "纸质材料", "paper_size": "纸张规格", "blank_form": "空白表格",
    "sample": "示例样表", "source": "来源渠道", "produced_by": "产生该材料的事项", "shared": "数据共享免交",
    "fill_notes": "填报须知", "acceptance_standard": "受理标准", "basis": "依据", "role": "办理角色",
    "parallel_with": "并行环节", "unit": "计费单位", "quantity": "计量字段", "base": "计费基数字段",
    "mode": "分档方式", "free_units": "免收数量", "applies_to": "适用收费项目", "fields": "计费字段",
    "department": "部门",
    "complaint_phone": "投诉电话", "website": "网站", "supervision": "监察设置", "region": "行政区划代码",
    "lead": "牵头部门", "silence_is_consent": "逾期视为同意", "associated_services": "关联公共服务",
    "credit_code": "统一社会信用代码", "chief_representative": "首席代表", "holidays": "节假日",
    "make_up_working_days": "调休上班日", "title": "标题", "hint": "说明", "when": "条件", "id": "标识",
    "extends": "上级目录", "child_rules": "下级目录规则",
    # the national implementation list's elements (实施清单要素)
    "national_item": "清单事项", "national_item.item": "行政许可事项", "sub_item": "子项",
    "handling_item": "业务办理项", "version": "事项版本", "state": "事项状态", "department_nature": "实施主体性质",
    "accepting_body": "受理机构", "deciding_body": "决定机构", "implementation_basis": "实施依据",
    "handling_basis": "办理依据", "conditions_basis": "受理条件依据", "service_objects": "服务对象（细分）",
    "handling_forms": "办理形式", "flows": "办理流程", "flows.offline": "线下办理流程",
    "flows.online": "线上办理流程", "published_guide": "办事指南来源", "url": "网址", "published": "发布日期",
    "index_number": "索引号", "materials_incomplete": "材料清单不完整的说明", "paper_requirements": "纸质材料要求",
    "applicant_signs": "须申请人签字", "office": "承办科室", "post": "办理岗位",
}  # fmt: skip
MONEY_WORDS = {"amount": "金额", "rate": "单价", "minimum": "最低收费", "maximum": "最高收费", "pay_amount": "减按金额"}
PERCENT_WORDS = {"percent": "比例", "reduce_percent": "减收比例"}
CENTER_WORDS = {"name": "名称", "level": "层级", "hours": "办公时间", "supervision": "监察设置"}
MODE_WORDS = {"serial": "串联", "parallel": "并联", "joint_review": "联审联验"}


def is_duration(v: Any) -> bool:
    return isinstance(v, Mapping) and "value" in v and "unit" in v


def duration_key(v: Any) -> tuple[Any, Any] | None:
    return (v.get("value"), v.get("unit")) if is_duration(v) else None


def duration_text(d: Mapping[str, Any] | None, immediate: bool = False) -> str:
    if d is None:
        return "（无）"
    if immediate and d["value"] == 0:
        return "即办"
    return f"{d['value']} {UNIT_NAMES.get(d['unit'], d['unit'])}"


def duration_change(label: str, o: Mapping[str, Any], n: Mapping[str, Any], immediate: bool = False) -> str:
    """``承诺时限 10→5 个工作日``; a unit change (or 即办) shows both sides in full."""
    if o["unit"] == n["unit"] and not (immediate and 0 in (o["value"], n["value"])):
        return f"{label} {o['value']}→{n['value']} {UNIT_NAMES.get(n['unit'], n['unit'])}"
    return f"{label} {duration_text(o, immediate)}→{duration_text(n, immediate)}"


def fen_of(v: Any) -> int | None:
    try:
        return None if v is None else to_fen(v)
    except (TypeError, ValueError):
        return None


def yuan(fen: int) -> str:
    """Exact yuan without float: 8000 -> ``80``, 1250 -> ``12.50``."""
    whole, cents = divmod(abs(fen), 100)
    return ("-" if fen < 0 else "") + (f"{whole}" if cents == 0 else f"{whole}.{cents:02d}")


def decimal_of(v: Any) -> Decimal | None:
    try:
        return None if v is None else Decimal(str(v).strip())
    except InvalidOperation:
        return None


def plain_number(d: Decimal) -> str:
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def short_value(v: Any) -> str:
    """A value short enough to print inline, or '' when only '已修改' makes sense."""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, int | float | str):
        text = str(v)
    elif is_duration(v):
        text = duration_text(v)
    elif isinstance(v, list) and all(isinstance(x, str | int) and not isinstance(x, bool) for x in v):
        text = "、".join(str(x) for x in v) or "（空）"
    elif isinstance(v, list) and v and all(isinstance(x, Mapping) and "law" in x and "article" in x for x in v):
        text = basis_text(v)
    else:
        return ""
    return text if len(text) <= 40 else ""


def arrow_text(o: Any, n: Any) -> str:
    """`` A→B`` when both sides fit on a line; else 新增 / 删除 / 已修改."""
    so, sn = short_value(o), short_value(n)
    if o is None:
        return f"：新增 {sn}" if sn else "已新增"
    if n is None:
        return f"已删除（原为 {so}）" if so else "已删除"
    return f" {so}→{sn}" if so and sn else "已修改"


def field_word(path: str) -> str:
    return FIELD_WORDS.get(path) or FIELD_WORDS.get(path.rsplit(".", 1)[-1], "")


def said(what: str, path: str, old: Any, new: Any, words: Mapping[str, str] | None = None) -> str:
    """``材料「X」复印件份数 0→1``: the field in words (or its path, spaced off) and the change."""
    label, arrow = (words or {}).get(path) or field_word(path) or path, arrow_text(old, new)
    return f"{what}{label}" + (f" {arrow}" if label.isascii() and arrow.startswith("已") else arrow)


def required_text(req: Any, labels: Mapping[str, str]) -> str:
    if req is True:
        return "必需"
    if req is False:
        return "非必需"
    return f"满足条件时必需（{conditions.describe(req, labels)}）"


def form_labels(cat: Catalogue, doc: Document) -> dict[str, str]:
    """Field and option labels of an item's form, to spell conditions out as the guide does."""
    try:
        fields = item_fields(doc, cat.forms)
    except (KeyError, TypeError):  # a side loaded with --allow-errors may have odd forms
        return {}
    labels = {name: str(info.spec.get("label", name)) for name, info in fields.items()}
    for info in fields.values():
        for opt in info.spec.get("options", []) or ():
            labels.setdefault(f"={opt['value']}", str(opt["label"]))
    return labels


def generic_text(path: str, old: Any, new: Any, what: str = "") -> str:
    """The fallback for anything without wording of its own: ``字段 X（词）已修改：A→B``."""
    word, arrow = field_word(path), arrow_text(old, new)
    tail = arrow if arrow.startswith(("已", "：")) else f"已修改：{arrow.strip()}"
    label = f"（{word}）" if word else ("" if tail.startswith("：") else " ")
    return f"{what}字段 {path}{label}{tail}"


def money_change(label: str, old: int | None, new: int | None, per: str = "") -> str:
    """``金额 80→60 元`` (``per`` is ``/件`` for a rate); a sum set or dropped says so. Integer fen in."""
    if old is not None and new is not None:
        return f"{label} {yuan(old)}→{yuan(new)} 元{per}"
    return f"{label}：新设 {yuan(new)} 元{per}" if new is not None else f"{label}：取消（原为 {yuan(old or 0)} 元）"


def percent_change(label: str, old: Decimal | None, new: Decimal | None) -> str:
    """``减收比例 50%→30%``; a side without a percentage is ``（无）``."""
    po, pn = (f"{plain_number(d)}%" if d is not None else "（无）" for d in (old, new))
    return f"{label} {po}→{pn}"


def basis_change(old: list[Mapping[str, Any]], new: list[Mapping[str, Any]]) -> str:
    """What an edit of legal references did (``新增… ；删除…``), by law and article; when none
    was added or removed, whether only their order or their quoted text changed."""
    okeys, nkeys = [(r.get("law"), r.get("article")) for r in old], [(r.get("law"), r.get("article")) for r in new]
    parts = []
    if added := [r for r, k in zip(new, nkeys, strict=True) if k not in okeys]:
        parts.append("新增" + basis_text(added))
    if removed := [r for r, k in zip(old, okeys, strict=True) if k not in nkeys]:
        parts.append("删除" + basis_text(removed))
    if not parts:
        parts.append("顺序已调整" if sorted(okeys) == sorted(nkeys) and okeys != nkeys else "引用原文或说明已修改")
    return "；".join(parts)


def steps_words(steps: Any) -> str:
    """An item's ``steps``: ``标准环节（…）`` for the standard ones, else ``自定义环节（…）``."""
    names = STEP_NAMES.values() if not isinstance(steps, list) else [str(s["name"]) for s in steps]
    return ("自定义环节（" if isinstance(steps, list) else "标准环节（") + "、".join(names) + "）"


def step_change(what: str, path: str, old: Any, new: Any) -> str:
    """One field of a custom step changed: its time limit, a rename, its role (in words), or any
    other field by ``said``."""
    if path == "limit":
        return duration_change(f"{what}时限", old, new)
    if path == "name":
        return f"环节更名：「{old}」→「{new}」"
    if path == "role":
        old, new = ROLE_NAMES.get(old, old), ROLE_NAMES.get(new, new)
    return said(what, path, old, new)


def stage_change(what: str, path: str, old: Any, new: Any, labels: Mapping[str, str]) -> str:
    """One field of a chain stage changed: a rename, its mode or time limit, the condition it is
    taken on (spelled with its members' form ``labels``), or any other field by ``said``."""
    if path == "name":
        return f"阶段更名：「{old}」→「{new}」"
    if path == "mode":
        return f"{what}办理方式 {MODE_WORDS.get(old, old)}→{MODE_WORDS.get(new, new)}"
    if path == "limit" and old and new:
        return duration_change(f"{what}时限", old, new)
    if path == "when":
        co, cn = (conditions.describe(c, labels) if c else "必经" for c in (old, new))
        return f"{what}办理条件：{co}→{cn}"
    return said(what, path, old, new)


def not_stated_text(key: str, old: Any, new: Any) -> str:
    """An element that became, or stopped being, 未说明 (not stated by the published guide)."""
    name = NOT_STATED_ELEMENTS[key][0]
    if new == NOT_STATED:
        return f"{name}改为未说明（公布的办事指南未写明）"
    if isinstance(new, (dict, list)):
        return f"{name}由未说明改为已写明"
    return f"{name}由未说明改为：{short_value(new)}"
