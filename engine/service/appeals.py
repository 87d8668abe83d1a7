"""Requests and complaints (诉求: 咨询 / 投诉 / 举报 / 求助 / 建议): filing one, handling it, reading it.

Anyone files one on the portal — anonymously for a kind that allows it (举报) — and gets a number and a
query code to follow it; a window clerk records one taken by phone or at the counter. It may name a case
(then it is linked to that case and the case's department is the one it names), an item, a department or a
member of staff. The kind (appeals/kinds.yaml) says who handles it, its limit in working days and its
escalation (engine.rules.appeals). Handling: assign, transfer, answer, escalate, find justified or not,
close with the person's satisfaction — each one transaction with a version check, each an event of the
appeal's hash-chained record (engine.ledger.appeals). Who may see and do what: engine.service.access.
The sweep lights and escalates unanswered ones (engine.supervision.appeal_sweep).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from engine.base.i18n import N_
from engine.base.identifiers import valid_email, valid_phone
from engine.ledger import tables
from engine.ledger.appeals import (
    appeals,
    append_appeal_event,
    create_appeal,
    events_of_appeal,
    get_appeal,
    last_appeal_number,
)
from engine.ledger.db import dumps, iso, loads, lock, read_only
from engine.ledger.errors import VersionConflict
from engine.ledger.events import EventRecord
from engine.rules import appeals as rules
from engine.rules import clock
from engine.rules.cases.model import ActionRefused, Actor
from engine.service import access, filing_limits, query_codes
from engine.service import notifications_feeds as feeds
from engine.service.cases import CaseService
from engine.service.uploads import Upload
from engine.service.uploads import fetch as fetch_uploads

__all__ = [
    "LIMITS",
    "Appeal",
    "Filing",
    "act",
    "attachment",
    "close_by_person",
    "code_hash",
    "file",
    "follow",
    "load",
]

#: the longest text each field takes (the form says so too); longer is refused, never cut
LIMITS = {"subject": 100, "body": 4000, "filer_name": 50, "contact": 50, "named_staff": 50, "text": 4000, "email": 100}
CHANNELS = ("portal", "phone", "visit")
NO_SUCH_APPEAL = N_("没有这件诉求。")
STALE = N_("这件诉求刚被他人处理过，请刷新后再试。")
MAX_UPLOADS = 5
CASE_NUMBER_MAX = 32  # the longest case number the record keeps (engine.ledger.appeals: case_number)
_CASE_NUMBER = re.compile(r"[A-Z0-9-]+")


def code_hash(code: str) -> str:
    """What the record keeps of a query code: its hash (engine.service.query_codes.hash_code)."""
    return query_codes.hash_code(code)


def _lookup(conn: Any, number: str) -> tuple[str | None, int | None, str | None]:
    """(stored code, None, handling department) of appeal ``number`` for query_codes.check; Nones when
    unknown. Only the appeals' pages look numbers up here: a case's page never finds an appeal."""
    a = appeals
    found = conn.execute(select(a.c.query_code_hash, a.c.handler).where(a.c.number == number)).first()
    return (query_codes.HASHED + found.query_code_hash, None, found.handler) if found else (None, None, None)


@dataclass(frozen=True, slots=True)
class Filing:
    """What a person (or the clerk who took their call) says."""

    kind: str
    subject: str
    body: str
    filer_name: str = ""
    contact: str = ""
    channel: str = "portal"
    case_number: str = ""
    item_code: str = ""
    named_department: str = ""
    named_staff: str = ""
    uploads: Sequence[str] = ()
    notify: str = "none"  # how to be told of the answer: none | sms (to ``contact``) | email (to ``email``)
    email: str = ""
    language: str = "zh"  # the notice's language: zh | en


@dataclass(frozen=True, slots=True)
class Appeal:
    """One appeal as its pages show it: its row, its kind's settings and its history."""

    row: Mapping[str, Any]
    kind: Mapping[str, Any]
    history: list[EventRecord] = field(default_factory=list)

    @property
    def number(self) -> str:
        return str(self.row["number"])

    @property
    def uploads(self) -> list[str]:
        found = loads(self.row["uploads"])
        return [str(u) for u in found] if isinstance(found, list) else []

    def answer(self) -> str | None:
        """The latest answer's text (what the person reads)."""
        for rec in reversed(self.history):
            if rec.action == "answered":
                return str(rec.payload.get("text", ""))
        return None


