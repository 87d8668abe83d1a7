"""The public open-data file and its CSV/JSON forms (engine.open_data)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from engine.masking import mask_name
from engine.open_data import (
    ANNOUNCEMENT_COLUMNS,
    fts_query,
    search_announcements,
    to_csv,
    to_json,
    write_sqlite,
)
from engine.search import _index_tokens

CONSTRUCTION = {
    "case_number": "QQ20260105000001",
    "item_code": "QQ-HOUSING-XK-003",
    "item_name": "建筑工程施工许可证核发",
    "department": "齐齐哈尔市住房和城乡建设局",
    "applicant": mask_name("黑龙江某某建设有限公司", "legal_person"),
    "status": "completed",
    "accepted_on": "2026-01-05",
    "completed_on": dt.date(2026, 1, 9),
}
SEAL = {
    "case_number": "QQ20260105000002",
    "item_code": "QQ-PSB-BA-001",
    "item_name": "公章刻制备案",
    "department": "齐齐哈尔市公安局",
    "applicant": mask_name("张小三", "natural_person"),
    "status": "accepted",
    "accepted_on": "2026-01-05",
    "completed_on": None,
}
RANKINGS = [
    {"month": "2026-01", "scope": "department", "name": "齐齐哈尔市公安局", "rank": 1, "score": 98.5, "cases": 40},
    {
        "month": "2026-01",
        "scope": "department",
        "name": "齐齐哈尔市住房和城乡建设局",
        "rank": 2,
        "score": 91,
        "cases": 12,
    },
    {"month": "2026-01", "scope": "staff", "name": "王*", "rank": 1, "score": 97.0, "grade": "优秀"},
]
METADATA = {"center": "齐齐哈尔市政务服务中心", "catalogue_version": "abc123", "licence": "CC BY 4.0"}


def write(path: Path, announcements: Any = (CONSTRUCTION, SEAL), rankings: Any = RANKINGS) -> None:
    write_sqlite(path, announcements, rankings, metadata=METADATA)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    path = tmp_path / "open-data.db"
    write(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    yield conn
    conn.close()


def test_the_file_opens_with_sqlite3(db: sqlite3.Connection) -> None:
    rows = db.execute(f"SELECT {', '.join(ANNOUNCEMENT_COLUMNS)} FROM announcements ORDER BY case_number").fetchall()
    assert rows == [
        (
            "QQ20260105000001",
            "QQ-HOUSING-XK-003",
            "建筑工程施工许可证核发",
            "齐齐哈尔市住房和城乡建设局",
            "黑龙江某某建设有限公司",
            "completed",
            "2026-01-05",
            "2026-01-09",
        ),
        (
            "QQ20260105000002",
            "QQ-PSB-BA-001",
            "公章刻制备案",
            "齐齐哈尔市公安局",
            "张*三",
            "accepted",
            "2026-01-05",
            None,
        ),
    ]
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    pk = [r[1] for r in db.execute("PRAGMA table_info(announcements)") if r[5]]
    assert pk == ["case_number"]
    indexed = {r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    for column in ("department", "status", "completed_on"):
        assert any(f'("{column}")' in sql for sql in indexed), column


def test_rankings_and_metadata(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT month, scope, name, rank, score, cases, grade FROM rankings ORDER BY scope, rank"
    ).fetchall()
    assert rows == [
        ("2026-01", "department", "齐齐哈尔市公安局", 1, 98.5, 40, None),
        ("2026-01", "department", "齐齐哈尔市住房和城乡建设局", 2, 91.0, 12, None),
        ("2026-01", "staff", "王*", 1, 97.0, None, "优秀"),
    ]
    types = {r[1]: r[2] for r in db.execute("PRAGMA table_info(rankings)")}
    assert types["cases"] == "INTEGER" and types["grade"] == "TEXT" and types["score"] == "REAL"
    meta = dict(db.execute("SELECT key, value FROM metadata").fetchall())
    assert meta["center"] == "齐齐哈尔市政务服务中心"
    assert meta["catalogue_version"] == "abc123"
    assert meta["licence"] == "CC BY 4.0"
    assert dt.datetime.fromisoformat(meta["generated_at"]).tzinfo is not None
    assert "search_help" in meta


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("施工", ["QQ20260105000001"]),  # two characters inside 建筑工程施工许可证核发
        ("许可证核发", ["QQ20260105000001"]),
        ("工程施工许可", ["QQ20260105000001"]),
        ("公安", ["QQ20260105000002"]),  # department
        ("建设有限", ["QQ20260105000001"]),  # applicant (a legal person, shown in full)
        ("张", ["QQ20260105000002"]),  # one character: the masked 张*三
        ("齐齐哈尔", ["QQ20260105000001", "QQ20260105000002"]),
        ("qq20260105000002", ["QQ20260105000002"]),  # case number, any case
        ("备案 公安", ["QQ20260105000002"]),  # words are ANDed
        ("施工 公安", []),
        ("许可施工", []),  # substring search, not any order
        ("三", ["QQ20260105000002"]),  # 张*三 shows its last character, so that is public
        ("小三", []),  # ... but never the masked one
        ('" OR 1 --', []),  # the user's text never reaches the MATCH syntax
    ],
)
def test_full_text_search_finds_chinese_words(db: sqlite3.Connection, query: str, found: list[str]) -> None:
    assert sorted(search_announcements(db, query)) == found


def test_what_datasette_sends_finds_a_two_character_word(db: sqlite3.Connection, tmp_path: Path) -> None:
    # Datasette and sqlite-utils quote each word of the search box: '"施工"'
    sql = "SELECT rowid FROM announcements_fts WHERE announcements_fts MATCH ?"
    assert len(db.execute(sql, ('"施工"',)).fetchall()) == 1
    assert len(db.execute(sql, ('"建筑工程施工许可证核发"',)).fetchall()) == 1  # a whole name as typed
    table = sqlite_utils.Database(tmp_path / "open-data.db").table("announcements")
    assert [r["case_number"] for r in table.search("施工", quote=True)] == ["QQ20260105000001"]
    assert table.detect_fts() == "announcements_fts"


def test_fts_query() -> None:
    assert fts_query("施工") == '"施工"'
    assert fts_query("施工许可") == '"施工 工许 许可"'
    assert fts_query("税") == '"税"*'
    assert fts_query("  ,;  ") == ""
    assert search_announcements(sqlite3.connect(":memory:"), "") == []


def test_triggers_keep_the_index_in_sync(tmp_path: Path) -> None:
    path = tmp_path / "open-data.db"
    write(path)
    row: dict[str, Any] = {**SEAL, "case_number": "QQ20260106000001", "item_name": "消防设计审查"}
    row["search_text"] = " ".join(_index_tokens(row[c]) for c in ("item_name", "department", "applicant"))
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"INSERT INTO announcements ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        assert search_announcements(conn, "消防") == ["QQ20260106000001"]
        conn.execute("DELETE FROM announcements WHERE case_number = ?", ("QQ20260105000001",))
        assert search_announcements(conn, "施工") == []
        conn.execute("UPDATE announcements SET department = '公安局' WHERE case_number = ?", ("QQ20260106000001",))
        assert search_announcements(conn, "消防") == ["QQ20260106000001"]
        conn.execute("INSERT INTO announcements_fts(announcements_fts) VALUES ('integrity-check')")  # raises if not
    conn.close()


# -- no personal data ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "extra",
    [
        {"id_card": "11010519491231002X"},
        {"applicant_id_card": "110105********002X"},  # even masked: the column has no place here
        {"phone": "13800138000"},
        {"mobile": "13800138000"},
        {"address": "龙沙区某某路 1 号"},
        {"email": "a@example.com"},
        {"birth_date": "1949-12-31"},
        {"legal_representative": "李四"},
        {"agent_name": "王五"},
        {"data": {"applicant": {"name": "张小三"}}},
        {"applicant_type": "natural_person"},  # unknown columns are refused too
    ],
)
def test_announcements_with_personal_data_keys_are_refused(tmp_path: Path, extra: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"personal data|unknown columns"):
        write(tmp_path / "o.db", [{**SEAL, **extra}])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("applicant", "message"),
    [
        ({"type": "natural_person", "name": "张小三", "id_card": "11010519491231002X"}, "must be text"),
        (["张小三"], "must be text"),
        ("张小三 11010519491231002X", "ID or phone"),
        ("张*三（13800138000）", "ID or phone"),
    ],
)
def test_raw_applicant_data_is_refused(tmp_path: Path, applicant: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write(tmp_path / "o.db", [{**SEAL, "applicant": applicant}])


@pytest.mark.parametrize(
    "bad",
    [
        {"case_number": None},
        {"item_name": ""},
        {"completed_on": "2026/01/09"},
        {"completed_on": dt.datetime(2026, 1, 9, 8, 0, tzinfo=dt.UTC)},  # a timestamp's day depends on the zone
    ],
)
def test_malformed_announcements_are_refused(tmp_path: Path, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        write(tmp_path / "o.db", [{**SEAL, **bad}])


def test_a_case_number_given_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="twice"):
        write(tmp_path / "o.db", [SEAL, SEAL])


@pytest.mark.parametrize(
    "bad",
    [
        {"phone": "13800138000"},
        {"id_card": "11010519491231002X"},
        {"name": "张小三 13800138000"},
        {"scope": "window"},
        {"month": "2026-13"},
        {"rank": 0},
        {"On Time": 1.0},
        {"cases": [1, 2]},
    ],
)
def test_bad_rankings_are_refused(tmp_path: Path, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        write(tmp_path / "o.db", rankings=[{**RANKINGS[0], **bad}])


# -- atomic replacement ----------------------------------------------------------------------
def test_an_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "open-data.db"
    write(path)
    reader = sqlite3.connect(path)  # a download in progress holds the old file open
    assert reader.execute("SELECT count(*) FROM announcements").fetchone() == (2,)
    write(path, [{**SEAL, "case_number": "QQ20260201000001"}], [])
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT case_number FROM announcements").fetchall() == [("QQ20260201000001",)]
        assert conn.execute("SELECT count(*) FROM rankings").fetchone() == (0,)
    conn.close()
    assert reader.execute("SELECT count(*) FROM announcements").fetchone() == (2,)  # still the old, whole file
    reader.close()
    assert [p.name for p in tmp_path.iterdir()] == ["open-data.db"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_failure_mid_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "open-data.db"
    write(path)
    before = path.read_bytes()

    def failing() -> Iterator[Mapping[str, Any]]:
        for n in range(5000):  # several batches are written before the failure
            yield {**SEAL, "case_number": f"QQ20260301{n:06d}"}
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        write(path, failing())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["open-data.db"]

    with pytest.raises(ValueError):
        write(path, [CONSTRUCTION, {**SEAL, "phone": "13800138000"}])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["open-data.db"]


# -- CSV and JSON ----------------------------------------------------------------------------
TRICKY: list[dict[str, Any]] = [
    {"case_number": "1", "item_name": "名称, 带逗号", "applicant": '某某"引号"公司', "status": "多行\n文本"},
    {"case_number": "2", "item_name": '=HYPERLINK("http://x")', "applicant": None, "status": "@SUM(A1)"},
    {"case_number": "3", "item_name": "普通", "applicant": "张*", "status": 12, "extra": "not a column"},
]


def test_csv_has_a_bom_and_quotes_commas_quotes_and_newlines() -> None:
    text = to_csv(TRICKY, ["case_number", "item_name", "applicant", "status"])
    assert text.startswith("\ufeffcase_number,item_name,applicant,status\r\n")
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    assert '"名称, 带逗号","某某""引号""公司","多行\n文本"' in text
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [
        ["case_number", "item_name", "applicant", "status"],
        ["1", "名称, 带逗号", '某某"引号"公司', "多行\n文本"],
        ["2", '\'=HYPERLINK("http://x")', "", "'@SUM(A1)"],  # formulas are shown, never run
        ["3", "普通", "张*", "12"],  # keys outside the columns are left out
    ]


def test_csv_of_announcements_in_column_order() -> None:
    text = to_csv([CONSTRUCTION], ANNOUNCEMENT_COLUMNS)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert rows[0] == list(ANNOUNCEMENT_COLUMNS)
    assert rows[1][-2:] == ["2026-01-05", "2026-01-09"]


def test_json_round_trips_in_a_stable_column_order() -> None:
    text = to_json([SEAL, CONSTRUCTION], ANNOUNCEMENT_COLUMNS)
    assert "张*三" in text  # UTF-8 text, not \u escapes
    data = json.loads(text)
    assert [list(row) for row in data] == [list(ANNOUNCEMENT_COLUMNS)] * 2
    assert data[0] == SEAL
    assert data[1] == {**CONSTRUCTION, "completed_on": "2026-01-09"}
    assert to_json([SEAL, CONSTRUCTION], ANNOUNCEMENT_COLUMNS) == text
    reordered = [dict(reversed(list(SEAL.items())))]
    assert to_json(reordered, ANNOUNCEMENT_COLUMNS) == to_json([SEAL], ANNOUNCEMENT_COLUMNS)
    assert json.loads(to_json(RANKINGS)) == RANKINGS  # without columns: each row's own keys
    assert to_json([]) == "[]"
