"""The one-time notice (一次告知): everything an applicant must know and bring, from the item's YAML.

``build`` turns an item into plain data that both the command line (``render_text``)
and the web guide page render, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import cases, conditions
from engine.catalogue import Catalogue, Document
from engine.crossref import item_fields

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
LEVEL_NAMES = {"province": "省级", "city": "市级", "county": "县级", "township": "乡镇级", "village": "村（社区）级"}
UNIT_NAMES = {"working_day": "个工作日", "natural_day": "个自然日", "minute": "分钟"}
APPLICANT_NAMES = {"natural_person": "自然人", "legal_person": "法人及其他组织"}
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


@dataclass(slots=True)
class MaterialLine:
    name: str
    required: str  # 必需 / 非必需 / 满足条件时必需：…
    originals: int
    copies: int
    formats: list[str]
    max_size_mb: int | None
    source: str
    note: str


@dataclass(slots=True)
class Notice:
    code: str
    name: str
    type: str
    department: str
    window: str
    level: str
    basis: str
    conditions: list[str]
    applicants: str
    legal_limit: str
    promised_limit: str
    immediate: bool
    extension: str
    visits: str
    online: str
    materials: list[MaterialLine]
    fee: list[str]
    special_procedures: list[str]
    steps: list[str]
    result: str
    location: str
    hours: str
    contact: str
    complaint: str
    remedy: list[str]
    faq: list[tuple[str, str]] = field(default_factory=list)


def build(cat: Catalogue, item: Document) -> Notice:
    data = item.data
    center = cat.center or {}
    dept = cat.department(data["department"]) or {"name": data["department"], "window": ""}
    fields = item_fields(item, cat.forms)
    labels = {name: info.spec["label"] for name, info in fields.items()}
    for info in fields.values():
        for opt in info.spec.get("options", []):
            labels.setdefault(f"={opt['value']}", opt["label"])
    tl = data["time_limit"]
    materials = []
    for mat in data.get("materials", []):
        req = mat["required"]
        if req is True:
            required = "必需"
        elif req is False:
            required = "非必需"
        else:
            required = f"{conditions.describe(req, labels)}时必需"
        note_parts = [p for p in (mat.get("fill_notes"), mat.get("acceptance_standard"), mat.get("note")) if p]
        if mat.get("shared"):
            note_parts.insert(0, "可通过数据共享获取，申请人免交")
        if mat.get("produced_by"):
            producer = cat.items.get(mat["produced_by"])
            if producer is not None:
                note_parts.insert(0, f"由“{cat.data(producer)['name']}”事项产生")
        materials.append(
            MaterialLine(
                name=mat["name"],
                required=required,
                originals=mat.get("originals", 0),
                copies=mat.get("copies", 0),
                formats=mat.get("formats", []),
                max_size_mb=mat.get("max_size_mb"),
                source=SOURCE_NAMES.get(mat.get("source", ""), ""),
                note="；".join(note_parts),
            )
        )
    fee_lines = _fee_lines(cat, data["fee"], labels)
    steps = data.get("steps", "standard")
    if steps == "standard":
        step_lines = [f"{STEP_NAMES[s]}" for s in STEP_NAMES]
    else:
        step_lines = [
            f"{s['name']}（{ROLE_NAMES[s['role']]}，{duration_text(s['limit'])}"
            + (f"，与“{s['parallel_with']}”并行" if s.get("parallel_with") else "")
            + "）"
            for s in steps
        ]
    visits = data["visits"]
    contact = data.get("contact", {})
    complaint = data.get("complaint", {})
    remedy = data.get("remedy", {})
    location = data.get("location", {})
    return Notice(
        code=data["code"],
        name=data["name"],
        type=TYPE_NAMES[data["type"]],
        department=dept["name"],
        window=location.get("window") or dept.get("window", ""),
        level=LEVEL_NAMES[data["level"]],
        basis=basis_text(data["basis"]),
        conditions=list(data["conditions"]),
        applicants="、".join(APPLICANT_NAMES[a] for a in data["applicants"]),
        legal_limit=duration_text(tl["legal"]),
        promised_limit="即办（当场办结）" if tl["promised"]["value"] == 0 else duration_text(tl["promised"]),
        immediate=tl["promised"]["value"] == 0,
        extension=extension_text(data),
        visits=("零跑动" if visits["max"] == 0 else f"最多{visits['max']}次")
        + (f"（{visits['reason']}）" if visits.get("reason") else ""),
        online=ONLINE_DEPTH[data["online"]["depth"]],
        materials=materials,
        fee=fee_lines,
        special_procedures=[
            f"{p['name']}（{PROCEDURE_NAMES[p['kind']]}，最长{duration_text(p['max'])}，"
            f"{'计入' if p['counts_toward_limit'] else '不计入'}办理时限"
            + ("，收费" if p.get("charged") else "")
            + "）"
            for p in data.get("special_procedures", [])
        ],
        steps=step_lines,
        result=f"{data['result']['name']}"
        + (f"（有效期{data['result']['validity']}）" if data["result"].get("validity") else ""),
        location=location.get("address") or center.get("address", ""),
        hours=data.get("hours") or center.get("hours", ""),
        contact=_channels(contact) or (f"电话 {center['phone']}" if center.get("phone") else ""),
        complaint=_channels(complaint)
        or (f"电话 {center['complaint_phone']}" if center.get("complaint_phone") else ""),
        remedy=[v for v in (remedy.get("reconsideration"), remedy.get("litigation")) if v],
        faq=[(f["q"], f["a"]) for f in data.get("faq", [])],
    )


def _channels(ch: Mapping[str, str]) -> str:
    names = {"phone": "电话", "web": "网址", "email": "邮箱", "address": "地址"}
    return "；".join(f"{names[k]} {v}" for k, v in ch.items())


def _fee_lines(cat: Catalogue, fee: Any, labels: Mapping[str, str]) -> list[str]:
    if fee == "free":
        return ["不收费"]
    if "free" in fee:
        return [f"不收费（依据：{basis_text(fee['basis'])}）"]
    schedule = cat.fees.get(fee["schedule"])
    if schedule is None:
        return [f"按收费标准 {fee['schedule']} 收取"]
    from engine.fee_text import describe_schedule

    return describe_schedule(schedule.data, labels)


def render_text(n: Notice) -> str:
    out = [
        f"一次性告知书 — {n.name}",
        "=" * 40,
        f"事项编码：{n.code}",
        f"事项类型：{n.type}（{n.level}）",
        f"实施部门：{n.department}（窗口 {n.window}）",
        f"设定依据：{n.basis}",
        "",
        "受理条件：",
    ]
    out += [f"  {i}. {c}" for i, c in enumerate(n.conditions, 1)]
    out += ["", f"服务对象：{n.applicants}", "", "申请材料："]
    for i, m in enumerate(n.materials, 1):
        counts = f"原件{m.originals}份、复印件{m.copies}份" if m.originals or m.copies else "无需纸质材料"
        formats = (
            f"；电子版 {'/'.join(m.formats)}" + (f"，不超过 {m.max_size_mb} MB" if m.max_size_mb else "")
            if m.formats
            else ""
        )
        out.append(f"  {i}. {m.name} —— {m.required}；{counts}{formats}" + (f"；来源：{m.source}" if m.source else ""))
        if m.note:
            out.append(f"     说明：{m.note}")
    if not n.materials:
        out.append("  无需提交材料")
    out += ["", "收费："] + [f"  {line}" for line in n.fee]
    out += [
        "",
        f"法定时限：{n.legal_limit}",
        f"承诺时限：{n.promised_limit}",
        f"延长期限：{n.extension}",
        f"到现场次数：{n.visits}",
        f"网上办理：{n.online}",
    ]
    if n.special_procedures:
        out += ["", "特别程序："] + [f"  {p}" for p in n.special_procedures]
    out += [
        "",
        "办理流程：" + " → ".join(n.steps),
        f"审批结果：{n.result}",
        "",
        f"办理地点：{n.location}",
        f"办理时间：{n.hours}",
        f"咨询方式：{n.contact}",
        f"监督投诉：{n.complaint}",
    ]
    if n.remedy:
        out += ["救济途径："] + [f"  {r}" for r in n.remedy]
    if n.faq:
        out += ["", "常见问题："]
        for q, a in n.faq:
            out += [f"  问：{q}", f"  答：{a}"]
    out += ["", "以上为本事项需提交的全部材料，一次性告知。材料齐全、符合法定形式的，窗口当场受理。"]
    return "\n".join(out) + "\n"


def extension_text(item: Mapping[str, Any]) -> str:
    """The one extension the item allows, in words, with where it comes from (Art. 42 by default for
    a licence; the item's own basis when its YAML changes or excludes it)."""
    ext = cases.extension_of(item)
    written = item.get("time_limit", {}).get("extension")
    if ext is not None:
        who = "本级人民政府负责人" if ext.get("joint") else "本机关负责人"
        why = basis_text(ext["basis"]) if ext.get("basis") else ""
        return (
            f"经{who}批准，可延长{duration_text(ext['limit'])}（一次），延期理由将书面告知"
            + (f"；依据：{why}" if why else "")
        )
    if isinstance(written, Mapping) and written.get("allowed") is False:
        return "不可延长" + (f"（依据：{basis_text(written['basis'])}）" if written.get("basis") else "")
    if item.get("type") == "license":
        return "当场作出决定，不适用延长"
    return "无延长期限的规定"