def _refuse(words: str, **params: object) -> ActionRefused:
    return ActionRefused("invalid", words, **params)


def _text(value: str, name: str, required: bool = True) -> str:
    text = " ".join(value.split()) if name != "body" and name != "text" else value.strip()
    if required and not text:
        raise _refuse(N_("请填写%(field)s。"), field=_FIELD_WORDS[name])
    if len(text) > LIMITS[name]:
        raise _refuse(N_("%(field)s最多 %(max)s 个字。"), field=_FIELD_WORDS[name], max=LIMITS[name])
    return text


_FIELD_WORDS = {
    "subject": N_("标题"),
    "body": N_("内容"),
    "filer_name": N_("姓名"),
    "contact": N_("联系电话"),
    "named_staff": N_("工作人员"),
    "text": N_("答复内容"),
    "email": N_("电子邮箱"),
}


def _notify(f: Filing, contact: str | None) -> dict[str, Any]:
    """The columns of how the person asked to be told of the answer, checked: SMS needs a phone number
    that takes one, e-mail a valid address (at most ``LIMITS["email"]`` characters)."""
    notify = f.notify if f.notify in feeds.NOTIFY else "none"
    email = f.email.strip()
    if len(email) > LIMITS["email"]:
        raise _refuse(N_("%(field)s最多 %(max)s 个字。"), field=_FIELD_WORDS["email"], max=LIMITS["email"])
    if notify == "sms" and not valid_phone(contact):
        raise _refuse(N_("短信通知需要填写正确的手机号码；也可以选择电子邮件或不需要通知。"))
    if notify == "email" and not valid_email(email):
        raise _refuse(N_("请填写正确的电子邮箱，例如 name@example.com；也可以选择短信或不需要通知。"))
    if email and not valid_email(email):
        raise _refuse(N_("请填写正确的电子邮箱，例如 name@example.com。"))
    language = f.language if f.language in ("zh", "en") else "zh"
    return {"notify": notify, "notify_email": email or None, "notify_language": language}


def _named(service: CaseService, f: Filing) -> tuple[str | None, str | None, str | None]:
    """(case number, item code, department) the filing names, checked. A case number is kept as typed and
    never checked aloud: whether the case exists, and whose it is, is no business of somebody who may not
    see it, so a number of no case is taken just as one of a case. Only inside does a case that exists
    link the appeal (engine.service.appeals.for_case) and give its department and item; the portal's pages
    never show an appeal's department or case."""
    case_number = " ".join(f.case_number.split()).upper() or None
    if case_number is not None and len(case_number) > CASE_NUMBER_MAX:
        raise _refuse(N_("%(field)s最多 %(max)s 个字。"), field=N_("办件编号"), max=CASE_NUMBER_MAX)
    if case_number is not None and not _CASE_NUMBER.fullmatch(case_number):  # its form only, never its existence
        raise _refuse(N_("办件编号只有字母和数字，请核对；不知道编号可以留空。"))
    item = f.item_code.strip() or None
    dept = f.named_department.strip() or None
    if dept is not None and service.catalogue.department(dept) is None:
        raise _refuse(N_("没有这个部门。"))
    if item is not None and item not in service.catalogue.items:
        raise _refuse(N_("没有这个事项，请从列表中选择或留空。"))
    if item is not None and dept is None:  # an item named alone: its department handles it
        dept = str((service.catalogue.data(service.catalogue.items[item]) or {}).get("department") or "") or None
    if case_number is not None:
        with read_only(service.db) as conn:
            c = tables.cases
            found = conn.execute(select(c.c.department, c.c.item_code).where(c.c.number == case_number)).first()
        if found is not None:
            dept, item = found.department or dept, item or found.item_code
    return case_number, item, dept


def _prefix(service: CaseService, now: datetime) -> str:
    """The numbers of a center's appeals of one local day begin with this (then 0001, 0002, …)."""
    center = str((service.catalogue.center or {}).get("id", "yg")).upper()
    return f"{center}SQ{clock.local_date(now).strftime('%Y%m%d')}"


