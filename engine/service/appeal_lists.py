"""Reading requests and complaints (诉求) as lists: the worklist a member of staff may see, page by page,
how many there are, whom one may be assigned to, and the appeals that name a case.

Which appeals a person may see is :func:`engine.service.access.may_see_appeal`, said here once in SQL.
Filing and handling one is engine.service.appeals.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, func, select

from engine.ledger import tables
from engine.ledger.appeals import appeals
from engine.ledger.db import read_only
from engine.rules import appeals as rules
from engine.rules.cases.model import Actor
from engine.service import access
from engine.service.cases import CaseService

__all__ = ["PAGE", "count", "for_case", "staff_of", "worklist"]

#: appeals on one page of the worklist
PAGE = 50


def _visible(query: Any, service: CaseService, actor: Actor, include_closed: bool) -> Any:
    """``query`` narrowed to the appeals ``actor`` may see (access.may_see_appeal, said in SQL: the office's
    staff and the center-wide roles see all; a department its own; an applicant or nobody, none)."""
    a = appeals
    office = service.catalogue.appeals_office()
    if not include_closed:
        query = query.where(a.c.state != "closed")
    if actor.role == "applicant":
        return query.where(false())
    if not (access.center_wide(actor) or (office is not None and actor.department == office)):
        query = query.where(a.c.handler == (actor.department or ""))
    return query


def worklist(
    service: CaseService, actor: Actor, include_closed: bool = False, page: int = 1, per_page: int = PAGE
) -> list[dict[str, Any]]:
    """Page ``page`` (from 1) of the appeals ``actor`` may see, the most urgent first (the office's and
    supervisors': all); :func:`count` says how many there are in all."""
    a = appeals
    query = select(a).order_by(a.c.state.in_(rules.OPEN_STATES).desc(), a.c.due, a.c.number)
    query = _visible(query, service, actor, include_closed).limit(per_page).offset((max(page, 1) - 1) * per_page)
    with read_only(service.db) as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def count(service: CaseService, actor: Actor, include_closed: bool = False) -> int:
    """How many appeals ``actor`` may see (the worklist's pages, and the desk's link: the open ones)."""
    query = _visible(select(func.count()).select_from(appeals), service, actor, include_closed)
    with read_only(service.db) as conn:
        return int(conn.execute(query).scalar_one())


def staff_of(service: CaseService, department: str) -> list[str]:
    """The active accounts of a department (whom an appeal may be assigned to)."""
    u = tables.users
    query = select(u.c.username).where(u.c.department == department, u.c.active).order_by(u.c.username)
    with read_only(service.db) as conn:
        return [str(name) for (name,) in conn.execute(query)]


def for_case(service: CaseService, case_number: str) -> list[dict[str, Any]]:
    """The appeals that name a case (shown on its staff page and to supervisors)."""
    with read_only(service.db) as conn:
        rows = conn.execute(select(appeals).where(appeals.c.case_number == case_number).order_by(appeals.c.id))
        return [dict(r) for r in rows.mappings()]
