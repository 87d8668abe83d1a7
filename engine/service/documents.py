"""Statutory notices (法律文书) generated from a case's record and its item's YAML, printable.

``documents_for`` walks the case's events and returns, in the order they were issued, every
written notice the history justifies; ``render`` turns one into a standalone A4 page
(``templates/documents/notice.html``). No item has code of its own: titles, reasons, remedies
and bases come from the events and the item snapshot the case is pinned to.

Only articles of the 中华人民共和国行政许可法 whose content is certain are cited (32, 38, 42,
45), and only for administrative licences (item type ``license``): other kinds of items run the
same procedure here but that law does not govern them, so they cite the item's own basis alone.

A notice is issued in Chinese whatever the language of the page that shows it (its words, like
engine.rules.notice's limits and bases it reuses, are built with no other language active:
:func:`documents_for`); a page may name its kind in the reader's language (the titles are marked
for the catalogue), never rewrite it.

A notice is a record of what was said when it was issued, so it shows a deadline date only when
today's deadlines (``deadlines``) are still the ones in force at issue (no extension or
clock-stopping procedure since); otherwise it states the limit in words. A date counted by the
provisional holiday rule (a year without its calendar file, engine.service.provisional) is followed by
（暂定：2027年放假安排尚未公布，按法定节假日推算）.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from engine.base import delivery, stated
from engine.base.dates import TZ
from engine.base.i18n import DEFAULT, N_, speaking
from engine.ledger.db import read_only
from engine.ledger.events import EventRecord, events_of
from engine.rules.cases.law import extension_of
from engine.rules.cases.model import Case, Event
from engine.rules.clock import local_date
from engine.rules.forms import field_specs
from engine.rules.guide_words import PROCEDURE_NAMES, basis_text, duration_text
from engine.service import provisional
from engine.service.cases import CaseService
from engine.service.deadlines import Deadlines

LICENSING_LAW = "中华人民共和国行政许可法"

KINDS: dict[str, tuple[str, str]] = {  # kind -> (title for licences, word of the document number)
    "acceptance": (N_("受理通知书"), "受"),
    "deemed_acceptance": (N_("视为受理告知书"), "视受"),
    "refusal": (N_("不予受理决定书"), "不受"),
    "supplement": (N_("补正材料通知书（一次性告知书）"), "补"),
    "extension": (N_("延长期限告知书"), "延"),
    "special_procedure": (N_("特别程序告知书"), "特"),
    "decision_approve": (N_("准予行政许可决定书"), "准"),
    "decision_deny": (N_("不予行政许可决定书"), "不准"),
}
#: decisions on items that are not administrative licences (confirmation, filing, public service …)
OTHER_TITLES = {"decision_approve": N_("准予办理决定书"), "decision_deny": N_("不予办理决定书")}
DELIVERY_NAMES = delivery.METHOD_LABELS

_env = Environment(loader=PackageLoader("engine.web", "templates"), autoescape=select_autoescape(["html"]))


@dataclass(frozen=True, slots=True)
class Document:
    kind: str  # one of KINDS
    title: str
    number: str  # e.g. 〔2026〕受字第 QQIQIHAR20260306000001 号
    issued_at: datetime  # the event's instant (aware)
    addressee: str  # the applicant's name (applicant.name)
    paragraphs: tuple[str, ...]  # plain text; the template escapes it
    basis: str  # 依据 line; "" when there is nothing certain to cite
    issuer: str  # the implementing department (its seal)
    case_number: str
    item_name: str

    @property
    def date_text(self) -> str:
        return chinese_date(self.issued_at)


def chinese_date(at: datetime) -> str:
    """An aware instant as its China Standard Time date: 2026年3月6日."""
    d = local_date(at)
    return f"{d.year}年{d.month}月{d.day}日"


def _deadline_text(at: datetime, unit: str, since: int | None = None) -> str:
    """A deadline as a notice prints it; ``since``: the first provisional year (暂定 from it on)."""
    mark = provisional.chinese_note(at) if provisional.is_provisional(at, since) else ""
    if unit == "minute":  # office-minute limits end inside a day: the time matters
        return f"{chinese_date(at)} {at.astimezone(TZ):%H:%M}{mark}"
    return chinese_date(at) + mark


def document_number(case_number: str, kind: str, seq: int, issued_at: datetime) -> str:
    """A stable number from the case number, the kind and its sequence within the case.

    The real numbering format (文号: agency abbreviation, year, serial) is set by each center;
    this one only needs to be unique per notice and the same every time it is printed.
    """
    suffix = f"-{seq}" if seq > 1 else ""
    return f"〔{local_date(issued_at).year}〕{KINDS[kind][1]}字第 {case_number}{suffix} 号"


@dataclass(frozen=True, slots=True)
class _Event:
    action: str
    at: datetime
    payload: Mapping[str, Any]


def _events(events: Iterable[Event | EventRecord], limit: int) -> list[_Event]:
    out = []
    for e in events:
        at = e.at_datetime if isinstance(e, EventRecord) else e.at
        out.append(_Event(e.action, at, e.payload if isinstance(e.payload, Mapping) else {}))
    return out[:limit]  # the events folded into ``case``, even if the record has moved on since


def documents_for(
    case: Case,
    snapshot: Mapping[str, Any],
    center: Mapping[str, Any] | None,
    deadlines: Deadlines | None = None,
    events: Iterable[Event | EventRecord] | None = None,
) -> list[Document]:
    """The notices issued on ``case`` so far, oldest first (none for a case just submitted).

    ``events`` are the case's recorded events (``ledger.events_of``): the folded case keeps
    neither when it was refused, extended or decided nor the supplement list once the applicant
    has supplemented, so they are needed for anything past submission (``documents_of`` loads
    everything from a service). ``deadlines`` (``CaseService.deadlines``) adds due dates.
    """
    if events is None:
        if case.version <= 1:
            return []
        raise ValueError("documents_for needs the case's events (ledger.events_of) to date its notices")
    with speaking(DEFAULT):  # issued in Chinese, whatever the page's language (module docstring)
        return _Builder(case, snapshot["item"], center, deadlines, snapshot.get("forms", {})).build(
            _events(events, case.version)
        )


def documents_of(service: CaseService, number: str) -> list[Document]:
    """Every notice of case ``number``, loaded through ``service`` (case, snapshot, events, deadlines)."""
    case, snap = service.load(number)
    with read_only(service.db) as conn:
        records = events_of(conn, number)
    try:
        dl: Deadlines | None = service.deadlines(case, snap)
    except LookupError:  # a year no rule counts (before the first file): the limits in words
        dl = None
    return documents_for(case, snap, service.catalogue.center, dl, records)


class _Builder:
    def __init__(
        self,
        case: Case,
        item: Mapping[str, Any],
        center: Mapping[str, Any] | None,
        deadlines: Deadlines | None,
        forms: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.case, self.item, self.deadlines = case, item, deadlines
        self.forms = forms or {}  # the reusable form sections the case was filed under
        self.licence = item.get("type") == "license"
        depts = {d.get("id"): d for d in (center or {}).get("departments", [])}
        self.issuer = str(depts.get(item["department"], {}).get("name") or item["department"])
        applicant = case.data.get("applicant", {}) if isinstance(case.data.get("applicant"), Mapping) else {}
        self.addressee = str(applicant.get("name") or "申请人")
        self.you = "你单位" if applicant.get("type") == "legal_person" else "你"
        self.counts: dict[str, int] = {}
        self.sp = {sp["kind"]: sp for sp in item.get("special_procedures", [])}

    # -- helpers -----------------------------------------------------------------------------
    def _delivery_chosen(self) -> str | None:
        """The delivery method the applicant chose on the form the case was filed under, if it asked."""
        for name, spec in field_specs(self.item, self.forms).items():
            section, _, key = name.partition(".")
            answers = self.case.data.get(section)
            value = answers.get(key) if isinstance(answers, Mapping) else None
            if spec.get("delivery") and value in delivery.offered(self.item):
                return str(value)
        return None

    def _doc(self, kind: str, at: datetime, paragraphs: list[str], articles: list[str], refs: list[Any]) -> Document:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        title = KINDS[kind][0] if self.licence else OTHER_TITLES.get(kind, KINDS[kind][0])
        return Document(
            kind=kind,
            title=title,
            number=document_number(self.case.number, kind, self.counts[kind], at),
            issued_at=at,
            addressee=self.addressee,
            paragraphs=tuple(paragraphs),
            basis=self._basis(articles, refs),
            issuer=self.issuer,
            case_number=self.case.number,
            item_name=str(self.item["name"]),
        )

    def _basis(self, articles: list[str], refs: list[Any]) -> str:
        laws: dict[str, list[str]] = {LICENSING_LAW: list(articles)} if self.licence else {}
        for ref in refs:  # one entry per law, its articles in order, each once
            cited = laws.setdefault(str(ref["law"]).strip("《》"), [])
            if ref["article"] not in cited:
                cited.append(str(ref["article"]))
        return basis_text([{"law": law, "article": "、".join(arts)} for law, arts in laws.items() if arts])

    def _filed(self) -> str:
        received = self.case.received_at
        when = f"于{chinese_date(received)}" if received else ""
        return f"{self.you}{when}提交的“{self.item['name']}”申请（申请编号：{self.case.number}）"

    def _remedy(self) -> list[str]:
        remedy = self.item.get("remedy") or {}
        lines = [
            f"{label}：{remedy[key]}"
            for key, label in (("reconsideration", "申请行政复议"), ("litigation", "提起行政诉讼"))
            if remedy.get(key)
        ]
        head = f"{self.you}如不服本决定，可以依法申请行政复议或者提起行政诉讼"
        return [head + "：", *lines] if lines else [head + "。"]

    def _stops_clock(self, kind: str) -> bool:
        sp = self.sp.get(kind)
        return sp is not None and not sp.get("counts_toward_limit", True)

    def _limits(self, with_dates: bool) -> list[str]:
        tl = self.item["time_limit"]
        promised, legal = tl["promised"], tl["legal"]
        if promised["value"] == 0:
            lines = [f"本事项为即办件，当场办结；法定期限为{duration_text(legal)}。"]
        else:
            lines = [f"本机关承诺自受理之日起{duration_text(promised)}内办结，法定期限为{duration_text(legal)}。"]
        dl = self.deadlines
        if with_dates and dl is not None and dl.legal is not None and promised["value"] == 0:
            lines.append(f"法定期限截止于{_deadline_text(dl.legal, legal['unit'], dl.provisional_from)}。")
        elif with_dates and dl is not None and dl.promised is not None and dl.legal is not None:
            lines.append(
                f"即承诺于{_deadline_text(dl.promised, promised['unit'], dl.provisional_from)}前办结，"
                f"最迟不超过{_deadline_text(dl.legal, legal['unit'], dl.provisional_from)}。"
            )
        paused = [sp["name"] for sp in self.sp.values() if not sp.get("counts_toward_limit", True)]
        if paused:
            lines.append(f"如需进行{'、'.join(paused)}，所需时间不计算在上述期限内，届时另行书面告知。")
        return lines

    def _dates_still_valid(self, since: datetime | None) -> bool:
        """Whether today's deadlines are the ones in force at ``since`` (None: at acceptance)."""
        stopped = [p for p in self.case.pauses if p["kind"] != "supplement" and self._stops_clock(p["kind"])]
        if since is None:
            return not self.case.extended and not stopped
        return all(p["end"] is not None and p["end"] <= since for p in stopped)

    # -- the notices -------------------------------------------------------------------------
    def build(self, events: list[_Event]) -> list[Document]:
        out: list[Document] = []
        for e in events:
            doc = getattr(self, f"_on_{e.action}", None)
            if doc is not None:
                made = doc(e)
                if made is not None:
                    out.append(made)
        return out

    def _on_accept(self, e: _Event) -> Document:
        if e.payload.get("as_of_receipt"):  # accepted after the Art. 32 period: from receipt, by law
            return self._on_deemed_accept(e)
        paragraphs = [
            f"{self._filed()}，申请材料齐全、符合法定形式，本机关决定予以受理，受理日期为{chinese_date(e.at)}。",
            *self._limits(self._dates_still_valid(None)),
        ]
        return self._doc("acceptance", e.at, paragraphs, ["第三十二条"], self.item.get("basis", []))

    def _on_deemed_accept(self, e: _Event) -> Document:
        received = self.case.received_at or e.at
        why = f"根据《{LICENSING_LAW}》第三十二条的规定，" if self.licence else ""
        paragraphs = [
            f"{self._filed()}，本机关未在收到申请材料之日起五日内一次告知需要补正的全部内容。"
            f"{why}自收到申请材料之日起即为受理，受理日期为{chinese_date(received)}。",
            *self._limits(self._dates_still_valid(None)),
        ]
        return self._doc("deemed_acceptance", e.at, paragraphs, ["第三十二条"], self.item.get("basis", []))

    def _on_refuse(self, e: _Event) -> Document:
        paragraphs = [
            f"{self._filed()}，经审查，本机关决定不予受理。",
            f"理由：{str(e.payload.get('reason', '')).strip()}",
            *self._remedy(),
        ]
        return self._doc("refusal", e.at, paragraphs, ["第三十二条"], self.item.get("basis", []))

    def _on_request_supplement(self, e: _Event) -> Document:
        names = {m["id"]: m["name"] for m in stated.materials(self.item)}
        why = f"根据《{LICENSING_LAW}》第三十二条的规定，" if self.licence else ""
        paragraphs = [f"{self._filed()}，申请材料不齐全或者不符合法定形式。{why}现一次性告知需要补正的全部内容如下："]
        for i, m in enumerate(e.payload.get("missing", []), 1):
            line = f"{i}. {names.get(m.get('material'), m.get('material'))}：{str(m.get('reason', '')).strip()}"
            if m.get("note"):
                line += f"（{str(m['note']).strip()}）"
            paragraphs.append(line)
        if e.payload.get("note"):
            paragraphs.append(f"说明：{str(e.payload['note']).strip()}")
        paragraphs.append(
            f"请{self.you}按照上述要求一次补齐全部材料后提交。补正后申请材料齐全、符合法定形式的，本机关将依法予以受理。"
        )
        return self._doc("supplement", e.at, paragraphs, ["第三十二条"], self.item.get("basis", []))

    def _on_extend(self, e: _Event) -> Document:
        tl = self.item["time_limit"]
        ext = extension_of(self.item) or {}
        accepted = f"已于{chinese_date(self.case.accepted_at)}受理" if self.case.accepted_at else "已受理"
        paragraphs = [
            f"{self._filed()}{accepted}，法定期限为{duration_text(tl['legal'])}。",
            f"延期理由：{str(e.payload.get('reason', '')).strip()}",
        ]
        length = f"{duration_text(ext['limit'])}" if "limit" in ext else ""
        dl = self.deadlines
        if dl is not None and dl.legal is not None and self._dates_still_valid(e.at):
            paragraphs.append(
                f"经批准，办理期限延长{length}，延长后的期限截止于"
                f"{_deadline_text(dl.legal, tl['legal']['unit'], dl.provisional_from)}。"
            )
        else:
            paragraphs.append(f"经批准，办理期限自原期限届满之日起延长{length}。")
        return self._doc("extension", e.at, paragraphs, ["第四十二条"], list(ext.get("basis", [])))

    def _on_start_special_procedure(self, e: _Event) -> Document | None:
        sp = self.sp.get(str(e.payload.get("kind")))
        if sp is None or sp.get("counts_toward_limit", True):
            return None  # its time counts toward the limit: no Art. 45 notice is due
        kind_name = PROCEDURE_NAMES.get(sp["kind"], sp["kind"])
        what = sp["name"] if kind_name in sp["name"] else f"{sp['name']}（{kind_name}）"
        note = str(sp["max"].get("note") or "").strip().rstrip("。")
        why = f"根据《{LICENSING_LAW}》第四十五条的规定，" if self.licence else ""
        paragraphs = [
            f"{self._filed()}依法需要进行{what}，自{chinese_date(e.at)}开始。",
            f"所需时间预计不超过{duration_text(sp['max'])}" + (f"（{note}）" if note else "") + "。",
            f"{why}该程序所需时间不计算在办理期限内，办理期限自该程序结束后继续计算。",
        ]
        return self._doc("special_procedure", e.at, paragraphs, ["第四十五条"], list(sp.get("basis", [])))

    def _on_decide(self, e: _Event) -> Document:
        reason = str(e.payload.get("reason") or "").strip()
        what = "行政许可" if self.licence else "办理"
        if e.payload.get("outcome") == "approve":
            result = stated.section(self.item, "result")  # {} when the guide does not state it
            got = f"办理结果：{result['name']}" if result.get("name") else "办理结果以本决定为准"
            if result.get("validity"):
                got += f"（有效期{result['validity']}）"
            method = self._delivery_chosen()
            offered = [DELIVERY_NAMES[d] for d in delivery.offered(self.item) if d in DELIVERY_NAMES]
            # the applicant's choice; an application that was not asked (an older form) gets the offer
            how = DELIVERY_NAMES.get(method, "") if method else "、".join(offered)
            paragraphs = [f"{self._filed()}，经审查，符合法定条件、标准，本机关决定准予{what}。"]
            if reason:
                paragraphs.append(f"说明：{reason}")
            paragraphs.append(got + (f"；领取方式：{how}。" if how else "。"))  # never "办理结果：。"
            if self.item.get("rights_obligations"):
                paragraphs.append(f"申请人的权利和义务：{self.item['rights_obligations']}")
            kind = "decision_approve"
        else:
            paragraphs = [
                f"{self._filed()}，经审查，不符合法定条件、标准，本机关决定不予{what}。",
                f"理由：{reason}",
                *self._remedy(),
            ]
            kind = "decision_deny"
        return self._doc(kind, e.at, paragraphs, ["第三十八条"], self.item.get("basis", []))


def render(doc: Document, center: Mapping[str, Any] | None) -> str:
    """``doc`` as a standalone printable HTML page (A4, a seal area, readable on a phone)."""
    c = center or {}
    return _env.get_template("documents/notice.html").render(
        doc=doc,
        center_name=c.get("name", ""),
        address=c.get("address", ""),
        phone=c.get("phone", ""),
    )
