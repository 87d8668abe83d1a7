"""The public rows (case announcements, rankings) as CSV and JSON text, for the downloads beside the
open-data file (engine.supervision.open_data): text masked again, formula-safe in a spreadsheet, and
a row that cannot be written left out and logged, so one bad row never breaks a file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from engine.base import wording
from engine.base.masking import EVERY_CODE, mask_text

log = logging.getLogger("yangguang.open_data")  # the open data's one logger, whatever the format

#: a cell starting with one of these is a formula to Excel and LibreOffice
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return str(wording.iso_local(value))  # an instant in local time with its offset
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = mask_text(value, keep_codes=EVERY_CODE)
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
    a file streamed in parts is ``to_csv([], columns)`` followed by ``csv_lines`` of each part.

    Text goes through :func:`engine.base.masking.mask_text` (credit codes as the caller left them); a
    row that cannot be written (not a mapping, a value that is no text, text that is not valid
    Unicode) is left out and logged, so one bad row never breaks the file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for n, row in enumerate(rows, 1):
        try:
            cells = [_cell(row.get(c)) for c in columns]
            "".join(cells).encode("utf-8")  # a lone surrogate would fail the whole response later
        except Exception as exc:  # whatever the row holds, the export goes on
            _left_out("CSV", n, row, exc)
            continue
        writer.writerow(cells)
    return out.getvalue()


def _left_out(kind: str, n: int, row: Any, exc: Exception) -> None:
    number = row.get("case_number") if isinstance(row, Mapping) else None
    log.warning("%s export: row %d (case %s) left out: %s", kind, n, number, type(exc).__name__)


def json_default(value: Any) -> Any:
    """JSON for what json cannot write itself: dates in local time, Decimals as exact text."""
    if isinstance(value, dt.date | dt.datetime):
        return wording.iso_local(value)
    if isinstance(value, Decimal):
        return str(value)  # exact, as text
    raise TypeError(f"{type(value).__name__} is not JSON data")


def to_json(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """The rows as a JSON array of objects (UTF-8 text, not \\u-escaped).

    Keys keep the order of ``columns`` (missing ones are null, others left out) or, without
    ``columns``, the row's own order; dates become ISO text and Decimals exact text; text goes
    through :func:`engine.base.masking.mask_text`. A row that cannot be written is left out and
    logged, as in :func:`csv_lines`.
    """
    parts: list[str] = []
    for n, row in enumerate(rows, 1):
        try:
            data = dict(row) if columns is None else {c: row.get(c) for c in columns}
            part = json.dumps(_masked_values(data), ensure_ascii=False, default=json_default)
            part.encode("utf-8")
        except Exception as exc:  # whatever the row holds, the export goes on
            _left_out("JSON", n, row, exc)
            continue
        parts.append(part)
    return "[" + ", ".join(parts) + "]"  # what json.dumps writes for the list


def _masked_values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_text(v, keep_codes=EVERY_CODE) if isinstance(v, str) else v for k, v in data.items()}
