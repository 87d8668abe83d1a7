"""Issue 15, anonymous uploads: every upload belongs to a draft or a case, only the application
filed with the same draft claims it, limits per draft/case and per client answer 413/429 with
Retry-After, the sweep purges what no application claimed, a nearly full disk answers 507, and a
stored file is served under its material's name. Real SQLite file, real HTTP via the app."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from support.api import Client, World, application, error, new_draft, token
from support.desk import browser
from support.portal import PDF, csrf, fill_sections, find, submit

from engine.base.dates import TZ
from engine.ledger import tables
from engine.ledger.db import open_engine, read_only
from engine.ledger.migrations import MIGRATIONS, migrate
from engine.rules.clock import ManualClock
from engine.service import auth, drafts, uploads
from engine.service.samples import sample_application
from engine.service.upload_limits import Limits
from engine.supervision import sweep as supervision

START = datetime(2026, 3, 6, 9, 0, tzinfo=TZ)
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(make_api: Callable[..., World]) -> World:
    return make_api()


def send(client: Client, draft: str | None, content: bytes = PDF, name: str = "a.pdf", **kw: Any) -> Any:
    headers = {"X-Draft-Token": draft} if draft is not None else {}
    return client.post("/api/uploads", files={"file": (name, content)}, headers=headers | kw.pop("headers", {}), **kw)


def stored(upload_dir: Path) -> list[str]:
    return sorted(p.name for p in upload_dir.iterdir()) if upload_dir.exists() else []


# ------------------------------------------------------------------ hole 1: tied to a draft or a case


def test_an_upload_needs_a_draft_token_or_a_case(world: World) -> None:
    """Hole 1: POST /api/uploads took files from anyone, without any token."""
    client, _, _, upload_dir = world
    e = error(send(client, None), 401)
    assert "POST /api/drafts" in e["message"]
    error(send(client, "not-a-draft"), 401)
    error(send(client, "\u00e9" * 200), 401)  # not a token at all: still the one error shape
    assert stored(upload_dir) == []
    draft = client.post("/api/drafts")
    assert draft.status_code == 201
    # the token lives 7 days after its last use: 2026-03-06 09:00 + 7 days = 2026-03-13 09:00
    assert draft.json()["expires_at"] == "2026-03-13T09:00:00+08:00"
    r = send(client, draft.json()["draft"])
    assert r.status_code == 201, r.text
    assert stored(upload_dir) == [r.json()["upload_id"]]


def test_a_draft_token_ends_seven_days_after_its_last_use(world: World) -> None:
    """Hole 1: a draft token is not a key for ever."""
    client, _, clk, _ = world
    draft = new_draft(client)
    clk.advance(days=6)
    assert send(client, draft).status_code == 201  # used on day 6: lives until day 13
    clk.advance(days=7)  # day 13, 09:00: exactly 7 days after the last use, still alive
    assert send(client, draft).status_code == 201
    clk.advance(days=7, seconds=1)
    error(send(client, draft), 401)


def test_an_application_claims_only_the_uploads_of_its_own_draft(world: World) -> None:
    """Hole 1: POST /api/cases accepted any upload id, whoever uploaded it."""
    client, _, _, _ = world
    mine = application(client, world[1], key="mine")
    theirs = application(client, world[1], key="theirs")
    material = next(iter(mine["uploads"]))
    stolen = mine | {"uploads": mine["uploads"] | {material: theirs["uploads"][material]}}
    e = error(client.post("/api/cases", json=stolen), 422)
    assert [(f["field"], f["code"]) for f in e["fields"]] == [(f"materials.{material}", "foreign_upload")]
    no_draft = {k: v for k, v in mine.items() if k != "draft"}
    e = error(client.post("/api/cases", json=no_draft), 422)
    assert {f["code"] for f in e["fields"]} == {"foreign_upload"}
    e = error(client.post("/api/cases", json=mine | {"draft": "expired-or-made-up"}), 422)
    assert [(f["field"], f["code"]) for f in e["fields"]] == [("draft", "unknown_draft")]
    first = client.post("/api/cases", json=mine)
    assert first.status_code == 201, first.text
    # a draft files one application: another key answers the case it filed, not a second case
    again = client.post("/api/cases", json=mine | {"idempotency_key": "another"})
    assert again.status_code == 200 and again.json()["number"] == first.json()["number"]
    # review of issue 15: a filed draft took more files (kept for ever) and filed a chain application too
    number = first.json()["number"]
    late = error(send(client, mine["draft"]), 409)
    assert late["code"] == "draft_filed" and number in late["message"]
    chain = {"chain": "organization", "data": {}, "uploads": {}, "idempotency_key": "c", "draft": mine["draft"]}
    assert error(client.post("/api/chains", json=chain), 409)["code"] == "draft_filed"


def test_a_chain_application_claims_only_its_own_drafts_uploads(world: World) -> None:
    """Hole 1: POST /api/chains accepted any upload id."""
    client, _, _, _ = world
    other = send(client, new_draft(client)).json()["upload_id"]
    body = {"chain": "organization", "data": {}, "uploads": {"营业执照": [other]}, "idempotency_key": "c"}
    e = error(client.post("/api/chains", json=body | {"draft": new_draft(client)}), 422)
    assert [f["code"] for f in e["fields"]] == ["foreign_upload"]


def test_uploads_for_a_case_by_its_applicant_or_its_departments_staff(world: World) -> None:
    """Hole 1: a supplement's files are uploaded for the case (query code, or staff of its
    department) and only that case's supplement may name them."""
    client, svc, _, _ = world
    created = client.post("/api/cases", json=application(client, svc)).json()
    number, code = created["number"], created["query_code"]
    window = token(client, "window")
    missing = {"missing": [{"material": "application", "reason": "不清晰"}]}
    body = {"action": "request_supplement", "version": 1, "payload": missing}
    assert client.post(f"/api/cases/{number}/actions", headers=window, json=body).status_code == 200
    files = {"file": ("a.pdf", PDF)}
    error(client.post("/api/uploads", params={"case": number}, headers={"X-Query-Code": "999999"}, files=files), 404)
    other = {"Authorization": "Bearer " + auth.login(svc.db, "culture-window", "culture-window-secret", START)}
    # another department's window: the answer to a case that does not exist (engine.service.access), nothing to probe
    error(client.post("/api/uploads", params={"case": number}, headers=other, files=files), 404)
    staff_up = client.post("/api/uploads", params={"case": number}, headers=window, files=files)
    assert staff_up.status_code == 201, staff_up.text
    own = client.post("/api/uploads", params={"case": number}, headers={"X-Query-Code": code}, files=files)
    assert own.status_code == 201, own.text
    drafted = send(client, new_draft(client)).json()["upload_id"]

    def supplement(upload_id: str) -> Any:
        body = {"action": "supplement", "version": 2, "query_code": code,
                "payload": {"uploads": {"application": [upload_id]}}}  # fmt: skip
        return client.post(f"/api/cases/{number}/actions", json=body)

    assert error(supplement(drafted), 422)["fields"][0]["code"] == "foreign_upload"
    assert supplement(own.json()["upload_id"]).status_code == 200


