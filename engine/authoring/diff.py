"""Compare two checked catalogues: the public change notice (变更公告) a center posts.

``compare(old, new)`` lists, in words, what an applicant or a clerk would notice between two
versions of a catalogue — items added and withdrawn, materials, time limits, fees, legal
basis, steps, chains and the center's departments — as ``Change`` records: Chinese text for
people, a stable English ``kind`` for programs. It reads only the public result of
``engine.check.pipeline.load`` (``items``, ``fees``, ``forms``, ``chains``, ``calendars``,
``center``, ``withdrawn``), so a catalogue that extends another compares by what it resolves to, not by
which file a value came from. Anything not given its own wording is still reported as a
generic ``field-changed`` line, so no edit goes unannounced.

Money is compared and shown exactly (integer fen, via ``engine.rules.fees.schedule.to_fen``): ``80`` and
``"80.00"`` are the same amount, and ``old``/``new`` of a money change are integer fen.

This module is the comparison: what is matched with what (items by code, list entries by id,
shared schedules and form sections once, with the items that use them) and which change each
difference is. How a value is put into words lives in ``engine.authoring.diff_words``, so that neither
half is lost in the other.

Library code: nothing here prints or exits (``engine.cli.diff`` is the command). It stays one
module, just over 500 lines: the comparer is one class whose methods share what has been matched
and announced already (a shared schedule or section is reported once, with the items that use it);
the wording, the form sections and the matching are the three modules beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.authoring.diff_forms import FormChanges
from engine.authoring.diff_match import by_id as _by_id
from engine.authoring.diff_match import keyed as _keyed
from engine.authoring.diff_match import leaves as _leaves
from engine.authoring.diff_words import (
    CENTER_WORDS,
    MODE_WORDS,
    MONEY_WORDS,
    PERCENT_WORDS,
    basis_change,
    decimal_of,
    duration_change,
    duration_key,
    duration_text,
    fen_of,
    field_word,
    form_labels,
    generic_text,
    money_change,
    not_stated_text,
    percent_change,
    required_text,
    said,
    stage_change,
    step_change,
    steps_words,
)
from engine.base import conditions, stated
from engine.base.stated import NOT_STATED, NOT_STATED_ELEMENTS
from engine.catalogue.model import Catalogue
from engine.rules.fees.schedule import field_labels
from engine.rules.fees.text import line_standard
from engine.rules.guide_words import ONLINE_DEPTH, ROLE_NAMES, TYPE_NAMES

__all__ = ["KIND_ORDER", "SUBJECT_ORDER", "Change", "compare"]

#: the order changes of one subject are listed in (and the complete list of kinds)
KIND_ORDER = (
    # items
    "item-added", "item-withdrawn", "item-unchecked", "item-recoded", "item-renamed", "type", "department",
    "basis", "not-stated", "conditions", "promised-limit", "immediate", "legal-limit", "visits", "online-depth",
    "fee-free", "fee-charged", "fee-schedule-switched",
    "material-added", "material-removed", "material-renamed", "material-required", "material-changed",
    "material-order", "steps", "step-added", "step-removed", "step-limit", "step-changed", "step-order",
    "form-section-added", "form-section-removed", "form-section-changed", "form-section-order",
    # fee schedules, form sections, chains, calendars, the center
    "fee-schedule-added", "fee-schedule-removed", "fee-schedule", "fee-line", "fee-relief",
    "form-added", "form-removed", "form-changed",
    "chain-added", "chain-removed", "chain-renamed", "chain-promised", "chain-stage-added", "chain-stage-removed",
    "chain-stage-changed", "chain-stage-order", "chain-member-added", "chain-member-removed",
    "calendar-added", "calendar-removed", "calendar-changed",
    "center-changed", "department-added", "department-removed", "department-renamed", "department-window",
    "department-phone", "department-changed",
    "field-changed",
)  # fmt: skip
SUBJECT_ORDER = ("item", "fee", "form", "chain", "calendar", "center")
_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}


@dataclass(frozen=True, slots=True)
class Change:
    """One announced change. ``subject`` is what changed (item, fee, form, chain, calendar,
    center) and ``code`` names it (item code, schedule / section / chain id, year; None for the
    center); ``field`` is the dotted path inside it; ``items`` are the item codes a shared fee
    schedule or form section is used by (in either version)."""

    kind: str
    subject: str
    code: str | None
    field: str | None
    old: Any
    new: Any
    text: str
    items: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: values are the catalogue's own (YAML data), money as integer fen."""
        return {**{name: getattr(self, name) for name in self.__slots__}, "items": list(self.items)}


