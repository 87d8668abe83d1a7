"""Flowchart of an item's steps and special procedures, as inline SVG for the service guide (办事指南).

``flowchart_svg(item)`` is a pure function of the item's YAML and the reader's language (its
words go through the translation catalogue, engine.base.i18n; names from the YAML stay as
written): the same item in the same language always gives byte-identical SVG, so pages can be
cached and tests can compare output. The SVG is
self-contained (no <style>, no scripts, no web fonts): a <style> inside inline SVG would
apply to the whole host page, so every style is a presentation attribute instead.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping
from html import escape
from typing import Any

from engine.base.i18n import N_, gettext
from engine.rules import guide_words
from engine.rules.cases.steps import step_groups  # the flowchart must draw exactly the groups the engine routes
from engine.rules.guide_words import PROCEDURE_NAMES

# the schema's words for roles and special procedures, kept in one place (engine.rules.notice;
# marked for the catalogue, translated where drawn)
ROLE_NAMES: Mapping[str, str] = guide_words.ROLE_NAMES
PROCEDURE_KINDS: Mapping[str, str] = PROCEDURE_NAMES
UNITS = frozenset({"working_day", "natural_day", "minute"})

# System CJK fonts first (nothing is downloaded), so Chinese never falls back to boxes.
FONT = (
    "'PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC','Source Han Sans SC',"
    "'WenQuanYi Micro Hei',sans-serif"
)
INK, LINE, MUTED, ACCENT, PAPER = "#1a1a1a", "#1f5fa8", "#555555", "#a34e00", "#ffffff"

# Geometry in viewBox units (integers only, so the output never depends on float formatting).
MARGIN, PAD = 12, 9
BOX_W, GAP = 150, 20  # step box; boxes of one parallel row sit GAP apart
SIDE_W, SIDE_GAP = 190, 28  # column of special procedures beside the flow
ARROW, STUB = 24, 16  # arrow between rows; short arrows from a fork bar to its boxes
BRANCH_W, BRANCH_GAP = 132, 30  # column of the ways out (补正, 不予受理, 不予许可) left of the flow
NAME, NAME_LH, SMALL, SMALL_LH = 13, 17, 11, 15  # font sizes and line heights

# XML 1.0 forbids most control characters even as references; they are dropped, not escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Chinese typesetting: closing punctuation never starts a line, opening brackets never end one.
_NO_START = set("）》」』】〕，。、；：！？,.;:!?)]…")
_NO_END = set("（《「『【〔([")


def duration_text(d: Mapping[str, Any] | None) -> str:
    """'3个工作日', '2个自然日', '30分钟' (in the reader's language); a value of 0 is done on the spot."""
    if not isinstance(d, Mapping) or "value" not in d:
        return ""
    if d["value"] == 0:
        return gettext("当场办结")
    if d.get("unit") in UNITS:
        return guide_words.duration_text(d)
    return f"{d['value']}{d.get('unit', '')}"


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def em_width(ch: str) -> float:
    """How many ems a character takes when drawn (engine.web.charts wraps its labels with it too)."""
    # Wide and ambiguous characters take a full em in CJK fonts; Latin letters and digits about half.
    return 1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.55


def wrap(text: str, width_em: float, max_lines: int, *, balance: bool = True) -> list[str]:
    """Break text into lines of at most ``width_em`` ems by character count (Chinese has no spaces),
    keeping punctuation rules; text beyond ``max_lines`` is cut with '…' (the box <title> keeps it all)."""
    lines: list[str] = []
    line, used = "", 0.0
    for ch in text:
        if line and used + em_width(ch) > width_em:
            carry = ""
            if (_latin(ch) or ch in _NO_START) and _latin(line[-1]) and " " in line.strip():
                # an English word (and the stop after it) is not cut: it goes down whole from the last
                # space (Chinese has none)
                cut = line.rstrip().rindex(" ")
                line, carry = line[:cut], line[cut + 1 :]
            elif len(line) > 1 and (ch in _NO_START or line[-1] in _NO_END):
                line, carry = line[:-1], line[-1]  # push one character down rather than overflow the box
            english = line.rstrip(" ")[-1:].isascii()  # the space between two English words …
            lines.append(line.rstrip(" ") if english and line.strip() else line)  # … is not drawn at a line's end
            line, used = carry, sum(map(em_width, carry))
            if ch == " " and not line and english:
                continue  # … nor at the next one's start
        line += ch
        used += em_width(ch)
    if line:
        lines.append(line)
    if 1 < len(lines) <= max_lines and balance:
        # same number of lines, evened out: avoids a lone character on the last line
        even_width = min(width_em, math.ceil(sum(map(em_width, text)) / len(lines)))
        even = wrap(text, even_width, len(lines) + 1, balance=False)
        lines = even if len(even) == len(lines) else lines
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and sum(map(em_width, last)) + 1 > width_em:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last + "…"]
    return lines or [""]