# ------------------------------------------------------------------ hole 1: limits


def test_a_draft_holds_at_most_so_many_files_and_bytes(make_api: Callable[..., World]) -> None:
    """Hole 1: one client stored 300 MB in 3 s; a draft now has a total (413)."""
    client, _, _, upload_dir = make_api(draft_max_files=3, draft_max_bytes=3 * len(PDF) + 10)
    draft = new_draft(client)
    for _ in range(3):
        assert send(client, draft).status_code == 201
    e = error(send(client, draft), 413)
    assert e["code"] == "too_many_files" and "3" in e["message"]
    client2, _, _, _ = make_api(draft_max_bytes=len(PDF) + 10)
    other = new_draft(client2)
    assert send(client2, other).status_code == 201
    assert error(send(client2, other), 413)["code"] == "too_large"
    assert len(stored(upload_dir)) == 4  # nothing of the refused files is left behind


def test_uploads_per_minute_answer_429_with_retry_after(make_api: Callable[..., World]) -> None:
    """Hole 1: the rate per draft, and per client across drafts, is limited."""
    client, _, clk, _ = make_api(draft_files_per_minute=2, client_files_per_minute=3)
    draft = new_draft(client)
    assert send(client, draft).status_code == 201  # 09:00:00
    clk.advance(seconds=20)
    assert send(client, draft).status_code == 201  # 09:00:20
    r = send(client, draft)
    assert error(r, 429)["code"] == "too_many_requests"
    # the first upload (09:00:00) leaves the minute at 09:01:00: 40 s after 09:00:20
    assert r.headers["retry-after"] == "40"
    other = new_draft(client)  # a second draft from the same client: the client's 3 a minute
    assert send(client, other).status_code == 201
    r = send(client, other)
    assert r.status_code == 429 and r.headers["retry-after"] == "40"
    clk.advance(seconds=40)  # 09:01:00: the first upload is out of the window
    assert send(client, draft).status_code == 201


