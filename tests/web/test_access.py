"""Access control (engine.service.access) on the real app over HTTP, a real SQLite file and a manual clock.

Issue 15, "Access control: one rule for the desk and the API". The first tests pin each hole
the issue found (they failed before engine.service.access existed); the last one is the table: every
route of the app × every role of engine.service.auth.ROLES in its own department, in another, the chain
front desk, supervision, an AB backup, the applicant with the query code and nobody at all —
each answer must be the one engine.service.access.ROUTES gives the route. A route with no rule fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from engine.base.dates import TZ
from engine.ledger import tables
from engine.rules.cases.actions import decide
from engine.rules.cases.model import ActionRefused, Actor, Case
from engine.rules.clock import ManualClock
from engine.service import access, auth, green_channel, uploads
from engine.service import chains as chain_service
from engine.service.accounts import CENTER_ROLES, ROLES, add_user
from engine.service.samples import sample_application, sample_chain_application
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
PERMIT = "QQ-HOUSING-XK-003"  # housing: steps accept, undertake, review, decide, complete; a hearing
OWN, OTHER = "housing", "realestate"
PASSWORD = "correct horse battery"
PDF = b"%PDF-1.4\n%%EOF\n"


@dataclass(frozen=True)
class World:
    app: Any
    svc: Any
    case: str  # a housing case, accepted: it has an acceptance notice and one stored upload
    code: str  # its query code
    upload: str
    chain: str  # a chain application waiting for the front desk
    chain_code: str
    member: str  # the chain's first member case (市场监管局), accepted by the front desk
    member_upload: str


@pytest.fixture
def world(tmp_path: Path, reference: Any) -> Iterator[World]:
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))  # a Friday
    app = create_app(REPO, tmp_path / "access.db", reference.catalogue, clock=clk, sweep_seconds=0)
    svc = app.state.service
    row = uploads.store(svc.db, tmp_path / "uploads", PDF, "合同.pdf", "application/pdf", clk.now())
    data, files = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], {})
    files["construction_contract"] = [row.id]
    sub = svc.submit(PERMIT, data, files, Actor("zhang", "applicant"), "access")
    svc.act(sub.number, "accept", Actor("w", "window", OWN), {}, 1)
    cdata, cfiles = sample_chain_application(svc.catalogue, svc.catalogue.chains["organization"].data)
    mine = uploads.store(svc.db, tmp_path / "uploads", PDF + b"\n", "章程.pdf", "application/pdf", clk.now())
    cfiles = {name: [mine.id] for name in cfiles}
    chain = chain_service.submit(svc, "organization", cdata, cfiles, Actor("zhou", "applicant"), "access-chain")
    front = Actor("front", "frontdesk")
    chain_service.accept(svc, chain.number, front)
    green_channel.mark(svc, chain.number, front, "市重点项目名单")  # so it has a supervision card
    with TestClient(app, follow_redirects=False):
        yield World(
            app, svc, sub.number, sub.query_code, row.id, chain.number, chain.query_code, chain.members[0], mine.id
        )


def staff_token(w: World, username: str, role: str, dept: str | None, backup: str | None = None) -> str:
    if backup in access.NOT_BY_BACKUP:  # `user add` refuses it now; an account made before may have it
        add_user(w.svc.db, username, role, dept, PASSWORD)
        with w.svc.db.begin() as conn:
            conn.execute(tables.users.update().where(tables.users.c.username == username).values(backup_for=backup))
    else:
        add_user(w.svc.db, username, role, dept, PASSWORD, backup_for=backup)
    return auth.login(w.svc.db, username, PASSWORD, w.svc.clock.now())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def desk_client(w: World, token: str) -> TestClient:
    client = TestClient(w.app, follow_redirects=False)
    client.cookies.set("yg_staff", token)
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


# ------------------------------------------------------------------ the holes


def test_api_reads_only_the_cases_the_desk_shows(world: World) -> None:
    """Hole 1: any staff token read any department's case (ID number, phone, address, uploads) over
    GET /api/cases/{number}, although the desk refused the same person. Now another department's
    case answers exactly like a number that does not exist."""
    w, api = world, TestClient(world.app)
    other = bearer(staff_token(w, "w.re", "window", OTHER))
    hidden = api.get(f"/api/cases/{w.case}", headers=other)
    unknown = api.get("/api/cases/QIQIHAR20260306999999", headers=other)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()  # nothing tells the two apart: numbers cannot be listed
    assert "data" not in hidden.text and w.upload not in hidden.text
    backup = bearer(staff_token(w, "r.re", "reviewer", OTHER, backup="decider"))  # AB backup: still realestate
    assert api.get(f"/api/cases/{w.case}", headers=backup).status_code == 404
    desk = desk_client(w, staff_token(w, "w.re2", "window", OTHER))
    assert desk.get(f"/desk/cases/{w.case}").status_code == 404  # the desk gives the same answer
    own = api.get(f"/api/cases/{w.case}", headers=bearer(staff_token(w, "rv.h", "reviewer", OWN)))
    assert own.status_code == 200 and own.json()["uploads"]["construction_contract"] == [w.upload]
    sup = api.get(f"/api/cases/{w.case}", headers=bearer(staff_token(w, "sup", "supervisor", None)))
    assert sup.status_code == 200 and sup.json()["data"]
    front = bearer(staff_token(w, "front", "frontdesk", None))
    assert api.get(f"/api/cases/{w.case}", headers=front).status_code == 404  # not a chain's case
    assert api.get(f"/api/cases/{w.member}", headers=front).status_code == 200  # the chain's: it accepts them
    # whoever holds the query code reads the applicant's view, token or not
    coded = api.get(f"/api/cases/{w.case}", headers=other, params={"query_code": w.code})
    assert coded.status_code == 200 and "data" not in coded.json()


def test_api_chain_applications_only_for_the_chain_desk_or_the_applicant(world: World) -> None:
    """Hole 1 for GET /api/chains/{number}: any staff token read any chain application."""
    w, api = world, TestClient(world.app)
    window = bearer(staff_token(w, "w.h", "window", OWN))
    hidden = api.get(f"/api/chains/{w.chain}", headers=window)
    unknown = api.get("/api/chains/L20260306999999", headers=window)
    assert hidden.status_code == unknown.status_code == 404
    assert api.get(f"/api/chains/{w.chain}").status_code == 403  # no token, no code: say what to send
    front = bearer(staff_token(w, "front", "frontdesk", None))
    assert api.get(f"/api/chains/{w.chain}", headers=front).json()["number"] == w.chain
    assert api.get(f"/api/chains/{w.chain}", params={"query_code": w.chain_code}).status_code == 200


REVIEW = "QQ-HOUSING-XK-001"  # housing's fire-protection design review: an expert review pauses the clock


def _reviewed(w: World) -> str:
    """A case of REVIEW accepted by its window: special procedures may start."""
    data, files = sample_application(w.svc.catalogue, w.svc.catalogue.items[REVIEW], {})
    number = str(w.svc.submit(REVIEW, data, files, Actor("li", "applicant"), "review").number)
    w.svc.act(number, "accept", Actor("w", "window", OWN), {}, 1)
    return number


def _in_progress(w: World, number: str) -> int:
    case, _ = w.svc.load(number, fresh=True)
    assert case.state == "in_progress"
    return int(case.version)


def test_special_procedures_only_by_the_case_department(world: World) -> None:
    """Hole 2: any member of staff (window, inspector or supervisor of any department) could start or
    end a special procedure, which stops the legal clock, on any case. Now the case's own examining
    staff (undertaker, reviewer, decider, inspector, head; AB backup counts) alone may."""
    w, api = world, TestClient(world.app)
    number = _reviewed(w)
    url = f"/api/cases/{number}/actions"
    body = {"action": "start_special_procedure", "payload": {"kind": "expert_review"}}
    expected = {("inspector", OTHER): 404, ("decider", OTHER): 404, ("supervisor", None): 403, ("window", OWN): 403}
    for (role, dept), status in expected.items():  # another department's case is not there for them (404)
        who = bearer(staff_token(w, f"{role}.{dept}", role, dept))
        r = api.post(url, headers=who, json={**body, "version": _in_progress(w, number)})
        assert r.status_code == status, (role, dept, r.text)
    case, _ = w.svc.load(number, fresh=True)
    assert not case.paused  # the clock still runs
    backup = bearer(staff_token(w, "w.backup", "window", OWN, backup="undertaker"))
    r = api.post(url, headers=backup, json={**body, "version": _in_progress(w, number)})
    assert r.status_code == 200 and r.json()["paused"]
    end = {"action": "end_special_procedure", "payload": {"kind": "expert_review"}}
    inspector = bearer(staff_token(w, "i.re", "inspector", OTHER))
    assert api.post(url, headers=inspector, json={**end, "version": _in_progress(w, number)}).status_code == 404
    undertaker = bearer(staff_token(w, "u.h", "undertaker", OWN))
    r = api.post(url, headers=undertaker, json={**end, "version": _in_progress(w, number)})
    assert r.status_code == 200 and not r.json()["paused"]
    # the desk offers the procedure to the undertaker only, and refuses a forged form from the window
    window = desk_client(w, staff_token(w, "w.desk", "window", OWN))
    page = window.get(f"/desk/cases/{number}").text
    assert 'value="start_special_procedure"' not in page
    form = {"csrf": csrf_of(page), "version": str(_in_progress(w, number)), "action": "start_special_procedure",
            "kind": "expert_review"}  # fmt: skip
    assert window.post(f"/desk/cases/{number}/act", data=form).status_code == 403
    assert (
        'value="start_special_procedure"'
        in desk_client(w, staff_token(w, "u.desk", "undertaker", OWN)).get(f"/desk/cases/{number}").text
    )


def test_the_rules_themselves_refuse_another_department(world: World) -> None:
    """Hole 2 in the state machine (engine.rules.cases), whoever calls it: special procedures and
    supplements are refused to staff of another department and to roles that do not hold them."""
    w = world
    case, snap = w.svc.load(_reviewed(w))
    item, now = snap["item"], w.svc.clock.now()
    kind = {"kind": "expert_review"}
    for actor in (Actor("i", "inspector", OTHER), Actor("s", "supervisor"), Actor("w", "window", OWN)):
        with pytest.raises(ActionRefused) as refused:
            decide(case, item, "start_special_procedure", actor, kind, now)
        assert refused.value.code == "forbidden"
    decide(case, item, "start_special_procedure", Actor("d", "decider", OWN), kind, now)
    decide(case, item, "start_special_procedure", Actor("b", "issuer", OWN, backup_role="head"), kind, now)
    waiting = Case(w.case, PERMIT, OWN, state="awaiting_supplement")
    for actor in (Actor("w", "window", OTHER), Actor("u", "undertaker", OWN), Actor("s", "supervisor")):
        with pytest.raises(ActionRefused) as refused:
            decide(waiting, item, "supplement", actor, {"uploads": {}}, now)
        assert refused.value.code == "forbidden"
    for actor in (Actor("w", "window", OWN), Actor("zhang", "applicant")):
        assert decide(waiting, item, "supplement", actor, {"uploads": {}}, now).action == "supplement"
    paying = Case(w.case, PERMIT, OWN, state="in_progress", assessment={"total_fen": 100})
    fee_item = w.svc.catalogue.data(w.svc.catalogue.items["QQ-REALESTATE-DJ-102"])
    with pytest.raises(ActionRefused, match="部门"):  # only staff of the case's department (Chinese by default)
        decide(paying, fee_item, "record_payment", Actor("w", "window", OTHER), {"amount_fen": 100}, now)


def test_supplements_only_by_the_applicant_or_the_case_window(world: World) -> None:
    """Hole 2: any department's window staff could hand in a supplement for any case."""
    w, api = world, TestClient(world.app)
    data, files = sample_application(w.svc.catalogue, w.svc.catalogue.items[PERMIT], {})
    number = w.svc.submit(PERMIT, data, files, Actor("li", "applicant"), "supplement").number
    missing = {"missing": [{"material": "construction_contract", "reason": "不清晰"}]}
    w.svc.act(number, "request_supplement", Actor("w", "window", OWN), missing, 1)
    body = {"action": "supplement", "version": 2, "payload": {"uploads": {}}}
    stranger = bearer(staff_token(w, "w.re", "window", OTHER))
    assert api.post(f"/api/cases/{number}/actions", headers=stranger, json=body).status_code == 404
    case, _ = w.svc.load(number, fresh=True)
    assert case.state == "awaiting_supplement"
    window = bearer(staff_token(w, "w.h", "window", OWN))
    r = api.post(f"/api/cases/{number}/actions", headers=window, json=body)
    assert r.status_code == 200 and r.json()["state"] == "submitted"


