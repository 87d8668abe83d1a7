"""How many applications one client address may file: cases and chain applications together,
from the portal and the JSON API alike.

Every filing makes a permanent, append-only case record and starts a supervision clock, and a
filing without uploads costs a client one request; so an address may file :data:`engine.service.uploads.
CLIENT_FILINGS_PER_HOUR` applications within an hour and :data:`engine.service.uploads.CLIENT_FILINGS_PER_DAY`
within 24 hours (settings: engine.service.uploads.limits_from_env). A member of staff filing for an
applicant (代办, signed in) is not counted: a whole hall or office shares one address.

The limit is checked and the filing counted in ``filings`` inside the filing's own write
transaction (:func:`admit`, called by engine.service.cases and engine.service.chains after the
idempotency check), so parallel filings queue and cannot both slip past, and a repeat of a
filing (a double click, a retried request: the same idempotency key) answers the application
that exists without counting again. Past a limit the filing is refused with :class:`TooMany`
until the limit-th newest filing leaves the window. Reaching a limit records a supervision event
(:data:`FLOOD`) once per address and window, so supervisors see a flood. Rows older than a day are
pruned by the next filing.

Appointments and home-visit requests (engine.service.bookings, engine.service.bookings_visits) are
counted the same way, each kind under its own key for the address (:func:`per_day`), so booking does
not use up an address's case filings, and with its own cap per day from appointments.yaml.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, insert, select
from starlette.requests import HTTPConnection

from engine.base import addresses
from engine.base.i18n import gettext, ngettext
from engine.ledger import tables
from engine.ledger.db import iso
from engine.ledger.fastpath import fast_execute
from engine.service import anomalies, upload_limits
from engine.service.upload_limits import Limits

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
FLOOD = "filing_flood"  # the supervision event kind (engine.supervision.sweep labels it)
LOCK = "filings"  # the first word of the names of the locks a filing takes (see locks)

_F = tables.filings
_INSERT = insert(_F)
_PRUNE = delete(_F).where(_F.c.at <= bindparam("before"))


@dataclass(frozen=True, slots=True)
class Filer:
    """Who files, as the limits count them: the stored form of the client address
    (engine.service.uploads.client) and the server's limits (engine.service.uploads.Limits)."""

    client: str
    per_hour: int
    per_day: int


def of(request: HTTPConnection, limits: Limits) -> Filer:
    """The filer an applicant's request counts as (staff filing for one pass ``None`` instead)."""
    return Filer(upload_limits.client(request), limits.client_filings_per_hour, limits.client_filings_per_day)


def per_day(request: HTTPConnection, kind: str, limit: int) -> Filer:
    """The filer an applicant's request counts as for ``kind`` (``booking``, ``home_visit``): at most
    ``limit`` within 24 hours from one address, counted apart from case filings and from other kinds."""
    return Filer(upload_limits.client_of(f"{kind}:{addresses.of(request)}"), limit, limit)


class TooMany(Exception):
    """This address filed its hour's or day's number of applications; ``retry_after`` says how long
    until the next one is taken. The message says why and how long in the language of the request
    that filed (engine.base.i18n): the API's error message and the first words of the page's."""

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        super().__init__(_wait_words(self.seconds))

    @property
    def seconds(self) -> int:
        """For the Retry-After header: whole seconds, at least 1."""
        return max(1, math.ceil(self.retry_after.total_seconds()))

    def page_message(self) -> str:
        """What the portal's check page says (in the page's language): why, how long, and that
        nothing typed or uploaded is lost."""
        return _wait_words(self.seconds) + gettext(
            "您填写的内容和上传的材料都已保存；如急需办理，请到窗口由工作人员代为提交。"
        )


