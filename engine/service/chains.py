"""Running an approval chain: one application, member cases started as their stage opens.

An applicant applies once for a whole chain with the merged form and one set of materials
(engine.rules.chains.merged_form). The application is checked against every member item's form at
once, so every error shows up front. The first stage's member cases are filed at once; when
every case of the open stage has ended, ``advance`` opens the next stage — skipping an
optional stage whose ``when`` does not hold for the application — and files its cases. A
material an earlier member produces is never uploaded: the later case needs none (its
``produced_by`` material is fed by the chain). A member that is refused or denied stops the
chain. Each member case is an ordinary case of its item: its own steps, fees and limits.

Still to come (issue 6): unified acceptance by a front desk, joint review with deemed consent,
the chain progress page, the green channel and chain-level lights.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from engine.base import delivery, stated
from engine.base.conditions import evaluate
from engine.base.i18n import N_, gettext
from engine.catalogue.fields import item_fields
from engine.ledger import tables
from engine.ledger.db import dumps, iso, loads, lock, read_only
from engine.ledger.idempotency import find_idempotency, remember_idempotency
from engine.rules import chains, clock, forms
from engine.rules.cases.model import TERMINAL, ActionRefused, Actor, Case
from engine.rules.forms import FieldError
from engine.rules.lights import Thresholds
from engine.service import drafts, filing_limits, query_codes, worklist
from engine.service.cases import CaseService, SubmissionInvalid, UnknownCase

NUMBER_PREFIX = "L"  # 链条: case numbers start with the center's id, never with L
_T = tables.chain_cases
log = logging.getLogger("yangguang.chains")
_C = tables.cases
#: why a chain application that is no longer open cannot be accepted, by its state
_ENDED = {"completed": N_("链条申请已办结"), "stopped": N_("链条申请已终止")}


@dataclass(frozen=True, slots=True)
class ChainSubmitted:
    number: str
    query_code: str
    members: tuple[str, ...]  # case numbers filed for the first stage


@dataclass(frozen=True, slots=True)
class ChainState:
    number: str
    chain_id: str
    state: str  # open | completed | stopped
    stage: int
    members: dict[str, list[tuple[str, str, str]]]  # stage id -> [(item code, case number, state)]
    due: datetime | None = None  # the chain's promised total, counted from the application
    light: str = "none"  # green | yellow | red | none (engine.service.worklist.light)
    holding: str | None = None  # the open stage, which holds the chain up while it runs
    green_channel: bool = False  # a key project with a supervision card (engine.service.green_channel)
    services: tuple[tuple[str, str, str, str], ...] = ()  # (item code, trigger stage, case number or "", state)


def _member_data(cat: Any, code: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The sections of the merged application that this member's form asks."""
    item = cat.data(cat.items[code])
    wanted = {e if isinstance(e, str) else e["id"] for e in item.get("form", {}).get("sections", [])}
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items() if k in wanted}
    offers = delivery.offered(item)
    for name, info in item_fields(cat.items[code], cat.forms).items():  # Art. 44: a delivery choice
        section, field = name.split(".", 1)
        answers = out.get(section)
        if info.spec.get("delivery") and isinstance(answers, dict) and answers.get(field) not in offers:
            # a member that cannot deliver the way the chain's applicant chose (an associated service
            # run by a utility or bank) delivers by the first method it offers
            answers[field] = offers[0]
    return out