def xml_text(value: Any) -> str:
    """Text or attribute value, XML-escaped (item text may hold < & " ')."""
    return escape(_NOT_XML.sub("", str(value)), quote=True)


def _text(x: int, y: int, lines: list[str], size: int, lh: int, **attrs: str) -> str:
    """One <text> with a <tspan> per line; ``y`` is the first baseline."""
    # keyword names stand for attributes: font_weight -> font-weight, class_ -> class
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{xml_text(v)}"' for k, v in attrs.items())
    spans = "".join(f'<tspan x="{x}" y="{y + i * lh}">{xml_text(s)}</tspan>' for i, s in enumerate(lines))
    return f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="middle"{extra}>{spans}</text>'


def _arrow(x: int, y1: int, y2: int) -> str:
    # Arrowheads are drawn as polygons, not <marker>s: marker ids would clash between SVGs on one page.
    return (
        f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2 - 6}" stroke="{LINE}" stroke-width="1.5"/>'
        f'<polygon points="{x - 4},{y2 - 7} {x + 4},{y2 - 7} {x},{y2}" fill="{LINE}"/>'
    )


def _bar(x1: int, x2: int, y: int) -> str:
    """Fork or join bar of a parallel group."""
    return f'<rect x="{x1}" y="{y - 1}" width="{x2 - x1}" height="3" fill="{LINE}"/>'


def _pill(cx: int, y: int, w: int, lines: list[str], notes: list[str], kind: str, full: str = "") -> tuple[str, int]:
    """Start or end node: a rounded box with bold lines and small notes (one limit per line); returns (svg, height)."""
    h = PAD + len(lines) * NAME_LH + len(notes) * SMALL_LH + PAD - 4
    said = gettext("，").join(lines + notes)
    parts = [
        f'<g class="{kind}"><title>{xml_text(full or said)}</title>'
        f'<rect x="{cx - w // 2}" y="{y}" width="{w}" height="{h}" rx="{min(h // 2, 16)}" '
        f'fill="#eaf2fb" stroke="{LINE}" stroke-width="1.5"/>',
        _text(cx, y + PAD + NAME - 2, lines, NAME, NAME_LH, font_weight="bold", fill=INK),
    ]
    if notes:
        parts.append(_text(cx, y + PAD + len(lines) * NAME_LH + SMALL - 2, notes, SMALL, SMALL_LH, fill=MUTED))
    return "".join(parts) + "</g>", h


def _step_lines(step: Mapping[str, Any], roles: Mapping[str, str]) -> tuple[list[str], list[str]]:
    name = wrap(str(step.get("name", step.get("id", ""))), (BOX_W - 2 * PAD) / NAME, 3)
    role = str(step.get("role", ""))
    meta = [gettext(roles[role]) if role in roles else role]
    if duration_text(step.get("limit")):
        meta.append(gettext("时限 %(limit)s") % {"limit": duration_text(step.get("limit"))})
    return name, meta


def _step_label(step: Mapping[str, Any], roles: Mapping[str, str]) -> str:
    role = str(step.get("role", ""))
    bits = [gettext(roles[role]) if role in roles else role, duration_text(step.get("limit"))]
    said = {"name": step.get("name", step.get("id", "")), "details": gettext("，").join(b for b in bits if b)}
    return gettext("%(name)s（%(details)s）") % said


def _procedure_label(sp: Mapping[str, Any]) -> str:
    kind = str(sp.get("kind", ""))
    bits = [
        gettext(PROCEDURE_KINDS[kind]) if kind in PROCEDURE_KINDS else kind,
        gettext("最长%(limit)s") % {"limit": duration_text(sp.get("max"))} if sp.get("max") else "",
        gettext("计入办理时限") if sp.get("counts_toward_limit", True) else gettext("不计入办理时限"),
    ]
    return gettext("%(name)s（%(details)s）") % {
        "name": sp.get("name", kind),
        "details": gettext("，").join(b for b in bits if b),
    }


