"""Query codes (engine.service.query_codes): unguessable new codes, typed forgivingly, old six-digit codes
still working, and wrong guesses limited per client and per case (issue 15, "Query codes and the
applicant's side", holes 1 and 2) — on the real app, a real SQLite file and a manual clock."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient
from support import REPO
from support.portal import apply_for_chain, csrf, find, submit

from engine.base.dates import TZ
from engine.ledger import tables
from engine.ledger.cases import get_case
from engine.ledger.db import open_engine, read_only
from engine.ledger.migrations import migrate
from engine.rules.clock import ManualClock
from engine.service import query_codes
from engine.service.accounts import add_user
from engine.web.app import create_app

NEW_CODE = re.compile(r"[2-9ACDEFGHJKMNPQRTVWXY]{4}-[2-9ACDEFGHJKMNPQRTVWXY]{4}-[2-9ACDEFGHJKMNPQRTVWXY]{2}")
START = datetime(2026, 3, 6, 9, 0, tzinfo=TZ)  # a Friday, 09:00 Beijing time


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[Any, TestClient, Any, ManualClock]]:
    clk = ManualClock(START)
    app = create_app(REPO, tmp_path / "codes.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(app, follow_redirects=False) as client:
        yield app, client, app.state.service, clk


def from_address(app: Any, address: str) -> TestClient:
    """Another client, from ``address`` (what the limits count by)."""
    return TestClient(app, follow_redirects=False, client=(address, 40000))


def wrong_code(right: str) -> str:
    return "2222-2222-22" if query_codes.normalise(right) != "2222222222" else "3333-3333-33"


def guessing_events(svc: Any) -> list[Any]:
    s = tables.supervision_events
    with read_only(svc.db) as conn:
        return list(conn.execute(select(s).where(s.c.kind == query_codes.GUESSING).order_by(s.c.id)).mappings())


# ------------------------------------------------------------------ hole 1: unguessable codes


def test_new_codes_are_long_free_of_look_alikes_and_shown_in_groups(site: Any) -> None:
    """Hole 1: a case's code was 6 digits (10**6 codes, found in ~20 minutes); now 10 characters
    of 27 (27**10 ≈ 2·10**14), no 0/O, 1/I/L, 8/B, 5/S, 2/Z, U/V, grouped for reading out."""
    _, client, svc, _ = site
    number, code = submit(client, svc)
    assert NEW_CODE.fullmatch(code), code  # the done page shows it grouped
    assert not set("01BILOSUZ") & set(query_codes.ALPHABET) and len(query_codes.ALPHABET) == 27
    with read_only(svc.db) as conn:
        assert get_case(conn, number)["query_code"] == code  # type: ignore[index]
    made = {query_codes.new() for _ in range(2000)}
    assert len(made) == 2000 and all(NEW_CODE.fullmatch(c) for c in made)
    assert set("".join(made).replace("-", "")) == set(query_codes.ALPHABET)  # every character is used


def test_a_code_is_read_as_a_person_types_it(site: Any) -> None:
    """Hole 1: case, dashes, spaces, full-width characters and a look-alike typed by mistake do
    not matter, on the progress page and in the API."""
    app, client, svc, _ = site
    number, code = submit(client, svc)
    plain = code.replace("-", "")
    typed = [plain.lower(), f" {code[:4]} {code[5:9]} {code[10:]} ", "".join(chr(ord(c) + 0xFEE0) for c in plain)]
    for i, variant in enumerate(typed):
        browser = from_address(app, f"10.0.1.{i}")
        r = find(browser, number, variant)
        assert r.status_code == 303 and r.headers["location"] == f"/progress/{number}", variant
    assert client.get(f"/api/cases/{number}", params={"query_code": plain.lower()}).status_code == 200
    assert query_codes.normalise("7kqm-3xpa-9w") == "7KQM3XPA9W"
    assert query_codes.normalise("O1l5-B2") == "011582" and query_codes.normalise("Z") == "2"
    assert query_codes.normalise("7KQM\ud800") == "" and query_codes.normalise("x" * 65) == ""
    assert query_codes.matches("123456", "123456") and not query_codes.matches("123456", "123457")
    assert not query_codes.matches(None, "") and not query_codes.matches("", "")


def test_six_digit_codes_made_before_keep_working(site: Any) -> None:
    """Hole 1: existing cases keep their six-digit codes, on the progress page and in the API."""
    _, client, svc, _ = site
    number, _ = submit(client, svc)
    with svc.db.begin() as conn:
        conn.execute(update(tables.cases).where(tables.cases.c.number == number).values(query_code="048213"))
    assert find(client, number, "048213").status_code == 303
    assert client.get(f"/api/cases/{number}", params={"query_code": "048213"}).status_code == 200
    assert client.get(f"/api/cases/{number}", params={"query_code": "048214"}).status_code == 404
    assert query_codes.display("048213") == "048213"


def test_a_chain_application_code_opens_the_chain_in_the_api(site: Any) -> None:
    """Hole 1: the chain GET checks its code through engine.service.query_codes (typed forgivingly)."""
    _, client, svc, _ = site
    number, code = apply_for_chain(client, svc, "organization")
    assert NEW_CODE.fullmatch(code), code
    r = client.get(f"/api/chains/{number}", params={"query_code": code.replace("-", " ").lower()})
    assert r.status_code == 200 and r.json()["number"] == number
    assert client.get(f"/api/chains/{number}", params={"query_code": wrong_code(code)}).status_code == 404
    assert client.get("/api/chains/L20260306ABCDEF", params={"query_code": code}).status_code == 404


# ------------------------------------------------------------------ hole 2: wrong guesses are limited


def test_one_client_gets_429_after_twenty_wrong_codes_until_the_window_passes(site: Any) -> None:
    """Hole 2: wrong codes from one address are limited (before: unlimited, 400–700 guesses/s)."""
    app, client, svc, clk = site
    number, code = submit(client, svc)
    guesser = from_address(app, "203.0.113.7")
    for _ in range(query_codes.CLIENT_LIMIT):
        assert guesser.get(f"/api/cases/{number}", params={"query_code": wrong_code(code)}).status_code == 404
    refused = guesser.get(f"/api/cases/{number}", params={"query_code": code})  # even the right code
    assert refused.status_code == 429
    # all 20 failures at 09:00:00; free when the 20th newest leaves the 15-minute window: 09:15:00
    assert refused.headers["retry-after"] == "900"
    body = refused.json()
    assert set(body) == {"error"} and body["error"]["status"] == 429 and body["error"]["code"] == "too_many_requests"
    assert body["error"]["message"] == "查询码输错次数过多，请 15 分钟后再试。"  # in the request's language
    english = guesser.get(f"/api/cases/{number}", params={"query_code": code}, headers={"Accept-Language": "en"})
    assert english.json()["error"]["message"] == "Too many wrong query codes. Please try again in 15 minutes."
    # the same address on the progress pages: the HTML error page, in the page's language
    page = find(guesser, number, code)
    assert page.status_code == 429 and page.headers["retry-after"] == "900" and "查询码输错次数过多" in page.text
    english = guesser.get(f"/progress?number={number}&lang=en")
    r = guesser.post("/progress", data={"csrf": csrf(english.text), "number": number, "query_code": code})
    assert r.status_code == 429 and "Too many wrong query codes" in r.text and "查询码" not in r.text
    # another address is not held back by this one (20 < the case's limit of 50)
    assert from_address(app, "198.51.100.1").get(f"/api/cases/{number}", params={"query_code": code}).status_code == 200
    clk.advance(minutes=14, seconds=59)  # 09:14:59: one second to go
    later = guesser.get(f"/api/cases/{number}", params={"query_code": code})
    assert later.status_code == 429 and later.headers["retry-after"] == "1"
    clk.advance(seconds=1)  # 09:15:00: the failures of 09:00:00 have left the window
    assert guesser.get(f"/api/cases/{number}", params={"query_code": code}).status_code == 200


def test_a_case_guessed_from_many_addresses_is_closed_for_the_window_and_supervision_sees_it(site: Any) -> None:
    """Hole 2: 50 wrong codes for one case from any addresses close it to code checks (the right
    code too, or a spread-out guesser would still learn a hit) until the window passes; a browser
    that already opened the case keeps it; supervision records it once per case and window."""
    app, client, svc, clk = site
    number, code = submit(client, svc)
    assert find(client, number, code).status_code == 303  # the applicant's own browser, granted before
    for i in range(query_codes.CASE_LIMIT):  # 50 wrong codes from 5 addresses (10 each: under the client limit)
        guesser = from_address(app, f"192.0.2.{i // 10}")
        assert guesser.get(f"/api/cases/{number}", params={"query_code": wrong_code(code)}).status_code == 404
    fresh = from_address(app, "198.51.100.2")
    closed = fresh.get(f"/api/cases/{number}", params={"query_code": code})
    assert closed.status_code == 429 and closed.headers["retry-after"] == "900"  # free at 09:15:00
    assert client.get(f"/progress/{number}").status_code == 200  # the granted browser still sees its case
    case_events = [e for e in guessing_events(svc) if json.loads(e["detail"])["subject"] == "case"]
    assert len(case_events) == 1 and json.loads(case_events[0]["detail"])["case"] == number
    assert case_events[0]["department"] == svc.load(number)[0].department and case_events[0]["case_id"] is not None
    clk.advance(minutes=15)  # 09:15:00
    assert fresh.get(f"/api/cases/{number}", params={"query_code": code}).status_code == 200
    # the supervisor sees it: on the dashboard (a column of its own) and on the case's page
    add_user(svc.db, "sup", "supervisor", None, password="supervisor-secret-1")
    staff = TestClient(app, follow_redirects=False)
    login = staff.get("/desk/login")
    staff.post("/desk/login", data={"csrf": csrf(login.text), "username": "sup", "password": "supervisor-secret-1"})
    dashboard = staff.get("/supervision").text
    assert "查询码被猜测" in dashboard and 'data-kind="query_code_guessing"' in dashboard
    assert "查询码多次输错" in staff.get(f"/desk/cases/{number}").text


def test_guessing_is_recorded_once_per_client_and_window(site: Any) -> None:
    """Hole 2: one supervision event when a client reaches its limit, not one per refused guess;
    a new one in the next window."""
    app, client, svc, clk = site
    number, code = submit(client, svc)
    guesser = from_address(app, "203.0.113.9")
    for _ in range(query_codes.CLIENT_LIMIT + 10):
        guesser.get(f"/api/cases/{number}", params={"query_code": wrong_code(code)})
    events = [json.loads(e["detail"]) for e in guessing_events(svc)]
    assert events == [{"client": "203.0.113.9", "limit": 20, "subject": "client", "window_minutes": 15}]
    clk.advance(minutes=15)  # 09:15:00: a new window
    for _ in range(query_codes.CLIENT_LIMIT):
        guesser.get(f"/api/cases/{number}", params={"query_code": wrong_code(code)})
    assert len(guessing_events(svc)) == 2


def test_applicant_actions_in_the_api_are_limited_too(site: Any) -> None:
    """Hole 2: supplementing or rating with a query code in the body counts like reading."""
    app, client, svc, _ = site
    number, code = submit(client, svc)
    guesser = from_address(app, "203.0.113.10")
    body = {"action": "evaluate", "version": 1, "payload": {"rating": "satisfied"}, "query_code": wrong_code(code)}
    answers = [guesser.post(f"/api/cases/{number}/actions", json=body).status_code for _ in range(21)]
    assert answers == [404] * 20 + [429]


def test_parallel_guesses_cannot_slip_past_the_limit(tmp_path: Path) -> None:
    """Hole 2: counted in the same write transaction as the check, so 8 threads guessing at once
    get exactly CLIENT_LIMIT answers and then only refusals."""
    db = open_engine(tmp_path / "race.db")
    migrate(db)
    answers: list[str] = []
    lock = threading.Lock()

    def guess() -> None:
        for _ in range(10):
            try:
                query_codes.check(db, "QQ20260306000001", "2222-2222-22", "203.0.113.50", START)
                outcome = "wrong"
            except query_codes.Throttled:
                outcome = "refused"
            with lock:
                answers.append(outcome)

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count("wrong") == query_codes.CLIENT_LIMIT and answers.count("refused") == 80 - 20
    with read_only(db) as conn:
        rows = conn.execute(select(tables.query_code_attempts.c.key)).scalars().all()
    assert sorted(set(rows)) == ["case:QQ20260306000001", "client:203.0.113.50"] and len(rows) == 40


def test_nothing_a_client_sends_as_a_code_or_number_answers_500(site: Any) -> None:
    """Hole 2: odd input is a wrong guess (404) or refused as not text (400), never a server error."""
    _, client, svc, _ = site
    number, _ = submit(client, svc)
    for odd in ("", "x" * 500, "７ＫＱＭ", "--", "\u0000"):
        r = client.get(f"/api/cases/{number}", params={"query_code": odd})
        assert r.status_code in (403, 404), (odd, r.status_code)
    assert client.get("/api/cases/%E4%B8%AD", params={"query_code": "1"}).status_code == 404
    lone = b'{"action": "evaluate", "version": 1, "payload": {}, "query_code": "\\ud800"}'  # a lone surrogate
    r = client.post(f"/api/cases/{number}/actions", content=lone, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text  # text that is not text is refused naming the field (engine.base.input_guard)
    assert r.json()["error"]["fields"][0]["field"] == "query_code"
    assert find(client, "中文编号", "2222").status_code == 404


def test_the_api_document_states_the_code_and_its_limit() -> None:
    """Hole 2: OpenAPI tells clients what a code looks like and that 429 comes with Retry-After."""
    from engine.web.openapi import OPENAPI

    for path, method in (("/api/cases/{number}", "get"), ("/api/chains/{number}", "get")):
        op = OPENAPI["paths"][path][method]
        assert op["responses"]["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
        param = next(p for p in op["parameters"] if p["name"] == "query_code")
        assert param["schema"]["maxLength"] == 64 and "7KQM-3XPA-9W" in param["schema"]["description"]
    action = OPENAPI["paths"]["/api/cases/{number}/actions"]["post"]
    assert "429" in action["responses"]
    body = action["requestBody"]["content"]["application/json"]["schema"]
    assert "7KQM-3XPA-9W" in body["properties"]["query_code"]["description"]


def test_a_progress_grant_ends_after_eight_hours_on_the_server(tmp_path: Path, reference: Any) -> None:
    """Review of issue 15: the grant cookie carried no time, so a copied cookie opened the case
    for ever; now it names its end (09:00 + 8 h = 17:00) and the server refuses it after that."""

    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "g.db", reference.catalogue, clock=clk, sweep_seconds=0, reload_seconds=0)
    with TestClient(app, follow_redirects=False) as client:
        number, code = submit(client, app.state.service)
        assert find(client, number, code).status_code == 303
        clk.set(datetime(2026, 3, 6, 16, 59, tzinfo=TZ))
        assert client.get(f"/progress/{number}").status_code == 200
        clk.set(datetime(2026, 3, 6, 17, 0, 1, tzinfo=TZ))
        assert client.get(f"/progress/{number}").status_code == 303  # back to the lookup form


def test_an_ipv6_client_counts_by_its_56_network(site: Any) -> None:
    """Review of issue 15: every limit counted the full address, so an IPv6 client could take a
    fresh address (or /64) of its delegated /56 for every guess; now the /56 is one client."""
    app, client, svc, _ = site
    number, code = submit(client, svc)
    wrong = wrong_code(code)
    answers = [
        from_address(app, f"2001:db8:1:{i:x}::1").get(f"/api/cases/{number}", params={"query_code": wrong}).status_code
        for i in range(1, 22)
    ]
    assert answers == [404] * 20 + [429]  # 21 networks /64 of one /56: one client
    other = from_address(app, "2001:db8:1:100::1")  # the next /56: another client
    assert other.get(f"/api/cases/{number}", params={"query_code": code}).status_code == 200


def test_the_address_a_limit_counts() -> None:
    from engine.base import addresses

    assert addresses.key("203.0.113.7") == "203.0.113.7"
    assert addresses.key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1::/56"
    assert addresses.key("::ffff:203.0.113.7") == "203.0.113.7"  # IPv4 seen through IPv6 ...
    assert addresses.key("2002:cb00:7107:1::1") == "203.0.113.7"  # ... 6to4 (2002:IPv4::/48) ...
    # ... and Teredo (2001:0::/32; the client's IPv4 address is stored inverted in the last 32 bits)
    assert addresses.key("2001:0:4136:e378:8000:63bf:34ff:8cf8") == "203.0.115.7"
    assert addresses.key("testclient") == "testclient" and len(addresses.key("x" * 500)) == 64


def test_guessing_at_a_number_that_does_not_exist_is_limited_but_not_recorded(site: Any) -> None:
    """Review of issue 15: 50 guesses at a made-up number wrote a permanent supervision event; it is
    still answered like a real case (404, then 429: numbers cannot be told apart), but not recorded."""
    app, _, svc, _ = site
    made_up = "QIQIHAR20260306999999"
    answers = [
        from_address(app, f"192.0.2.{i // 10}").get(f"/api/cases/{made_up}", params={"query_code": "2222-2222-22"})
        for i in range(query_codes.CASE_LIMIT + 1)
    ]
    assert [r.status_code for r in answers] == [404] * query_codes.CASE_LIMIT + [429]
    assert [json.loads(e["detail"])["subject"] for e in guessing_events(svc)] == []
