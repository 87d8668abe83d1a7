"""Query codes (查询码): how an applicant without an account reaches their own case or chain
application — made, read back and checked here, for every place that checks one (the JSON API,
the progress pages, chains).

A new code is :data:`LENGTH` characters drawn by ``secrets`` from :data:`ALPHABET`, which has no
look-alike characters (0, 1, B, I, L, O, S, U and Z are left out: no 0/O, 1/I/L, 8/B, 5/S, 2/Z, U/V), shown in
groups of four (``7KQM-3XPA-9W``) so it is easy to read out at a window: 27**10 ≈ 2·10**14
codes. What a person types is read generously (:func:`normalise`): case, spaces, dashes and
full-width characters do not matter, and a look-alike typed by mistake (O for 0, S for 5 …)
is read as the character it resembles. Codes made before (six digits) keep working.

Wrong codes are limited (:func:`check`), counted in ``query_code_attempts`` in the same write
transaction as the check, so parallel guesses cannot slip past:

* per client address: :data:`CLIENT_LIMIT` wrong codes within :data:`WINDOW`;
* per case (or chain application): :data:`CASE_LIMIT` wrong codes within :data:`WINDOW`, from
  any addresses — against guessing spread over many addresses.

Past either limit every check (the right code too: otherwise the answer would still tell a right
guess from a wrong one) is refused with :class:`Throttled` until the limit-th newest failure has
left the window. A refused check is not counted, so the lock ends :data:`WINDOW` after the
failures that caused it; one address alone cannot lock a case (``CLIENT_LIMIT < CASE_LIMIT``),
and a browser that already opened its case on the progress pages keeps its access. Reaching a
limit records a supervision event (:data:`GUESSING`) once per client or case and window.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select

from engine.base.i18n import ngettext
from engine.ledger import tables
from engine.ledger.db import iso, lock
from engine.service import anomalies

ALPHABET = "23456789ACDEFGHJKMNPQRTVWXY"
LENGTH = 10
GROUP = 4
#: look-alikes a person may type for a character of a code (new or six-digit)
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "B": "8", "S": "5", "Z": "2", "U": "V"})
_SEPARATORS = str.maketrans("", "", " -_.\u2010\u2011\u2012\u2013\u2014\u2212\u00b7")
MAX_TYPED = 64  # longer input is not a code (and is not read further)

WINDOW = timedelta(minutes=15)
CLIENT_LIMIT = 20  # wrong codes from one address within WINDOW
CASE_LIMIT = 50  # wrong codes for one case within WINDOW, from any addresses
GUESSING = "query_code_guessing"  # the supervision event kind (engine.supervision.sweep labels it)

_A = tables.query_code_attempts


class Throttled(Exception):
    """Too many wrong query codes from this client or for this case; ``retry_after`` says how long to wait."""

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        self.minutes = max(1, math.ceil(retry_after.total_seconds() / 60))
        # said in the language of the request that guessed (engine.base.i18n): API and page alike
        wait = ngettext(
            "查询码输错次数过多，请 %(num)s 分钟后再试。",
            "查询码输错次数过多，请 %(num)s 分钟后再试。",
            self.minutes,
        )
        super().__init__(wait % {"num": self.minutes})

    @property
    def seconds(self) -> int:
        """For the Retry-After header: whole seconds, at least 1."""
        return max(1, math.ceil(self.retry_after.total_seconds()))


def new() -> str:
    """A new code as it is shown and stored: ``LENGTH`` random characters in groups (``7KQM-3XPA-9W``)."""
    return display("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def display(code: str) -> str:
    """A code in groups of four for reading (a six-digit code as it is)."""
    plain = normalise(code)
    if len(plain) != LENGTH:
        return code
    return "-".join(plain[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(typed: str) -> str:
    """What a person typed, as the code it means: full-width folded, separators dropped, upper
    case, look-alikes read as the character they resemble. "" when it cannot be a code."""
    if len(typed) > MAX_TYPED:
        return ""
    text = unicodedata.normalize("NFKC", typed).translate(_SEPARATORS).upper().translate(_READ_AS)
    return text if text.isascii() and text.isalnum() else ""


#: how a stored code that is kept only as its hash (a request or complaint's: engine.service.appeals) begins
HASHED = "sha256:"


def hash_code(code: str) -> str:
    """How a code kept only as its hash is stored (a booking's, a home visit's, a request's): the sha256
    hex digest of the normalised code. Store it bare; :func:`matches` takes it with :data:`HASHED` before it."""
    return hashlib.sha256(normalise(code).encode("ascii")).hexdigest()


def matches(stored: str | None, typed: str) -> bool:
    """Whether ``typed`` is the code ``stored`` (compared in constant time); a stored ``sha256:`` value is
    the hash of the normalised code (:func:`hash_code`)."""
    if stored is not None and stored.startswith(HASHED):
        digest = hash_code(typed) if normalise(typed) else ""
        return bool(digest) and hmac.compare_digest(stored[len(HASHED) :].encode("ascii"), digest.encode("ascii"))
    want, got = normalise(stored or ""), normalise(typed)
    return bool(want) and bool(got) and hmac.compare_digest(want.encode("ascii"), got.encode("ascii"))


# ------------------------------------------------------------------------------ checking, with limits


@dataclass(frozen=True, slots=True)
class _Subject:
    key: str  # query_code_attempts.key
    limit: int
    case_id: int | None = None
    department: str | None = None


def _plausible_number(number: str) -> bool:
    return 0 < len(number) <= 32 and number.isascii() and number.isalnum()


#: (stored code, case id, department) of a number; Nones when unknown
Lookup = Callable[[Connection, str], tuple[str | None, int | None, str | None]]


def check(
    db: Engine,
    number: str,
    typed: str,
    client: str,
    now: datetime,
    lookup: Lookup | None = None,
    same: Callable[[str | None, str], bool] = matches,
) -> bool:
    """Whether ``typed`` is the query code of case or chain application ``number``; an unknown
    number is simply False (the same answer, so numbers cannot be probed). Raises
    :class:`Throttled` when this client or this case is past its limit of wrong codes. A wrong
    code is counted in the same transaction as the check. ``lookup`` and ``same`` let another
    record with a query code (a booking, engine.service.bookings) be checked with the same limits:
    how its stored code is found, and whether the typed one is it."""
    since = iso(now - WINDOW)
    with db.begin() as conn:
        lock(conn, "query_code_attempts")  # PostgreSQL: parallel guesses count one after the other, as on SQLite
        conn.execute(delete(_A).where(_A.c.at <= since))  # prune what left the window
        find = lookup or _stored
        stored, case_id, department = find(conn, number) if _plausible_number(number) else (None, None, None)
        subjects = [_Subject(f"client:{client}"[:200], CLIENT_LIMIT)] if client else []
        if _plausible_number(number):
            subjects.append(_Subject(f"case:{number}", CASE_LIMIT, case_id, department))
        wait = timedelta(0)
        for s in subjects:
            recent = _recent(conn, s, since)
            if len(recent) >= s.limit:  # free again when the limit-th newest failure leaves the window
                wait = max(wait, datetime.fromisoformat(recent[-1]) + WINDOW - now)
        if not wait:
            if same(stored, typed):
                return True
            if not typed.strip():  # nothing typed: not a guess
                return False
            for s in subjects:
                conn.execute(insert(_A).values(key=s.key, at=iso(now)))
                # a made-up number is counted like a real one (a 429 must not tell them apart), but
                # only guessing at a case or chain that exists is worth a supervisor's permanent record
                exists = stored is not None or case_id is not None or not s.key.startswith("case:")
                if exists and len(_recent(conn, s, since)) >= s.limit:
                    _record(conn, s, now, since)
    if wait:
        raise Throttled(wait)
    return False


def _stored(conn: Connection, number: str) -> tuple[str | None, int | None, str | None]:
    """(query code, case id, department) of a case or chain application; Nones when unknown. (An appeal's
    code is checked with its own lookup, engine.service.appeals: /progress never opens an appeal.)"""
    c = tables.cases
    row = conn.execute(select(c.c.query_code, c.c.id, c.c.department).where(c.c.number == number)).first()
    if row is not None:
        return row.query_code, int(row.id), row.department
    chain = conn.execute(select(tables.chain_cases.c.query_code).where(tables.chain_cases.c.number == number)).first()
    return (chain.query_code, None, None) if chain is not None else (None, None, None)


def _recent(conn: Connection, s: _Subject, since: str) -> list[str]:
    """The ``limit`` newest failures of ``s`` within the window, newest first."""
    rows = conn.execute(
        select(_A.c.at)
        .where(_A.c.key == s.key, _A.c.at > since)
        .order_by(_A.c.at.desc(), _A.c.id.desc())
        .limit(s.limit)
    ).all()
    return [str(r.at) for r in rows]


def _record(conn: Connection, s: _Subject, now: datetime, since: str) -> None:
    """A supervision event for ``s`` reaching its limit, unless one was recorded within the window."""
    what, _, who = s.key.partition(":")
    detail = {"subject": what, what: who, "limit": s.limit, "window_minutes": int(WINDOW.total_seconds() // 60)}
    anomalies.record_once(conn, GUESSING, f"{GUESSING}:{s.key}:", now, since, detail, s.case_id, s.department)


__all__ = [
    "ALPHABET",
    "CASE_LIMIT",
    "CLIENT_LIMIT",
    "GUESSING",
    "HASHED",
    "LENGTH",
    "WINDOW",
    "Lookup",
    "Throttled",
    "check",
    "display",
    "hash_code",
    "matches",
    "new",
    "normalise",
]