def _limits(item: Mapping[str, Any]) -> list[str]:
    tl = item.get("time_limit")
    if not isinstance(tl, Mapping):
        return []
    promised = tl.get("promised")
    # promised 0 is what makes an immediate item (即办件), whatever the item type
    head = gettext("即办件（当场办结）") if isinstance(promised, Mapping) and promised.get("value") == 0 else ""
    head = head or (
        gettext("承诺时限%(limit)s") % {"limit": duration_text(promised)} if duration_text(promised) else ""
    )
    legal = duration_text(tl.get("legal"))
    return [b for b in (head, gettext("法定时限%(limit)s") % {"limit": legal} if legal else "") if b]


def describe(item: Mapping[str, Any], role_names: Mapping[str, str] | None = None) -> str:
    """The whole flow in order as one sentence in the reader's language: the <desc> screen readers announce."""
    roles = {**ROLE_NAMES, **(role_names or {})}
    parts = [gettext("提交申请")]
    for n, group in enumerate(step_groups(item), 1):
        labels = [_step_label(s, roles) for s in group]
        step = labels[0] if len(labels) == 1 else gettext("同时办理：%(steps)s") % {"steps": gettext("、").join(labels)}
        parts.append(gettext("第%(n)s步 %(step)s") % {"n": n, "step": step})
    result = item.get("result")
    name = result.get("name") if isinstance(result, Mapping) else None
    parts.append(gettext("送达结果：%(result)s") % {"result": name} if name else gettext("送达结果"))
    text = gettext("%(name)s办理流程：%(steps)s。") % {"name": item.get("name", ""), "steps": " → ".join(parts)}
    if _limits(item):
        text += gettext("，").join(_limits(item)) + gettext("。")
    text += "".join(gettext("%(head)s：%(what)s。") % {"head": gettext(head), "what": gettext(what)}
                    for head, what, _ in _branches(item, step_groups(item)))  # fmt: skip
    procedures = [_procedure_label(sp) for sp in item.get("special_procedures") or []]
    if procedures:
        text += gettext("可能启动的特别程序：%(procedures)s。") % {"procedures": gettext("；").join(procedures)}
    return text


SUPPLEMENT = N_("补正")


def _branches(item: Mapping[str, Any], groups: list[list[dict[str, Any]]]) -> list[tuple[str, str, int]]:
    """The ways a case leaves the straight flow, as (name, what happens, the row it leaves from), both
    in Chinese as marked for the catalogue (translated where drawn; the name also keys the SVG's
    data-branch): at acceptance (the first row; the engine's 受理 action) 补正 and 不予受理, and at
    the row that holds the decider's step the refusal. Drawn because an applicant asks "what if it
    goes wrong" first."""
    out = [
        (SUPPLEMENT, N_("材料不齐全或不符合法定形式的，一次性告知需补正的全部内容，补正后重新提交"), 0),
        (N_("不予受理"), N_("不属于受理范围的，出具不予受理决定书并说明理由"), 0),
    ]
    decide = next((i for i, g in enumerate(groups) if any(s.get("role") == "decider" for s in g)), None)
    if decide is None:
        return out
    # 行政许可法 第三十八条 speaks of a decision 不予行政许可; other kinds of matter are simply not granted
    if item.get("type") == "license":
        refusal = (
            N_("不予许可"),
            N_("审查不符合法定条件的，作出不予许可决定，书面说明理由并告知申请复议或提起诉讼的权利"),
        )
    else:
        refusal = (
            N_("不予办理"),
            N_("审查不符合法定条件的，作出不予办理决定，书面说明理由并告知申请复议或提起诉讼的权利"),
        )
    return [*out, (*refusal, decide)]


def _left_arrow(x1: int, x2: int, y: int) -> str:
    """A horizontal arrow from x1 leftwards to x2 (x2 < x1), dashed: a way out of the flow."""
    return (
        f'<line x1="{x1}" y1="{y}" x2="{x2 + 6}" y2="{y}" stroke="{ACCENT}" stroke-width="1.2" stroke-dasharray="4 3"/>'
        f'<polygon points="{x2 + 7},{y - 4} {x2 + 7},{y + 4} {x2},{y}" fill="{ACCENT}"/>'
    )


