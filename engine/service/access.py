"""Who may see and do what: the one authorization decision of the whole site.

The desk (engine.web.desk.cases, engine.web.desk.chains), the supervision and admin pages, the JSON API
(engine.web.api) and the serving of a case's uploaded files and documents all ask this module;
none of them decides by itself. What an action does to a case stays decided by the state
machine (``engine.rules.cases.decide``: the step's role, the case's department, AB backup, the law's
clocks) — this module only says whether a person gets to the case at all.

Principals:

- an applicant holds a case's query code (engine.web.portal.progress grants a cookie for it, the API takes
  it as ``query_code``); they see and act on that case only (supplement, evaluate);
- department staff (window, undertaker, reviewer, decider, issuer, inspector, head) see the cases
  of their own department — whoever's turn it is: the desk lets them read the whole file;
- the center's front desk (``frontdesk``, 统一受理) sees the cases filed for a chain application,
  which it accepts on behalf of every department, and the chain applications themselves;
- supervisors and administrators (``CENTER_WIDE``) see every case; the supervision pages are
  theirs, and a department head answers their department's corrections there;
- an AB backup (``backup_role``, AB角) holds the department role they stand in for as well as their
  own (never a center role: ``NOT_BY_BACKUP``).

A case a person may not see is answered exactly as a case that does not exist (404), on the desk
and over the API alike: a different answer (403) would confirm to an outsider which case numbers
exist and that they belong to another department.

``ROUTES`` gives every route of the app its rule; tests/web/test_access.py enumerates the real app's
routes and fails on a route without one, then checks each rule against every role. Adding a
route means adding one line here.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.rules.cases.model import Actor, Case

#: see every case and every department's worklist
CENTER_WIDE = frozenset({"supervisor", "admin"})
FRONT_DESK = "frontdesk"
#: the chain applications' desk (/desk/chains): the front desk accepts, supervision watches
CHAIN_DESK = frozenset({FRONT_DESK, *CENTER_WIDE})
#: 统一受理: only the front desk accepts a chain application (engine.service.chains.accept)
CHAIN_ACCEPT = frozenset({FRONT_DESK})
#: the green channel is marked by the front desk or supervision (engine.service.green_channel.MAY_MARK)
GREEN_CHANNEL = frozenset({FRONT_DESK, *CENTER_WIDE})
SUPERVISORS = frozenset({"supervisor", "admin"})
#: supervision's corrections and follow-ups are answered by the department's head
ANSWERING = SUPERVISORS | {"head"}
ADMIN_READERS = frozenset({"admin", "supervisor"})
#: the notification outbox page (engine.web.outbox) and its 重试: the center's administrators, who run the
#: channels, and supervisors, who answer for applicants being told; it shows (masked) addresses of every
#: department's applicants, so no department's staff
OUTBOX_STAFF = frozenset({"admin", "supervisor"})


#: the center's own roles (engine.service.auth.CENTER_ROLES): held in person only, never as an AB backup —
#: standing in for a colleague of one's department must not open every department (or let a
#: department supervise itself); the engine's chain and green-channel rules check the role alone too
NOT_BY_BACKUP = CENTER_WIDE | {FRONT_DESK}


def holds(actor: Actor, roles: Iterable[str]) -> bool:
    """The person has one of ``roles``: as their own, or as the department role they back up (AB角)."""
    wanted = frozenset(roles)
    backup = actor.backup_role
    return actor.role in wanted or (backup is not None and backup in wanted and backup not in NOT_BY_BACKUP)


def center_wide(actor: Actor) -> bool:
    return holds(actor, CENTER_WIDE)


def may_see(actor: Actor | None, case: Case) -> bool:
    """May this member of staff read ``case`` (its form data, materials, documents, timeline)?
    Applicants never get here: they reach a case with its query code, not as staff."""
    if actor is None or actor.role == "applicant":
        return False
    if center_wide(actor):
        return True
    if holds(actor, (FRONT_DESK,)) and case.chain:
        return True  # it accepts a chain's cases for every department (engine.rules.cases.guards.may_act)
    return actor.department is not None and actor.department == case.department


def may_upload_for(actor: Actor | None, case: Case) -> bool:
    """May this member of staff store a file for ``case`` (material handed in at the window, a
    supplement brought on paper)? Those who work on it: its own department, or the front desk for
    a chain's case — not the center-wide roles, which read cases but do not handle them."""
    if actor is None or actor.role == "applicant":
        return False
    if holds(actor, (FRONT_DESK,)) and case.chain:
        return True
    return actor.department is not None and actor.department == case.department


def may_see_chain(actor: Actor | None) -> bool:
    """May this member of staff read chain applications (their stages and member cases)?"""
    return actor is not None and holds(actor, CHAIN_DESK)