def test_bytes_per_client_per_day(make_api: Callable[..., World]) -> None:
    """Hole 1: a client's bytes in 24 hours are limited (429 until the first leaves the day)."""
    client, _, clk, _ = make_api(client_bytes_per_day=2 * len(PDF))
    assert send(client, new_draft(client)).status_code == 201
    clk.advance(hours=1)
    assert send(client, new_draft(client)).status_code == 201
    r = send(client, new_draft(client))
    # the first upload (day 0, 09:00) leaves the 24 hours at day 1, 09:00: 23 h = 82,800 s later
    assert r.status_code == 429 and r.headers["retry-after"] == "82800"


def test_drafts_per_client_per_hour(make_api: Callable[..., World]) -> None:
    """Hole 1: opening drafts cannot get round a draft's limits. A token costs the server nothing
    (it is signed, not stored); a draft begins with its first file, and an address may begin at
    most so many drafts an hour."""
    client, _, clk, upload_dir = make_api(client_drafts_per_hour=2)
    tokens = [new_draft(client) for _ in range(5)]  # opening is free: no row, no write
    assert send(client, tokens[0]).status_code == 201
    clk.advance(minutes=15)
    assert send(client, tokens[1]).status_code == 201
    assert send(client, tokens[1]).status_code == 201  # a draft already begun takes more files
    r = send(client, tokens[2])
    assert error(r, 429)["code"] == "too_many_requests"
    assert r.headers["retry-after"] == str(45 * 60)  # the first (09:00) leaves the hour at 10:00: 45 minutes on
    assert len(stored(upload_dir)) == 3  # the refused file was not kept


def test_a_draft_token_the_server_did_not_issue_is_refused(world: World) -> None:
    """A token is the server's signature over its end and a random part: an altered or made-up one
    uploads nothing (401), and an unused one ends 7 days after it was issued."""
    client, _, clk, _ = world
    token = new_draft(client)
    expires, nonce, mac = token.split(".")
    for forged in (f"{int(expires) + 86400}.{nonce}.{mac}", f"{expires}.{nonce[::-1]}.{mac}", "1.2.3", "x" * 40):
        assert error(send(client, forged), 401)["code"] == "unauthorized"
    clk.advance(days=7)
    assert error(send(client, token), 401)["code"] == "unauthorized"  # never used: ended with its week


def test_the_portal_refuses_files_past_the_rate_and_keeps_the_rest(portal: Any) -> None:
    """Hole 1: the portal's materials page counts against the same limits (30 files a minute a draft)."""
    client, svc, _ = portal
    code = "QQ-HOUSING-XK-003"
    draft = fill_sections(client, svc, code)
    page = client.get(f"/apply/{code}/materials?draft={draft}")
    _, needed = sample_application(svc.catalogue, svc.catalogue.items[code], {})
    material = next(iter(needed))
    files = [(f"file-{material}", (f"{i}.pdf", PDF, "application/pdf")) for i in range(31)]
    r = client.post(f"/apply/{code}/materials", data={"csrf": csrf(page.text), "draft": draft}, files=files)
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    assert "上传过于频繁，请 60 秒后再试" in r.text
    with read_only(svc.db) as conn:
        assert conn.execute(tables.uploads.select().where(tables.uploads.c.draft == draft)).all().__len__() == 30


