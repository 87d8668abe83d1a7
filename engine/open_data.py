"""The public open-data file of case announcements (办件公告) and rankings.

:func:`write_sqlite` writes one SQLite file that Datasette, ``sqlite3`` or any SQLite
tool opens as it is; :func:`to_csv` and :func:`to_json` give the same rows as text.

Tables
------
- ``announcements``: ``case_number`` (primary key), ``item_code``, ``item_name``,
  ``department``, ``applicant``, ``status``, ``accepted_on``, ``completed_on`` (ISO dates)
  and ``search_text`` (see below); indexed on department, status and completed_on.
- ``rankings``: ``month`` (YYYY-MM), ``scope`` (``department`` or ``staff``), ``name``,
  ``rank``, ``score`` and whatever metric columns the rows carry (lower_snake_case;
  INTEGER when every value is whole, TEXT when any is text, else REAL); primary key
  (month, scope, name).
- ``metadata``: ``key``/``value`` text pairs: ``generated_at`` (filled in, UTC, when the
  caller gives none), ``center``, ``catalogue_version``, ``licence`` …, and ``search_help``.

No personal data of natural persons
-----------------------------------
The caller masks applicant names (:func:`engine.masking.mask_name`) before calling. This
module defends the file anyway: an announcement may carry only the columns above (any
other key raises ValueError, with a plainer message for keys that name personal data —
``id_card``, ``phone``, ``address``, ``email``, ``birth`` …); ``applicant`` must be text,
not the raw applicant section; and no text column may contain an ID number or a mobile
number. Ranking rows are checked the same way, except that their metric columns are free.

Full-text search over Chinese text
----------------------------------
SQLite's default tokenizer (unicode61) sees a run of Chinese characters as one word, so
"施工" never matches "建筑工程施工许可证核发"; the trigram tokenizer cannot match a query
of fewer than three characters, and most Chinese words are two (施工, 户口, 消防). So the
file does what the home page search does (``engine.search``, whose tokenising function
is reused): ``search_text`` holds the four searchable columns broken into overlapping
CJK bigrams plus the last character of each run (施工许可 → ``施工 工许 许可 可``); letters
and digits stay words (case numbers, item codes). ``announcements_fts`` (FTS5, unicode61,
made with sqlite-utils ``enable_fts`` with triggers, so inserts, updates and deletes keep
it in sync) indexes ``item_name``, ``department``, ``applicant``, ``case_number`` and
``search_text``. Consequences for whoever searches:

- a two-character word is a single token, so Datasette's search box finds 施工 as typed;
- a longer word is the phrase of its bigrams: :func:`fts_query` builds it
  (施工许可 → ``"施工 工许 许可"``; in Datasette use raw search mode with that text);
  a whole item name, department or code also matches as typed;
- a single character is the prefix query ``"税"*``, which :func:`fts_query` also builds.

Whoever edits the table by hand must fill ``search_text`` the same way
(``engine.search._index_tokens``); SQLite triggers cannot compute it.

Atomic replacement
------------------
The file is built under a temporary name in the target folder and moved over the old
one with ``os.replace`` only when complete (and flushed to disk), so a download sees the
old file or the new one, never half of one; if building fails — a refused row, a
generator that raises — the old file stays and the temporary one is removed.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlite_utils

from engine.search import _index_tokens, _phrase, _words

#: announcement columns in their published order (``search_text`` is added in the file only)
ANNOUNCEMENT_COLUMNS: tuple[str, ...] = (
    "case_number",
    "item_code",
    "item_name",
    "department",
    "applicant",
    "status",
    "accepted_on",
    "completed_on",
)
#: the fixed ranking columns, in order; metric columns follow in the order first seen
RANKING_COLUMNS: tuple[str, ...] = ("month", "scope", "name", "rank", "score")
RANKING_SCOPES = frozenset({"department", "staff"})
#: the columns whose text goes into ``search_text`` and the FTS index
SEARCH_COLUMNS: tuple[str, ...] = ("item_name", "department", "applicant", "case_number")

SEARCH_HELP = (
    "announcements_fts searches item_name, department, applicant, case_number and search_text "
    "(Chinese text as overlapping two-character tokens). A two-character word matches as typed; "
    'for a longer word search the phrase of its pairs, e.g. "施工 工许 许可" for 施工许可; '
    'for one character the prefix "税"*.'
)

_REQUIRED_TEXT = ("case_number", "item_code", "item_name", "department", "status")
_DATE_COLUMNS = ("accepted_on", "completed_on")
# key names that mean personal data (matched anywhere in the lower-cased key)
_PERSONAL_KEY = re.compile(
    r"id_?card|id_?number|identity|passport|phone|mobile|(?:^|_)tel(?:ephone)?$|address|e_?mail|birth|"
    r"legal_representative|agent|applicant_(?:data|raw)|^data$|^form$"
)
# an 18-digit ID number (GB 11643) or a mainland mobile number inside text
_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE_NUMBER = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_MONTH = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
_METRIC_NAME = re.compile(r"[a-z][a-z0-9_]*")


# -- validation ------------------------------------------------------------------------------
def _refuse_personal_keys(row: Mapping[str, Any], what: str) -> None:
    for key in row:
        if not isinstance(key, str):
            raise ValueError(f"{what}: column names are text, not {key!r}")
        if _PERSONAL_KEY.search(key.lower()):
            raise ValueError(f"{what}: column {key!r} would publish personal data; open data never carries it")


def _check_text(value: Any, column: str, what: str, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise ValueError(f"{what}: {column} is required")
        return None if value is None else ""
    if isinstance(value, Mapping) or not isinstance(value, str):
        raise ValueError(f"{what}: {column} must be text, not {type(value).__name__} (raw data is never published)")
    if _ID_NUMBER.search(value) or _MOBILE_NUMBER.search(value):
        raise ValueError(f"{what}: {column} contains an ID or phone number")
    return value


def _check_date(value: Any, column: str, what: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):  # a timestamp's date depends on the time zone: the caller decides
        raise ValueError(f"{what}: {column} must be a local date, not a timestamp")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 10:
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value).isoformat()
    raise ValueError(f"{what}: {column} must be a date YYYY-MM-DD, not {value!r}")


def _announcement(row: Mapping[str, Any], seen: set[str]) -> dict[str, Any]:
    number = row.get("case_number")
    what = f"announcement {number!r}"
    _refuse_personal_keys(row, what)
    unknown = set(row) - set(ANNOUNCEMENT_COLUMNS)
    if unknown:
        raise ValueError(f"{what}: unknown columns {sorted(unknown)}; announcements carry only {ANNOUNCEMENT_COLUMNS}")
    out: dict[str, Any] = {}
    for column in ANNOUNCEMENT_COLUMNS:
        value = row.get(column)
        if column in _DATE_COLUMNS:
            out[column] = _check_date(value, column, what)
        elif column == "case_number":  # digits are expected here: not scanned for ID numbers
            if not isinstance(value, str) or not value:
                raise ValueError(f"{what}: case_number is required text")
            out[column] = value
        else:
            out[column] = _check_text(value, column, what, required=column in _REQUIRED_TEXT)
    if out["case_number"] in seen:
        raise ValueError(f"{what}: case number given twice")
    seen.add(out["case_number"])
    out["search_text"] = " ".join(t for c in SEARCH_COLUMNS if (t := _index_tokens(out[c] or "")))
    return out


def _ranking(row: Mapping[str, Any], seen: set[tuple[str, str, str]], metrics: dict[str, set[type]]) -> dict[str, Any]:
    what = f"ranking {row.get('month')!r}/{row.get('scope')!r}/{row.get('name')!r}"
    _refuse_personal_keys(row, what)
    month = row.get("month")
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise ValueError(f"{what}: month must be YYYY-MM")
    scope = row.get("scope")
    if scope not in RANKING_SCOPES:
        raise ValueError(f"{what}: scope must be one of {sorted(RANKING_SCOPES)}")
    name = _check_text(row.get("name"), "name", what, required=True)
    rank = row.get("rank")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"{what}: rank must be a whole number from 1")
    out: dict[str, Any] = {"month": month, "scope": scope, "name": name, "rank": rank}
    for column in ("score", *(k for k in row if k not in RANKING_COLUMNS)):
        if column != "score" and not _METRIC_NAME.fullmatch(column):
            raise ValueError(f"{what}: metric column {column!r} must be lower_snake_case")
        value = row.get(column)
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, str):
            value = _check_text(value, column, what, required=False)
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{what}: {column} must be a number or text, not {type(value).__name__}")
        out[column] = value
        if column != "score":
            kinds = metrics.setdefault(column, set())
            if value is not None:
                kinds.add(type(value))
    key = (month, scope, name or "")
    if key in seen:
        raise ValueError(f"{what}: ranked twice in the same month and scope")
    seen.add(key)
    return out


def _column_type(kinds: set[type]) -> type:
    """A metric column's type: INTEGER when every value is whole, TEXT when any is text, else REAL."""
    if str in kinds:
        return str
    if kinds <= {int}:
        return int
    return float