def case_uploads(case: Case, records: Iterable[Any]) -> set[str]:
    """Every upload that belongs to ``case``: those it was filed with and those of its supplements."""
    ids = {u for v in case.uploads.values() for u in v}
    for r in records:
        if r.action == "supplement":
            ids |= {u for v in r.payload.get("uploads", {}).values() for u in v}
    return ids


def may_fetch_upload(actor: Actor | None, case: Case, records: Iterable[Any], upload_id: str) -> bool:
    """A stored file is served to staff who may see the case, and only as part of that case: an
    upload id of another case (or of nobody's) is not reachable through this one."""
    return may_see(actor, case) and upload_id in case_uploads(case, records)


# ------------------------------------------------------------------------------ requests and complaints (诉求)

#: who records a request taken by phone or in person (engine.service.appeals.file): the window clerks (the
#: complaints office's own included) and the front desk
APPEAL_RECORDERS = frozenset({"window", FRONT_DESK})
#: what only the complaints office does to a request: send it to another department, escalate it, and find a
#: complaint justified or not (the department complained about never judges itself)
OFFICE_ONLY = frozenset({"transfer", "escalate", "verdict"})


def _in(actor: Actor, department: str | None) -> bool:
    return department is not None and actor.department == department


def may_see_appeal(actor: Actor | None, handler: str, office: str | None) -> bool:
    """May this member of staff read a request or complaint (who filed it, its history)? Its handling
    department, the complaints office and the supervisors — not the department it names, unless it handles it."""
    if actor is None or actor.role == "applicant":
        return False
    return center_wide(actor) or _in(actor, handler) or _in(actor, office)


def may_handle_appeal(actor: Actor | None, action: str, handler: str, office: str | None) -> bool:
    """May this member of staff take ``action`` on a request (engine.rules.appeals.ACTIONS)? The complaints
    office all of them; the handling department's staff assign, answer and close it. Supervisors watch."""
    if actor is None or actor.role == "applicant":
        return False
    if _in(actor, office):
        return True
    return action not in OFFICE_ONLY and _in(actor, handler)


def may_record_appeal(actor: Actor | None) -> bool:
    """May this member of staff record a request taken by phone or at the counter?"""
    return actor is not None and actor.role != "applicant" and holds(actor, APPEAL_RECORDERS)


def may_see_bookings(actor: Actor | None, department: str) -> bool:
    """May this member of staff read a window's appointments (the day list, tickets) and its
    department's home-visit requests? Whoever may work them, and supervisors and administrators, who
    watch (as for appeals: supervisors watch, act on none)."""
    if actor is None or actor.role == "applicant":
        return False
    return center_wide(actor) or may_handle_bookings(actor, department)


def may_handle_bookings(actor: Actor | None, department: str) -> bool:
    """May this member of staff work a window's appointments (arrivals, call next, link a case)?
    Staff of that department, and the front desk for every window (the hall's reception signs
    people in for any window). Supervisors and administrators only watch (:func:`may_see_bookings`)."""
    if actor is None or actor.role == "applicant":
        return False
    if holds(actor, (FRONT_DESK,)):
        return True
    return _in(actor, department)


def may_schedule_home_visit(actor: Actor | None, department: str) -> bool:
    """May this member of staff schedule a home visit, mark it done and read the person's name, phone and
    address in full? Only the department that schedules it (the item's ``home_visit.department``)."""
    return actor is not None and actor.role != "applicant" and _in(actor, department)


# ------------------------------------------------------------------------------ route rules


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may use a route. ``roles``: staff holding one of them; ``case``: staff who may see the
    route's case; ``chain``: staff who may see chain applications; ``code``: whoever holds the
    case's query code; ``staff``: any signed-in staff; ``public``: anyone; ``machine``: no person by
    their role — a program on the server's own host or bearing the configured token (:func:`may_scrape`)."""

    name: str
    public: bool = False
    staff: bool = False
    roles: frozenset[str] | None = None
    case: bool = False
    chain: bool = False
    code: bool = False
    machine: bool = False

    def allows(self, actor: Actor | None, case: Case | None = None, has_code: bool = False) -> bool:
        """The decision for a signed-in ``actor`` (None: nobody signed in) on the route's ``case``
        (None for a route without one), ``has_code``: the request carries the case's query code."""
        if self.public:
            return True
        if self.machine:  # signing in opens nothing here: may_scrape alone decides
            return False
        if self.code and has_code:
            return True
        staff = actor if actor is not None and actor.role != "applicant" else None
        if staff is None:
            return False
        if self.staff:
            return True
        if self.roles is not None:
            return holds(staff, self.roles)
        if self.case:
            return case is not None and may_see(staff, case)
        if self.chain:
            return may_see_chain(staff)
        return False