def test_files_and_documents_only_through_a_case_one_may_see(world: World) -> None:
    """Uploads and documents are served by the same decision as the case page."""
    w = world
    other = desk_client(w, staff_token(w, "w.re", "window", OTHER))
    own = desk_client(w, staff_token(w, "w.h", "window", OWN))
    for path in (f"/desk/cases/{w.case}/files/{w.upload}", f"/desk/cases/{w.case}/documents/0"):
        assert other.get(path).status_code == 404
        assert own.get(path).status_code == 200
    assert own.get(f"/desk/cases/{w.member}/files/{w.upload}").status_code == 404  # not this person's case


# ------------------------------------------------------------------ the table


@dataclass(frozen=True)
class Principal:
    name: str
    role: str | None = None  # None: nobody signed in
    dept: str | None = None
    backup: str | None = None
    applicant: bool = False  # holds the query codes of the case and the chain

    def actor(self) -> Actor | None:
        return Actor(self.name, self.role, self.dept, self.backup) if self.role else None


def principals() -> list[Principal]:
    out = [Principal("nobody"), Principal("applicant", applicant=True)]
    for role in ROLES:
        if role in CENTER_ROLES:  # supervision, administration, the chain front desk
            out.append(Principal(role, role))
        else:
            out += [Principal(f"{role}@own", role, OWN), Principal(f"{role}@other", role, OTHER)]
    out += [  # AB backups (AB角): the role they stand in for counts as theirs
        Principal("window@own+head", "window", OWN, "head"),
        Principal("reviewer@other+decider", "reviewer", OTHER, "decider"),
        Principal("issuer@own+supervisor", "issuer", OWN, "supervisor"),
    ]
    return out