def _wait_words(seconds: int) -> str:
    """Why and how long to wait: minutes up to an hour and a half, hours beyond."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes <= 90:
        text = ngettext(
            "同一地址提交申请过于频繁，请 %(num)s 分钟后再提交。",
            "同一地址提交申请过于频繁，请 %(num)s 分钟后再提交。",
            minutes,
        )
        return text % {"num": minutes}
    hours = math.ceil(minutes / 60)
    text = ngettext(
        "同一地址提交申请过于频繁，请 %(num)s 小时后再提交。",
        "同一地址提交申请过于频繁，请 %(num)s 小时后再提交。",
        hours,
    )
    return text % {"num": hours}


def client_lock(filer: Filer) -> str:
    """The lock of one address's count (taken alone by a booking or a home-visit request, which have no
    idempotency key or case number)."""
    return f"{LOCK}:client:{filer.client}"


def locks(idempotency_key: str, filer: Filer | None, number_prefix: str | None = None) -> tuple[str, ...]:
    """The locks (engine.ledger.db.lock) a filing transaction takes first on PostgreSQL, in this order.

    A filing reads and then writes three things: whether its idempotency key filed already, its address's
    count (when it has a filer), and the last case number under its prefix (center and day). Each is
    guarded by a lock of its own, so filings that share none of them (other centers, other addresses)
    run side by side instead of one at a time for the whole database; those sharing one queue on it.
    The order — key, address, number prefix, taken in one statement — is the same for every filing, so
    two never wait on each other in a cycle."""
    names = [f"{LOCK}:key:{idempotency_key}"]
    if filer is not None:
        names.append(client_lock(filer))
    if number_prefix is not None:
        names.append(f"{LOCK}:number:{number_prefix}")
    return tuple(names)


def admit(conn: Connection, filer: Filer | None, now: datetime) -> None:
    """Count one filing of ``filer`` at ``now`` in the caller's write transaction, or raise
    :class:`TooMany` (nothing counted) when the address is past its hour's or day's limit.
    ``None`` (staff filing for an applicant) is not limited."""
    if filer is None:
        return
    day_ago = iso(now - DAY)
    fast_execute(conn, _PRUNE, {"before": day_ago})
    most = max(filer.per_hour, filer.per_day)
    rows = conn.execute(
        select(_F.c.at)
        .where(_F.c.client == filer.client, _F.c.at > day_ago)
        .order_by(_F.c.at.desc(), _F.c.id.desc())
        .limit(most)
    ).all()
    in_day = [datetime.fromisoformat(str(r.at)) for r in rows]
    in_hour = [at for at in in_day if at > now - HOUR]
    wait = timedelta(0)
    # free again when the limit-th newest filing leaves its window
    if len(in_hour) >= filer.per_hour:
        wait = max(wait, in_hour[filer.per_hour - 1] + HOUR - now)
    if len(in_day) >= filer.per_day:
        wait = max(wait, in_day[filer.per_day - 1] + DAY - now)
    if wait > timedelta(0):
        raise TooMany(wait)
    fast_execute(conn, _INSERT, {"client": filer.client, "at": iso(now)})
    # this filing reached a limit: the next one is refused, which supervisors should see
    if len(in_day) + 1 >= filer.per_day:
        _record(conn, filer.client, now, filer.per_day, DAY)
    elif len(in_hour) + 1 >= filer.per_hour:
        _record(conn, filer.client, now, filer.per_hour, HOUR)


def _record(conn: Connection, client: str, now: datetime, limit: int, window: timedelta) -> None:
    """A supervision event for ``client`` reaching ``limit`` filings within ``window``, unless one
    was recorded for it within that window (one flood, one record)."""
    hours = int(window.total_seconds() // 3600)
    prefix = f"{FLOOD}:client:{client}:{hours}h:"  # the hour's reach and the day's are recorded apart
    detail = {"subject": "client", "client": client, "limit": limit, "window_hours": hours}
    anomalies.record_once(conn, FLOOD, prefix, now, iso(now - window), detail)


__all__ = ["DAY", "FLOOD", "HOUR", "LOCK", "Filer", "TooMany", "admit", "client_lock", "locks", "of", "per_day"]
