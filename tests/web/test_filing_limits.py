"""Issue 15's follow-up (issue 16, filing limit): anonymous filings were unlimited per address —
1,000 cases in 5.3 s from one address, each a permanent record with a supervision clock. Now an
address files at most 10 applications an hour and 30 a day (cases and chain applications, portal
and API together; staff filing for an applicant are not counted), checked and counted in the
filing's own transaction; and a draft files one application even when a case and a chain
application race from it. Real SQLite files, real HTTP through the whole app, a manual clock."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from support import REPO
from support.desk import browser as signed_in
from support.portal import apply_for_chain, csrf, fill_sections, upload_everything

from engine.base.dates import TZ
from engine.ledger import tables
from engine.ledger.db import open_engine, read_only
from engine.ledger.migrations import migrate
from engine.rules.calendar import WorkCalendar
from engine.rules.clock import ManualClock
from engine.service import drafts, filing_limits
from engine.service.accounts import add_user
from engine.service.cases import CaseService
from engine.service.samples import sample_application, sample_chain_application
from engine.service.upload_limits import ENV_LIMITS, LIMITS, client_of, limits_from_env
from engine.web.api.common import APPLICANT
from engine.web.app import create_app

START = datetime(2026, 3, 6, 9, 0, tzinfo=TZ)  # a Friday, 09:00 Beijing time
NO_FILES = "QQ-GRID-GG-002"  # an item whose application needs no upload: one request files it
PERMIT = "QQ-HOUSING-XK-003"  # the portal's item: four sections, five materials


@pytest.fixture
def site(tmp_path: Path, reference: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, ManualClock]]:
    for name in ENV_LIMITS:  # the defaults, whatever the shell running the tests sets
        monkeypatch.delenv(name, raising=False)
    clk = ManualClock(START)
    app = create_app(REPO, tmp_path / "filings.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(app, follow_redirects=False):  # runs the app's start-up
        yield app, app.state.service, clk


def at(app: Any, address: str) -> TestClient:
    """A client from ``address`` (what the limits count by)."""
    return TestClient(app, follow_redirects=False, client=(address, 40000))


def api_case(client: TestClient, svc: Any, key: str, **extra: Any) -> Any:
    data, _ = sample_application(svc.catalogue, svc.catalogue.items[NO_FILES], {})
    return client.post("/api/cases", json={"item": NO_FILES, "data": data, "idempotency_key": key}, **extra)


def api_chain(client: TestClient, svc: Any, key: str) -> Any:
    """The organisation chain over the API: its materials uploaded into a draft, then the application."""
    data, names = sample_chain_application(svc.catalogue, svc.catalogue.chains["organization"].data)
    draft = client.post("/api/drafts").json()["draft"]
    files: dict[str, list[str]] = {}
    for name in names:
        r = client.post(
            "/api/uploads", files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n")}, headers={"X-Draft-Token": draft}
        )
        assert r.status_code == 201, r.text
        files[name] = [r.json()["upload_id"]]
    body = {"chain": "organization", "data": data, "uploads": files, "idempotency_key": key, "draft": draft}
    return client.post("/api/chains", json=body)


def cases_filed(svc: Any) -> int:
    with read_only(svc.db) as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one())


def floods(svc: Any) -> list[dict[str, Any]]:
    s = tables.supervision_events
    with read_only(svc.db) as conn:
        rows = conn.execute(select(s.c.at, s.c.detail).where(s.c.kind == filing_limits.FLOOD).order_by(s.c.id))
        return [{"at": r.at} | json.loads(r.detail) for r in rows]


def test_the_11th_filing_in_an_hour_answers_429_and_another_address_is_not_affected(site: Any) -> None:
    app, svc, clk = site
    one, other = at(app, "203.0.113.7"), at(app, "198.51.100.20")
    for n in range(10):  # 09:00, 09:01, … 09:09
        r = api_case(one, svc, f"k{n}")
        assert r.status_code == 201, r.text
        clk.advance(minutes=1)
    # 09:10: the 11th. The hour's first filing (09:00) leaves the hour at 10:00: 50 minutes = 3000 s
    r = api_case(one, svc, "k10")
    assert r.status_code == 429 and r.headers["Retry-After"] == "3000"
    assert r.json() == {
        "error": {
            "status": 429,
            "code": "too_many_requests",
            "message": "同一地址提交申请过于频繁，请 50 分钟后再提交。",  # in the request's language
        }
    }
    english = api_case(one, svc, "k10", headers={"Accept-Language": "en"}).json()["error"]["message"]
    assert english == "Too many applications have been filed from this address. Please submit again in 50 minutes."
    assert cases_filed(svc) == 10  # the refusal wrote nothing
    again = api_case(one, svc, "k3")  # a retry of a filing that was taken: its case, not a refusal
    assert again.status_code == 200 and again.json()["number"].endswith("000004")
    assert api_case(other, svc, "other").status_code == 201  # another address files as before
    clk.advance(minutes=49, seconds=59)  # 09:59:59: one second to go
    assert api_case(one, svc, "k10").headers["Retry-After"] == "1"
    clk.advance(seconds=1)  # 10:00:00: the 09:00 filing has left the hour
    assert api_case(one, svc, "k10").status_code == 201
    assert api_case(one, svc, "k11").status_code == 429  # 09:01 … 09:09 and 10:00 fill the hour again


def test_30_a_day_and_a_supervision_event_once_per_window(site: Any) -> None:
    app, svc, clk = site
    one = at(app, "203.0.113.7")
    for hour in range(3):  # 10 each at 09:00-09:09, 10:00-10:09, 11:00-11:09
        clk.set(START + timedelta(hours=hour))
        for n in range(10):
            assert api_case(one, svc, f"h{hour}-{n}").status_code == 201
            clk.advance(minutes=1)
        assert api_case(one, svc, f"h{hour}-over").status_code == 429  # and refusals record nothing more
    # reaching the hour's 10 at 09:09 and 10:09, and the day's 30 at 11:09 (an hour limit reached with it)
    assert [(e["at"], e["limit"], e["window_hours"]) for e in floods(svc)] == [
        ("2026-03-06T01:09:00.000000+00:00", 10, 1),
        ("2026-03-06T02:09:00.000000+00:00", 10, 1),
        ("2026-03-06T03:09:00.000000+00:00", 30, 24),
    ]
    assert floods(svc)[0]["client"] == client_of("203.0.113.7")  # the address hashed, as stored
    # 12:00: the hour is free (11:00 … 11:09 is 9 filings after 11:00), the day is not: its first filing
    # (09:00) leaves the 24 hours at 09:00 tomorrow, 21 hours = 75600 s from now
    clk.set(START + timedelta(hours=3))
    r = api_case(one, svc, "day")
    assert r.status_code == 429 and r.headers["Retry-After"] == "75600"
    assert "21 小时" in r.json()["error"]["message"]  # in the request's language
    english = api_case(one, svc, "day", headers={"Accept-Language": "en"}).json()["error"]["message"]
    assert "21 hours" in english
    clk.set(START + timedelta(days=1))  # Saturday 09:00: the 09:00 filing left the day
    assert api_case(one, svc, "day").status_code == 201
    assert len(floods(svc)) == 3


def test_staff_filing_for_applicants_are_not_limited(site: Any) -> None:
    """A window's proxy filing (代办): the hall's staff share one address and file all day."""
    app, svc, _ = site
    add_user(svc.db, "window", "window", "grid", password="window-secret")
    hall = at(app, "10.1.1.1")
    token = hall.post("/api/session", json={"username": "window", "password": "window-secret"}).json()["token"]
    staff = {"headers": {"Authorization": f"Bearer {token}"}}
    assert [api_case(hall, svc, f"s{n}", **staff).status_code for n in range(35)] == [201] * 35
    # … nor do they count against the applicants of the same address
    assert [api_case(hall, svc, f"a{n}").status_code for n in range(11)] == [201] * 10 + [429]


def test_a_window_filing_on_the_portal_for_an_applicant_is_not_limited(desk: Any) -> None:
    """The window's proxy filing (代办) on the portal pages, signed in on the desk, from an address
    whose applicants have used up their hour."""
    app, svc, _ = desk
    applicant, clerk = TestClient(app, follow_redirects=False), signed_in(app, "window.housing")
    assert [api_case(applicant, svc, f"k{n}").status_code for n in range(10)] == [201] * 10
    for person in (clerk, applicant):
        draft = fill_sections(person, svc, NO_FILES)
        check = person.get(f"/apply/{NO_FILES}/check?draft={draft}")
        r = person.post(f"/apply/{NO_FILES}/submit", data={"csrf": csrf(check.text), "draft": draft})
        assert r.status_code == (303 if person is clerk else 429)  # both from "testclient"


def test_the_limit_counts_portal_and_api_cases_and_chains_together(site: Any) -> None:
    app, svc, clk = site
    browser = at(app, "203.0.113.7")
    apply_for_chain(browser, svc, "organization")  # 1: a chain application on the portal
    clk.advance(minutes=1)  # (a person uploads fewer than 60 files a minute)
    assert api_chain(browser, svc, "c1").status_code == 201  # 2: one over the API
    clk.advance(minutes=1)
    draft = fill_sections(browser, svc, PERMIT)  # 3: a case on the portal
    upload_everything(browser, svc, draft)
    check = browser.get(f"/apply/{PERMIT}/check?draft={draft}")
    assert browser.post(f"/apply/{PERMIT}/submit", data={"csrf": csrf(check.text), "draft": draft}).status_code == 303
    assert [api_case(browser, svc, f"k{n}").status_code for n in range(7)] == [201] * 7  # 4 … 10
    clk.advance(minutes=1)
    assert api_chain(browser, svc, "c2").status_code == 429  # a chain application is refused like a case
    assert api_case(browser, svc, "k7").status_code == 429


def test_the_portal_keeps_everything_typed_and_submits_it_later(site: Any) -> None:
    """Losing an applicant's input is not acceptable: past the limit the check page comes back as
    it was (429, Retry-After, the reason), and the same page submits it once the hour has passed."""
    app, svc, clk = site
    browser = at(app, "203.0.113.7")
    draft = fill_sections(browser, svc, PERMIT)
    upload_everything(browser, svc, draft)
    check = browser.get(f"/apply/{PERMIT}/check?draft={draft}")
    assert [api_case(browser, svc, f"k{n}").status_code for n in range(10)] == [201] * 10  # all at 09:00
    clk.advance(minutes=20)  # 09:20: the 09:00 filings leave the hour at 10:00, in 40 minutes
    body = {"csrf": csrf(check.text), "draft": draft}
    r = browser.post(f"/apply/{PERMIT}/submit", data=body)
    assert r.status_code == 429 and r.headers["Retry-After"] == str(40 * 60)
    assert "同一地址提交申请过于频繁，请 40 分钟后再提交。" in r.text
    assert "您填写的内容和上传的材料都已保存" in r.text and 'href="#fix-submit"' in r.text
    assert "11010519491231002X" in r.text  # the answers, as typed, on the page again
    for name in ("application.pdf", "construction_contract.pdf"):  # and the files
        assert name in r.text
    assert 'id="fix-submit"' in r.text and "提交申请" in r.text  # the button to try again
    english = browser.post(f"/apply/{PERMIT}/submit?lang=en", data=body)
    assert english.status_code == 429 and "同一地址" not in english.text
    assert "Too many applications have been filed from this address. Please submit again in 40 minutes." in english.text
    clk.advance(minutes=40)  # 10:00
    r = browser.post(f"/apply/{PERMIT}/submit", data=body)
    assert r.status_code == 303
    done = browser.get(r.headers["location"])
    number = re.search(r'id="case-number">([A-Z0-9]+)<', done.text).group(1)  # type: ignore[union-attr]
    case, _ = svc.load(number)
    assert len(case.uploads) == 5 and case.data  # nothing was lost on the way


def test_parallel_filings_cannot_slip_past_the_limit(tmp_path: Path, reference: Any) -> None:
    """Counted in the filing's own write transaction: 6 threads filing 4 each at once from one
    address get exactly 10 cases and then only refusals."""
    cat = reference.catalogue
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    db = open_engine(tmp_path / "race.db")
    migrate(db)
    svc = CaseService(cat, db, ManualClock(START), cal)
    data, _ = sample_application(cat, cat.items[NO_FILES], {})
    filer = filing_limits.Filer(client_of("203.0.113.7"), 10, 30)
    answers: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6, timeout=30)

    def file(t: int) -> None:
        start.wait()
        for n in range(4):
            try:
                svc.submit(NO_FILES, data, {}, APPLICANT, f"t{t}-{n}", filer=filer)
                outcome = "filed"
            except filing_limits.TooMany:
                outcome = "refused"
            with lock:
                answers.append(outcome)

    threads = [threading.Thread(target=file, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count("filed") == 10 and answers.count("refused") == 14
    assert cases_filed(svc) == 10


def test_a_draft_racing_a_case_and_a_chain_application_files_exactly_one(
    site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests read the draft as not filed (held at a barrier until both have read it), then
    each files under its own key: before, both were taken; now the draft's one mark lets one win
    and the other gets 409 draft_filed."""
    app, svc, _ = site
    client = at(app, "203.0.113.7")
    data, names = sample_chain_application(svc.catalogue, svc.catalogue.chains["organization"].data)
    draft = client.post("/api/drafts").json()["draft"]
    files = {}
    for name in names:
        r = client.post(
            "/api/uploads", files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n")}, headers={"X-Draft-Token": draft}
        )
        files[name] = [r.json()["upload_id"]]
    case_data, _ = sample_application(svc.catalogue, svc.catalogue.items[NO_FILES], {})
    case_body = {"item": NO_FILES, "data": case_data, "idempotency_key": "k", "draft": draft}
    chain_body = {"chain": "organization", "data": data, "uploads": files, "idempotency_key": "k", "draft": draft}
    both_read = threading.Barrier(2, timeout=30)
    find_api = drafts.find_api

    def read_then_wait(*args: Any) -> Any:
        found = find_api(*args)
        both_read.wait()  # neither files before the other has seen the draft open
        return found

    monkeypatch.setattr(drafts, "find_api", read_then_wait)
    answers: dict[str, Any] = {}

    def send(kind: str, path: str, body: dict[str, Any]) -> None:
        answers[kind] = at(app, "203.0.113.7").post(path, json=body)

    threads = [
        threading.Thread(target=send, args=("case", "/api/cases", case_body)),
        threading.Thread(target=send, args=("chain", "/api/chains", chain_body)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in answers.values())
    assert statuses == [201, 409], {k: r.text for k, r in answers.items()}
    loser = next(r for r in answers.values() if r.status_code == 409)
    winner = next(r for r in answers.values() if r.status_code == 201)
    assert (
        loser.json()["error"]["code"] == "draft_filed" and winner.json()["number"] in loser.json()["error"]["message"]
    )
    with read_only(svc.db) as conn:
        chains = conn.exec_driver_sql("SELECT count(*) FROM chain_cases").scalar_one()
        plain = conn.exec_driver_sql("SELECT count(*) FROM cases WHERE chain_number IS NULL").scalar_one()
    assert chains + plain == 1  # one application from one draft


def test_the_filing_limits_are_settings_and_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = limits_from_env(
        {"YANGGUANG_FILINGS_PER_HOUR_PER_ADDRESS": "100", "YANGGUANG_FILINGS_PER_DAY_PER_ADDRESS": " 500 "}
    )
    assert (limits.client_filings_per_hour, limits.client_filings_per_day) == (100, 500)
    assert (LIMITS.client_filings_per_hour, LIMITS.client_filings_per_day) == (10, 30)
    with pytest.raises(ValueError) as e:
        limits_from_env({"YANGGUANG_FILINGS_PER_DAY_PER_ADDRESS": "0"})
    assert str(e.value) == (
        "YANGGUANG_FILINGS_PER_DAY_PER_ADDRESS must be a whole number of filings, at least 1 "
        "(default 30; at most 12 digits), not '0'"
    )
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    server = (REPO / "server.py").read_text(encoding="utf-8")
    bench = (REPO / "bench" / "bench_web.py").read_text(encoding="utf-8")
    for name in ENV_LIMITS:  # every per-address setting: documented, and raised by the web bench
        assert name in readme and name in server and f'"{name}"' in bench, name