def app_routes(app: Any) -> list[tuple[str, str]]:
    keys = []
    for route in app.routes:
        if isinstance(route, Route):
            keys += [(m, route.path) for m in sorted(route.methods or {"GET"}) if m != "HEAD"]
        elif isinstance(route, Mount):
            keys.append(("GET", route.path))
    return keys


def test_every_route_has_a_rule(world: World) -> None:
    """A route added without a line in engine.service.access.ROUTES fails here: say who may use it."""
    routes = app_routes(world.app)
    missing = [f"{m} {p}" for m, p in routes if (m, p) not in access.ROUTES]
    assert not missing, f"new route without a rule in engine.service.access.ROUTES: {missing}"
    stale = [f"{m} {p}" for m, p in access.ROUTES if (m, p) not in routes]
    assert not stale, f"rules for routes the app does not have: {stale}"


class Caller:
    """One principal's way in: the desk cookie and the API bearer token, or the applicant's grants."""

    def __init__(self, w: World, p: Principal) -> None:
        self.w, self.p = w, p
        self.client = TestClient(w.app, follow_redirects=False)
        self.token = ""
        if p.role:
            self.token = staff_token(w, p.name, p.role, p.dept, p.backup)
            self.client.cookies.set("yg_staff", self.token)
        if p.applicant:  # the progress page's grant for the case and for the chain
            for number, code in ((w.case, w.code), (w.chain, w.chain_code)):
                page = self.client.get("/progress")
                r = self.client.post(
                    "/progress", data={"number": number, "query_code": code, "csrf": csrf_of(page.text)}
                )
                assert r.status_code == 303, r.text
        self.desk_csrf = csrf_of(self.client.get("/desk").text) if p.role else "none"

    def fresh_token(self) -> str:
        """A second session, for the routes that end one (logout)."""
        assert self.p.role
        return auth.login(self.w.svc.db, self.p.name, PASSWORD, self.w.svc.clock.now())

    def call(self, method: str, path: str, subject: str, chain_number: str) -> Any:
        w, p = self.w, self.p
        params = {
            "number": subject,
            "upload": w.upload if subject == w.case else w.member_upload,
            "index": "0",
            "code": PERMIT,
            "chain": "organization",
            "page": "applicant",
            "kind:str": "json",
            "month": "2026-03",
            "id": "1",
            "action": "evaluate",
            "counter": "realestate",  # an appointment window (appointments.yaml)
        }
        if path.startswith(("/desk/chains/", "/api/chains/")):
            params["number"] = chain_number
        if path.startswith("/chains/{code}"):
            params["code"] = "organization"
        url = re.sub(r"\{([^}]+)\}", lambda m: params[m.group(1)], path)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        query: dict[str, str] = {}
        code = w.chain_code if url.startswith("/api/chains/") else w.code
        if p.applicant and subject == w.case and url.startswith(("/api/cases/", "/api/chains/")):
            query["query_code"] = code
        client = self.client
        if (method, path) in (("POST", "/desk/logout"), ("DELETE", "/api/session")) and self.token:
            token = self.fresh_token()  # end a second session, keep this one
            client = desk_client(w, token)
            headers = bearer(token)
            form = {"csrf": csrf_of(client.get("/desk").text)}
            return client.request(method, url, headers=headers, data=form if method == "POST" else None)
        if path == "/desk/proxy":
            query["item"] = PERMIT
        if url.startswith("/api/"):
            if method == "GET" or method == "DELETE":
                return client.request(method, url, headers=headers, params=query)
            body: dict[str, Any] = {"action": "evaluate", "version": 1, "payload": {}, **query}
            return client.request(method, url, headers=headers, json=body)
        if method == "GET":
            return client.get(url, params=query)
        form = {"csrf": self.desk_csrf, "version": "1", "action": ""}
        if path.startswith("/progress/"):
            form["csrf"] = csrf_of(client.get("/progress").text)
            del form["version"]  # reaches the form's own checks (400) only past the grant
        return client.post(url, data=form)


