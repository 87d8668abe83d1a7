"""The public open-data file of case announcements (办件公告) and rankings.

:func:`write_sqlite` writes one SQLite file that Datasette, ``sqlite3`` or any SQLite
tool opens as it is; engine.supervision.exports gives the same rows as CSV and JSON text.

Tables
------
- ``announcements``: ``case_number`` (primary key), ``item_code``, ``item_name``,
  ``department``, ``applicant``, ``status``, ``accepted_on``, ``completed_on`` (ISO dates);
  indexed on department, status and completed_on.
- ``rankings``: ``month`` (YYYY-MM), ``scope`` (``department`` or ``staff``), ``name``,
  ``rank``, ``score`` and whatever metric columns the rows carry (lower_snake_case;
  INTEGER when every value is whole, TEXT when any is text, else REAL); primary key
  (month, scope, name).
- ``appeal_summary``: the month's requests and complaints as counts (engine.supervision.public_summary:
  ``month``, ``scope`` — ``all``, ``kind`` or ``department`` — ``name``, ``filed``, ``answered``,
  ``answered_on_time``, ``on_time_rate``, ``rated``, ``satisfaction``, ``justified_complaints``);
  primary key (month, scope, name). ``booking_summary``: the month's appointments per department
  (``month``, ``department``, ``booked``, ``arrived``, ``no_shows``, ``no_show_rate``). Only the
  listed columns, names as text and every other value a number: a row with anything else is left out.
- ``checkpoints`` and ``checkpoint_keys``: the newest signed checkpoints of the case record
  (engine.ledger.transparency: ``tree_size`` primary key, ``origin``, ``root``, ``signed_at``,
  ``key_id``, ``signature``) and every public key that signed one (``key_id``, ``algorithm``,
  ``public_key``, ``created_at``, ``retired_at``), as ``GET /transparency/checkpoints`` lists
  them: what an auditor saves to run ``yangguang audit verify --checkpoints``.
- ``metadata``: ``key``/``value`` text pairs: ``generated_at`` (filled in, UTC, when the
  caller gives none), ``center``, ``catalogue_version``, ``licence`` …, ``search_help``
  and ``skipped_rows`` (how many rows were left out, see below).

Each table is written by one function (``_write_announcements``, ``_write_rankings``,
``_write_metadata``, each given the database and the rows): a new table is one more such
function, called from :func:`_build`.

No personal data, and one bad row never takes the file down
-----------------------------------------------------------
The caller masks each row first (:func:`engine.base.masking.mask_applicant` and
:func:`engine.base.masking.mask_record`, the one masking step of every public output). This
module defends the file anyway: every free-text value goes through
:func:`engine.base.masking.mask_text` again (idempotent: masked text never matches twice;
credit codes are left as the caller decided), and a row that cannot be published — a key
that names personal data (``id_card``, ``phone``, ``address``, ``email``, ``birth`` …), an
unknown column, the raw applicant section instead of text, a malformed date, a case
number given twice — is left out and logged (logger ``yangguang.open_data``, its case
number and the reason, never its values); ``metadata.skipped_rows`` counts them. The
file is still written: one bad record never makes the download fail for everyone.

Full-text search (FTS5, trigram)
--------------------------------
``announcements_fts`` indexes ``case_number``, ``item_code``, ``item_name``,
``department``, ``applicant`` and ``status``, and ``rankings_fts`` the ranking ``name``,
with FTS5's ``trigram`` tokenizer (SQLite 3.34 or later), made by sqlite-utils
``enable_fts`` with triggers, so edits keep them in sync; Datasette finds them and its
search box (``?_search=``) uses them. Trigram matches any substring of three or more
characters as typed, case-insensitive: 企业注销, 施工许可, an item code (QQ-HOUSING-XK-003)
or part of one (housing), a case number. What it does not do:

- a word of one or two characters (施工, 税) finds nothing through the index, and among
  longer words SQLite ignores it (施工许可 证 finds what 施工许可 finds). In Datasette use
  the column filter "contains" instead (``?item_name__contains=施工``: a LIKE scan);
  :func:`search_announcements` does that LIKE itself for short words;
- no word order, stemming or synonyms: 许可施工 does not find 施工许可.

Atomic replacement
------------------
The file is built under a temporary name in the target folder and moved over the old
one with ``os.replace`` only when complete (and flushed to disk), so a download sees the
old file or the new one, never half of one; if building fails — a generator that raises,
a full disk — the old file stays and the temporary one is removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import sqlite3
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from engine.base import wording
from engine.base.masking import EVERY_CODE, mask_text
from engine.supervision.exports import json_default
from engine.supervision.public_summary import APPEAL_COLUMNS, BOOKING_COLUMNS
from engine.supervision.search import MAX_QUERY

log = logging.getLogger("yangguang.open_data")

#: announcement columns in their published order
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
#: the announcement columns of the full-text index
SEARCH_COLUMNS: tuple[str, ...] = ("case_number", "item_code", "item_name", "department", "applicant", "status")
#: a word shorter than this cannot be found through a trigram index
TRIGRAM = 3

SEARCH_HELP = (
    "全文检索（announcements_fts，trigram）：搜索框中三个字及以上的词按原样查找，如 企业注销、施工许可、事项编码；"
    "一两个字的词请用列筛选 contains（如 ?item_name__contains=施工）。"
    " Full-text search (announcements_fts, trigram tokenizer) finds any text of three or more characters as typed "
    "(企业注销, 施工许可, an item code such as QQ-HOUSING-XK-003); for a word of one or two characters use the "
    'column filter "contains" (?item_name__contains=施工).'
)

_REQUIRED_TEXT = ("case_number", "item_code", "item_name", "department", "status")
_DATE_COLUMNS = ("accepted_on", "completed_on")
# key names that mean personal data (matched anywhere in the lower-cased key)
_PERSONAL_KEY = re.compile(
    r"id_?card|id_?number|identity|passport|phone|mobile|(?:^|_)tel(?:ephone)?$|address|e_?mail|birth|"
    r"legal_representative|agent|applicant_(?:data|raw)|^data$|^form$"
)
_MONTH = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
_METRIC_NAME = re.compile(r"[a-z][a-z0-9_]*")
_Row = TypeVar("_Row")
#: the summary tables: their columns, the text ones among them (the rest are numbers) and the primary key
SUMMARY_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "appeal_summary": (APPEAL_COLUMNS, ("month", "scope", "name"), ("month", "scope", "name")),
    "booking_summary": (BOOKING_COLUMNS, ("month", "department"), ("month", "department")),
}


# -- validation ------------------------------------------------------------------------------
def _refuse_personal_keys(row: Mapping[str, Any], what: str) -> None:
    for key in row:
        if not isinstance(key, str):
            raise ValueError(f"{what}: column names are text, not {key!r}")
        if _PERSONAL_KEY.search(key.lower()):
            raise ValueError(f"{what}: column {key!r} would publish personal data; open data never carries it")


def _check_text(value: Any, column: str, what: str, *, required: bool) -> str | None:
    """The text as it may be published: identifiers masked (credit codes as the caller left them)."""
    if value is None or value == "":
        if required:
            raise ValueError(f"{what}: {column} is required")
        return None if value is None else ""
    if isinstance(value, Mapping) or not isinstance(value, str):
        raise ValueError(f"{what}: {column} must be text, not {type(value).__name__} (raw data is never published)")
    return mask_text(value, keep_codes=EVERY_CODE)


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
        elif column == "case_number":  # made by the engine, digits expected: published exactly
            if not isinstance(value, str) or not value:
                raise ValueError(f"{what}: case_number is required text")
            out[column] = value
        else:
            out[column] = _check_text(value, column, what, required=column in _REQUIRED_TEXT)
    if out["case_number"] in seen:
        raise ValueError(f"{what}: case number given twice")
    seen.add(out["case_number"])
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


def _summary(table: str, row: Mapping[str, Any], seen: set[tuple[Any, ...]]) -> dict[str, Any]:
    """A summary row as published: its table's columns only, names as masked text, counts and rates as numbers."""
    columns, text, key = SUMMARY_TABLES[table]
    what = f"{table} {tuple(row.get(k) for k in key)!r}"
    _refuse_personal_keys(row, what)
    unknown = set(row) - set(columns)
    if unknown:
        raise ValueError(f"{what}: unknown columns {sorted(unknown)}; {table} carries only {columns}")
    if not isinstance(row.get("month"), str) or not _MONTH.fullmatch(row["month"]):
        raise ValueError(f"{what}: month must be YYYY-MM")
    out: dict[str, Any] = {}
    for column in columns:
        value = row.get(column)
        if column in text:
            out[column] = _check_text(value, column, what, required=column != "name") or ""
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{what}: {column} must be a number, not {type(value).__name__}")
        else:
            out[column] = value
    if tuple(out[k] for k in key) in seen:
        raise ValueError(f"{what}: given twice")
    seen.add(tuple(out[k] for k in key))
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
        return str(wording.iso_local(value))  # an instant in local time with its offset
    return json.dumps(value, ensure_ascii=False, default=json_default)


