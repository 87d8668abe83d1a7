"""The case JSON API (engine.web.api) in-process, on a real SQLite file and a manual clock.

Starlette's Client needs httpx, which the project does not install; ``support.api.Client``
drives the ASGI app directly (one event loop per request, like a fresh connection).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from starlette.routing import Route
from support.api import RESALE, ROLES, Client, application, error, new_draft, token, upload
from support.portal import PDF

from engine.ledger import tables
from engine.ledger.db import read_only
from engine.rules.clock import ManualClock
from engine.service import auth
from engine.service.accounts import add_user
from engine.service.cases import CaseService
from engine.supervision import audit
from engine.web import api
from engine.web.openapi import OPENAPI


@pytest.fixture
def world(case_service: CaseService, tmp_path: Path) -> Iterator[tuple[Client, CaseService, ManualClock, Path]]:
    svc, db = case_service, case_service.db
    for role in ROLES:
        add_user(db, role, role, "realestate", password=f"{role}-secret")
    add_user(db, "culture-reviewer", "reviewer", "culture", password="culture-reviewer-secret")
    app = api.standalone(svc, tmp_path / "uploads")
    yield Client(app), svc, cast(ManualClock, svc.clock), tmp_path / "uploads"


def submit(client: Client, svc: CaseService, **choices: Any) -> dict[str, Any]:
    r = client.post("/api/cases", json=application(client, svc, **choices))
    assert r.status_code == 201, r.text
    return dict(r.json())


def act(client: Client, number: str, who: dict[str, str], action: str, **payload: Any) -> Any:
    version = client.get(f"/api/cases/{number}", headers=who).json()["version"]
    return client.post(
        f"/api/cases/{number}/actions", headers=who, json={"action": action, "version": version, "payload": payload}
    )


# ------------------------------------------------------------------ auth


def test_password_hash_format_and_check() -> None:
    stored = auth.hash_password("s3cret")
    assert stored.startswith("$argon2id$v=19$")
    assert auth.check_password("s3cret", stored)
    assert not auth.check_password("s3cret!", stored)
    assert not auth.check_password("s3cret", "garbage")


def test_add_user_refuses_duplicates_and_unknown_roles(world: Any) -> None:
    _, svc, _, _ = world
    with pytest.raises(ValueError, match="already exists"):
        add_user(svc.db, "window", "window", "realestate", password="x")
    with pytest.raises(ValueError, match="unknown role 'janitor'"):
        add_user(svc.db, "j", "janitor", password="x")


def test_login_ok_bad_and_expiry(world: Any) -> None:
    client, svc, clk, _ = world
    r = client.post("/api/session", json={"username": "window", "password": "window-secret"})
    assert r.status_code == 200
    body = r.json()
    assert body["role"] == "window" and body["department"] == "realestate"
    assert datetime.fromisoformat(body["expires_at"]) == clk.now() + timedelta(hours=8)
    with read_only(svc.db) as conn:  # only the token's hash is stored
        stored = [
            row[0] for row in conn.execute(tables.sessions.select().with_only_columns(tables.sessions.c.token_hash))
        ]
    assert body["token"] not in stored and len(stored) == 1
    bad_pw = error(client.post("/api/session", json={"username": "window", "password": "nope"}), 401)
    no_user = error(client.post("/api/session", json={"username": "ghost", "password": "nope"}), 401)
    assert bad_pw["message"] == no_user["message"]  # one generic message
    error(client.post("/api/session", json={"username": "window"}), 422)
    actor = auth.actor_for_token(svc.db, body["token"], clk.now())
    assert actor is not None and actor.role == "window"
    assert auth.actor_for_token(svc.db, body["token"], clk.now() + timedelta(hours=8, seconds=1)) is None


def test_backup_role(world: Any) -> None:
    _, svc, clk, _ = world
    add_user(svc.db, "b", "reviewer", "realestate", password="pw", backup_for="decider")
    actor = auth.actor_for_token(svc.db, auth.login(svc.db, "b", "pw", clk.now()), clk.now())
    assert actor is not None and actor.backup_role == "decider"


# ------------------------------------------------------------------ uploads


def test_upload_pdf_is_stored_under_a_generated_name(world: Any) -> None:
    client, svc, _, upload_dir = world
    r = upload(client, name="../../etc/passwd.pdf")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == "application/pdf" and body["size"] == len(PDF)
    assert [p.name for p in upload_dir.iterdir()] == [body["upload_id"]]
    assert (upload_dir / body["upload_id"]).read_bytes() == PDF
    with read_only(svc.db) as conn:
        row = conn.execute(tables.uploads.select().where(tables.uploads.c.id == body["upload_id"])).one()
    assert row.sha256 == body["sha256"] and row.filename == "passwd.pdf"


def test_upload_rejects_executables_and_big_files(world: Any) -> None:
    client, _, _, _ = world
    e = error(upload(client, b"MZ\x90\x00" + b"\x00" * 100, "report.pdf"), 415)
    assert "PDF" in e["message"]
    error(upload(client, b"%PDF-" + b"0" * (20 * 1024 * 1024)), 413)
    headers = {"X-Draft-Token": new_draft(client)}
    error(client.post("/api/uploads", files={"other": ("a.pdf", PDF)}, headers=headers), 422)


# ------------------------------------------------------------------ submission and reading


def test_submit_is_idempotent_and_reports_every_field(world: Any) -> None:
    client, svc, _, _ = world
    body = application(client, svc, key="same")
    first = client.post("/api/cases", json=body)
    again = client.post("/api/cases", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json() and first.json()["version"] == 1
    e = error(client.post("/api/cases", json={"item": RESALE, "data": {}, "idempotency_key": "x"}), 422)
    assert len(e["fields"]) > 3 and {"field", "code", "message"} <= set(e["fields"][0])
    error(client.post("/api/cases", json={**body, "item": "NO-SUCH-ITEM"}), 404)
    ghost = {m: ["0" * 32] for m in body["uploads"]}
    e = error(client.post("/api/cases", json={**body, "uploads": ghost, "idempotency_key": "g"}), 422)
    assert {f["field"] for f in e["fields"]} == {f"materials.{m}" for m in ghost}


def test_read_with_query_code_token_or_not_at_all(world: Any) -> None:
    client, svc, _, _ = world
    case = submit(client, svc)
    number, code = case["number"], case["query_code"]
    mine = client.get(f"/api/cases/{number}", params={"query_code": code})
    assert mine.status_code == 200
    view = mine.json()
    assert view["state"] == "submitted" and view["version"] == 1 and view["deadlines"]["completeness"]
    assert view["events"] == [{"action": "submit", "at": view["received_at"], "role": "applicant"}]
    assert "data" not in view
    error(client.get(f"/api/cases/{number}"), 403)
    wrong = error(client.get(f"/api/cases/{number}", params={"query_code": "000000" if code != "000000" else "1"}), 404)
    unknown = error(client.get("/api/cases/QQ20260306999999", params={"query_code": code}), 404)
    assert wrong["message"] == unknown["message"]  # numbers cannot be probed
    staff = client.get(f"/api/cases/{number}", headers=token(client, "reviewer")).json()
    assert staff["data"] and staff["events"][0]["actor"] == "applicant"
    error(client.get(f"/api/cases/{number}", headers={"Authorization": "Bearer forged"}), 401)


def test_proxy_submission_records_the_staff_actor(world: Any) -> None:
    client, svc, _, _ = world
    r = client.post("/api/cases", json=application(client, svc, key="proxy"), headers=token(client, "window"))
    assert r.status_code == 201
    view = client.get(f"/api/cases/{r.json()['number']}", headers=token(client, "window")).json()
    assert view["events"][0] == {**view["events"][0], "actor": "window", "role": "window"}


# ------------------------------------------------------------------ actions


def test_staff_lifecycle_with_fee_gate_conflicts_and_roles(world: Any) -> None:
    client, svc, _, _ = world
    number = submit(client, svc, **{"realestate.use": "residential", "realestate.certificate_copies": 3})["number"]
    h = {role: token(client, role) for role in ROLES}
    assert act(client, number, h["window"], "accept").json()["open_steps"] == [
        {"id": "review", "name": "登记审核", "role": "reviewer"},
        {"id": "tax", "name": "税费核定与征收（税务窗口）", "role": "undertaker"},
    ]
    e = error(act(client, number, h["window"], "complete_step", step="review"), 403)
    assert "reviewer" in e["message"]
    other = token(client, "culture-reviewer")  # another department: the case is not there for them
    body = {"action": "complete_step", "version": 2, "payload": {"step": "review"}}
    error(client.post(f"/api/cases/{number}/actions", headers=other, json=body), 404)
    stale = client.post(
        f"/api/cases/{number}/actions",
        headers=h["reviewer"],
        json={"action": "complete_step", "version": 1, "payload": {"step": "review"}},
    )
    e = error(stale, 409)
    assert "第 1 版，现为第 2 版" in e["message"] and e["code"] == "version_conflict"
    english = client.post(
        f"/api/cases/{number}/actions",
        headers=h["reviewer"] | {"Accept-Language": "en"},  # the message in the request's language
        json={"action": "complete_step", "version": 1, "payload": {"step": "review"}},
    )
    e = error(english, 409)
    assert "version 1, now 2" in e["message"] and e["code"] == "version_conflict"
    assert act(client, number, h["reviewer"], "complete_step", step="review").status_code == 200
    assert act(client, number, h["undertaker"], "complete_step", step="tax").status_code == 200
    view = act(client, number, h["decider"], "assess_fee").json()
    assert view["assessment"]["total_fen"] == 10000
    assert act(client, number, h["decider"], "decide", outcome="approve").status_code == 200
    assert act(client, number, h["decider"], "complete_step", step="decide").status_code == 200
    for wrong in (9999, 10001):
        e = error(act(client, number, h["window"], "record_payment", amount_fen=wrong), 422)
        assert e["code"] == "fee_mismatch" and "核定 100.00 元" in e["message"]
    error(act(client, number, h["issuer"], "complete"), 422)
    assert act(client, number, h["window"], "record_payment", amount_fen=10000).json()["paid_fen"] == 10000
    done = act(client, number, h["issuer"], "complete").json()
    assert done["state"] == "completed" and done["open_steps"] == []
    assert [a["attempted_fen"] for a in done["fee_anomalies"]] == [9999, 10001]
    assert audit.verify(svc.db, service=svc).ok


def test_applicant_supplements_and_evaluates_with_the_query_code(world: Any) -> None:
    client, svc, _, _ = world
    case = submit(client, svc)
    number, code = case["number"], case["query_code"]
    window = token(client, "window")
    r = act(client, number, window, "request_supplement", missing=[{"material": "application", "reason": "不清晰"}])
    assert r.json()["state"] == "awaiting_supplement" and r.json()["paused"]

    def as_applicant(action: str, version: int, **payload: Any) -> Any:
        body = {"action": action, "version": version, "payload": payload, "query_code": code}
        return client.post(f"/api/cases/{number}/actions", json=body)

    error(as_applicant("accept", 2), 403)
    error(as_applicant("deemed_accept", 2), 403)
    error(client.post(f"/api/cases/{number}/actions", json={"action": "supplement", "version": 2}), 403)
    # corrected form data is validated again against the form the case was filed under
    e = error(as_applicant("supplement", 2, data={"transfer": {"price": "abc"}}), 422)
    assert [f["field"] for f in e["fields"]] == ["transfer.price"]
    e = error(as_applicant("supplement", 2, uploads={"application": ["nope"]}), 422)
    assert e["fields"][0]["field"] == "materials.application"
    files = {"file": ("a.pdf", PDF)}
    up = client.post("/api/uploads", params={"case": number}, headers={"X-Query-Code": code}, files=files)
    r = as_applicant("supplement", 2, uploads={"application": [up.json()["upload_id"]]})
    assert r.status_code == 200 and r.json()["state"] == "submitted" and "actor" not in r.json()["events"][-1]
    error(as_applicant("evaluate", 3, rating="满意"), 422)  # not finished yet
    assert act(client, number, window, "refuse", reason="材料不实").json()["state"] == "refused"
    assert as_applicant("evaluate", 4, rating="满意").json()["evaluation"] == {"rating": "满意", "comment": ""}


def test_bad_bodies_are_shaped_errors(world: Any) -> None:
    client, svc, _, _ = world
    number = submit(client, svc)["number"]
    w = token(client, "window")
    error(client.post(f"/api/cases/{number}/actions", headers=w, content=b"{not json"), 400)
    e = error(client.post(f"/api/cases/{number}/actions", headers=w, json={"action": "accept"}), 422)
    assert e["fields"][0]["field"] == "version"
    error(act(client, number, w, "fly"), 422)


# ------------------------------------------------------------------ forms and the OpenAPI document


def test_item_form_from_the_catalogue(world: Any) -> None:
    client, _, _, _ = world
    form = client.get(f"/api/items/{RESALE}/form").json()
    fields = {f["name"]: f for f in form["fields"]}
    assert fields["transfer.seller_id_card"]["required"] == {"field": "transfer.seller_kind", "eq": "natural_person"}
    assert fields["transfer.floor_area"]["unit"] == "平方米" and fields["transfer.floor_area"]["min"] == 1
    materials = {m["id"]: m for m in form["materials"]}
    assert materials["application"]["formats"] == ["pdf", "ofd"] and materials["application"]["required"] is True
    assert materials["title_certificate"]["produced_by"] == "QQ-REALESTATE-DJ-101"
    assert materials["identities"]["shared"] is True
    error(client.get("/api/items/NOPE/form"), 404)


def test_openapi_matches_the_routes(world: Any) -> None:
    client, *_ = world
    assert client.get("/openapi.json").json() == OPENAPI
    app_ops = {(r.path, m.lower()) for r in api.ROUTES if isinstance(r, Route) for m in (r.methods or set()) - {"HEAD"}}
    doc_ops = {(path, m) for path, ops in OPENAPI["paths"].items() for m in ops}
    assert doc_ops <= app_ops  # the catalogue's read-only item routes too (engine/web/api/items.py)
    assert {op for op in app_ops if op[0].startswith("/api/")} <= doc_ops
    assert OPENAPI["openapi"].startswith("3.1")


def test_logout_and_unexpected_errors_stay_generic(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, svc, _, _ = world
    number = submit(client, svc)["number"]
    w = token(client, "window")
    assert client.request("DELETE", "/api/session", headers=w).status_code == 204
    error(client.get(f"/api/cases/{number}", headers=w), 401)

    def boom(*args: Any) -> Any:
        raise RuntimeError("secret internals /srv/db")

    monkeypatch.setattr(svc, "load", boom)
    e = error(client.get(f"/api/cases/{number}", headers=token(client, "reviewer")), 500)
    assert e["code"] == "internal_error" and "secret" not in e["message"] and "Traceback" not in e["message"]