def _denied(rule: access.Rule, r: Any) -> bool:
    """The answers of a refusal: the login wall, the progress page's code wall, 401, 403 — and 404
    where the rule is about a case or a chain application (not seen: as if there were none)."""
    where = r.headers.get("location", "")
    if r.status_code == 303:
        return where.startswith(("/desk/login?next=", "/progress?number="))
    return r.status_code in (401, 403) or (r.status_code == 404 and (rule.case or rule.chain))


def test_every_route_answers_every_role_as_the_rule_says(world: World) -> None:
    """The table: for each route, principal and case (a department's case, and a chain's case the
    front desk accepts), the answer is a refusal exactly when engine.service.access refuses. Refusals of a
    case are 404 for signed-in staff (as if there were no such case); public routes answer everyone
    alike; nothing answers 500."""
    w = world
    callers = [Caller(w, p) for p in principals()]
    subjects = {w.case: w.svc.load(w.case)[0], w.member: w.svc.load(w.member)[0]}
    wrong: list[str] = []
    checked = 0
    for method, path in app_routes(w.app):
        rule = access.rule_for(method, path)
        about_case = "{number}" in path and not path.startswith(("/desk/chains/", "/api/chains/"))
        for number, case in subjects.items() if about_case else [(w.case, None)]:
            public: set[int] = set()
            for c in callers:
                r = c.call(method, path, number, w.chain)
                checked += 1
                if r.status_code >= 500:
                    wrong.append(f"{method} {path} [{number}] as {c.p.name}: {r.status_code}")
                    continue
                if rule.public:
                    public.add(r.status_code)
                    continue
                # the API takes the case's own code; the progress page's chain code opens its members too
                has_code = c.p.applicant and (number == w.case or path.startswith(("/api/chains/", "/progress/")))
                allowed = rule.allows(c.p.actor(), case, has_code)
                if allowed == _denied(rule, r):
                    word = "allowed" if allowed else "refused"
                    wrong.append(f"{method} {path} [{number}] as {c.p.name}: {rule.name} {word}, got {r.status_code}")
                elif not allowed and c.p.role and rule.case and r.status_code != 404:
                    wrong.append(f"{method} {path} [{number}] as {c.p.name}: a hidden case must answer 404")
            if len(public) > 1:
                wrong.append(f"{method} {path}: a public route answered {sorted(public)} by who asked")
    assert checked > 1000
    assert not wrong, "\n".join(wrong)