def _metadata_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, default=_json_default)


# -- the file --------------------------------------------------------------------------------
def write_sqlite(
    path: Path,
    announcements: Iterable[Mapping[str, Any]],
    rankings: Iterable[Mapping[str, Any]],
    *,
    metadata: Mapping[str, Any],
) -> None:
    """Write the open-data file at ``path``, replacing any previous one atomically.

    Raises ValueError for a row that would publish personal data or breaks the table's
    shape; the previous file is then left as it was.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _build(tmp, announcements, rankings, metadata)
        os.chmod(tmp, 0o644)  # a public download (mkstemp makes it private to us)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _build(
    tmp: Path,
    announcements: Iterable[Mapping[str, Any]],
    rankings: Iterable[Mapping[str, Any]],
    metadata: Mapping[str, Any],
) -> None:
    db = sqlite_utils.Database(tmp, execute_plugins=False)
    try:
        # a scratch file until os.replace: no journal, no syncs (it is deleted if anything fails)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        table = db.table("announcements")
        table.create(
            {c: str for c in (*ANNOUNCEMENT_COLUMNS, "search_text")},
            pk="case_number",
            not_null=[*_REQUIRED_TEXT, "search_text"],
        )
        seen: set[str] = set()
        table.insert_all((_announcement(r, seen) for r in announcements), batch_size=1000)
        table.enable_fts([*SEARCH_COLUMNS, "search_text"], create_triggers=True, tokenize="unicode61")
        for column in ("department", "status", "completed_on"):
            table.create_index([column])
        table.optimize()

        ranked: set[tuple[str, str, str]] = set()
        metrics: dict[str, set[type]] = {}  # metric column -> the types of its values, in order first seen
        ranking_rows = [_ranking(r, ranked, metrics) for r in rankings]
        ranking_rows = [{**dict.fromkeys(metrics), **r} for r in ranking_rows]
        ranking_table = db.table("rankings")
        ranking_table.create(
            {
                "month": str,
                "scope": str,
                "name": str,
                "rank": int,
                "score": float,
                **{m: _column_type(kinds) for m, kinds in metrics.items()},
            },
            pk=("month", "scope", "name"),
            not_null=["month", "scope", "name", "rank"],
        )
        ranking_table.insert_all(ranking_rows, batch_size=1000)

        meta = {str(k): _metadata_value(v) for k, v in metadata.items()}
        meta.setdefault("generated_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        meta.setdefault("search_help", SEARCH_HELP)
        db.table("metadata").create({"key": str, "value": str}, pk="key", not_null=["value"])
        db.table("metadata").insert_all([{"key": k, "value": v} for k, v in meta.items()])
        db.vacuum()
    finally:
        db.close()


def fts_query(text: str) -> str:
    """A safe FTS5 MATCH expression for what a user typed (every word must occur), or ""
    when it has no searchable word. Use it as ``announcements_fts MATCH ?``."""
    return " AND ".join(_phrase(w) for w in _words(text))


def search_announcements(conn: sqlite3.Connection, text: str, limit: int = 50) -> list[str]:
    """Case numbers of the announcements matching ``text``, best first (bm25, then case number)."""
    expr = fts_query(text)
    if not expr:
        return []
    rows = conn.execute(
        "SELECT a.case_number FROM announcements_fts f JOIN announcements a ON a.rowid = f.rowid "
        "WHERE announcements_fts MATCH ? ORDER BY f.rank, a.case_number LIMIT ?",
        (expr, limit),
    ).fetchall()
    return [r[0] for r in rows]


# -- CSV and JSON ----------------------------------------------------------------------------
#: a cell starting with one of these is a formula to Excel and LibreOffice
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text  # CSV injection: shown as text, never run as a formula
    return text


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The rows as CSV text: a header of ``columns``, then one line per row in that order.

    The text starts with a byte order mark (U+FEFF): Excel reads a CSV file without one
    in the local ANSI code page (GBK on Chinese Windows) and shows UTF-8 Chinese as
    mojibake; with it, Excel, LibreOffice and Python's ``utf-8-sig`` read UTF-8. Encode
    the result as UTF-8. Lines end with CRLF and fields are quoted when they contain a
    comma, a quote or a line break (RFC 4180). Keys not in ``columns`` are left out,
    missing ones are empty; text that Excel would run as a formula (starting with
    = + - @) gets a leading apostrophe.
    """
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out, lineterminator="\r\n").writerow(columns)
    return out.getvalue() + csv_lines(rows, columns)


def csv_lines(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The CSV lines of ``rows`` alone (no byte order mark, no header), as ``to_csv`` writes them:
    a file streamed in parts is ``to_csv([], columns)`` followed by ``csv_lines`` of each part."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # exact, as text
    raise TypeError(f"{type(value).__name__} is not JSON data")


def to_json(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """The rows as a JSON array of objects (UTF-8 text, not \\u-escaped).

    Keys keep the order of ``columns`` (missing ones are null, others left out) or, without
    ``columns``, the row's own order; dates become ISO text and Decimals exact text.
    """
    data: Iterator[dict[str, Any]] = (
        (dict(row) for row in rows) if columns is None else ({c: row.get(c) for c in columns} for row in rows)
    )
    return json.dumps(list(data), ensure_ascii=False, default=_json_default)