PUBLIC = Rule("public", public=True)
APPLICANT_CODE = Rule("applicant-with-code", code=True)
STAFF = Rule("staff", staff=True)
#: read a case, its files and documents (desk)
STAFF_SEE_CASE = Rule("staff-see-case", case=True)
#: act on a case (desk): seeing it is the gate, cases.decide judges the action
STAFF_ACT = Rule("staff-act", case=True)
#: the API's case: staff who may see it, or the applicant with its query code
CASE_READ = Rule("case-read", case=True, code=True)
CASE_ACT = Rule("case-act", case=True, code=True)
CHAIN_READ = Rule("chain-read", chain=True, code=True)
CHAIN_DESK_PAGE = Rule("chain-desk", roles=CHAIN_DESK)
CHAIN_ACCEPT_FORM = Rule("chain-accept", roles=CHAIN_ACCEPT)
GREEN_CHANNEL_FORM = Rule("green-channel", roles=GREEN_CHANNEL)
SUPERVISION = Rule("supervisor", roles=SUPERVISORS)
APPEAL_RECORD = Rule("appeal-record", roles=APPEAL_RECORDERS)
SUPERVISION_ANSWER = Rule("supervision-answer", roles=ANSWERING)
ADMIN = Rule("admin", roles=ADMIN_READERS)
OUTBOX = Rule("outbox", roles=OUTBOX_STAFF)
#: /metrics: a monitoring program (engine.web.metrics), see may_scrape
SCRAPER = Rule("metrics-scraper", machine=True)

