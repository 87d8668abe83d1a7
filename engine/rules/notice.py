"""The one-time notice (一次告知): everything an applicant must know and bring, from the item's YAML.

``build`` turns an item into plain data that both the command line (engine.rules.notice_text)
and the web guide page render, so the two never disagree. The engine's words in it (labels,
units, the sentences around catalogue data) go through the translation catalogue: in the
request's language on a page or an API answer, Chinese on the command line (no language is
active there, engine.base.i18n). The tables below hold the Chinese, marked for the catalogue;
what is translated is shown with :func:`gettext`. Catalogue data stays as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.base import conditions, stated
from engine.base.i18n import N_, gettext, ngettext
from engine.catalogue.fields import item_fields
from engine.catalogue.model import Catalogue, Document
from engine.rules.cases.law import extension_of
from engine.rules.fees.text import describe_schedule_on
from engine.rules.guide_words import (
    APPLICANT_NAMES,
    ASK,
    BASIS_HEADINGS,
    HANDLING_FORM_NAMES,
    LEVEL_NAMES,
    NATURE_NAMES,
    NOT_STATED_TEXT,
    ONLINE_DEPTH,
    PROCEDURE_NAMES,
    ROLE_NAMES,
    SERVICE_OBJECT_NAMES,
    SOURCE_NAMES,
    STATE_NAMES,
    STEP_NAMES,
    TYPE_NAMES,
    basis_text,
    duration_text,
)


@dataclass(slots=True)
class Link:
    """A value an applicant may follow: ``href`` for a web address, a mailto: or a tel: link, else None."""

    text: str
    href: str | None = None


@dataclass(slots=True)
class Channel:
    label: str  # 电话 / 邮箱 / 网址 / 地址
    values: list[Link]


@dataclass(slots=True)
class MaterialLine:
    name: str
    required: str  # 必需 / 非必需 / 满足条件时必需：…
    originals: int | None  # None: the guide does not say (never printed as 0)
    copies: int | None
    paper: str  # what the guide says about paper copies, in words (份数、纸张、要求), or 未说明
    formats: list[str]
    max_size_mb: int | None
    source: str
    signs: bool  # the applicant must sign or seal it
    blank_form: Link | None
    sample: Link | None
    note: str


@dataclass(slots=True)
class Notice:
    code: str
    name: str
    type: str
    department: str
    window: str
    level: str
    bases: list[tuple[str, str]]  # (heading, the references): 设定依据, 实施依据, 办理依据, 受理条件依据
    conditions: list[str]  # empty and conditions_stated False: 未说明
    conditions_stated: bool
    applicants: str
    legal_limit: str
    promised_limit: str
    immediate: bool
    extension: str
    visits: str
    online: str
    materials: list[MaterialLine]
    materials_stated: bool
    materials_incomplete: str  # why the published list is incomplete, or ""
    closing: str  # the notice's last words: a complete list, a list as published, or none stated
    fee: list[str]
    fee_stated: bool
    special_procedures: list[str]
    steps: list[str]
    result: str
    location: str
    hours: str
    contact: list[Channel]
    complaint: list[Channel]
    remedy: list[str]
    faq: list[tuple[str, str]] = field(default_factory=list)
    # identity and handling (实施清单要素); empty when the item does not give them
    identity: list[tuple[str, str]] = field(default_factory=list)  # (label, value): 清单事项, 版本, 状态, 性质
    accepting_body: str = ""  # 受理机构, when the item names one apart from its department
    deciding_body: str = ""  # 决定机构, likewise
    unavailable: str = ""  # why it cannot be applied for (暂停, 取消, 材料未说明), or ""
    handling_forms: str = ""
    flows: list[tuple[str, list[str]]] = field(default_factory=list)  # (线下办理流程 / 线上办理流程, steps)
    guide: list[tuple[str, Link]] = field(default_factory=list)  # (来源 / 发布日期 / 索引号, value)
    # fee reliefs not in force on the day the notice was built (lapsed or not yet begun), each saying so;
    # kept apart from ``fee`` so a lapsed exemption is never read as one that still applies
    fee_not_in_force: list[str] = field(default_factory=list)
    # the day the notice was issued (the clock's local date, YYYY-MM-DD) as printed on paper, or ""
    issued: str = ""


def paper_text(mat: Mapping[str, Any]) -> str:
    """What the item says about a material's paper copies — never more: an omitted count is not 0 and an
    omitted ``paper`` is not "no paper"."""
    originals, copies, paper = mat.get("originals"), mat.get("copies"), mat.get("paper")
    none = originals == 0 and copies == 0
    if none:
        counts = [gettext("无需原件和复印件")]
    else:
        # a written 0 reads as words (无需复印件), never "复印件0份" or a bare "1 / 0"
        counts = [_copies(kind, n) for kind, n in (("originals", originals), ("copies", copies)) if n is not None]
    if paper is False:
        if not counts or none:
            text = gettext("无需纸质材料")
        else:
            text = gettext("%(counts)s（无需纸质）") % {"counts": gettext("、").join(counts)}
    elif counts:
        text = gettext("、").join(counts)
    else:
        text = gettext("需纸质材料，份数未说明") if paper is True else gettext("纸质材料份数未说明")
    size = gettext("%(size)s纸张") % {"size": mat["paper_size"]} if mat.get("paper_size") else ""
    return gettext("，").join([text, *[e for e in (size, mat.get("paper_requirements", "")) if e]])


def _copies(kind: str, n: int) -> str:
    """原件1份 / 复印件2份 / 无需原件 …: how many originals or copies, in words."""
    if kind == "originals":
        return ngettext("原件%(n)s份", "原件%(n)s份", n) % {"n": n} if n else gettext("无需原件")
    return ngettext("复印件%(n)s份", "复印件%(n)s份", n) % {"n": n} if n else gettext("无需复印件")


def _link(value: str | None) -> Link | None:
    if not value:
        return None
    return Link(value, value if value.startswith(("https://", "http://")) else None)


def _values(value: Any, kind: str) -> list[Link]:
    values = value if isinstance(value, list) else [value]
    prefix = {"phone": "tel:", "email": "mailto:", "web": ""}.get(kind)
    # a tel: link dials the number without its extension (转…) or spaces
    return [Link(str(v), None if prefix is None else prefix + str(v).split("转")[0].replace(" ", "")) for v in values]


def channels(ch: Mapping[str, Any]) -> list[Channel]:
    names = {"phone": N_("电话"), "web": N_("网址"), "email": N_("邮箱"), "address": N_("地址")}
    return [Channel(names[k], _values(v, k)) for k, v in ch.items()]


def _center_phone(center: Mapping[str, Any], key: str) -> list[Channel]:
    """The center's phone, for an item that names no channel of its own."""
    return [Channel(N_("电话"), _values(center[key], "phone"))] if center.get(key) else []