def _schedule_of(fee: Any) -> str | None:
    return str(fee["schedule"]) if isinstance(fee, Mapping) and "schedule" in fee else None


# --- the comparison --------------------------------------------------------------------


class _Compare(FormChanges):
    def __init__(self, old: Catalogue, new: Catalogue) -> None:
        self.old, self.new = old, new
        self.out: list[Change] = []
        # what ``add`` files the next changes under (set by ``on``)
        self.subject = "item"
        self.code: str | None = None
        self.items: tuple[str, ...] = ()

    def on(self, subject: str, code: str | None, items: Sequence[str] = ()) -> None:
        self.subject, self.code, self.items = subject, code, tuple(items)

    def add(self, kind: str, field: str | None, old: Any, new: Any, text: str) -> None:
        self.out.append(Change(kind, self.subject, self.code, field, old, new, text, self.items))

    def generic(self, path: str, a: Any, b: Any, kind: str = "field-changed", what: str = "") -> None:
        """The fallback for anything without wording of its own: ``字段 X（词）已修改：A→B``."""
        self.add(kind, path, a, b, generic_text(path, a, b, what))

    def name_of(self, table: str, key: str) -> str:
        doc = getattr(self.new, table).get(key) or getattr(self.old, table).get(key)
        return str(doc.data.get("name", "")) if doc is not None and doc.data else ""

    def dept(self, cat: Catalogue, dept_id: str) -> str:
        d = cat.department(dept_id)
        return str(d.get("short_name") or d["name"]) if d else dept_id

    # items ------------------------------------------------------------------------------

    def items_all(self) -> None:
        old, new = self.old.items, self.new.items
        gone, fresh = sorted(set(old) - set(new)), sorted(set(new) - set(old))
        # A code edited in place (same file, new code) is one item renumbered, not a withdrawal
        # plus a new item: the public keeps its guide.
        fresh_by_file = {new[c].file: c for c in fresh}
        recoded = {
            c: fresh_by_file.pop(old[c].file)
            for c in gone
            if old[c].file in fresh_by_file and c not in self.new.withdrawn  # an overlay's file may share a path
        }
        for code in sorted(set(old) & set(new)):
            self.item(code, code)
        for code in gone:
            name = old[code].data["name"]
            self.on("item", code)
            if code in recoded:
                self.item(code, recoded[code])
            elif code in self.new.broken_items:
                # with --allow-errors a broken file drops out of the catalogue: that is not a withdrawal
                text = f"新版中事项文件 {self.new.broken_items[code]} 有检查错误，未能比较；修正后再发布变更公告"
                self.add("item-unchecked", None, name, None, text)
            else:
                # an overlay that withdraws a parent's item gives the reason; say it to the public
                reason = self.new.withdrawn.get(code)
                tail = f"；原因：{reason[0]}" if reason else ""
                self.add("item-withdrawn", None, name, None, f"取消事项：{name}（{code}）{tail}")
        for code in sorted(fresh_by_file.values()):
            d = new[code].data
            self.on("item", code)
            if code in self.old.broken_items:
                text = f"旧版中事项文件 {self.old.broken_items[code]} 有检查错误，未能比较"
                self.add("item-unchecked", None, None, d["name"], text)
                continue
            limit = duration_text(d["time_limit"]["promised"], immediate=True)
            dept = self.dept(self.new, d["department"])
            text = f"新增事项：{d['name']}（{code}），实施部门 {dept}，承诺时限 {limit}"
            self.add("item-added", None, None, d["name"], text)

    def item(self, old_code: str, code: str) -> None:
        self.on("item", code)
        od, nd = self.old.items[old_code], self.new.items[code]
        o, n = od.data, nd.data
        if old_code != code:
            self.add("item-recoded", "code", old_code, code, f"事项编码 {old_code}→{code}")
        if o["name"] != n["name"]:
            self.add("item-renamed", "name", o["name"], n["name"], f"事项更名：「{o['name']}」→「{n['name']}」")
        if o["type"] != n["type"]:
            words = f"{TYPE_NAMES.get(o['type'], o['type'])}→{TYPE_NAMES.get(n['type'], n['type'])}"
            self.add("type", "type", o["type"], n["type"], f"事项类型 {words}")
        if o["department"] != n["department"]:
            words = f"{self.dept(self.old, o['department'])}→{self.dept(self.new, n['department'])}"
            self.add("department", "department", o["department"], n["department"], f"实施部门 {words}")
        self.basis(o.get("basis"), n.get("basis"), "basis", "basis", "设定依据")
        gaps = {key for key in NOT_STATED_ELEMENTS if NOT_STATED in (o.get(key), n.get(key))}
        for key in sorted(gaps):  # an element not stated (未说明) on either side: one line, nothing finer
            if o.get(key) != n.get(key):
                self.add("not-stated", key, o.get(key), n.get(key), not_stated_text(key, o.get(key), n.get(key)))
        co, cn = o.get("conditions") or [], n.get("conditions") or []
        if co != cn and "conditions" not in gaps:
            parts = [f"新增「{c}」" for c in cn if c not in co] + [f"删除「{c}」" for c in co if c not in cn]
            self.add("conditions", "conditions", co, cn, "受理条件已修改：" + ("；".join(parts) or "顺序已调整"))
        self.limits(o["time_limit"], n["time_limit"])
        vo, vn = stated.visits_max(o), stated.visits_max(n)
        if vo != vn and "visits" not in gaps:
            self.add("visits", "visits.max", vo, vn, f"最多到现场次数 {vo}→{vn}" + ("（零跑动）" if vn == 0 else ""))
        do, dn = stated.section(o, "online").get("depth", 0), stated.section(n, "online").get("depth", 0)
        if do != dn and "online" not in gaps:
            words = f"{do}（{ONLINE_DEPTH.get(do, '')}）→{dn}（{ONLINE_DEPTH.get(dn, '')}）"
            self.add("online-depth", "online.depth", do, dn, f"网办深度 {words}")
        if "fee" not in gaps:
            self.fee(o.get("fee"), n.get("fee"))
        if "materials" not in gaps:
            lo, ln = form_labels(self.old, od), form_labels(self.new, nd)
            self.materials(o.get("materials"), n.get("materials"), lo, ln)
        self.steps(o.get("steps", "standard"), n.get("steps", "standard"))
        self.sections((o.get("form") or {}).get("sections", []), (n.get("form") or {}).get("sections", []))
        # worded above: these whole fields, and these limits' value and unit (their notes are not)
        subtrees = {"code", "name", "type", "department", "basis", "conditions", "fee", "materials", "steps", "form"}
        subtrees |= gaps
        leaves = {"time_limit.legal", "time_limit.promised", "visits.max", "online.depth"}
        for path, a, b in _leaves(o, n):
            if path.split(".", 1)[0] not in subtrees and path not in leaves:
                self.generic(path, a, b)

    def basis(self, ob: Any, nb: Any, kind: str, field: str, what: str) -> None:
        if ob == nb:
            return
        ob, nb = list(ob or []), list(nb or [])
        self.add(kind, field, ob, nb, f"{what}已修改：" + basis_change(ob, nb))

    def limits(self, o: Mapping[str, Any], n: Mapping[str, Any]) -> None:
        po, pn = o["promised"], n["promised"]
        if duration_key(po) != duration_key(pn):
            if (po["value"] == 0) != (pn["value"] == 0):  # 即办件 is its own promise to the public
                tail = "（改为即办件）" if pn["value"] == 0 else "（不再是即办件）"
                self.add("immediate", "time_limit.promised", po, pn, duration_change("承诺时限", po, pn, True) + tail)
            else:
                self.add("promised-limit", "time_limit.promised", po, pn, duration_change("承诺时限", po, pn))
        lo, ln = o["legal"], n["legal"]
        if duration_key(lo) != duration_key(ln):
            self.add("legal-limit", "time_limit.legal", lo, ln, duration_change("法定时限", lo, ln))

    def fee(self, o: Any, n: Any) -> None:
        so, sn = _schedule_of(o), _schedule_of(n)
        name_o, name_n = self.name_of("fees", so or ""), self.name_of("fees", sn or "")
        if so and not sn:
            self.add("fee-free", "fee", so, None, f"改为不收费（原按收费标准「{name_o}」收取）")
        elif sn and not so:
            self.add("fee-charged", "fee", None, sn, f"改为收费：按收费标准「{name_n}」（{sn}）收取")
        elif so != sn:
            self.add(
                "fee-schedule-switched", "fee.schedule", so, sn, f"收费标准「{name_o}」（{so}）→「{name_n}」（{sn}）"
            )

        def norm(fee: Any) -> Any:  # `free` and {free: true, basis} are both free of charge
            return {"free": True} if fee == "free" else fee

        for path, a, b in _leaves(norm(o), norm(n), "fee"):
            if path not in ("fee", "fee.schedule", "fee.free"):
                self.generic(path, a, b)

    def materials(self, o: Any, n: Any, lo: Mapping[str, str], ln: Mapping[str, str]) -> None:
        removed, added, kept, moved = _keyed(o, n)
        for mid, m in removed:
            self.add("material-removed", f"materials.{mid}", m["name"], None, f"删除材料「{m['name']}」（{mid}）")
        for mid, m in added:
            text = f"新增材料「{m['name']}」（{mid}，{required_text(m.get('required'), ln)}）"
            self.add("material-added", f"materials.{mid}", None, m["name"], text)
        for mid, a, b in kept:
            where, what = f"materials.{mid}", f"材料「{b['name']}」"
            if a["name"] != b["name"]:
                self.add(
                    "material-renamed",
                    f"{where}.name",
                    a["name"],
                    b["name"],
                    f"材料更名：「{a['name']}」→「{b['name']}」",
                )
            ra, rb = a.get("required"), b.get("required")
            if ra != rb:
                text = f"{what}{required_text(ra, lo)}→{required_text(rb, ln)}"
                self.add("material-required", f"{where}.required", ra, rb, text)
            for path, x, y in _leaves(a, b):
                if path.split(".", 1)[0] not in ("id", "name", "required"):
                    self.add("material-changed", f"{where}.{path}", x, y, said(what, path, x, y))
        if moved:
            self.add("material-order", "materials", None, [k for k, _, _ in kept], "材料顺序已调整")

    def steps(self, o: Any, n: Any) -> None:
        if o == n:
            return
        if not (isinstance(o, list) and isinstance(n, list)):
            self.add("steps", "steps", o, n, f"办理环节 {steps_words(o)}→{steps_words(n)}")
            return
        removed, added, kept, moved = _keyed(o, n)
        for sid, s in removed:
            self.add("step-removed", f"steps.{sid}", s, None, f"删除环节「{s['name']}」（{sid}）")
        for sid, s in added:
            role, limit = ROLE_NAMES.get(s["role"], s["role"]), duration_text(s["limit"])
            text = f"新增环节「{s['name']}」（{role}，时限 {limit}）"
            self.add("step-added", f"steps.{sid}", None, s, text)
        for sid, a, b in kept:
            what = f"环节「{b['name']}」"
            for path, x, y in _leaves(a, b):
                if path != "id":
                    kind = "step-limit" if path == "limit" else "step-changed"
                    self.add(kind, f"steps.{sid}.{path}", x, y, step_change(what, path, x, y))
        if moved:
            order = [k for k in _by_id(n) if k in _by_id(o)]
            self.add("step-order", "steps", None, order, "办理环节顺序已调整：" + "→".join(order))

    # fee schedules ------------------------------------------------------------------------

    def fees_all(self) -> None:
        users = self.users(lambda d: [s] if (s := _schedule_of(d.get("fee"))) else [])
        for sid in sorted(set(self.old.fees) | set(self.new.fees)):
            o, n = self.pair("fees", sid)
            # a shared schedule is announced once, with the items that use it, not under each item
            self.on("fee", sid, users.get(sid, ()))
            if not self.whole(("fee-schedule-added", "fee-schedule-removed"), "收费标准", sid, o, n) and o != n:
                self.schedule(o, n)

    def pair(self, table: str, key: str) -> tuple[Any, Any]:
        """A shared document's data in the old and the new version (None where it is absent)."""
        o, n = getattr(self.old, table).get(key), getattr(self.new, table).get(key)
        return (o.data if o is not None else None), (n.data if n is not None else None)

    def whole(self, kinds: tuple[str, str], noun: str, key: str, o: Any, n: Any, label: str = "name") -> bool:
        """Announce a document added or removed as a whole; True when it was."""
        if o is not None and n is not None:
            return False
        d, verb = (n, "新增") if o is None else (o, "取消")
        self.add(kinds[o is not None], None, o and o[label], n and n[label], f"{verb}{noun}「{d[label]}」（{key}）")
        return True

    def users(self, refs: Any) -> dict[str, list[str]]:
        """Shared document id -> codes of the items that name it, in either version."""
        found: dict[str, set[str]] = {}
        for cat in (self.old, self.new):
            for code, doc in cat.items.items():
                for ref in refs(doc.data or {}):
                    found.setdefault(ref, set()).add(code)
        return {k: sorted(v) for k, v in found.items()}

    def schedule(self, o: Mapping[str, Any], n: Mapping[str, Any]) -> None:
        if o["name"] != n["name"]:
            self.add("fee-schedule", "name", o["name"], n["name"], f"收费标准更名：「{o['name']}」→「{n['name']}」")
        self.basis(o.get("basis"), n.get("basis"), "fee-schedule", "basis", "收费依据")
        wo, wn = field_labels(o), field_labels(n)
        line_names = {str(k): str(v.get("name")) for k, v in _by_id(n.get("lines")).items()}
        for section, noun in (("lines", "收费项目"), ("exemptions", "免收情形"), ("reductions", "减收情形")):
            kind = "fee-line" if section == "lines" else "fee-relief"
            removed, added, kept, _ = _keyed(o.get(section), n.get(section))
            for eid, e in removed:
                self.add(kind, f"{section}.{eid}", e, None, f"取消{noun}「{e['name']}」（{eid}）")
            for eid, e in added:
                standard = line_standard(e, wn) if section == "lines" else ""
                text = f"新增{noun}「{e['name']}」（{eid}）" + (f"：{standard}" if standard else "")
                self.add(kind, f"{section}.{eid}", None, e, text)
            for eid, a, b in kept:
                self.entry(kind, f"{section}.{eid}", noun, a, b, (wo, wn), line_names)
        for path, a, b in _leaves(o, n):
            if path.split(".", 1)[0] not in ("name", "basis", "lines", "exemptions", "reductions"):
                self.generic(path, a, b, "fee-schedule", "收费标准")

    def entry(
        self, kind: str, where: str, noun: str, a: Any, b: Any, words: tuple[Any, Any], lines: Mapping[str, str]
    ) -> None:
        """One fee line, exemption or reduction in both versions, field by field, money exact."""
        what, unit = f"{noun}「{b['name']}」", str(b.get("unit") or "")
        for key in [*a, *(k for k in b if k not in a)]:
            x, y, field = a.get(key), b.get(key), f"{where}.{key}"
            if key in MONEY_WORDS:
                fx, fy = fen_of(x), fen_of(y)  # 80 and "80.00" are one amount
                if fx == fy:
                    continue
                per = f"/{unit}" if key == "rate" and unit else ""
                self.add(kind, field, fx, fy, what + money_change(MONEY_WORDS[key], fx, fy, per))
            elif key in PERCENT_WORDS:
                dx, dy = decimal_of(x), decimal_of(y)
                if dx != dy:
                    self.add(kind, field, x, y, what + percent_change(PERCENT_WORDS[key], dx, dy))
            elif x == y or key == "id":
                continue
            elif key == "name":
                self.add(kind, field, x, y, f"{noun}更名：「{x}」→「{y}」")
            elif key == "when":
                cx, cy = (conditions.describe(c, w) if c else "一律" for c, w in ((x, words[0]), (y, words[1])))
                self.add(kind, field, x, y, f"{what}适用条件：{cx}→{cy}")
            elif key == "bands":
                self.add(kind, field, x, y, f"{what}分档标准已修改，现为：{line_standard(b, words[1])}")
            elif key == "basis":
                self.basis(x, y, kind, field, f"{what}依据")
            elif key == "applies_to":
                sx, sy = ("、".join(lines.get(str(i), str(i)) for i in v or ()) or "全部收费项目" for v in (x, y))
                self.add(kind, field, x, y, f"{what}适用收费项目 {sx}→{sy}")
            else:
                for path, p, q in _leaves(x, y, key):
                    self.add(kind, f"{where}.{path}", p, q, said(what, path, p, q))

    # form sections, chains, calendars, the center --------------------------------------------

    def chains_all(self) -> None:
        for cid in sorted(set(self.old.chains) | set(self.new.chains)):
            o, n = self.pair("chains", cid)
            self.on("chain", cid)
            if not self.whole(("chain-added", "chain-removed"), "审批链条", cid, o, n) and o != n:
                self.chain(o, n)

    def chain(self, o: Mapping[str, Any], n: Mapping[str, Any]) -> None:
        # a stage condition names fields of its members' forms: spell them as the members do
        labels: dict[str, str] = {}
        for code in (c for stage in n["stages"] for c in stage["items"] if c in self.new.items):
            labels.update(form_labels(self.new, self.new.items[code]))
        if o["name"] != n["name"]:
            self.add("chain-renamed", "name", o["name"], n["name"], f"链条更名：「{o['name']}」→「{n['name']}」")
        po, pn = o.get("promised"), n.get("promised")
        if duration_key(po) != duration_key(pn):
            label = "链条承诺总时限"
            text = duration_change(label, po, pn) if po and pn else f"{label} {duration_text(po)}→{duration_text(pn)}"
            self.add("chain-promised", "promised", po, pn, text)
        removed, added, kept, moved = _keyed(o["stages"], n["stages"])
        for sid, s in removed:
            self.add("chain-stage-removed", f"stages.{sid}", s, None, f"删除阶段「{s['name']}」（{sid}）")
        for sid, s in added:
            text = f"新增阶段「{s['name']}」（{sid}，{MODE_WORDS.get(s['mode'], s['mode'])}：{'、'.join(s['items'])}）"
            self.add("chain-stage-added", f"stages.{sid}", None, s, text)
        for sid, a, b in kept:
            what, where = f"阶段「{b['name']}」", f"stages.{sid}"
            for code in (c for c in b["items"] if c not in a["items"]):
                text = f"{what}新增成员事项 {code} {self.name_of('items', code)}".rstrip()
                self.add("chain-member-added", f"{where}.items", None, code, text)
            for code in (c for c in a["items"] if c not in b["items"]):
                text = f"{what}移出成员事项 {code} {self.name_of('items', code)}".rstrip()
                self.add("chain-member-removed", f"{where}.items", code, None, text)
            for path, x, y in _leaves(a, b):
                if path not in ("id", "items"):
                    self.add("chain-stage-changed", f"{where}.{path}", x, y, stage_change(what, path, x, y, labels))
        if moved:
            order = [k for k in _by_id(n["stages"]) if k in _by_id(o["stages"])]
            self.add("chain-stage-order", "stages", None, order, "阶段顺序已调整：" + "→".join(order))
        for path, a, b in _leaves(o, n):
            if path.split(".", 1)[0] not in ("name", "promised", "stages"):
                self.generic(path, a, b)

    def calendars_all(self) -> None:
        for year in sorted(set(self.old.calendars) | set(self.new.calendars)):
            o, n = self.old.calendars.get(year), self.new.calendars.get(year)
            self.on("calendar", str(year))
            if o is None or n is None:
                verb, kind = ("新增", "calendar-added") if o is None else ("删除", "calendar-removed")
                self.add(kind, None, None, None, f"{verb} {year} 年节假日安排（工作日历）")
            elif o.data != n.data:
                keys = "、".join(dict.fromkeys(field_word(p.split(".")[0]) or p for p, _, _ in _leaves(o.data, n.data)))
                self.add("calendar-changed", None, None, None, f"{year} 年工作日历已修改：{keys}")

    def center(self) -> None:
        o, n = self.old.center or {}, self.new.center or {}
        self.on("center", None)
        removed, added, kept, _ = _keyed(o.get("departments"), n.get("departments"))
        for did, d in removed:
            self.add("department-removed", f"departments.{did}", d["name"], None, f"撤出部门「{d['name']}」（{did}）")
        for did, d in added:
            text = f"新增进驻部门「{d['name']}」（{did}），窗口 {d.get('window', '')}"
            self.add("department-added", f"departments.{did}", None, d["name"], text)
        for did, a, b in kept:
            what = f"部门「{b.get('short_name') or b['name']}」"
            for path, x, y in _leaves(a, b):
                field = f"departments.{did}.{path}"
                if path in ("name", "short_name"):
                    label = "更名" if path == "name" else "简称"
                    self.add(
                        "department-renamed",
                        field,
                        x,
                        y,
                        f"部门{label}：「{x or '（无）'}」→「{y or '（无）'}」（{did}）",
                    )
                elif path in ("window", "phone"):  # the local facts an applicant walks up to
                    text = f"{what}{field_word(path)} {x or '（无）'}→{y or '（无）'}"
                    self.add(f"department-{path}", field, x, y, text)
                elif path != "id":
                    self.add("department-changed", field, x, y, said(what, path, x, y))
        for path, a, b in _leaves(o, n):
            # withdrawals are announced item by item (with their reason), not as a center setting
            if path not in ("departments", "withdraw"):
                self.add("center-changed", path, a, b, said("中心", path, a, b, CENTER_WORDS))


def compare(old: Catalogue, new: Catalogue) -> list[Change]:
    """Every change from ``old`` to ``new``: by subject (``SUBJECT_ORDER``), then code, then the
    fixed order of ``KIND_ORDER``, then the order the entries have in the files."""
    c = _Compare(old, new)
    for step in (c.items_all, c.fees_all, c.forms_all, c.chains_all, c.calendars_all, c.center):
        step()
    subjects = {subject: i for i, subject in enumerate(SUBJECT_ORDER)}
    ranked = sorted(enumerate(c.out), key=lambda p: (subjects[p[1].subject], p[1].code or "", _RANK[p[1].kind], p[0]))
    return [change for _, change in ranked]