# ------------------------------------------------------------------ hole 3: the disk


def test_a_nearly_full_disk_refuses_uploads_with_507(make_api: Callable[..., World]) -> None:
    """Hole 3: uploads went on until the disk was full; now 507 before the free-space floor."""
    _, _, _, upload_dir = make_api()
    upload_dir.mkdir()
    free = shutil.disk_usage(upload_dir).free
    full, _, _, _ = make_api(min_free_bytes=free + 2**30, min_free_fraction=0.0)  # as if 1 GiB short
    r = send(full, new_draft(full))
    e = error(r, 507)
    assert e["code"] == "insufficient_storage" and "稍后再试" in e["message"]
    whole, _, _, _ = make_api(min_free_bytes=0, min_free_fraction=1.0)  # a floor of the whole disk
    error(send(whole, new_draft(whole)), 507)
    assert stored(upload_dir) == []
    roomy, _, _, _ = make_api(min_free_bytes=free // 2, min_free_fraction=0.0)
    assert send(roomy, new_draft(roomy)).status_code == 201


# ------------------------------------------------------------------ hole 2: the sweep purges


def test_the_sweep_purges_uploads_no_application_claimed(world: World) -> None:
    """Hole 2: unclaimed uploads were kept for ever; the sweep now deletes them (files and rows)
    7 days after their draft's last change, and keeps everything an application claimed."""
    client, svc, clk, upload_dir = world
    abandoned = send(client, new_draft(client)).json()["upload_id"]
    filed = application(client, svc, key="filed")
    assert client.post("/api/cases", json=filed).status_code == 201
    kept = [u for v in filed["uploads"].values() for u in v]
    busy = new_draft(client)
    early = send(client, busy).json()["upload_id"]
    legacy = uploads.store(svc.db, upload_dir, PDF, "old.pdf", "application/pdf", START)  # before migration 21
    clk.advance(days=3)
    send(client, busy)  # day 3: the busy draft lives on until day 10
    clk.advance(days=4)  # 2026-03-13 09:00: exactly 7 days, nothing is due yet
    assert "uploads_purged" not in supervision.sweep(svc).other
    clk.advance(seconds=1)
    assert supervision.sweep(svc).other["uploads_purged"] == 1
    left = set(stored(upload_dir))
    assert abandoned not in left and set(kept) <= left and early in left and legacy.id in left
    assert uploads.fetch(svc.db, [abandoned]) == {}
    with read_only(svc.db) as conn:  # the filed draft's files are marked claimed: looked at once
        claimed = conn.execute(select(tables.uploads.c.id).where(tables.uploads.c.claimed_at.is_not(None))).all()
    assert {r.id for r in claimed} == set(kept)  # "legacy" has no draft: the sweep never looks at it
    assert "uploads_purged" not in supervision.sweep(svc).other  # idempotent
    clk.advance(days=3)  # day 10 + 1 s: the busy draft's files go too
    assert supervision.sweep(svc).other["uploads_purged"] == 2
    assert set(kept) | {legacy.id} == set(stored(upload_dir))


def test_a_portal_draft_that_was_submitted_keeps_its_files(portal: Any) -> None:
    """Hole 2 (a guard on the purge): a filed portal draft (its key draft:<id>) keeps its files, whatever their age."""
    client, svc, clk = portal
    number, _ = submit(client, svc)
    case, _ = svc.load(number)
    ids = [u for v in case.uploads.values() for u in v]
    clk.advance(days=30)
    supervision.sweep(svc)
    assert set(uploads.fetch(svc.db, ids)) == set(ids)


def test_migration_21_marks_older_uploads_claimed(tmp_path: Path) -> None:
    """Hole 2: an upload stored before migration 21 may be in a case already: never purged."""
    db = open_engine(tmp_path / "old.db")
    migrate(db, MIGRATIONS[:19])
    with db.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO uploads (id, filename, content_type, size, sha256, path, created_at) "
            "VALUES ('u1', 'a.pdf', 'application/pdf', 1, 'x', '/nowhere', '2026-01-01T00:00:00.000000+00:00')"
        )
    assert migrate(db) == len(MIGRATIONS)  # 21 and every later one
    with read_only(db) as conn:
        assert conn.exec_driver_sql("SELECT claimed_at FROM uploads").scalar() == "2026-01-01T00:00:00.000000+00:00"
    assert uploads.purge_unclaimed(db, datetime(2027, 1, 1, tzinfo=TZ)) == 0