def _next_number(conn: Any, prefix: str) -> str:
    """The next number under ``prefix``; the caller holds the prefix's lock (:func:`_create`), so two
    filings never read the same last number (on PostgreSQL they would, at READ COMMITTED)."""
    last = last_appeal_number(conn, prefix)
    return f"{prefix}{int(last[len(prefix) :]) + 1 if last else 1:04d}"


def _kind(service: CaseService, kind_id: str) -> dict[str, Any]:
    kind = service.catalogue.appeal_kinds().get(kind_id)
    if kind is None:
        raise _refuse(N_("请选择诉求的种类。"))
    return kind


def file(
    service: CaseService,
    f: Filing,
    recorder: Actor | None = None,
    attach: Callable[[list[str]], None] | None = None,
    filer: filing_limits.Filer | None = None,
) -> tuple[str, str]:
    """File a request or complaint; returns (number, query code). ``recorder``: the clerk who took it by
    phone or in person (``f.channel``); None on the portal. ``filer``: the portal's client address, whose
    filing limit (engine.service.filing_limits, shared with case filings) this filing counts against in
    its own transaction — filing_limits.TooMany past it, nothing kept; None for a clerk. ``attach`` stores
    the files sent with it (the pages': engine.service.uploads, checked already) once everything else is
    found right, adding each one's upload id to the list it is given; they are the appeal's from its first
    transaction, and deleted again when it is refused after all. ActionRefused says what to correct."""
    office = service.catalogue.appeals_office()
    if office is None:
        raise ActionRefused("not_allowed", N_("本中心尚未开通诉求受理。"))
    kind = _kind(service, f.kind)
    if recorder is not None and not access.may_record_appeal(recorder):
        raise ActionRefused("forbidden", N_("您的角色不能登记诉求。"))
    channel = f.channel if recorder is not None and f.channel in CHANNELS else "portal"
    anonymous = not f.filer_name.strip()
    if anonymous and not kind.get("anonymous"):
        raise _refuse(N_("“%(kind)s”需要留下姓名和联系电话；只有允许匿名的种类可以不填。"), kind=kind["label"])
    values: dict[str, Any] = {
        "channel": channel,
        "subject": _text(f.subject, "subject"),
        "body": _text(f.body, "body"),
        "filer_name": _text(f.filer_name, "filer_name", required=False) or None,
        "contact": _text(f.contact, "contact", required=not anonymous) or None,
        "named_staff": _text(f.named_staff, "named_staff", required=False) or None,
    }
    values |= _notify(f, values["contact"])
    if len(f.uploads) > MAX_UPLOADS:
        raise _refuse(N_("最多附 %(max)s 个文件。"), max=MAX_UPLOADS)
    case_number, item, dept = _named(service, f)
    stored: list[str] = []
    try:
        if attach is not None:
            attach(stored)
        named = (case_number, item, dept)
        return _create(service, (recorder, filer), kind, office, values, named, [*f.uploads, *stored])
    except BaseException:
        _discard(service, stored)  # no appeal, no files: nothing is left unowned
        raise


def _create(
    service: CaseService,
    who_files: tuple[Actor | None, filing_limits.Filer | None],
    kind: Mapping[str, Any],
    office: str,
    values: dict[str, Any],
    named: tuple[str | None, str | None, str | None],
    attached: list[str],
) -> tuple[str, str]:
    """The appeal's row and first event, its files claimed by it, in one transaction: under the locks of
    the filer's address and of the day's numbers (engine.ledger.db.lock; nothing on SQLite, whose
    writers run one at a time), taken in the order case filings take theirs, so they never deadlock."""
    recorder, filer = who_files
    case_number, item, dept = named
    channel = values["channel"]
    code = query_codes.new()
    now = datetime.fromisoformat(iso(service.clock.now()))
    due = rules.due(now, kind, service.calendar)
    values |= {
        "kind": kind["id"], "query_code_hash": code_hash(code), "case_number": case_number,
        "item_code": item, "named_department": dept, "uploads": dumps(attached), "state": "open",
        "handler": rules.handler_of(kind, office, dept), "due": iso(due), "light": "green",
    }  # fmt: skip
    who = recorder or Actor("applicant", "applicant")
    # the record says what was filed, not who: a report's filer stays in the row only (masked on pages)
    payload = {"kind": kind["id"], "channel": channel, "handler": values["handler"], "due": iso(due)}
    prefix = _prefix(service, now)
    with service.db.begin() as conn:
        client = (filing_limits.client_lock(filer),) if filer is not None else ()
        lock(conn, *client, f"appeal-number:{prefix}")
        filing_limits.admit(conn, filer, now)  # TooMany past the address's limit: nothing written
        number = _next_number(conn, prefix)
        create_appeal(
            conn, number=number, at=now, actor=who.username, role=who.role, payload=payload,
            catalogue_version=service.catalogue.version, values=values,
        )  # fmt: skip
        if attached:  # the files belong to the appeal now (the sweep never purges them)
            u = tables.uploads
            conn.execute(
                update(u).where(u.c.id.in_(attached), u.c.case_number.is_(None), u.c.draft.is_(None))
                .values(case_number=number, claimed_at=iso(now))
            )  # fmt: skip
    return number, code