def channels_text(chs: list[Channel]) -> str:
    return "；".join(f"{c.label} {'、'.join(v.text for v in c.values)}" for c in chs)


def where_to_ask(cat: Catalogue, data: Mapping[str, Any]) -> str:
    """The window and phone an applicant turns to, in words (for an item that cannot be applied for)."""
    where, phone = counter(cat, data)
    if phone:
        return gettext("办理地点：%(where)s；咨询电话：%(phone)s") % {"where": where, "phone": phone}
    return gettext("办理地点：%(where)s") % {"where": where}


def counter(cat: Catalogue, data: Mapping[str, Any]) -> tuple[str, str]:
    """(the address and window, the phone) an applicant turns to: the item's, else its department's or the
    center's."""
    dept = cat.department(data["department"]) or {"name": data["department"]}
    location = data.get("location") or {}
    center = cat.center or {}
    window = location.get("window") or dept.get("window", "")
    address = location.get("address") or center.get("address", "")
    phones = (data.get("contact") or {}).get("phone") or dept.get("phone") or center.get("phone")
    phone = gettext("、").join(phones) if isinstance(phones, list) else str(phones or "")
    at = gettext("%(department)s窗口 %(window)s") % {"department": dept["name"], "window": window} if window else ""
    where = gettext("，").join(p for p in (address, at.strip() or dept["name"]) if p)
    return where, phone