# ------------------------------------------------------------------ hole 4: served by its material's name


def test_a_stored_file_is_served_under_its_materials_name_and_sniffed_type(desk: Any) -> None:
    """Hole 4: the desk served a file under the client's name (evil.html); now the material's
    name with the sniffed type's extension, as an attachment, as the sniffed type."""
    app, svc, _ = desk
    api = TestClient(app)
    draft = api.post("/api/drafts").json()["draft"]
    code = "QQ-HOUSING-XK-003"
    data, needed = sample_application(svc.catalogue, svc.catalogue.items[code], {})
    ids = {}
    for m in needed:
        r = api.post("/api/uploads", files={"file": ("evil.html", PDF, "text/html")}, headers={"X-Draft-Token": draft})
        assert r.status_code == 201, r.text
        ids[m] = [r.json()["upload_id"]]
    body = {"item": code, "data": data, "uploads": ids, "idempotency_key": "k", "draft": draft}
    number = api.post("/api/cases", json=body).json()["number"]
    material = next(iter(ids))
    name = {m["id"]: m["name"] for m in svc.catalogue.items[code].data["materials"]}[material]
    window = browser(app, "window.housing")
    r = window.get(f"/desk/cases/{number}/files/{ids[material][0]}")
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf" and r.headers["x-content-type-options"] == "nosniff"
    disposition = r.headers["content-disposition"]
    assert "evil" not in disposition and "html" not in disposition
    assert disposition == (
        f"attachment; filename=\"{ids[material][0]}.pdf\"; filename*=UTF-8''{quote(name + '.pdf', safe='')}"
    )
    assert re.fullmatch(r"[\x20-\x7e]+", disposition)  # the header itself is ASCII (RFC 5987 encoding)


def test_served_names() -> None:
    """Hole 4: the name and type a stored file is served with, whatever the label holds."""
    assert uploads.served_name("营业执照", "application/pdf") == "营业执照.pdf"
    assert uploads.served_name("营业执照", "image/jpeg", 1) == "营业执照（2）.jpg"
    assert uploads.served_name('../a/b\\c"d\x00', "image/png") == "_a_b_c_d_.png"
    assert uploads.served_name("", "application/msword") == "file.doc"
    assert uploads.served_type("text/html") == "application/octet-stream"
    header = uploads.content_disposition("营业执照.pdf", 'x"; y.pdf')
    assert header == "attachment; filename=\"xy.pdf\"; filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf"


def test_drafts_module_keys_and_tokens(world: World) -> None:
    """Hole 1: the token is stored nowhere (the row's id is its sha256) and a lone surrogate,
    an over-long or a non-ASCII token finds nothing (never an encoding error)."""
    _, svc, _, _ = world
    key = b"k" * 32
    tok, _ = drafts.issue_api(key, START)
    draft = drafts.find_api(svc.db, key, tok, START)
    assert draft is not None and draft.id == drafts.browser_hash(tok) and drafts.key(draft.id) == f"draft:{draft.id}"
    assert drafts.find_api(svc.db, b"other key" * 4, tok, START) is None  # another server's token
    for bad in ("\ud800", "x" * 129, "", draft.id, "1.\ud800.x"):
        assert drafts.find_api(svc.db, key, bad, START) is None


