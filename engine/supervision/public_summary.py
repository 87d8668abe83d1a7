"""The public monthly summary of requests and complaints (诉求) and of appointments (预约), as counts only.

What the sunshine log (/sunshine) shows and the open-data file carries: per kind, per department and for
the whole center, the requests filed, answered and answered on time, the satisfaction of those closed
and the complaints found justified (engine.supervision.appeal_counts.month_summary); per department the
month's bookings, those who came and the no-show rate (engine.service.bookings_desk.figures). Names come
from the catalogue (a kind's label, a department's name) and every other value is a number: no subject,
detail, filer, phone, member of staff or case of an appeal is ever read, so none can be published; the
rows still take the one masking step (engine.base.masking.mask_record) like every public output.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from engine.base.masking import mask_record
from engine.rules import clock
from engine.service import bookings_desk
from engine.supervision.appeal_counts import month_summary
from engine.supervision.rankings import month_bounds

__all__ = ["APPEAL_COLUMNS", "BOOKING_COLUMNS", "appeal_rows", "booking_rows"]

#: the open-data table ``appeal_summary``, in order (scope: all | kind | department)
APPEAL_COLUMNS: tuple[str, ...] = (
    "month", "scope", "name", "filed", "answered", "answered_on_time", "on_time_rate", "rated",
    "satisfaction", "justified_complaints",
)  # fmt: skip
#: the open-data table ``booking_summary``, in order
BOOKING_COLUMNS: tuple[str, ...] = ("month", "department", "booked", "arrived", "no_shows", "no_show_rate")
_SCOPES = ("all", "kind", "department")


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def appeal_rows(db: Engine, center: Mapping[str, Any] | None, kinds: Mapping[str, Mapping[str, Any]],
                month: str) -> list[dict[str, Any]]:  # fmt: skip
    """The month's summary rows: the center's total first, then each kind in the file's order, then each
    department by name. ``kinds`` are the catalogue's appeal kinds (their labels name the rows);
    satisfaction is the mean of the ratings given when closed, 非常满意 = 100 … 非常不满意 = 0, as cases'."""
    start, end = month_bounds(month)
    found = month_summary(db, start, end)
    names = {d["id"]: d.get("name", d["id"]) for d in (center or {}).get("departments", [])}
    order = {k: i for i, k in enumerate(kinds)}
    rows = []
    for scope in _SCOPES:
        entries = found[scope]
        if scope == "kind":
            keys = sorted(entries, key=lambda k: (order.get(k, len(order)), k))
        else:
            keys = sorted(entries, key=lambda d: (names.get(d, d), d))
        for key in keys:
            f = entries[key]
            name = {"all": "", "kind": str(kinds.get(key, {}).get("label", key)), "department": names.get(key, key)}
            rows.append(mask_record({
                "month": month, "scope": scope, "name": name[scope], "filed": f["filed"], "answered": f["answered"],
                "answered_on_time": f["on_time"], "on_time_rate": _ratio(f["on_time"], f["answered"]),
                "rated": f["rated"], "satisfaction": round(f["rating_points"] / f["rated"], 2) if f["rated"] else None,
                "justified_complaints": f["justified"],
            }))  # fmt: skip
    return rows


def booking_rows(db: Engine, center: Mapping[str, Any] | None, month: str) -> list[dict[str, Any]]:
    """The month's appointments per department: booked (all but cancelled), arrived (came: arrived or served),
    no-shows, and the no-show rate among the bookings whose day has come (no-shows ÷ (arrived + no-shows))."""
    start, end = month_bounds(month)
    first, last = clock.local_date(start), clock.local_date(end - timedelta(microseconds=1))
    names = {d["id"]: d.get("name", d["id"]) for d in (center or {}).get("departments", [])}
    rows = []
    for f in bookings_desk.figures(db, first, last):
        rows.append(mask_record({
            "month": month, "department": names.get(f.department, f.department), "booked": f.booked,
            "arrived": f.arrived, "no_shows": f.no_shows, "no_show_rate": _ratio(f.no_shows, f.arrived + f.no_shows),
        }))  # fmt: skip
    return sorted(rows, key=lambda r: str(r["department"]))