class _Flow:
    """One flowchart being drawn, top to bottom, one method per part: the start, each row of steps
    with the ways out that leave from it, the end, and the column of special procedures. It holds
    the geometry the item fixes, the running height ``y`` of the flow (``branch_y``: the next free
    height in the column of ways out, which may run lower than the flow) and the SVG body so far."""

    def __init__(self, item: Mapping[str, Any], role_names: Mapping[str, str] | None) -> None:
        self.item, self.role_names = item, role_names
        self.roles = {**ROLE_NAMES, **(role_names or {})}
        self.groups = step_groups(item)
        self.procedures = [sp for sp in item.get("special_procedures") or [] if isinstance(sp, Mapping)]
        self.branches = _branches(item, self.groups)
        self.flow_w = max([BOX_W + 20] + [len(g) * BOX_W + (len(g) - 1) * GAP for g in self.groups])
        self.left = MARGIN + BRANCH_W + BRANCH_GAP  # the flow starts right of the column of ways out
        self.width = self.left + self.flow_w + (SIDE_GAP + SIDE_W if self.procedures else 0) + MARGIN
        self.cx = self.left + self.flow_w // 2
        self.body: list[str] = []
        self.y = self.start_mid = self.first_row = self.branch_y = 0

    def start(self) -> None:
        """The start (提交申请): the first row is an arrow below it, and so is the first way out."""
        start, h = _pill(self.cx, MARGIN, BOX_W, [gettext("提交申请")], [], "start")
        self.body.append(start)
        self.start_mid = MARGIN + h // 2  # where the supplement's way back comes in
        self.y = MARGIN + h
        self.first_row = self.y + ARROW
        self.branch_y = self.first_row

    def row(self, gi: int, group: list[dict[str, Any]]) -> None:
        """Row ``gi``: its steps side by side (a parallel group forked and joined), and the ways out
        that leave from it."""
        lines = [_step_lines(s, self.roles) for s in group]
        row_h = max(PAD + len(n) * NAME_LH + 4 + len(m) * SMALL_LH + PAD - 4 for n, m in lines)
        row_w = len(group) * BOX_W + (len(group) - 1) * GAP
        x0 = self.left + (self.flow_w - row_w) // 2
        centers = [x0 + i * (BOX_W + GAP) + BOX_W // 2 for i in range(len(group))]
        self._enter(centers)
        for step, (name, meta), c in zip(group, lines, centers, strict=True):
            self.body.append(self._step(gi, step, name, meta, c, row_h))
        for key, what_said, row in self.branches:
            if row == gi:
                self.branch(key, what_said, x0, row_h)
        self.y += row_h
        self._leave(centers)

    def _enter(self, centers: list[int]) -> None:
        """Into a row: an arrow, or for a parallel group a fork bar the flow enters and short arrows
        down into each box."""
        cx, y = self.cx, self.y
        if len(centers) > 1:
            self.body.append(
                f'<line x1="{cx}" y1="{y}" x2="{cx}" y2="{y + ARROW // 2}" stroke="{LINE}" stroke-width="1.5"/>'
            )
            y += ARROW // 2
            self.body.append(_bar(centers[0], centers[-1], y))
            self.body.append(_text(centers[-1] + 30, y + 4, [gettext("并行办理")], SMALL, SMALL_LH, fill=MUTED))
            self.body.extend(_arrow(c, y + 2, y + STUB) for c in centers)
            self.y = y + STUB
        else:
            self.body.append(_arrow(cx, y, y + ARROW))
            self.y = y + ARROW

    def _leave(self, centers: list[int]) -> None:
        """Out of a parallel group: the join bar, as every parallel box must finish before the next step starts."""
        if len(centers) > 1:
            y = self.y
            self.body.extend(
                f'<line x1="{c}" y1="{y}" x2="{c}" y2="{y + STUB}" stroke="{LINE}" stroke-width="1.5"/>'
                for c in centers
            )
            self.body.append(_bar(centers[0], centers[-1], y + STUB))
            self.y = y + STUB + 2

    def _step(self, gi: int, step: Mapping[str, Any], name: list[str], meta: list[str], c: int, row_h: int) -> str:
        """One step's box, centred at ``c``: its name in bold, then who does it and its limit."""
        y = self.y
        return (
            f'<g class="step" data-step="{xml_text(step.get("id", ""))}" data-group="{gi}">'
            f"<title>{xml_text(_step_label(step, self.roles))}</title>"
            f'<rect x="{c - BOX_W // 2}" y="{y}" width="{BOX_W}" height="{row_h}" rx="4" '
            f'fill="{PAPER}" stroke="{LINE}" stroke-width="1.5"/>'
            + _text(c, y + PAD + NAME - 2, name, NAME, NAME_LH, fill=INK, font_weight="bold", class_="name")
            + _text(c, y + PAD + len(name) * NAME_LH + 4 + SMALL - 2, meta, SMALL, SMALL_LH, fill=MUTED)
            + "</g>"
        )

    def branch(self, key: str, what_said: str, x0: int, row_h: int) -> None:
        """A way out of the row drawn at ``y`` (its left edge at ``x0``): a box in the column on the
        left, below the previous one, and a dashed arrow to it from the row (an elbow when the box
        sits lower than the row); the supplement also draws its way back to the start."""
        y = self.y
        bname, what = gettext(key), gettext(what_said)
        headed = gettext("%(head)s：%(what)s") % {"head": bname, "what": what}
        lines_b = wrap(what, (BRANCH_W - 2 * PAD) / SMALL, 6)
        bh = PAD + NAME_LH + len(lines_b) * SMALL_LH + PAD - 4
        by = max(y, self.branch_y)
        bx = MARGIN
        mid = by + min(bh, row_h) // 2
        if by + 8 > y + row_h:
            elbow = MARGIN + BRANCH_W + BRANCH_GAP // 2
            self.body.append(
                f'<polyline points="{x0},{y + row_h // 2} {elbow},{y + row_h // 2} {elbow},{mid}" '
                f'fill="none" stroke="{ACCENT}" stroke-width="1.2" stroke-dasharray="4 3"/>'
            )
            self.body.append(_left_arrow(elbow, bx + BRANCH_W, mid))
        else:
            self.body.append(_left_arrow(x0, bx + BRANCH_W, mid))
        self.body.append(
            f'<g class="branch" data-branch="{xml_text(key)}"><title>{xml_text(headed)}</title>'
            f'<rect x="{bx}" y="{by}" width="{BRANCH_W}" height="{bh}" rx="4" fill="#fffaf3" '
            f'stroke="{ACCENT}" stroke-width="1.2"/>'
            + _text(bx + BRANCH_W // 2, by + PAD + NAME - 2, [bname], NAME, NAME_LH, fill=ACCENT,
                    font_weight="bold", class_="name")
            + _text(bx + BRANCH_W // 2, by + PAD + NAME_LH + SMALL - 2, lines_b, SMALL, SMALL_LH, fill=INK)
            + "</g>"
        )  # fmt: skip
        if key == SUPPLEMENT:  # the applicant supplements and the application comes back in
            self._back_to_start(bx + BRANCH_W // 2, by)
        self.branch_y = by + bh + 10

    def _back_to_start(self, loop_x: int, by: int) -> None:
        """The supplement's way back: up from its box at ``by`` and into the start's side."""
        mid, edge = self.start_mid, self.cx - BOX_W // 2
        self.body.append(
            f'<polyline points="{loop_x},{by} {loop_x},{mid} {edge - 6},{mid}" '
            f'fill="none" stroke="{ACCENT}" stroke-width="1.2" stroke-dasharray="4 3"/>'
            f'<polygon points="{edge - 7},{mid - 4} {edge - 7},{mid + 4} {edge},{mid}" fill="{ACCENT}"/>'
        )
        self.body.append(_text(loop_x + 34, mid - 5, [gettext("补正后重新提交")], SMALL, SMALL_LH, fill=ACCENT))

    def end(self) -> int:
        """The arrow to the end (送达结果, with the result's name and the item's limits); its bottom."""
        result = self.item.get("result")
        result_name = str(result.get("name", "")) if isinstance(result, Mapping) else ""
        delivered = gettext("送达结果")
        end_lines = [delivered, *(wrap(result_name, (BOX_W + 20 - 2 * PAD) / NAME, 2) if result_name else [])]
        self.body.append(_arrow(self.cx, self.y, self.y + ARROW))
        limits = _limits(self.item)
        full = gettext("，").join([delivered, *([result_name] if result_name else []), *limits])
        end, h = _pill(self.cx, self.y + ARROW, BOX_W + 20, end_lines, limits, "end", full)
        self.body.append(end)
        return self.y + ARROW + h

    def procedures_column(self) -> int:
        """The special procedures in a dashed column right of the flow, from the first row down (the
        schema does not tie a procedure to a step); the column's bottom."""
        sx = self.left + self.flow_w + SIDE_GAP
        scx = sx + SIDE_W // 2
        sy = self.first_row
        self.body.append(_text(scx, sy + NAME - 2, [gettext("特别程序")], NAME, NAME_LH, fill=INK, font_weight="bold"))
        when = [gettext("办理中依法需要时启动")]
        self.body.append(_text(scx, sy + NAME_LH + SMALL - 2, when, SMALL, SMALL_LH, fill=MUTED))
        sy += NAME_LH + SMALL_LH + 6
        for sp in self.procedures:
            box, bh = _procedure_box(sp, sx, sy)
            self.body.append(box)
            sy += bh + 10
        return sy - 10

    def svg(self, bottom: int) -> str:
        """The whole chart, ``bottom`` the lowest thing drawn in the flow or beside it."""
        height = max(bottom, self.branch_y - 10) + MARGIN
        # ids only for aria-labelledby; derived from the item so two charts on one page rarely collide
        key = str(self.item.get("code") or self.item.get("name") or "")
        uid = "fc-" + hashlib.sha256(key.encode()).hexdigest()[:10]
        title = gettext("%(name)s办理流程图") % {"name": self.item.get("name", "")}  # (outside the f-string: extracted)
        described = describe(self.item, self.role_names)
        # drawn so the smallest text (SMALL units) is 14 CSS px, never shrunk to the screen: a phone
        # scrolls the figure sideways (figure.flowchart in base.html) rather than show 9 px text
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {height}" width="100%" '
            f'style="width:{math.ceil(self.width * 14 / SMALL)}px;max-width:none;height:auto" role="img" '
            f'aria-labelledby="{uid}-t {uid}-d" '
            f'font-family="{FONT}">'
            f'<title id="{uid}-t">{xml_text(title)}</title>'
            f'<desc id="{uid}-d">{xml_text(described)}</desc>' + "".join(self.body) + "</svg>"
        )


def _procedure_box(sp: Mapping[str, Any], sx: int, sy: int) -> tuple[str, int]:
    """One special procedure's dashed box at (``sx``, ``sy``): its name, kind and longest time, and
    whether its time counts toward the limit (in the accent colour, bold, when it does not); its height."""
    name = wrap(str(sp.get("name", "")), (SIDE_W - 2 * PAD) / 12, 3)
    kind = str(sp.get("kind", ""))
    meta = [gettext(PROCEDURE_KINDS[kind]) if kind in PROCEDURE_KINDS else kind]
    if sp.get("max"):
        meta.append(gettext("最长 %(limit)s") % {"limit": duration_text(sp.get("max"))})
    counts = bool(sp.get("counts_toward_limit", True))
    meta.append(gettext("计入办理时限") if counts else gettext("不计入办理时限"))
    bh = PAD + len(name) * 16 + 4 + len(meta) * SMALL_LH + PAD - 4
    scx = sx + SIDE_W // 2
    box = (
        f'<g class="procedure" data-kind="{xml_text(kind)}"><title>{xml_text(_procedure_label(sp))}</title>'
        f'<rect x="{sx}" y="{sy}" width="{SIDE_W}" height="{bh}" rx="4" fill="#fffaf3" '
        f'stroke="{ACCENT}" stroke-width="1.2" stroke-dasharray="5 3"/>'
        + _text(scx, sy + PAD + 10, name, 12, 16, fill=INK, class_="name")
        + _text(scx, sy + PAD + len(name) * 16 + 4 + SMALL - 2, meta[:-1], SMALL, SMALL_LH, fill=MUTED)
        + _text(
            scx,
            sy + PAD + len(name) * 16 + 4 + (len(meta) - 1) * SMALL_LH + SMALL - 2,
            meta[-1:],
            SMALL,
            SMALL_LH,
            fill=INK if counts else ACCENT,
            font_weight="normal" if counts else "bold",
            class_="clock",
        )
        + "</g>"
    )
    return box, bh


def flowchart_svg(item: Mapping[str, Any], *, role_names: Mapping[str, str] | None = None) -> str:
    """The item's steps (parallel groups side by side, forked and joined) from application to result,
    with its special procedures in a dashed column beside the flow, as an inline SVG string."""
    flow = _Flow(item, role_names)
    flow.start()
    for gi, group in enumerate(flow.groups):
        flow.row(gi, group)
    bottom = flow.end()
    if flow.procedures:
        bottom = max(bottom, flow.procedures_column())
    return flow.svg(bottom)