def _discard(service: CaseService, ids: Sequence[str]) -> None:
    """Delete the files stored for a filing that was then refused (rows, then files: never a row without one)."""
    if not ids:
        return
    u = tables.uploads
    with service.db.begin() as conn:
        where = (u.c.id.in_(list(ids)), u.c.claimed_at.is_(None))
        paths = [str(p) for (p,) in conn.execute(select(u.c.path).where(*where))]
        conn.execute(delete(u).where(*where))
    for path in paths:
        Path(path).unlink(missing_ok=True)


def attachment(appeal: Appeal, upload_id: str, db: Any) -> tuple[Upload, int] | None:
    """One of the appeal's files and its place among them, or None (not one of its files)."""
    if upload_id not in appeal.uploads:
        return None
    row = fetch_uploads(db, {upload_id}).get(upload_id)
    return (row, appeal.uploads.index(upload_id)) if row is not None else None


def load(service: CaseService, number: str) -> Appeal | None:
    """An appeal with its history, or None."""
    with read_only(service.db) as conn:
        row = get_appeal(conn, number[:32])
        if row is None:
            return None
        history = events_of_appeal(conn, row["number"])
    kind = service.catalogue.appeal_kinds().get(row["kind"], {"id": row["kind"], "label": row["kind"]})
    return Appeal(row, kind, history)


def follow(service: CaseService, number: str, typed: str, client: str) -> Appeal | None:
    """The appeal ``number`` for the person holding its query code; None for a wrong code or an unknown
    number (the same answer). Wrong codes are limited like cases' (query_codes.Throttled)."""
    number = number.strip().upper()[:32]
    if not query_codes.check(service.db, number, typed, client, service.clock.now(), _lookup):
        return None
    return load(service, number)


def _values(
    action: str, appeal: Appeal, now: datetime, data: Mapping[str, Any], service: CaseService
) -> dict[str, Any]:
    """The row's new columns for ``action``, checked (ActionRefused says what to correct)."""
    row, kind = appeal.row, appeal.kind
    if action == "assign":
        assignee = str(data.get("assignee", "")).strip()[:64]
        with read_only(service.db) as conn:
            u = tables.users
            found = conn.execute(
                select(u.c.username).where(u.c.username == assignee, u.c.department == row["handler"], u.c.active)
            ).first()
        if found is None:
            raise _refuse(N_("请选择办理部门的一名工作人员。"))
        return {"state": "assigned", "assignee": assignee}
    if action == "transfer":
        to = str(data.get("department", "")).strip()[:64]
        if service.catalogue.department(to) is None or to == row["handler"]:
            raise _refuse(N_("请选择另一个部门。"))
        return {"state": "open", "handler": to, "assignee": None}
    if action == "answer":
        return {"state": "answered", "answered_at": iso(now), "on_time": now <= datetime.fromisoformat(row["due"])}
    if action == "escalate":
        if row["escalated_at"]:
            raise _refuse(N_("这件诉求已经升级过。"))
        to = str((kind.get("escalation") or {}).get("to") or "supervision")
        return {"escalated_at": iso(now), "escalated_to": to}
    if action == "verdict":
        if not kind.get("verdict"):
            raise _refuse(N_("这类诉求不需要认定是否属实。"))
        verdict = str(data.get("verdict", ""))
        if verdict not in rules.VERDICTS:
            raise _refuse(N_("请选择属实或不属实。"))
        return {"verdict": verdict}
    if action == "close":
        if kind.get("verdict") and not row["verdict"]:
            raise _refuse(N_("办结前须认定投诉是否属实。"))
        rating = str(data.get("rating", ""))
        if rating not in rules.RATINGS:
            raise _refuse(N_("请选择满意程度。"))
        return {"state": "closed", "rating": rating, "closed_at": iso(now)}
    raise _refuse(N_("没有这个操作。"))