_APPLY = ("", "/submit", "/done", "/{page}")
ROUTES: Mapping[tuple[str, str], Rule] = {
    # the public site: guides, search, open data, announcements
    ("GET", "/"): PUBLIC,
    ("GET", "/items/{code}"): PUBLIC,
    ("GET", "/chains/{chain}"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,  # a load balancer's question: is the database reachable (nothing personal)
    ("GET", "/metrics"): SCRAPER,
    ("GET", "/transparency/checkpoints"): PUBLIC,  # signed checkpoints: anyone may audit
    ("GET", "/static"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/announcements"): PUBLIC,
    ("GET", "/announcements.{kind:str}"): PUBLIC,
    ("GET", "/sunshine"): PUBLIC,
    ("GET", "/sunshine/{month}.{kind:str}"): PUBLIC,
    ("GET", "/open-data/yangguang.sqlite"): PUBLIC,
    # applying (anyone; a signed-in member of staff files by proxy)
    **{("GET", f"/apply/{{code}}{p}"): PUBLIC for p in _APPLY if p != "/submit"},
    **{("GET", f"/chains/{{code}}/apply{p}"): PUBLIC for p in _APPLY if p != "/submit"},
    ("POST", "/apply/{code}/submit"): PUBLIC,
    ("POST", "/apply/{code}/{page}"): PUBLIC,
    ("POST", "/chains/{code}/apply/submit"): PUBLIC,
    ("POST", "/chains/{code}/apply/{page}"): PUBLIC,
    # the applicant's progress page: the query code, once, then a signed cookie for that case
    ("GET", "/progress"): PUBLIC,
    ("POST", "/progress"): PUBLIC,
    ("POST", "/progress/forget"): PUBLIC,  # this browser's own remembered grants (engine.service.device_grants)
    # requests and complaints (诉求): anyone files one; its page opens with its number and query code
    ("GET", "/appeals/new"): PUBLIC,
    ("POST", "/appeals/new"): PUBLIC,
    ("GET", "/appeals/follow"): PUBLIC,
    ("POST", "/appeals/follow"): PUBLIC,
    ("POST", "/appeals/{number}/close"): PUBLIC,  # the query code is in the form: checked by the handler
    ("POST", "/appeals/{number}/files/{upload}"): PUBLIC,  # the query code is in the form: checked by the handler
    ("GET", "/progress/{number}"): APPLICANT_CODE,
    ("POST", "/progress/{number}/{action}"): APPLICANT_CODE,
    ("GET", "/progress/{number}/documents/{index}"): APPLICANT_CODE,
    # the JSON API
    ("POST", "/api/session"): PUBLIC,
    ("DELETE", "/api/session"): STAFF,
    ("POST", "/api/drafts"): PUBLIC,  # anyone may open a draft (limited per address: engine.service.uploads)
    ("POST", "/api/uploads"): PUBLIC,  # a draft token, or a case: its query code or may_upload_for
    ("POST", "/api/cases"): PUBLIC,
    ("GET", "/api/cases/{number}"): CASE_READ,
    ("POST", "/api/cases/{number}/actions"): CASE_ACT,
    ("POST", "/api/chains"): PUBLIC,
    ("GET", "/api/chains/{number}"): CHAIN_READ,
    ("GET", "/api/items"): PUBLIC,
    ("GET", "/api/items/{code}"): PUBLIC,
    ("GET", "/api/items/{code}/form"): PUBLIC,
    ("GET", "/api/supervision/summary"): SUPERVISION,
    ("GET", "/openapi.json"): PUBLIC,
    # the staff desk
    ("GET", "/desk/login"): PUBLIC,
    ("POST", "/desk/login"): PUBLIC,
    ("POST", "/desk/logout"): STAFF,
    ("GET", "/desk"): STAFF,
    ("GET", "/desk/proxy"): STAFF,
    ("GET", "/desk/cases/{number}"): STAFF_SEE_CASE,
    ("POST", "/desk/cases/{number}/act"): STAFF_ACT,
    ("GET", "/desk/cases/{number}/files/{upload}"): STAFF_SEE_CASE,
    ("GET", "/desk/cases/{number}/documents/{index}"): STAFF_SEE_CASE,
    # requests and complaints: each handler asks may_see_appeal / may_handle_appeal / may_record_appeal
    ("GET", "/desk/appeals"): STAFF,
    ("GET", "/desk/appeals/record"): APPEAL_RECORD,
    ("POST", "/desk/appeals/record"): APPEAL_RECORD,
    ("GET", "/desk/appeals/{number}"): STAFF,
    ("POST", "/desk/appeals/{number}/act"): STAFF,
    ("GET", "/desk/appeals/{number}/files/{upload}"): STAFF,
    ("GET", "/desk/chains"): CHAIN_DESK_PAGE,
    ("POST", "/desk/chains/{number}/accept"): CHAIN_ACCEPT_FORM,
    ("POST", "/desk/chains/{number}/green-channel"): GREEN_CHANNEL_FORM,
    ("GET", "/desk/chains/{number}/card"): CHAIN_DESK_PAGE,
    # supervision (监察) and administration
    ("GET", "/supervision"): SUPERVISION,
    ("GET", "/supervision/cases"): SUPERVISION,
    ("GET", "/supervision/corrections"): SUPERVISION_ANSWER,
    ("POST", "/supervision/corrections"): SUPERVISION,
    ("POST", "/supervision/corrections/{id}/respond"): SUPERVISION_ANSWER,
    ("POST", "/supervision/followups/{number}/answer"): SUPERVISION_ANSWER,
    # appointments and home visits (预约 / 上门): applicants with the booking's number and query code;
    # staff pages: any signed-in staff, then may_see_bookings / may_handle_bookings / may_schedule_home_visit
    ("GET", "/booking"): PUBLIC,
    ("GET", "/booking/{counter}"): PUBLIC,
    ("POST", "/booking/{counter}"): PUBLIC,
    ("POST", "/booking-manage"): PUBLIC,  # the number and query code are checked in the handler
    ("POST", "/booking-manage/{action}"): PUBLIC,
    ("GET", "/home-visit/{code}"): PUBLIC,
    ("POST", "/home-visit/{code}"): PUBLIC,
    ("POST", "/home-visit-manage"): PUBLIC,  # the number and query code are checked in the handler
    ("POST", "/home-visit-manage/{action}"): PUBLIC,
    ("GET", "/hall/{counter}"): PUBLIC,  # the hall screen: queue numbers only, no names
    ("GET", "/desk/bookings"): STAFF,
    ("POST", "/desk/bookings/{counter}/{action}"): STAFF,
    ("GET", "/desk/bookings/{counter}/ticket/{number}"): STAFF,
    ("GET", "/desk/home-visits"): STAFF,
    ("POST", "/desk/home-visits/{number}/{action}"): STAFF,
    ("GET", "/admin"): ADMIN,
    ("GET", "/admin/items/{code}"): ADMIN,
    ("GET", "/admin/items/{code}/form"): ADMIN,
    ("GET", "/admin/items/{code}/whatif"): ADMIN,
    ("GET", "/admin/outbox"): OUTBOX,
    ("POST", "/admin/outbox/{id}/retry"): OUTBOX,
}


def _loopback(host: str | None) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:  # a name, or no address at all (a test client, a Unix socket)
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def may_scrape(client: str | None, relayed: bool, bearer: str, token: str) -> bool:
    """May a program read /metrics? With the configured ``token`` as its bearer token, from anywhere;
    otherwise only from the server's own host: a ``client`` address on the loopback, and not
    ``relayed`` by a proxy (the request carries no X-Forwarded-For or Forwarded header: a reverse
    proxy on the same host would otherwise make every outsider local). The metrics hold no personal
    data, but the load and the counts of a center's cases are its operators' business."""
    if token and bearer and hmac.compare_digest(bearer.encode(), token.encode()):
        return True
    return _loopback(client) and not relayed


def rule_for(method: str, path: str) -> Rule:
    """The rule of a route as the app declares it (``path`` is the route's pattern); KeyError for a
    route nobody gave a rule — the table test fails on it."""
    return ROUTES[(method.upper(), path)]
