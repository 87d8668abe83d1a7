"""The one-time notice as plain text, for the command line (``yangguang notice``): every part of the
notice engine.rules.notice builds, in the order the guide page shows them. Chinese, as the command
line prints (no language is active there); the notice's own words came translated from ``build``."""

from __future__ import annotations

from engine.rules.guide_words import ASK
from engine.rules.notice import Notice, channels_text


def render_text(n: Notice) -> str:
    """The notice ``n`` as the lines the command line prints, ending with the notice's closing words."""
    out = [
        f"一次性告知书 — {n.name}",
        "=" * 40,
        f"事项编码：{n.code}",
        *[f"{label}：{value}" for label, value in n.identity],
        f"事项类型：{n.type}（{n.level}）",
        f"实施部门：{n.department}（窗口 {n.window}）",
    ]
    out += [f"受理机构：{n.accepting_body}"] if n.accepting_body else []
    out += [f"决定机构：{n.deciding_body}"] if n.deciding_body else []
    if n.unavailable:
        out.append(f"注意：{n.unavailable}")
    out += [f"{heading}：{text}" for heading, text in n.bases]
    out += ["", "受理条件："]
    out += [f"  {i}. {c}" for i, c in enumerate(n.conditions, 1)] if n.conditions_stated else [f"  未说明，{ASK}"]
    out += ["", f"服务对象：{n.applicants}", "", "申请材料："]
    for i, m in enumerate(n.materials, 1):
        formats = (
            f"；电子版 {'/'.join(m.formats)}" + (f"，不超过 {m.max_size_mb} MB" if m.max_size_mb else "")
            if m.formats
            else ""
        )
        extra = [f"来源：{m.source}" if m.source else "", "需申请人签字（盖章）" if m.signs else ""]
        extra += [
            f"空白表格：{m.blank_form.text}" if m.blank_form else "",
            f"示例样表：{m.sample.text}" if m.sample else "",
        ]
        out.append(f"  {i}. {m.name} —— {m.required}；{m.paper}{formats}" + "".join(f"；{e}" for e in extra if e))
        if m.note:
            out.append(f"     说明：{m.note}")
    if not n.materials_stated:
        out.append(f"  未说明，{ASK}")
    elif not n.materials:
        out.append("  无需提交材料")
    out += ["", "收费："] + [f"  {line}" for line in n.fee]
    if n.fee_not_in_force:
        out += ["已失效或尚未施行的减免："] + [f"  {line}" for line in n.fee_not_in_force]
    out += [
        "",
        f"法定时限：{n.legal_limit}",
        f"承诺时限：{n.promised_limit}",
        f"延长期限：{n.extension}",
        f"到现场次数：{n.visits}",
        f"网上办理：{n.online}",
    ]
    if n.handling_forms:
        out.append(f"办理形式：{n.handling_forms}")
    if n.special_procedures:
        out += ["", "特别程序："] + [f"  {p}" for p in n.special_procedures]
    out += ["", "办理流程：" + " → ".join(n.steps)]
    for title, flow in n.flows:
        out += [f"{title}："] + [f"  {i}. {s}" for i, s in enumerate(flow, 1)]
    out += [
        f"审批结果：{n.result}",
        "",
        f"办理地点：{n.location}",
        f"办理时间：{n.hours}",
        f"咨询方式：{channels_text(n.contact)}",
        f"监督投诉：{channels_text(n.complaint)}",
    ]
    if n.remedy:
        out += ["救济途径："] + [f"  {r}" for r in n.remedy]
    if n.faq:
        out += ["", "常见问题："]
        for q, a in n.faq:
            out += [f"  问：{q}", f"  答：{a}"]
    if n.guide:
        out += [""] + [f"{label}：{value.text}" for label, value in n.guide]
    out += ["", n.closing]
    return "\n".join(out) + "\n"