def _member_uploads(cat: Any, code: str, uploads: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """This member's materials from the chain's one set (matched by name, as merged_form does)."""
    out: dict[str, list[str]] = {}
    for material in stated.materials(cat.data(cat.items[code])):
        if material["name"] in uploads:
            out[material["id"]] = list(uploads[material["name"]])
    return out


def _flat(data: Mapping[str, Any]) -> dict[str, Any]:
    """The application as ``section.field`` values, for stage conditions."""
    return {f"{s}.{k}": v for s, fields in data.items() if isinstance(fields, Mapping) for k, v in fields.items()}


def _stage_open(stage: Mapping[str, Any], flat: Mapping[str, Any]) -> bool:
    return "when" not in stage or evaluate(stage["when"], flat)


def submit(
    service: CaseService,
    chain_id: str,
    data: Mapping[str, Any],
    uploads: Mapping[str, list[str]],
    actor: Actor,
    idempotency_key: str,
    filer: filing_limits.Filer | None = None,
) -> ChainSubmitted:
    """Apply for a whole chain; raises SubmissionInvalid with every member's field errors. The
    application counts once against ``filer``'s filing limit (engine.service.filing_limits; its member cases
    do not), in its own transaction."""
    cat = service.catalogue
    doc = cat.chains.get(chain_id)
    if doc is None:
        raise UnknownCase(f"no approval chain {chain_id!r}")
    chain = cat.data(doc)
    merged = chains.merged_form(cat, chain)
    produced = {(code, material) for code, material, _ in merged.produced}
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    flat = _flat(data)
    for stage in chains.with_services(chain):
        if not _stage_open(stage, flat):
            continue  # a stage this application does not need asks nothing of it
        for code in stage["items"]:
            service.ensure_available(code)  # a member that cannot be applied for stops the chain's application
            doc_item = cat.items[code]
            member_uploads = _member_uploads(cat, code, uploads)
            _normalised, found = forms.validate(cat, doc_item, _member_data(cat, code, data), member_uploads)
            for e in found:
                material = e.field.removeprefix(f"{forms.MATERIALS}.")
                if e.code == "missing_material" and (code, material) in produced:
                    continue  # the chain feeds it from an earlier member
                # one error per field; a material several members need (by name) is reported once
                once = (e.code, e.message) if e.code == "missing_material" else (e.code, e.field)
                if once not in seen:
                    seen.add(once)
                    errors.append(e)
    if errors:
        raise SubmissionInvalid(errors)
    now = service.clock.now()
    number = f"{NUMBER_PREFIX}{clock.local_date(now).strftime('%Y%m%d')}{secrets.token_hex(3).upper()}"
    query_code = query_codes.new()  # unguessable; see engine.service.query_codes
    key = f"chain:{idempotency_key}"
    with service.db.begin() as conn:
        lock(conn, *filing_limits.locks(key, filer))  # PostgreSQL: the key's and the address's filings queue
        earlier = find_idempotency(conn, key)
        if earlier is not None:  # a double click or a retried request: the application that exists
            known = conn.execute(select(_T.c.query_code).where(_T.c.number == earlier)).scalar_one()
            return ChainSubmitted(earlier, str(known), ())
        filing_limits.admit(conn, filer, now)  # TooMany past the address's limit: nothing written
        drafts.mark_filed(conn, key, number, now)  # Filed: the draft filed a case
        remember_idempotency(conn, key, number, now)
        # every member's rules as of today: a later stage is filed under them, whatever a reload changes
        pins = {code: service.pin(conn, code) for stage in chains.with_services(chain) for code in stage["items"]}
        conn.execute(
            insert(_T).values(
                members=json.dumps(pins),
                number=number,
                query_code=query_code,
                chain_id=chain_id,
                chain=json.dumps(chain, ensure_ascii=False, default=str),
                data=dumps(data),
                uploads=dumps({k: list(v) for k, v in uploads.items()}),
                state="open",
                stage=-1,
                created_at=iso(now),
                updated_at=iso(now),
            )
        )
    members = _open_next(service, number, actor)
    return ChainSubmitted(number, query_code, tuple(members))


def application_row(service: CaseService, number: str) -> Any:
    """The stored row of the chain application ``number`` (UnknownCase when there is none)."""
    with read_only(service.db) as conn:
        row = conn.execute(select(_T).where(_T.c.number == number)).first()
    if row is None:
        raise UnknownCase(f"no chain application {number!r}")
    return row


def services_asked(service: CaseService, number: str) -> set[str]:
    """The associated services (item codes) this application will start: the applicant asked for
    them and their trigger stage runs. Any other is shown as 未申请, never as waiting to start."""
    row = application_row(service, number)
    chain, flat = json.loads(row.chain), _flat(loads(row.data))
    return {
        code
        for pseudo in chains.with_services(chain)
        if "+" in str(pseudo["id"]) and _stage_open(pseudo, flat)
        for code in pseudo["items"]
    }


def _open_next(service: CaseService, number: str, actor: Actor) -> list[str]:
    """Open the next stage whose condition holds and file its member cases; returns their numbers."""
    row = application_row(service, number)
    chain, data, uploads = json.loads(row.chain), loads(row.data), loads(row.uploads)
    flat = _flat(data)
    stage_index = row.stage + 1
    while stage_index < len(chain["stages"]) and not _stage_open(chain["stages"][stage_index], flat):
        stage_index += 1
    ended = chain["stages"][row.stage]["id"] if row.stage >= 0 else None
    services = [  # the associated services the applicant asked for that the ended stage triggers
        code
        for pseudo in chains.with_services(chain)
        if pseudo["id"].startswith(f"{ended}+") and _stage_open(pseudo, flat)
        for code in pseudo["items"]
    ]
    opened = chain["stages"][stage_index]["items"] if stage_index < len(chain["stages"]) else []
    pinned: dict[str, str] = json.loads(row.members) if row.members else {}
    unknown = [c for c in [*services, *opened] if c not in pinned and c not in service.catalogue.items]
    if unknown:  # an application from before members were pinned, whose member a reload took away
        log.error("chain application %s cannot open its next stage: %s not in the catalogue", number, unknown)
        return []
    with service.db.begin() as conn:  # guarded: two callers never open the same stage twice
        done = conn.execute(
            update(_T)
            .where(_T.c.number == number, _T.c.stage == row.stage, _T.c.state == "open")
            .values(
                stage=stage_index,
                state="completed" if stage_index >= len(chain["stages"]) else "open",
                updated_at=iso(service.clock.now()),
                stage_opened_at=iso(service.clock.now()),
            )
        ).rowcount
    if done != 1:
        return []
    filed = []
    for code in [*services, *opened]:  # the services the ended stage triggers start alongside
        view = service.pinned_view(pinned[code])[0] if code in pinned else service.catalogue
        member = service.submit(
            code,
            _member_data(view, code, data),
            _member_uploads(view, code, uploads),
            actor,
            f"chain:{number}:{code}",
            chain=number,
            pinned=pinned.get(code),
        )
        filed.append(member.number)
        if row.accepted_by and member.created:  # accepted once for the whole chain (统一受理)
            service.act(member.number, "accept", Actor(row.accepted_by, "frontdesk"), {"chain": number}, 1)
    return filed


def accept(service: CaseService, number: str, actor: Actor) -> list[str]:
    """统一受理: the center's front desk accepts a chain application once; every case of the open
    stage is accepted now, and the cases of later stages as their stage opens. Returns the cases
    accepted now."""
    if actor.role != "frontdesk":
        raise ActionRefused("forbidden", gettext("链条申请由综合受理窗口统一受理"))
    row = application_row(service, number)
    if row.state != "open":
        raise ActionRefused("not_allowed", gettext(_ENDED.get(row.state, N_("链条申请已办结或终止"))))
    with service.db.begin() as conn:
        done = conn.execute(
            update(_T).where(_T.c.number == number, _T.c.accepted_by.is_(None)).values(accepted_by=actor.username)
        ).rowcount
    if done != 1:
        raise ActionRefused("not_allowed", gettext("链条申请已受理"))
    accepted = []
    for _code, case_number, state_ in state(service, number).members[json.loads(row.chain)["stages"][row.stage]["id"]]:
        if state_ == "submitted":
            service.act(case_number, "accept", actor, {"chain": number}, 1)
            accepted.append(case_number)
    return accepted


def query_code(service: CaseService, number: str) -> str:
    return str(application_row(service, number).query_code)


def pinned(service: CaseService, number: str) -> dict[str, Any]:
    """The chain as it was when applied for (the YAML may have changed since)."""
    return dict(json.loads(application_row(service, number).chain))


def state(service: CaseService, number: str) -> ChainState:
    row = application_row(service, number)
    chain = json.loads(row.chain)
    with read_only(service.db) as conn:
        rows = conn.execute(select(_C.c.item_code, _C.c.number, _C.c.state).where(_C.c.chain_number == number)).all()
    by_code = {r.item_code: (r.number, r.state) for r in rows}
    members: dict[str, list[tuple[str, str, str]]] = {}
    for stage in chain["stages"]:
        members[stage["id"]] = [(code, *by_code[code]) for code in stage["items"] if code in by_code]
    due = None
    if "promised" in chain:
        try:
            due = clock.due(datetime.fromisoformat(row.created_at), chain["promised"], service.calendar)
        except LookupError:  # a year without a calendar: unknown, never guessed
            due = None
    light, holding = "none", None
    if row.state == "open":
        # the center's own threshold (center.yaml supervision.warning_working_days), as every case light uses
        warning = Thresholds.of(service.catalogue.center).warning_working_days
        light, _left = worklist.light(due, service.clock.now(), service.calendar, warning, False)
        holding = chain["stages"][row.stage]["id"] if 0 <= row.stage < len(chain["stages"]) else None
    services = tuple(
        (s["item"], s["after"], *by_code.get(s["item"], ("", ""))) for s in chain.get("associated_services", [])
    )
    return ChainState(
        row.number, row.chain_id, row.state, row.stage, members, due, light, holding, bool(row.green_channel), services
    )


def advance(service: CaseService, number: str, actor: Actor | None = None) -> list[str]:
    """When every case of the open stage has ended, open the next stage (or finish, or stop the
    chain if a member was refused or denied). Idempotent; returns the cases it filed."""
    row = application_row(service, number)
    if row.state != "open" or row.stage < 0:
        return []
    chain = json.loads(row.chain)
    now_stage = chain["stages"][row.stage]
    with read_only(service.db) as conn:
        found = conn.execute(
            select(_C.c.state, _C.c.decision).where(_C.c.chain_number == number, _C.c.item_code.in_(now_stage["items"]))
        ).all()
    if len(found) < len(now_stage["items"]):
        return []
    # A joint review ends when every department has given its opinion (decided, or silent past
    # the shared deadline and deemed to consent): the joint decision is the stage's result, and a
    # department that decided finishes its own remaining steps alongside the next stage.
    joint = now_stage["mode"] == "joint_review"
    if any(r.state not in TERMINAL and not (joint and r.decision) for r in found):
        return []
    if any(r.state == "refused" or r.decision == "deny" for r in found):
        with service.db.begin() as conn:
            conn.execute(update(_T).where(_T.c.number == number, _T.c.state == "open").values(state="stopped"))
        return []
    return _open_next(service, number, actor or Actor("chain", "applicant"))


def joint_review_deadline(service: CaseService, row: Any) -> Any:
    """The shared deadline of the open stage when it is a joint review with a limit (else None)."""
    stage = json.loads(row.chain)["stages"][row.stage] if row.stage >= 0 else None
    if not stage or stage["mode"] != "joint_review" or "limit" not in stage or not row.stage_opened_at:
        return None
    return clock.due(datetime.fromisoformat(row.stage_opened_at), stage["limit"], service.calendar)


def sweep_joint_reviews(service: CaseService) -> list[str]:
    """联审联验: past a joint review's shared deadline, every member case whose department has not
    decided is recorded as consenting (when the stage says silence is consent). Returns them."""
    now = service.clock.now()
    with read_only(service.db) as conn:
        rows = conn.execute(select(_T).where(_T.c.state == "open", _T.c.stage >= 0)).all()
    done: list[str] = []
    for row in rows:
        stage = json.loads(row.chain)["stages"][row.stage]
        deadline = joint_review_deadline(service, row)
        if deadline is None or not stage.get("silence_is_consent") or now <= deadline:
            continue
        for _code, number, state_ in state(service, row.number).members[stage["id"]]:
            case, _snap = service.load(number)
            if state_ == "in_progress" and case.decision is None:
                payload = {"stage": stage["id"], "deadline": iso(deadline)}
                if service.calendar.is_provisional(clock.local_date(deadline)):  # on the record: it was 暂定
                    payload["provisional_from"] = service.calendar.provisional_from
                service.act(number, "deemed_consent", Actor("system", "system"), payload, case.version)
                done.append(number)
    return done


def waiting(service: CaseService) -> list[dict[str, Any]]:
    """Open chain applications the front desk has not accepted yet, oldest first."""
    with read_only(service.db) as conn:
        rows = conn.execute(
            select(_T.c.number, _T.c.chain_id, _T.c.created_at, _T.c.stage)
            .where(_T.c.state == "open", _T.c.accepted_by.is_(None))
            .order_by(_T.c.created_at)
            .limit(500)
        ).all()
    return [dict(r._mapping) for r in rows]


def stage_status(st: ChainState, index: int, stage_id: str) -> str:
    """Where stage ``index`` stands: done | skipped (an optional stage this application did not
    need) | open | stopped | waiting | not_reached (the chain stopped before it)."""
    if index < st.stage or st.state == "completed":
        return "done" if st.members.get(stage_id) else "skipped"
    if index == st.stage:
        return "open" if st.state == "open" else "stopped"
    return "waiting" if st.state == "open" else "not_reached"


def running(service: CaseService, limit: int = 500) -> list[ChainState]:
    """Open chain applications the front desk has accepted, oldest first."""
    with read_only(service.db) as conn:
        numbers = [
            r.number
            for r in conn.execute(
                select(_T.c.number)
                .where(_T.c.state == "open", _T.c.accepted_by.is_not(None))
                .order_by(_T.c.created_at)
                .limit(limit)
            )
        ]
    return [state(service, n) for n in numbers]


def after_member_action(service: CaseService, case: Case) -> list[str]:
    """Right after a member case ends (or, in a joint review, decides), open the chain's next
    stage at once rather than at the next sweep: the next department sees its case now."""
    if case.chain and (case.state in TERMINAL or case.decision is not None):
        return advance(service, case.chain)
    return []


def advance_all(service: CaseService) -> list[str]:
    """``advance`` every open chain application (the server's sweep calls this)."""
    with read_only(service.db) as conn:
        open_numbers = [r.number for r in conn.execute(select(_T.c.number).where(_T.c.state == "open"))]
    filed: list[str] = []
    for number in open_numbers:
        filed += advance(service, number)
    return filed