# -- the file --------------------------------------------------------------------------------
def write_sqlite(
    path: Path,
    announcements: Iterable[Mapping[str, Any]],
    rankings: Iterable[Mapping[str, Any]],
    *,
    metadata: Mapping[str, Any],
    transparency: Mapping[str, Any] | None = None,
    summaries: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
) -> int:
    """Write the open-data file at ``path``, replacing any previous one atomically, and return
    how many rows were left out (each logged, see the module docstring). ``transparency`` is the
    listing of engine.ledger.transparency (its ``checkpoints`` and ``keys``); ``summaries`` the rows of
    each of SUMMARY_TABLES (engine.supervision.public_summary), every table written, empty when not given.

    An exception from the rows themselves (a generator that raises) or from the disk leaves the
    previous file as it was and is raised.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        skipped = _build(tmp, announcements, rankings, metadata, transparency or {}, summaries or {})
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
    return skipped


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


class _Skipped:
    """Counts and logs the rows left out of the file."""

    def __init__(self) -> None:
        self.count = 0

    def rows(
        self, rows: Iterable[_Row], convert: Callable[[_Row], dict[str, Any]], table: str
    ) -> Iterator[dict[str, Any]]:
        """``convert`` of each row; a row it refuses (ValueError, TypeError) is logged and left out."""
        for n, row in enumerate(rows, 1):
            try:
                yield convert(row)
            except (ValueError, TypeError) as exc:
                self.count += 1
                # the reason names the case number and the column, never the refused value's personal data
                log.warning("open data: %s row %d left out: %s", table, n, mask_text(str(exc)))


def _build(
    tmp: Path,
    announcements: Iterable[Mapping[str, Any]],
    rankings: Iterable[Mapping[str, Any]],
    metadata: Mapping[str, Any],
    transparency: Mapping[str, Any],
    summaries: Mapping[str, Iterable[Mapping[str, Any]]],
) -> int:
    db = sqlite_utils.Database(tmp, execute_plugins=False)
    skipped = _Skipped()
    try:
        # a scratch file until os.replace: no journal, no syncs (it is deleted if anything fails)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        _write_announcements(db, announcements, skipped)
        _write_rankings(db, rankings, skipped)
        for table in SUMMARY_TABLES:
            _write_summary(db, table, summaries.get(table, ()), skipped)
        _write_checkpoints(db, transparency)
        _write_metadata(db, {**metadata, "skipped_rows": skipped.count})
        db.vacuum()
    finally:
        db.close()
    return skipped.count


def _write_announcements(db: sqlite_utils.Database, rows: Iterable[Mapping[str, Any]], skipped: _Skipped) -> None:
    table = db.table("announcements")
    table.create({c: str for c in ANNOUNCEMENT_COLUMNS}, pk="case_number", not_null=list(_REQUIRED_TEXT))
    seen: set[str] = set()
    table.insert_all(skipped.rows(rows, lambda r: _announcement(r, seen), "announcements"), batch_size=1000)
    table.enable_fts(list(SEARCH_COLUMNS), create_triggers=True, tokenize="trigram")
    for column in ("department", "status", "completed_on"):
        table.create_index([column])
    table.optimize()


def _write_rankings(db: sqlite_utils.Database, rows: Iterable[Mapping[str, Any]], skipped: _Skipped) -> None:
    ranked: set[tuple[str, str, str]] = set()
    metrics: dict[str, set[type]] = {}  # metric column -> the types of its values, in order first seen
    kept = list(skipped.rows(rows, lambda r: _ranking(r, ranked, metrics), "rankings"))
    kept = [{**dict.fromkeys(metrics), **r} for r in kept]
    table = db.table("rankings")
    table.create(
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
    table.insert_all(kept, batch_size=1000)
    table.enable_fts(["name"], create_triggers=True, tokenize="trigram")


def _write_summary(db: sqlite_utils.Database, table: str, rows: Iterable[Mapping[str, Any]], skipped: _Skipped) -> None:
    columns, text, key = SUMMARY_TABLES[table]
    seen: set[tuple[Any, ...]] = set()
    kept = list(skipped.rows(rows, lambda r: _summary(table, r, seen), table))
    types = {c: str if c in text else (float if c.endswith("_rate") or c == "satisfaction" else int) for c in columns}
    db.table(table).create(types, pk=key, not_null=list(key))
    db.table(table).insert_all(kept, batch_size=1000)


_CHECKPOINT_COLUMNS = {"tree_size": int, "origin": str, "root": str, "signed_at": str, "key_id": str, "signature": str}
_KEY_COLUMNS = {"key_id": str, "algorithm": str, "public_key": str, "created_at": str, "retired_at": str}


def _write_checkpoints(db: sqlite_utils.Database, listing: Mapping[str, Any]) -> None:
    """The signed checkpoints and their public keys: hashes, signatures and keys only (nothing
    personal), written as the transparency listing gives them; always present, empty before the
    first checkpoint."""
    signed, keys = db.table("checkpoints"), db.table("checkpoint_keys")
    signed.create(_CHECKPOINT_COLUMNS, pk="tree_size")
    keys.create(_KEY_COLUMNS, pk="key_id")
    signed.insert_all({k: c.get(k) for k in _CHECKPOINT_COLUMNS} for c in listing.get("checkpoints", ()))
    keys.insert_all({k: c.get(k) for k in _KEY_COLUMNS} for c in listing.get("keys", ()))


def _write_metadata(db: sqlite_utils.Database, metadata: Mapping[str, Any]) -> None:
    meta = {str(k): _metadata_value(v) for k, v in metadata.items()}
    meta.setdefault("generated_at", str(wording.iso_local(dt.datetime.now(dt.UTC).replace(microsecond=0))))
    meta.setdefault("search_help", SEARCH_HELP)
    db.table("metadata").create({"key": str, "value": str}, pk="key", not_null=["value"])
    db.table("metadata").insert_all([{"key": k, "value": v} for k, v in meta.items()])


def _search_words(text: str) -> list[str]:
    """The words of what a user typed, split at whitespace only (a trigram index finds
    punctuation too: QQ-HOUSING-XK-003 is one word), without quotes."""
    return unicodedata.normalize("NFKC", text[:MAX_QUERY]).replace('"', " ").split()


def fts_query(text: str) -> str:
    """A safe FTS5 MATCH expression for the words of ``text`` that a trigram index can find (three
    or more characters; every one must occur), or "" when there is none. Use it as
    ``announcements_fts MATCH ?``; shorter words need a LIKE (see :func:`search_announcements`)."""
    return " AND ".join(f'"{w}"' for w in _search_words(text) if len(w) >= TRIGRAM)


def search_announcements(conn: sqlite3.Connection, text: str, limit: int = 50) -> list[str]:
    """Case numbers of the announcements matching every word of ``text``, best first (bm25, then
    case number): words of three or more characters through the trigram index, shorter ones by
    a LIKE over the searchable columns (what Datasette's "contains" filter does)."""
    words = _search_words(text)
    if not words:
        return []
    where: list[str] = []
    params: list[Any] = []
    for word in (w for w in words if len(w) < TRIGRAM):
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", word) + "%"
        where.append("(" + " OR ".join(f"a.{c} LIKE ? ESCAPE '\\'" for c in SEARCH_COLUMNS) + ")")
        params += [pattern] * len(SEARCH_COLUMNS)
    expr = fts_query(text)
    if expr:
        source = "announcements_fts f JOIN announcements a ON a.rowid = f.rowid"
        where.insert(0, "announcements_fts MATCH ?")
        params.insert(0, expr)
        order = "f.rank, a.case_number"
    else:
        source, order = "announcements a", "a.case_number"
    sql = f"SELECT a.case_number FROM {source} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
    return [r[0] for r in conn.execute(sql, (*params, limit)).fetchall()]