_EVENT = {"assign": "assigned", "transfer": "transferred", "answer": "answered", "escalate": "escalated",
          "verdict": "verdict", "close": "closed"}  # fmt: skip


def act(
    service: CaseService,
    number: str,
    actor: Actor,
    action: str,
    expected_version: int,
    data: Mapping[str, Any],
    also: Callable[[Any, EventRecord], None] | None = None,
) -> EventRecord:
    """Take ``action`` on an appeal as ``actor`` (staff, or the sweep as ``system``): one transaction,
    refused (VersionConflict) when somebody acted since ``expected_version`` was read. ``also`` writes
    what goes with the action in its transaction (the sweep's supervision event for an escalation)."""
    appeal = load(service, number)
    office = service.catalogue.appeals_office()
    if appeal is None or not (actor.role == "system" or access.may_see_appeal(actor, appeal.row["handler"], office)):
        raise ActionRefused("not_found", NO_SUCH_APPEAL)
    if actor.role != "system" and not access.may_handle_appeal(actor, action, appeal.row["handler"], office):
        raise ActionRefused("forbidden", N_("您无权对这件诉求进行此操作。"))
    if int(appeal.row["version"]) != expected_version:  # a stale page: say so, whatever its action would be
        raise ActionRefused("conflict", STALE)
    if not rules.allowed(action, appeal.row["state"]):
        raise ActionRefused("not_allowed", N_("诉求现在的状态不能进行此操作。"))
    now = datetime.fromisoformat(iso(service.clock.now()))
    values = _values(action, appeal, now, data, service)
    payload: dict[str, Any] = {k: v for k, v in values.items() if k in ("assignee", "handler", "verdict", "rating")}
    if action == "transfer":
        payload["from"] = appeal.row["handler"]
    if action == "escalate":
        payload["to"] = values["escalated_to"]
    note = _text(str(data.get("text", "")), "text", required=action == "answer")
    if note:
        payload["text"] = note
    try:
        with service.db.begin() as conn:
            done = append_appeal_event(
                conn, number=appeal.number, expected_version=expected_version, at=now, actor=actor.username,
                role=actor.role, action=_EVENT[action], payload=payload,
                catalogue_version=service.catalogue.version, values=values,
            )  # fmt: skip
            if action == "answer":  # the person's notice, in the answer's transaction (only an outbox row)
                feeds.queue_answer(conn, service.catalogue, appeal.row, note, now)
            if also is not None:
                also(conn, done)
            return done
    except VersionConflict:
        raise ActionRefused("conflict", STALE) from None


def close_by_person(service: CaseService, number: str, typed: str, client: str, rating: str) -> Appeal | None:
    """The person, with the query code, rates the answer and closes the appeal (None: wrong code)."""
    appeal = follow(service, number, typed, client)
    if appeal is None:
        return None
    if appeal.kind.get("verdict") and not appeal.row["verdict"]:
        raise ActionRefused("not_allowed", N_("投诉正在核实，核实后即可评价。"))
    if not rules.allowed("close", appeal.row["state"]):
        raise ActionRefused("not_allowed", N_("诉求现在的状态不能进行此操作。"))
    now = datetime.fromisoformat(iso(service.clock.now()))
    values = _values("close", appeal, now, {"rating": rating}, service)
    try:
        with service.db.begin() as conn:
            append_appeal_event(
                conn, number=appeal.number, expected_version=int(appeal.row["version"]), at=now, actor="applicant",
                role="applicant", action="closed", payload={"rating": values["rating"]},
                catalogue_version=service.catalogue.version, values=values,
            )  # fmt: skip
    except VersionConflict:
        raise ActionRefused("conflict", STALE) from None
    return load(service, appeal.number)
