"""The public open-data file and its CSV/JSON forms (engine.supervision.open_data)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from engine.base.masking import mask_name
from engine.supervision.exports import to_csv, to_json
from engine.supervision.open_data import ANNOUNCEMENT_COLUMNS, fts_query, search_announcements, write_sqlite

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


CLOSURE = {
    "case_number": "QQ20260106000003",
    "item_code": "QQ-AMR-DJ-012",
    "item_name": "企业注销登记",
    "department": "齐齐哈尔市市场监督管理局",
    "applicant": mask_name("齐齐哈尔某某商贸有限公司", "legal_person"),
    "status": "completed",
    "accepted_on": "2026-01-06",
    "completed_on": "2026-01-06",
}


def write(path: Path, announcements: Any = (CONSTRUCTION, SEAL), rankings: Any = RANKINGS) -> int:
    return write_sqlite(path, announcements, rankings, metadata=METADATA)


def published(path: Path, sql: str = "SELECT case_number FROM announcements ORDER BY case_number") -> list[Any]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(sql).fetchall()
    conn.close()
    return [r[0] if len(r) == 1 else r for r in rows]


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


def _datasette_escape(query: str) -> str:
    """What Datasette's search box does to the text typed (datasette.utils.escape_fts): close an
    unbalanced quote, split at whitespace keeping "quoted phrases", and quote every other word."""
    if query.count('"') % 2:
        query += '"'
    bits = [b for b in re.split(r'\s+|(".*?")', query) if b and b != '""']
    return " ".join(b if b.startswith('"') else f'"{b}"' for b in bits)


def datasette_search(path: Path, table: str, query: str) -> list[str]:
    """The rows Datasette's table view answers for ``?_search=query``: the table's FTS table as
    Datasette detects it, and its WHERE clause ``rowid in (select rowid from fts where fts match
    escape_fts(:search))``."""
    db = sqlite_utils.Database(path)
    fts = db.table(table).detect_fts()
    assert fts == f"{table}_fts"
    key = "case_number" if table == "announcements" else "name"
    sql = f"SELECT {key} FROM {table} WHERE rowid in (select rowid from {fts} where {fts} match ?) ORDER BY {key}"
    found = [r[0] for r in db.execute(sql, (_datasette_escape(query),)).fetchall()]
    db.close()
    return found


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("企业注销", ["QQ20260106000003"]),  # four characters inside 企业注销登记
        ("施工许可", ["QQ20260105000001"]),
        ("施工许可证核发", ["QQ20260105000001"]),
        ("QQ-HOUSING-XK-003", ["QQ20260105000001"]),  # an item code as typed
        ("qq-psb-ba-001", ["QQ20260105000002"]),  # any case
        ("housing", ["QQ20260105000001"]),  # part of a code
        ("市场监督", ["QQ20260106000003"]),  # department
        ("商贸有限公司", ["QQ20260106000003"]),  # a legal-person applicant, public
        ("QQ20260105000002", ["QQ20260105000002"]),  # case number
        ("齐齐哈尔 企业注销", ["QQ20260106000003"]),  # words are ANDed
        ("许可施工", []),  # substrings, not any order
        ("张小三", []),  # the masked natural person is not there to be found
        ('" OR 1 --', []),  # the text typed never becomes FTS syntax
    ],
)
def test_datasette_search_finds_words_of_three_or_more_characters_and_item_codes(
    tmp_path: Path, query: str, found: list[str]
) -> None:
    """Issue 15, open-data search (hole 3): Datasette's search box found nothing for a word of three
    or more characters (企业注销, 施工许可) and item codes were not indexed."""
    path = tmp_path / "open-data.db"
    write(path, [CONSTRUCTION, SEAL, CLOSURE])
    assert datasette_search(path, "announcements", query) == found


def test_what_a_trigram_index_cannot_find_and_what_to_use_instead(tmp_path: Path) -> None:
    """One- and two-character words find nothing through the trigram index (SQLite's limit): the
    file's search_help sends people to Datasette's "contains" filter, a LIKE that finds them."""
    path = tmp_path / "open-data.db"
    write(path, [CONSTRUCTION, SEAL, CLOSURE])
    assert datasette_search(path, "announcements", "施工") == []
    assert datasette_search(path, "announcements", "税") == []
    # beside a longer word SQLite ignores a short one: 施工许可 证 finds what 施工许可 finds
    assert datasette_search(path, "announcements", "企业注销 公安") == ["QQ20260106000003"]
    # Datasette's ?item_name__contains=施工 runs: "item_name" like '%' || :p0 || '%'
    contains = "SELECT case_number FROM announcements WHERE item_name like '%' || ? || '%'"
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute(contains, ("施工",))] == ["QQ20260105000001"]
        (help_text,) = conn.execute("SELECT value FROM metadata WHERE key = 'search_help'").fetchone()
        (fts_sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'announcements_fts'").fetchone()
    conn.close()
    assert "__contains=" in help_text and "trigram" in fts_sql
    assert datasette_search(path, "rankings", "住房和城乡") == ["齐齐哈尔市住房和城乡建设局"]


def test_fts_query() -> None:
    assert fts_query("施工许可") == '"施工许可"'
    assert fts_query("施工许可  QQ-HOUSING") == '"施工许可" AND "QQ-HOUSING"'
    assert fts_query('"OR 1 --" NEAR') == '"NEAR"'  # quotes dropped, operators quoted as words
    assert fts_query("施工") == ""  # too short for the index: search_announcements uses LIKE
    assert fts_query("  ,;  ") == ""
    assert search_announcements(sqlite3.connect(":memory:"), "") == []


def test_triggers_keep_the_index_in_sync(tmp_path: Path) -> None:
    path = tmp_path / "open-data.db"
    write(path)
    row: dict[str, Any] = {**SEAL, "case_number": "QQ20260106000001", "item_name": "消防设计审查"}
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"INSERT INTO announcements ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        assert search_announcements(conn, "消防设计") == ["QQ20260106000001"]
        conn.execute("DELETE FROM announcements WHERE case_number = ?", ("QQ20260105000001",))
        assert search_announcements(conn, "施工许可") == []
        conn.execute("UPDATE announcements SET department = '公安局' WHERE case_number = ?", ("QQ20260106000001",))
        assert search_announcements(conn, "消防设计") == ["QQ20260106000001"]
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
def test_announcements_with_personal_data_keys_are_left_out(
    tmp_path: Path, extra: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "o.db"
    with caplog.at_level(logging.WARNING, logger="yangguang.open_data"):
        assert write(path, [CONSTRUCTION, {**SEAL, **extra}]) == 1
    assert published(path) == ["QQ20260105000001"]  # the other rows are still published
    assert re.search(r"personal data|unknown columns", caplog.text) and "QQ20260105000002" in caplog.text
    dump = "\n".join(sqlite3.connect(path).iterdump())
    assert all(str(v) not in dump for v in extra.values() if isinstance(v, str))
    assert published(path, "SELECT value FROM metadata WHERE key = 'skipped_rows'") == ["1"]


@pytest.mark.parametrize(
    "applicant",
    [{"type": "natural_person", "name": "张小三", "id_card": "11010519491231002X"}, ["张小三"]],
)
def test_raw_applicant_data_is_left_out(tmp_path: Path, applicant: Any, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "o.db"
    with caplog.at_level(logging.WARNING, logger="yangguang.open_data"):
        write(path, [{**SEAL, "applicant": applicant}])
    assert published(path) == [] and "must be text" in caplog.text
    assert "张小三" not in caplog.text and "11010519491231002X" not in caplog.text  # the log holds no personal data


@pytest.mark.parametrize(
    ("applicant", "shown"),
    [
        ("张小三 11010519491231002X", "张小三 110105********002X"),
        ("张*三（13800138000）", "张*三（138****8000）"),
    ],
)
def test_identifiers_the_caller_missed_are_masked_in_the_file(tmp_path: Path, applicant: str, shown: str) -> None:
    path = tmp_path / "o.db"
    write(path, [{**SEAL, "applicant": applicant}])
    assert published(path, "SELECT applicant FROM announcements") == [shown]


@pytest.mark.parametrize(
    "bad",
    [
        {"case_number": None},
        {"item_name": ""},
        {"completed_on": "2026/01/09"},
        {"completed_on": dt.datetime(2026, 1, 9, 8, 0, tzinfo=dt.UTC)},  # a timestamp's day depends on the zone
    ],
)
def test_malformed_announcements_are_left_out(tmp_path: Path, bad: dict[str, Any]) -> None:
    """Issue 15, personal data never published (hole 2): one bad record used to fail the whole file."""
    path = tmp_path / "o.db"
    assert write(path, [CONSTRUCTION, {**SEAL, **bad}, CLOSURE]) == 1
    assert published(path) == ["QQ20260105000001", "QQ20260106000003"]


def test_a_case_number_given_twice_is_published_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "o.db"
    with caplog.at_level(logging.WARNING, logger="yangguang.open_data"):
        assert write(path, [SEAL, SEAL]) == 1
    assert published(path) == ["QQ20260105000002"] and "twice" in caplog.text


@pytest.mark.parametrize(
    "bad",
    [
        {"phone": "13800138000"},
        {"id_card": "11010519491231002X"},
        {"scope": "window"},
        {"month": "2026-13"},
        {"rank": 0},
        {"On Time": 1.0},
        {"cases": [1, 2]},
    ],
)
def test_bad_rankings_are_left_out(tmp_path: Path, bad: dict[str, Any]) -> None:
    path = tmp_path / "o.db"
    assert write(path, rankings=[{**RANKINGS[0], **bad}, RANKINGS[2]]) == 1
    assert published(path, "SELECT name FROM rankings") == ["王*"]


def test_identifiers_in_ranking_names_are_masked(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    write(path, rankings=[{**RANKINGS[0], "name": "张小三 13800138000"}])
    assert published(path, "SELECT name FROM rankings") == ["张小三 138****8000"]


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


def test_summary_tables_take_their_columns_only(tmp_path: Path) -> None:
    """The appeal and booking summaries: counts and names; a row with anything else (a phone column, a subject,
    a text where a count goes) is left out and counted, the others written; the tables exist when empty."""
    good = {"month": "2026-03", "scope": "kind", "name": "投诉", "filed": 3, "answered": 1, "answered_on_time": 1,
            "on_time_rate": 1.0, "rated": 0, "satisfaction": None, "justified_complaints": 1}  # fmt: skip
    phone = {**good, "name": "举报", "contact_phone": "13912345678"}
    subject = {**good, "name": "咨询", "subject": "窗口推诿"}
    wordy = {**good, "name": "求助", "filed": "三件"}
    path = tmp_path / "summary.db"
    summaries = {"appeal_summary": [good, phone, subject, wordy, dict(good)]}  # the last: the same key twice
    skipped = write_sqlite(path, (), (), metadata=METADATA, summaries=summaries)
    assert skipped == 4
    assert published(path, "SELECT name, filed, on_time_rate, satisfaction FROM appeal_summary") == [
        ("投诉", 3, 1.0, None)
    ]
    assert published(path, "SELECT count(*) FROM booking_summary") == [0]
    with sqlite3.connect(path) as conn:
        dump = "\n".join(conn.iterdump())
    conn.close()
    assert "13912345678" not in dump and "窗口推诿" not in dump
