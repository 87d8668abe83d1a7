"""The public monthly summary of requests, complaints and appointments on the sunshine log and in open data:
its figures for a month with known appeals and bookings, the justified complaint's deduction in the published
ranking, nothing a person typed anywhere, and each language's page in its language."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support.cases import complete, filed
from support.summary import SECRETS, known_month

from engine.base.dates import TZ
from engine.rules.clock import ManualClock
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
TABLES = ("department-ranking", "appeals-summary", "bookings-summary")


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[TestClient, Any]]:
    """March 2026 as support.summary.known_month makes it, and a culture case completed on time and rated."""
    clk = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "pub.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(app) as client:
        svc = app.state.service
        complete(svc, filed(svc, "m", "赵六"))
        known_month(svc)
        yield client, svc


def section(page: str, table: str) -> str:
    return page.split(f'id="{table}"')[1].split("</table>")[0]


def cells(html: str) -> list[list[str]]:
    """The text of each body row's cells."""
    body = html.split("<tbody>")[1]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]  # fmt: skip


def test_the_sunshine_log_publishes_the_summary_and_the_deduction(site: Any) -> None:
    client, _ = site
    page = client.get("/sunshine?month=2026-03&lang=zh_CN").text
    appeals = {row[0]: row[1:] for row in cells(section(page, "appeals-summary"))}
    assert appeals["全中心"] == ["3", "1", "100.0%", "75.0", "1"]  # filed, answered, on time, satisfaction, justified
    assert appeals["投诉"] == ["1", "1", "100.0%", "75.0", "1"]
    assert appeals["部门：齐齐哈尔市文化广电和旅游局"] == ["0", "0", "—", "—", "1"]
    assert cells(section(page, "bookings-summary")) == [["齐齐哈尔市不动产登记中心", "2", "1", "1", "50.0%"]]
    (culture,) = [r for r in cells(section(page, "department-ranking")) if r[1] == "齐齐哈尔市文化广电和旅游局"]
    assert culture[10] == "1（−2.0）"  # one justified complaint, 2 points off
    assert "扣 2 分" in page
    assert not [s for s in SECRETS if s in page]
    rows = json.loads(client.get("/sunshine/2026-03.json").text)
    (ranked,) = [r for r in rows if r["scope"] == "department" and "文化" in r["name"]]
    assert (ranked["justified_complaints"], ranked["complaint_deduction"]) == (1, 2.0)


def test_the_open_data_file_carries_the_summary_tables_and_nothing_typed(site: Any, tmp_path: Path) -> None:
    client, svc = site
    svc.clock.set(datetime(2026, 4, 2, 9, tzinfo=TZ))  # the file publishes the previous month
    path = tmp_path / "download.sqlite"
    path.write_bytes(client.get("/open-data/yangguang.sqlite").content)
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        appeals = {(r["scope"], r["name"]): dict(r) for r in conn.execute("SELECT * FROM appeal_summary")}
        bookings = [dict(r) for r in conn.execute("SELECT * FROM booking_summary")]
        ranked = conn.execute(
            "SELECT justified_complaints, complaint_deduction FROM rankings WHERE scope = 'department' AND name = ?",
            ("齐齐哈尔市文化广电和旅游局",),
        ).fetchone()
        dump = "\n".join(conn.iterdump())
    everything = appeals[("all", "")]
    counts = ("filed", "answered", "answered_on_time", "rated", "justified_complaints")
    assert everything["month"] == "2026-03" and [everything[k] for k in counts] == [3, 1, 1, 1, 1]
    assert (everything["on_time_rate"], everything["satisfaction"]) == (1.0, 75.0)
    assert appeals[("department", "齐齐哈尔市文化广电和旅游局")]["justified_complaints"] == 1
    assert bookings == [{"month": "2026-03", "department": "齐齐哈尔市不动产登记中心", "booked": 2, "arrived": 1,
                         "no_shows": 1, "no_show_rate": 0.5}]  # fmt: skip
    assert tuple(ranked) == (1, 2.0)
    assert not [s for s in SECRETS if s in dump]


def test_each_language_page_is_in_its_language(site: Any) -> None:
    client, svc = site
    cat = svc.catalogue
    # what the center wrote in its YAML has no translation: the kinds' labels and the departments' names
    labels = [k["label"] for k in cat.appeal_kinds().values()]
    names = sorted([*labels, *(d["name"] for d in cat.center["departments"])], key=len, reverse=True)
    english = client.get("/sunshine?month=2026-03&lang=en").text
    assert "Requests and complaints" in english and "No-show rate" in english
    for table in TABLES:
        text = re.sub(r"<[^>]+>", " ", section(english, table))
        for name in names:
            text = text.replace(name, " ")
        assert not CJK.findall(text), (table, CJK.findall(text))
    chinese = client.get("/sunshine?month=2026-03&lang=zh_CN").text
    for table in TABLES:
        text = re.sub(r"<[^>]+>", " ", section(chinese, table))
        assert not re.findall(r"[A-Za-z]{2,}", text), table
    empty = client.get("/sunshine?month=2026-02&lang=en").text
    assert "No requests or complaints in" in empty and "No appointments in" in empty