def test_a_supplement_on_the_progress_page_counts_against_the_cases_limits(portal: Any) -> None:
    """Hole 1: the applicant's supplement page stored files with no owner and no limit (never
    purged, never counted); they now belong to the case and stop at 30 files a minute."""
    from engine.rules.cases.model import Actor

    client, svc, _ = portal
    number, query_code = submit(client, svc)
    missing = [{"material": "construction_contract", "reason": "合同未盖章"}]
    svc.act(number, "request_supplement", Actor("w", "window", "housing"), {"missing": missing}, 1)
    find(client, number, query_code)
    before = svc.load(number)[0]
    page = client.get(f"/progress/{number}")
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    files = [("file-construction_contract", (f"{i}.pdf", PDF, "application/pdf")) for i in range(31)]
    r = client.post(f"/progress/{number}/supplement", data={"csrf": csrf(page.text), "version": version}, files=files)
    assert r.status_code == 422 and "上传过于频繁，请 60 秒后再试" in r.text
    with read_only(svc.db) as conn:
        rows = conn.execute(select(tables.uploads.c.case_number).where(tables.uploads.c.case_number == number)).all()
    assert len(rows) == 30  # stored for the case (its owner), the 31st refused
    assert svc.load(number)[0].version == before.version  # nothing was handed in: the case did not move


# ------------------------------------------------------------------ review: portal drafts


def first_page_post(client: TestClient, code: str, **values: str) -> Any:
    """The first section of ``code``'s form posted with no draft yet: the portal begins one."""
    r = client.get(f"/apply/{code}")
    url = r.headers["location"].split("?")[0]
    page = client.get(url)
    return client.post(url, data={"csrf": csrf(page.text), **values})


def test_an_address_begins_so_many_portal_drafts_an_hour(tmp_path: Path, reference: Any) -> None:
    """Review of issue 15: every form post without a draft stored a new drafts row, unlimited; the
    portal now counts an address's drafts with the API's (YANGGUANG_DRAFTS_PER_HOUR_PER_ADDRESS)."""
    from engine.web.app import create_app

    clk = ManualClock(START)
    app = create_app(REPO_ROOT, tmp_path / "p.db", reference.catalogue, clock=clk, sweep_seconds=0,
                     upload_limits=Limits(client_drafts_per_hour=2))  # fmt: skip
    code = "QQ-HOUSING-XK-003"
    answers = []
    for _ in range(3):  # three browsers (no cookies shared) behind one address
        with TestClient(app, follow_redirects=False) as browser_:
            answers.append(first_page_post(browser_, code))
    assert [r.status_code for r in answers[:2]] == [422, 422]  # drafts begun (the empty page has errors)
    assert answers[2].status_code == 429 and answers[2].headers["retry-after"] == "3600"
    assert "新建申请过于频繁，请 60 分钟后再试" in answers[2].text
    with read_only(app.state.service.db) as conn:
        assert conn.execute(select(func.count()).select_from(tables.drafts)).scalar() == 2


def test_a_draft_holds_at_most_256_kib_and_the_sweep_ends_old_drafts(portal: Any) -> None:
    """Review of issue 15: one post stored 9 MB in a draft, and drafts were never deleted."""
    client, svc, clk = portal
    code = "QQ-HOUSING-XK-003"
    big = first_page_post(client, code, **{"applicant.name": "王" * 100_000})  # 300 KB of UTF-8
    assert big.status_code == 413 and "填写的内容太长" in big.text
    with read_only(svc.db) as conn:
        assert all(len(d) < drafts.MAX_DATA for (d,) in conn.execute(select(tables.drafts.c.data)))
    draft = fill_sections(client, svc, code)
    clk.advance(days=7, seconds=1)  # a week and a second untouched
    assert supervision.sweep(svc).other["drafts_purged"] >= 1
    with read_only(svc.db) as conn:
        assert conn.execute(select(tables.drafts.c.id).where(tables.drafts.c.id == draft)).first() is None