UNAVAILABLE = {
    "suspended": N_("本事项已暂停办理，暂不受理申请"),
    "cancelled": N_("本事项已取消，不再受理申请"),
    "materials": N_("本事项公布的办事指南未说明申请材料，不能在线申请，请到窗口办理或先电话咨询"),
}


def _closing(data: Mapping[str, Any]) -> str:
    if not stated.materials_stated(data):
        return gettext("本事项公布的办事指南未说明申请材料，%(ask)s。") % {"ask": gettext(ASK)}
    if data.get("materials_incomplete"):
        why = str(data["materials_incomplete"]).rstrip("。.")
        said = gettext("以上材料清单按公布的办事指南照录，可能不完整（%(why)s），%(ask)s。")
        return said % {"why": why, "ask": gettext(ASK)}
    return gettext("以上为本事项需提交的全部材料，一次性告知。材料齐全、符合法定形式的，窗口当场受理。")


def _identity(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if data.get("basic_code"):
        out.append((N_("基本编码"), data["basic_code"]))
    listed = data.get("national_item") or {}
    for key, label in (("item", N_("行政许可事项")), ("sub_item", N_("子项")), ("handling_item", N_("业务办理项"))):
        entry = listed.get(key)
        if entry:
            named = gettext("%(name)s（%(code)s）") % entry if entry.get("code") else entry["name"]
            out.append((label, named))
    if "version" in data:
        out.append((N_("事项版本"), str(data["version"])))
    if "state" in data:
        out.append((N_("事项状态"), gettext(STATE_NAMES[data["state"]])))
    if "department_nature" in data:
        out.append((N_("实施主体性质"), gettext(NATURE_NAMES[data["department_nature"]])))
    return out


def _materials(cat: Catalogue, data: Mapping[str, Any], labels: Mapping[str, str]) -> list[MaterialLine]:
    materials = []
    for mat in stated.materials(data):
        req = mat["required"]
        if req is True:
            required = gettext("必需")
        elif req is False:
            required = gettext("非必需")
        else:
            required = gettext("%(condition)s时必需") % {"condition": conditions.describe(req, labels, gettext)}
        note_parts = [p for p in (mat.get("fill_notes"), mat.get("acceptance_standard"), mat.get("note")) if p]
        if mat.get("shared"):
            note_parts.insert(0, gettext("可通过数据共享获取，申请人免交"))
        if mat.get("produced_by"):
            producer = cat.items.get(mat["produced_by"])
            if producer is not None:
                note_parts.insert(0, gettext("由“%(item)s”事项产生") % {"item": cat.data(producer)["name"]})
        materials.append(
            MaterialLine(
                name=mat["name"],
                required=required,
                originals=mat.get("originals"),
                copies=mat.get("copies"),
                paper=paper_text(mat),
                formats=mat.get("formats", []),
                max_size_mb=mat.get("max_size_mb"),
                source=gettext(SOURCE_NAMES[mat["source"]]) if mat.get("source") in SOURCE_NAMES else "",
                signs=bool(mat.get("applicant_signs")),
                blank_form=_link(mat.get("blank_form")),
                sample=_link(mat.get("sample")),
                note=gettext("；").join(note_parts),
            )
        )
    return materials


def _step_line(s: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """One step in words: its name, then (who, how long, beside which step) — ``names`` gives the
    other steps' names by id (a person reads names, never ids)."""
    who = "".join(p for p in (s.get("office"), s.get("post")) if p)
    bits = [gettext(ROLE_NAMES[s["role"]]), who, duration_text(s["limit"])]
    if s.get("parallel_with"):
        other = names.get(s["parallel_with"], s["parallel_with"])
        bits.append(gettext("与“%(step)s”并行") % {"step": other})
    return gettext("%(name)s（%(details)s）") % {"name": s["name"], "details": gettext("，").join(b for b in bits if b)}


def _labels(cat: Catalogue, item: Document) -> dict[str, str]:
    """The form's field labels, and ``=value`` -> option label, to word conditions with."""
    fields = item_fields(item, cat.forms)
    labels = {name: info.spec["label"] for name, info in fields.items()}
    for info in fields.values():
        for opt in info.spec.get("options", []):
            labels.setdefault(f"={opt['value']}", opt["label"])
    return labels


def _step_lines(steps: Any) -> list[str]:
    """The item's steps in words: the standard steps' names, or each of its own with who and how long."""
    if steps == "standard":
        return [gettext(STEP_NAMES[s]) for s in STEP_NAMES]
    return [_step_line(s, {str(o["id"]): str(o["name"]) for o in steps}) for s in steps]


def build(cat: Catalogue, item: Document, on: date | None = None) -> Notice:
    """The guide of ``item``; ``on`` (the clock's local date) splits its fee reliefs into those in force
    that day and those lapsed or yet to begin (without it every relief is listed as written)."""
    data = item.data
    center = cat.center or {}
    dept = cat.department(data["department"]) or {"name": data["department"], "window": ""}
    labels = _labels(cat, item)
    tl = data["time_limit"]
    fee_lines, fee_other = _fee_lines(cat, data["fee"], labels, on)
    visits = stated.section(data, "visits")
    online = stated.section(data, "online")
    result = stated.section(data, "result")
    contact = data.get("contact", {})
    complaint = data.get("complaint", {})
    remedy = data.get("remedy", {})
    location = data.get("location", {})
    window = location.get("window") or dept.get("window", "")
    objects = data.get("service_objects")
    why = stated.unavailable(data)
    guide = data.get("published_guide") or {}
    return Notice(
        code=data["code"],
        name=data["name"],
        type=gettext(TYPE_NAMES[data["type"]]),
        department=dept["name"],
        window=window,
        level=gettext(LEVEL_NAMES[data["level"]]),
        bases=[(heading, basis_text(data[key])) for key, heading in BASIS_HEADINGS if data.get(key)],
        conditions=stated.conditions(data),
        conditions_stated=stated.is_stated(data["conditions"]),
        applicants=gettext("、").join(gettext(SERVICE_OBJECT_NAMES[o]) for o in objects)
        if objects
        else gettext("、").join(gettext(APPLICANT_NAMES[a]) for a in data["applicants"]),
        legal_limit=duration_text(tl["legal"]),
        promised_limit=gettext("即办（当场办结）") if tl["promised"]["value"] == 0 else duration_text(tl["promised"]),
        immediate=tl["promised"]["value"] == 0,
        extension=extension_text(data),
        visits=_visits_text(visits) if visits else gettext(NOT_STATED_TEXT),
        online=gettext(ONLINE_DEPTH[online["depth"]]) if online else gettext(NOT_STATED_TEXT),
        materials=_materials(cat, data, labels),
        materials_stated=stated.materials_stated(data),
        materials_incomplete=str(data.get("materials_incomplete") or ""),
        closing=_closing(data),
        fee=fee_lines,
        fee_not_in_force=fee_other,
        issued=on.isoformat() if on else "",
        fee_stated=stated.fee_stated(data),
        special_procedures=[_procedure_text(p) for p in data.get("special_procedures", [])],
        steps=_step_lines(data.get("steps", "standard")),
        result=_result_text(result) if result else gettext(NOT_STATED_TEXT),
        location=location.get("address") or center.get("address", ""),
        hours=data.get("hours") or center.get("hours", ""),
        contact=channels(contact) or _center_phone(center, "phone"),
        complaint=channels(complaint) or _center_phone(center, "complaint_phone"),
        remedy=[v for v in (remedy.get("reconsideration"), remedy.get("litigation")) if v],
        faq=[(f["q"], f["a"]) for f in data.get("faq", [])],
        identity=_identity(data),
        accepting_body=data.get("accepting_body", ""),
        deciding_body=data.get("deciding_body", ""),
        unavailable=gettext("%(why)s。%(where)s") % {"why": gettext(UNAVAILABLE[why]), "where": where_to_ask(cat, data)}
        if why
        else "",
        handling_forms=gettext("、").join(gettext(HANDLING_FORM_NAMES[f]) for f in data.get("handling_forms", [])),
        flows=[
            (title, list((data.get("flows") or {})[key]))
            for key, title in (("offline", N_("线下办理流程")), ("online", N_("线上办理流程")))
            if key in (data.get("flows") or {})
        ],
        guide=[
            (label, _link(str(guide[key])) or Link(""))
            for key, label in (("url", N_("指南来源")), ("published", N_("发布日期")), ("index_number", N_("索引号")))
            if guide.get(key)
        ],
    )


def _visits_text(visits: Mapping[str, Any]) -> str:
    """零跑动 or 最多N次, with the item's reason when it gives one."""
    most = visits["max"]
    text = gettext("零跑动") if most == 0 else ngettext("最多%(n)s次", "最多%(n)s次", most) % {"n": most}
    if visits.get("reason"):
        return gettext("%(visits)s（%(reason)s）") % {"visits": text, "reason": visits["reason"]}
    return text


def _procedure_text(p: Mapping[str, Any]) -> str:
    """A special procedure: its name, then (kind, longest, whether it counts toward the time limit, charged)."""
    bits = [
        gettext(PROCEDURE_NAMES[p["kind"]]),
        gettext("最长%(limit)s") % {"limit": duration_text(p["max"])},
        gettext("计入办理时限") if p["counts_toward_limit"] else gettext("不计入办理时限"),
    ]
    if p.get("charged"):
        bits.append(gettext("收费"))
    return gettext("%(name)s（%(details)s）") % {"name": p["name"], "details": gettext("，").join(bits)}


def _result_text(result: Mapping[str, Any]) -> str:
    if result.get("validity"):
        return gettext("%(result)s（有效期%(validity)s）") % {"result": result["name"], "validity": result["validity"]}
    return str(result["name"])


def _fee_lines(cat: Catalogue, fee: Any, labels: Mapping[str, str], on: date | None) -> tuple[list[str], list[str]]:
    if fee == stated.NOT_STATED:
        return [gettext("收费情况未说明，%(ask)s") % {"ask": gettext(ASK)}], []
    if fee == "free":
        return [gettext("不收费")], []
    if "free" in fee:
        return [gettext("不收费（依据：%(basis)s）") % {"basis": basis_text(fee["basis"])}], []
    schedule = cat.fees.get(fee["schedule"])
    if schedule is None:
        return [gettext("按收费标准 %(schedule)s 收取") % {"schedule": fee["schedule"]}], []
    return describe_schedule_on(schedule.data, labels, on)


def extension_text(item: Mapping[str, Any]) -> str:
    """The one extension the item allows, in words, with where it comes from (Art. 42 by default for
    a licence; the item's own basis when its YAML changes or excludes it)."""
    ext = extension_of(item)
    written = item.get("time_limit", {}).get("extension")
    if ext is not None:
        if ext.get("joint"):
            text = gettext("经本级人民政府负责人批准，可延长%(limit)s（一次），延期理由将书面告知")
        else:
            text = gettext("经本机关负责人批准，可延长%(limit)s（一次），延期理由将书面告知")
        text %= {"limit": duration_text(ext["limit"])}
        if ext.get("basis"):
            text += gettext("；依据：%(basis)s") % {"basis": basis_text(ext["basis"])}
        return text
    if isinstance(written, Mapping) and written.get("allowed") is False:
        if written.get("basis"):
            return gettext("不可延长（依据：%(basis)s）") % {"basis": basis_text(written["basis"])}
        return gettext("不可延长")
    if item.get("type") == "license":
        return gettext("当场作出决定，不适用延长")
    return gettext("无延长期限的规定")
