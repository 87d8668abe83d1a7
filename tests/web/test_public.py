"""Public disclosure: announcements with masked names, the monthly 阳光日志, open data — and no
personal data of natural persons anywhere on them."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support.cases import CULTURE, complete, filed

from engine.base.dates import TZ
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
ID = "11010519491231002X"


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[TestClient, Any, ManualClock, Path]]:
    clk = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "pub.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(app) as client:
        yield client, app.state.service, clk, tmp_path


def test_announcements_mask_natural_persons_and_leave_out_unaccepted_cases(site: Any) -> None:
    client, svc, _, _ = site
    person = filed(svc, "p", "张小三")
    company = filed(svc, "c", "齐齐哈尔市某某文化有限公司", "legal_person")
    waiting = filed(svc, "w", "李四")
    for number in (person, company):
        svc.act(number, "accept", Actor("w", "window", "culture"), {}, 1)
    page = client.get("/announcements").text
    table = page.split('id="announcements"')[1]
    assert person in table and company in table and waiting not in table
    assert "张*三" in table and "张小三" not in page
    assert "齐齐哈尔市某某文化有限公司" in table  # legal persons are public
    assert ID not in page
    assert person in client.get("/announcements", params={"q": person}).text.split('id="announcements"')[1]
    by_item = client.get("/announcements", params={"q": "娱乐"}).text.split('id="announcements"')[1]
    assert person in by_item
    csv_text = client.get("/announcements.csv").content.decode("utf-8")
    assert csv_text.startswith("\ufeff") and "张*三" in csv_text and "张小三" not in csv_text and ID not in csv_text
    data = json.loads(client.get("/announcements.json").text)["rows"]
    assert {r["case_number"] for r in data} == {person, company}
    assert all(ID not in json.dumps(r, ensure_ascii=False) for r in data)


def test_the_monthly_log_ranks_departments_and_staff_and_publishes_ratings(site: Any) -> None:
    client, svc, clk, _ = site
    number = filed(svc, "m", "赵六")
    complete(svc, number)
    clk.set(datetime(2026, 4, 2, 9, 0, tzinfo=TZ))
    page = client.get("/sunshine").text  # the previous month by default
    assert "2026-03" in page
    ranking = page.split('id="department-ranking"')[1].split("</table>")[0]
    assert "文化" in ranking and "100.0%" in ranking  # completed on time
    assert "w.culture" in page.split('id="staff-ranking"')[1]
    assert re.search(r"满意</th>", page) and "<svg" in page
    rows = json.loads(client.get("/sunshine/2026-03.json").text)
    assert {(r["scope"], r["rank"]) for r in rows} >= {("department", 1), ("staff", 1)}
    assert client.get("/sunshine/2026-03.csv").content.decode("utf-8").startswith("\ufeff")
    assert client.get("/sunshine?month=2026-13").status_code == 400
    assert client.get("/sunshine/2026-03.xml").status_code == 404


def downloaded_applicant(client: TestClient, tmp: Path, number: str) -> tuple[str, str]:
    """(the case's applicant as the downloaded open-data file publishes it, the whole file as SQL)."""
    r = client.get("/open-data/yangguang.sqlite")
    assert r.status_code == 200
    path = tmp / "download.sqlite"
    path.write_bytes(r.content)
    with sqlite3.connect(path) as conn:
        (applicant,) = conn.execute("SELECT applicant FROM announcements WHERE case_number = ?", (number,)).fetchone()
        dump = "\n".join(conn.iterdump())
    return str(applicant), dump


def test_the_open_data_file_opens_and_holds_no_personal_data(site: Any) -> None:
    client, svc, _, tmp = site
    number = filed(svc, "o", "钱七")
    svc.act(number, "accept", Actor("w", "window", "culture"), {}, 1)
    applicant, dump = downloaded_applicant(client, tmp, number)
    assert applicant == "钱*" and "钱七" not in dump and ID not in dump


def test_every_announcement_is_exported_past_ten_thousand(site: Any) -> None:
    """12,345 accepted cases: the CSV streams every one, the JSON pages through every one by its
    links; newest first, ties in the acceptance instant broken by filing order, none twice."""
    from datetime import timedelta

    from engine.ledger import tables
    from engine.ledger.db import iso
    from engine.web import public

    client, svc, _, _ = site
    items = [(code, doc.data["department"]) for code, doc in sorted(svc.catalogue.items.items())]
    people = [("张小三", "natural_person"), ("齐齐哈尔市某某建筑有限公司", "legal_person"), ("李四", "natural_person")]
    start = datetime(2026, 1, 5, 8, 30, tzinfo=TZ)
    total = 12_345
    rows = []
    for i in range(total):  # as the engine leaves them: accepted, some completed; ten share each instant
        code, dept = items[i % len(items)]
        name, kind = people[i % len(people)]
        accepted = start + timedelta(minutes=7 * (i // 10))
        done = i % 3 == 0
        rows.append({
            "number": f"QQIQIHAR{accepted:%Y%m%d}{i + 1:06d}", "query_code": "0", "item_code": code,
            "catalogue_version": "v", "state": "completed" if done else "in_progress", "version": 3, "data": "{}",
            "created_at": iso(accepted), "updated_at": iso(accepted), "department": dept,
            "accepted_at": iso(accepted), "ended_at": iso(accepted + timedelta(days=2)) if done else None,
            "decision": "approve" if done else None, "applicant_name": name, "applicant_type": kind,
        })  # fmt: skip
    with svc.db.begin() as conn:
        conn.execute(tables.cases.insert(), rows)
    # newest acceptance first; of equal instants the later filed (the higher id) first
    order = sorted(range(total), key=lambda i: (rows[i]["accepted_at"], i), reverse=True)
    newest_first = [rows[i]["number"] for i in order]

    r = client.get("/announcements.csv")
    assert r.status_code == 200 and "content-length" not in r.headers  # streamed, not built in memory
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == list(public.open_data.ANNOUNCEMENT_COLUMNS)
    assert [line.split(",", 1)[0] for line in lines[1:]] == newest_first
    assert lines[-1].startswith(f"{rows[0]['number']},") and ",张*三," in lines[-1]  # the oldest, masked
    assert "张小三" not in r.text and "李四" not in r.text

    seen: list[str] = []
    url: str | None = "/announcements.json"
    pages = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200
        body = page.json()
        seen += [row["case_number"] for row in body["rows"]]
        url = body["next"]
        assert page.headers.get("link") == (f'<{url}>; rel="next"' if url else None)
        pages += 1
    # 12,345 rows at 1,000 a page: 12 full pages and one of 345
    assert pages == 13 and seen == newest_first
    big = client.get("/announcements.json", params={"limit": public.JSON_PAGE_MAX}).json()
    assert len(big["rows"]) == 5_000 and big["next"].endswith(f"after={newest_first[4_999]}&limit=5000")
    assert client.get("/announcements.json", params={"limit": 0}).status_code == 400
    assert client.get("/announcements.json", params={"after": "QQ-NO-SUCH"}).status_code == 400


def test_a_phone_number_typed_into_a_company_name_is_masked_everywhere(site: Any) -> None:
    """Issue 15, personal data never published (hole 1): a legal-person applicant who typed a mobile
    number into the name field made GET /open-data/yangguang.sqlite answer 500 for everyone (the
    open-data writer refused the whole file), while /announcements.json and .csv published it in full."""
    client, svc, _, tmp = site
    number = filed(svc, "shop", "王记便利店 13912345678", "legal_person")
    svc.act(number, "accept", Actor("w", "window", "culture"), {}, 1)
    applicant, dump = downloaded_applicant(client, tmp, number)
    assert applicant == "王记便利店 139****5678"  # the company stays public, the number does not
    assert "13912345678" not in dump
    for url in ("/announcements", "/announcements.csv", "/announcements.json"):
        text = client.get(url).content.decode("utf-8")
        assert "王记便利店 139****5678" in text and "13912345678" not in text, url


def test_a_company_keeps_its_own_credit_code_but_not_anyone_elses(site: Any) -> None:
    """Issue 15, hole 1: a credit code typed into free text is the applicant's own (public, as its
    registration is) only when it is the code the legal person gave; any other is masked, and a
    natural person's ID number or e-mail in the name field never shows."""
    client, svc, _, _ = site
    own = filed(svc, "own", "某某文化有限公司（91350100M000100Y43）", "legal_person")  # filed() gives that code
    other = filed(svc, "other", "某某文化有限公司 代 91230200MA1B2C3D4E", "legal_person")
    person = filed(svc, "person", "张小三 11010519491231002X zhangsan@example.com")
    for number in (own, other, person):
        svc.act(number, "accept", Actor("w", "window", "culture"), {}, 1)
    rows = {r["case_number"]: r["applicant"] for r in client.get("/announcements.json").json()["rows"]}
    assert rows[own] == "某某文化有限公司（91350100M000100Y43）"
    assert rows[other] == "某某文化有限公司 代 91230200**********"
    assert rows[person].startswith("张") and "11010519491231002X" not in rows[person]
    assert "zhangsan" not in rows[person] and "19491231" not in rows[person]


def test_a_staff_name_that_is_a_phone_number_is_masked_in_the_rankings(site: Any) -> None:
    """Issue 15, hole 1: usernames are published in the staff ranking (page, CSV, JSON, open data);
    one that is a mobile number made the open-data file fail and showed the number everywhere else."""
    client, svc, clk, tmp = site
    number = filed(svc, "r", "赵六")
    complete(svc, number, window="13912345678")  # completed in March 2026; the ranking of 2026-03 is read in April
    clk.set(datetime(2026, 4, 2, 9, 0, tzinfo=TZ))
    staff = client.get("/sunshine").text.split('id="staff-ranking"')[1]
    assert "139****5678" in staff and "13912345678" not in staff
    for kind in ("csv", "json"):
        text = client.get(f"/sunshine/2026-03.{kind}").content.decode("utf-8")
        assert "139****5678" in text and "13912345678" not in text, kind
    r = client.get("/open-data/yangguang.sqlite")
    assert r.status_code == 200
    (tmp / "o.sqlite").write_bytes(r.content)
    with sqlite3.connect(tmp / "o.sqlite") as conn:
        names = {n for (n,) in conn.execute("SELECT name FROM rankings WHERE scope = 'staff'")}
    assert "139****5678" in names and "13912345678" not in names


def test_one_broken_record_never_takes_the_announcements_down(site: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 15, hole 2: a case row with a value the engine never writes (here an end time that is
    no timestamp, as a hand-edited or half-migrated row has) made /announcements, its CSV and JSON
    and the open-data file answer 500 for everyone; now that case is left out and logged."""
    from engine.ledger import tables

    client, svc, _, tmp = site
    good = filed(svc, "g", "钱七")
    svc.act(good, "accept", Actor("w", "window", "culture"), {}, 1)
    with svc.db.begin() as conn:
        bad = "QIQIHAR20260302999999"
        conn.execute(tables.cases.insert(), [{
            "number": bad, "query_code": "0", "item_code": CULTURE, "catalogue_version": "v", "state": "completed",
            "version": 3, "data": "{}", "created_at": "2026-03-02T01:00:00+00:00",
            "updated_at": "2026-03-02T01:00:00+00:00", "department": "culture",
            "accepted_at": "2026-03-02T01:00:00+00:00", "ended_at": "yesterday", "decision": "approve",
            "applicant_name": "孙八", "applicant_type": "natural_person",
        }])  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="yangguang.public"):
        page = client.get("/announcements")
        csv_text = client.get("/announcements.csv")
        data = client.get("/announcements.json")
        sqlite_file = client.get("/open-data/yangguang.sqlite")
    assert [r.status_code for r in (page, csv_text, data, sqlite_file)] == [200] * 4
    assert good in page.text and bad not in page.text
    assert good in csv_text.text and bad not in csv_text.text
    assert [row["case_number"] for row in data.json()["rows"]] == [good]
    (tmp / "o.sqlite").write_bytes(sqlite_file.content)
    with sqlite3.connect(tmp / "o.sqlite") as conn:
        assert [n for (n,) in conn.execute("SELECT case_number FROM announcements")] == [good]
    assert f"announcement of case {bad} left out" in caplog.text and "孙八" not in caplog.text


def test_the_last_good_open_data_file_is_served_when_a_rebuild_fails(site: Any) -> None:
    """Issue 15, hole 2: a failure that is no record's (here the database's cases table is gone)
    serves the last good file; with none built yet, a 503 that says to try again, never a 500."""
    import os

    from engine.ledger import tables

    client, svc, _, tmp = site
    number = filed(svc, "f", "周九")
    svc.act(number, "accept", Actor("w", "window", "culture"), {}, 1)
    first = client.get("/open-data/yangguang.sqlite")
    assert first.status_code == 200
    built = next(tmp.rglob("yangguang-open-data.sqlite"))
    os.utime(built, (0, 0))  # over an hour old: the next download rebuilds
    with svc.db.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {tables.cases.name} RENAME TO cases_away")
    try:
        again = client.get("/open-data/yangguang.sqlite")
        assert again.status_code == 200 and again.content == first.content
        built.unlink()
        none = client.get("/open-data/yangguang.sqlite")
        assert none.status_code == 503 and "请稍后再试" in none.text
        english = client.get("/open-data/yangguang.sqlite", headers={"Accept-Language": "en"})
        assert english.status_code == 503 and "try again later" in english.text
    finally:
        with svc.db.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE cases_away RENAME TO {tables.cases.name}")
