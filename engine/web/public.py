"""Public disclosure (公开): case announcements (办件公告), the monthly rankings and ratings
(阳光日志), and open data (CSV, JSON, and an SQLite file Datasette can open).

Nothing personal leaves through these pages: every row shown or exported takes the one masking
step of engine.base.masking (natural persons' names masked; ID numbers, phones, e-mails, passports and
other organisations' credit codes masked wherever they were typed), and the open-data writer
masks again and leaves out rows it cannot publish. One bad record never takes a page or an export
down: a case that cannot be announced is left out and logged (``yangguang.public``). Only cases
that were accepted appear; submissions that were never accepted are not announced.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import and_, func, or_, select, tuple_
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from engine.base import input_guard, wording
from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.base.masking import credit_codes_in, mask_applicant, mask_record, mask_text
from engine.ledger import tables, transparency
from engine.ledger.db import iso, loads, read_only
from engine.rules import clock
from engine.rules.cases import model as case_model
from engine.rules.cases.model import RATING_SCORE
from engine.service.cases import CaseService
from engine.supervision import open_data, public_summary, rankings
from engine.supervision.exports import csv_lines, to_csv, to_json
from engine.supervision.search import ItemIndex
from engine.web import charts
from engine.web.deps import deps, reader

log = logging.getLogger("yangguang.public")
PAGE = 50
RATINGS = case_model.RATINGS
# the ratings stay Chinese as stored; pages translate each by value ({{ _(r) }}), so mark them here
# for the catalogue (English pages headed the sunshine tables 非常满意 … without these)
RATING_WORDS = (N_("非常满意"), N_("满意"), N_("基本满意"), N_("不满意"), N_("非常不满意"))
RATING_OF_SCORE = {score: name for name, score in RATING_SCORE.items()}
OPEN_DATA_SECONDS = 3600  # the open-data file is rebuilt at most once an hour
BATCH = 1_000  # announcements read per query while /announcements.csv streams: memory stays bounded
JSON_PAGE = 1_000  # announcements per page of /announcements.json (?limit= from 1 to JSON_PAGE_MAX)
JSON_PAGE_MAX = 5_000
_C = tables.cases
_STATES = ("in_progress", "completed")
_ANNOUNCED = and_(_C.c.accepted_at.is_not(None), _C.c.state.in_(_STATES))  # counted from the state indexes
# the rows in order: ``state || ''`` rather than ``state``, or SQLite (without statistics) reads the announced
# cases through a state index and sorts them all for every page; this way the scan walks
# ix_cases_accepted_at newest first and stops at the page's end (portable: || is standard SQL)
_ANNOUNCED_IN_ORDER = and_(_C.c.accepted_at.is_not(None), _C.c.state.concat("").in_(_STATES))


def _day(value: str | None) -> str | None:
    return clock.local_date(datetime.fromisoformat(value)).isoformat() if value else None


def announcement(
    row: Any, cat: Any, departments: Mapping[str, Any], own_code: Callable[[str], str | None]
) -> dict[str, Any]:
    """The case as announced, through the one masking step. ``own_code(case number)`` gives the
    legal-person applicant's own credit code, asked only when the name has a code typed in it."""
    item = cat.items.get(row.item_code)
    done = wording.decision(row.decision) or _("已办结")
    kind = row.applicant_type
    code = own_code(row.number) if kind == "legal_person" and credit_codes_in(row.applicant_name) else None
    return mask_record({
        "case_number": row.number,
        "item_code": row.item_code,
        "item_name": item.data["name"] if item else row.item_code,
        "department": departments.get(row.department, {}).get("name", row.department or ""),
        "applicant": mask_applicant(row.applicant_name, kind, code),
        "status": done if row.state == "completed" else wording.state(row.state),
        "accepted_on": _day(row.accepted_at),
        "completed_on": _day(row.ended_at) if row.state == "completed" else None,
    }, keep_codes=(code,) if code else ())  # fmt: skip


def announced(
    rows: Iterable[Any], cat: Any, departments: Mapping[str, Any], own_code: Callable[[str], str | None]
) -> list[dict[str, Any]]:
    """The announcements of ``rows``; a case that cannot be announced (a stored value the engine
    never writes, such as a malformed timestamp) is left out and logged, never a failed page."""
    out = []
    for row in rows:
        try:
            out.append(announcement(row, cat, departments, own_code))
        except Exception as exc:  # whatever one row holds, the others are still announced
            log.warning("announcement of case %s left out: %s: %s", row.number, type(exc).__name__, mask_text(exc))
    return out


def previous_month(now: datetime) -> str:
    today = clock.local_date(now)
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def month_step(month: str, step: int) -> str:
    """``YYYY-MM`` moved by ``step`` months (the sunshine log's 上一月 / 下一月)."""
    year, mon = (int(x) for x in month.split("-"))
    n = year * 12 + mon - 1 + step
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def latest_month_with_data(db: Any, now: datetime) -> str:
    """The month the sunshine log opens on: the latest month, up to this one, in which a case was
    completed or rated (local time) — not simply last month, which may be empty while this one is not.
    This month when nothing has ended yet."""
    today = clock.local_date(now)
    this_month = f"{today.year:04d}-{today.month:02d}"
    hi = iso(rankings.month_bounds(this_month)[1])
    with read_only(db) as conn:
        ended = conn.execute(
            select(func.max(_C.c.ended_at)).where(_C.c.state == "completed", _C.c.ended_at < hi)
        ).scalar()
        rated = conn.execute(select(func.max(_C.c.rated_at)).where(_C.c.rated_at < hi)).scalar()
    latest = max((str(v) for v in (ended, rated) if v), default=None)
    if latest is None:
        return this_month
    day = clock.local_date(datetime.fromisoformat(latest))
    return f"{day.year:04d}-{day.month:02d}"


_COLUMNS = (_C.c.number, _C.c.item_code, _C.c.department, _C.c.state, _C.c.decision, _C.c.accepted_at,
            _C.c.ended_at, _C.c.applicant_name, _C.c.applicant_type)  # fmt: skip
ONLY_CSV_JSON = N_("只提供 .csv 和 .json 格式。")
BAD_PAGE_SIZE = N_("limit 是每页条数，须为 1 至 {most} 的整数；不写则每页 {default} 条。")
NOT_ANNOUNCED = N_(
    "没有已公告的办件 {number}：after 须为上一页最后一条的办件编号，可从 /announcements.json 第一页重新开始。"
)
NO_MONTH = N_("没有这个月份。")
OPEN_DATA_DOWN = N_("开放数据文件暂时无法生成，请稍后再试。")


def departments_of(cat: Any) -> dict[str, Any]:
    """The center's departments by id."""
    return {d["id"]: d for d in (cat.center or {}).get("departments", [])}


def own_code(db: Any, number: str) -> str | None:
    """The credit code the applicant of case ``number`` gave in the applicant section."""
    with read_only(db) as conn:
        data = loads(conn.execute(select(_C.c.data).where(_C.c.number == number)).scalar())
    section = data.get("applicant") if isinstance(data, dict) else None
    code = section.get("credit_code") if isinstance(section, dict) else None
    return code if isinstance(code, str) else None


def _announced(service: CaseService, rows: Iterable[Any]) -> list[dict[str, Any]]:
    cat = service.catalogue
    return announced(rows, cat, departments_of(cat), functools.partial(own_code, service.db))


def announcements(
    service: CaseService, index: ItemIndex | None, q: str, department: str, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the announced cases of ``department`` (all: "") matching ``q`` (a case number, or words
    the search ``index`` finds items by), newest first, and how many there are in all."""
    query = select(*_COLUMNS).where(_ANNOUNCED_IN_ORDER)
    count = select(func.count()).select_from(_C).where(_ANNOUNCED)
    if department:
        query, count = query.where(_C.c.department == department), count.where(_C.c.department == department)
    if q:
        hits = index.search(q, limit=200) if index is not None else []
        codes = [h.code for h in hits if h.kind == "item"]  # chains have no cases
        cond = or_(_C.c.number == q.strip().upper(), _C.c.item_code.in_(codes))
        query, count = query.where(cond), count.where(cond)
    with read_only(service.db) as conn:
        newest_first = (_C.c.accepted_at.desc(), _C.c.id.desc())  # the order every export pages in
        rows = conn.execute(query.order_by(*newest_first).limit(limit).offset(offset)).all()
        total = int(conn.execute(count).scalar_one())
    return _announced(service, rows), total


async def announcement_page(request: Request) -> Response:
    d = deps(request)
    q = request.query_params.get("q", "").strip()[:100]
    department = request.query_params.get("department", "")
    raw = request.query_params.get("page", "1")
    page = max(1, min(input_guard.whole(raw) or 1, 100_000))
    offset = (page - 1) * PAGE
    rows, total = await run_in_threadpool(announcements, reader(request), d.index, q, department, offset, PAGE)
    return d.render(
        "public/announcements.html", rows=rows, total=total, q=q, department=department, page=page,
        pages=max(1, -(-total // PAGE)), departments=departments_of(d.service.catalogue),
    )  # fmt: skip


def after_case(db: Any, after: tuple[str, int] | None, limit: int) -> list[Any]:
    """Up to ``limit`` announced cases that come after ``after`` (its accepted_at and id), newest
    first: a keyset page read from ix_cases_accepted_at, so a late page costs what the first does."""
    query = select(*_COLUMNS, _C.c.id).where(_ANNOUNCED_IN_ORDER)
    if after is not None:
        query = query.where(tuple_(_C.c.accepted_at, _C.c.id) < tuple_(*after))
    with read_only(db) as conn:  # one short read per batch: no transaction held while streaming
        return list(conn.execute(query.order_by(_C.c.accepted_at.desc(), _C.c.id.desc()).limit(limit)))


def every_announcement(service: CaseService) -> Iterator[list[dict[str, Any]]]:
    """Every announced case, newest first, one batch of BATCH at a time."""
    after: tuple[str, int] | None = None
    while True:
        rows = after_case(service.db, after, BATCH)
        yield _announced(service, rows)
        if len(rows) < BATCH:
            return
        after = (rows[-1].accepted_at, rows[-1].id)


def every_announcement_csv(service: CaseService) -> Iterator[str]:
    """The whole CSV, produced one batch at a time."""
    columns = open_data.ANNOUNCEMENT_COLUMNS
    yield to_csv([], columns)
    for rows in every_announcement(service):
        yield csv_lines(rows, columns)


def json_page(service: CaseService, after_number: str, limit: int) -> tuple[list[dict[str, Any]], str | None] | None:
    """A page of announcements after the case ``after_number`` ("" for the first) and the case the
    next page starts after (None on the last page); None when that case is not announced."""
    after = None
    if after_number:
        with read_only(service.db) as conn:
            found = conn.execute(
                select(_C.c.accepted_at, _C.c.id).where(_C.c.number == after_number, _ANNOUNCED)
            ).first()
        if found is None:
            return None
        after = (found.accepted_at, found.id)
    rows = after_case(service.db, after, limit + 1)
    more = len(rows) > limit
    return _announced(service, rows[:limit]), (rows[limit - 1].number if more else None)


async def announcement_data(request: Request) -> Response:
    service = reader(request)
    kind = request.path_params["kind"]
    if kind == "csv":
        return StreamingResponse(
            every_announcement_csv(service),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="announcements.csv"'},
        )
    if kind != "json":
        raise HTTPException(404, _(ONLY_CSV_JSON))
    raw = request.query_params.get("limit", str(JSON_PAGE))
    if not 1 <= (input_guard.whole(raw) or 0) <= JSON_PAGE_MAX:
        raise HTTPException(400, _(BAD_PAGE_SIZE).format(most=JSON_PAGE_MAX, default=JSON_PAGE))
    after = request.query_params.get("after", "").strip()[:32]
    page = await run_in_threadpool(json_page, service, after, int(raw))
    if page is None:
        raise HTTPException(400, _(NOT_ANNOUNCED).format(number=after))
    rows, last = page
    columns = open_data.ANNOUNCEMENT_COLUMNS
    following = str(request.url.include_query_params(after=last, limit=raw)) if last else None
    body = {"rows": [{c: r.get(c) for c in columns} for r in rows], "next": following}
    headers = {"Link": f'<{following}>; rel="next"'} if following else {}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json", headers=headers)


def appeals_data(cat: Any) -> Mapping[str, Any] | None:
    """appeals/kinds.yaml's data (its ``ranking`` weighs justified complaints), None without the file."""
    return cat.appeals.data if cat.appeals is not None else None


def month_report(service: CaseService, month: str) -> dict[str, Any]:
    """The month's rankings (names masked), its ratings by department and by item, and the public summary
    of requests and complaints and of appointments (counts only, engine.supervision.public_summary)."""
    db, cat = service.db, service.catalogue
    # the one masking step for names shown on the page and exported (a username may be a phone number)
    ranked = {
        scope: [replace(r, name=mask_text(r.name)) for r in rows]
        for scope, rows in rankings.month(db, service.calendar, cat.center, month, appeals_data(cat)).items()
    }
    start, end = rankings.month_bounds(month)
    lo, hi = iso(start), iso(end)
    with read_only(db) as conn:  # the points the engine stored with each rating (ix_cases_rated_at)
        rated = conn.execute(
            select(_C.c.department, _C.c.item_code, _C.c.rating_score, func.count())
            .where(_C.c.rated_at >= lo, _C.c.rated_at < hi, _C.c.rating_score.is_not(None))
            .group_by(_C.c.department, _C.c.item_code, _C.c.rating_score)
        ).all()
    by_department: dict[str, dict[str, int]] = {}
    by_item: dict[str, dict[str, int]] = {}
    for department, item_code, score, n in rated:
        rating = RATING_OF_SCORE[int(score)]
        by_department.setdefault(department or "", dict.fromkeys(RATINGS, 0))[rating] += int(n)
        by_item.setdefault(item_code, dict.fromkeys(RATINGS, 0))[rating] += int(n)
    summary = public_summary.appeal_rows(db, cat.center, cat.appeal_kinds(), month) if cat.appeals is not None else None
    return {
        "rankings": ranked, "ratings_department": by_department, "ratings_item": by_item,
        "appeals": summary, "bookings": public_summary.booking_rows(db, cat.center, month),
    }  # fmt: skip


def ranking_rows(cat: Any, month: str, ranked: Mapping[str, list[rankings.Row]]) -> list[dict[str, Any]]:
    """The month's rankings as exported rows (department names in words, names masked)."""
    departments = departments_of(cat)
    rows = []
    for scope, entries in ranked.items():
        for r in entries:
            d = r.as_dict()
            name = departments.get(r.name, {}).get("name", r.name) if scope == "department" else r.name
            row = {"month": month, **{k: v for k, v in d.items() if k not in ("department",)}, "name": name}
            rows.append(mask_record(row))
    return rows


async def sunshine(request: Request) -> Response:
    d = deps(request)
    service, cat = reader(request), d.service.catalogue
    now = service.clock.now()
    month = request.query_params.get("month", "") or await run_in_threadpool(latest_month_with_data, service.db, now)
    try:
        rankings.month_bounds(month)  # ASCII YYYY-MM of a year it can count
    except ValueError:
        raise HTTPException(400, _("月份格式为 YYYY-MM，例如 2026-03。")) from None
    year, mon = (int(x) for x in month.split("-"))
    today = clock.local_date(now)
    current = f"{today.year:04d}-{today.month:02d}"
    report = await run_in_threadpool(month_report, service, month)
    departments = departments_of(cat)
    top = report["rankings"]["department"]
    chart = charts.bar_chart(
        [charts.Series(_("得分"), [r.score for r in top])],
        title=_("部门绩效得分"), x_labels=[departments.get(r.name, {}).get("name", r.name) for r in top],
        horizontal=True, y_min=0, y_max=100,
    ) if top else ""  # fmt: skip
    return d.render(
        "public/sunshine.html", month=month, report=report, chart=Markup(chart), departments=departments,
        items=cat.items, ratings=RATINGS, year=year, mon=mon, is_current=month == current,
        complaint_weight=rankings.complaint_rule(appeals_data(cat)).weight,
        previous=month_step(month, -1), following=month_step(month, 1) if month < current else "",
    )  # fmt: skip


async def sunshine_data(request: Request) -> Response:
    service = reader(request)
    month, kind = request.path_params["month"], request.path_params["kind"]
    try:
        rankings.month_bounds(month)
    except ValueError:
        raise HTTPException(404, _(NO_MONTH)) from None
    report = await run_in_threadpool(month_report, service, month)
    rows = ranking_rows(service.catalogue, month, report["rankings"])
    columns = list(dict.fromkeys(k for r in rows for k in r)) or list(open_data.RANKING_COLUMNS)
    return _data(rows, kind, f"rankings-{month}", columns)


def build_open_data(service: CaseService, out_dir: Path) -> Path:
    """The open-data file, rebuilt when it is older than OPEN_DATA_SECONDS; 503 when it cannot be built
    and there is no earlier one to serve."""
    path = out_dir / "yangguang-open-data.sqlite"
    if path.exists() and time.time() - path.stat().st_mtime < OPEN_DATA_SECONDS:
        return path
    try:
        write_open_data(service, out_dir, path)
    except Exception:  # the database or the disk, not a record: the last good file is still public
        log.exception("open data: the file could not be rebuilt")
        if not path.exists():
            raise HTTPException(503, _(OPEN_DATA_DOWN)) from None
        path.touch()  # the last good file is served for another hour instead of a rebuild per download
    return path


def write_open_data(service: CaseService, out_dir: Path, path: Path) -> None:
    cat = service.catalogue
    now = service.clock.now()
    month = previous_month(now)
    report = month_report(service, month)
    ranked = ranking_rows(cat, month, report["rankings"])
    summaries = {"appeal_summary": report["appeals"] or [], "booking_summary": report["bookings"]}
    metadata = {
        "generated_at": iso(now),
        "center": (cat.center or {}).get("name", ""),
        "catalogue_version": cat.version,
        # the file's own description, the same for every download (not the request's language)
        "note": "办件公告中自然人申请人姓名已脱敏，文字中的身份证号、电话号码、电子邮箱等已隐去部分字符；"
        "排名依据中心配置的权重计算，查实的投诉按诉求配置的分值扣分；诉求和预约只公开按种类、部门汇总的件数。",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    every = (r for rows in every_announcement(service) for r in rows)  # written as read: memory stays bounded
    clean = ({k: v for k, v in r.items() if k in open_data.ANNOUNCEMENT_COLUMNS} for r in every)
    with read_only(service.db) as conn:  # what an auditor saves (GET /transparency/checkpoints)
        signed = transparency.listing(conn, transparency.LIST_MAX)
    open_data.write_sqlite(path, clean, ranked, metadata=metadata, transparency=signed, summaries=summaries)


async def open_data_file(request: Request) -> Response:
    d = deps(request)
    # the app always says where; otherwise beside uploads/, where the app keeps it too
    out_dir = d.open_data_dir if d.open_data_dir is not None else d.uploads_dir.parent / "open-data"
    path = await run_in_threadpool(build_open_data, reader(request), out_dir)
    return FileResponse(path, media_type="application/vnd.sqlite3", filename="yangguang-open-data.sqlite")


def _data(rows: list[dict[str, Any]], kind: str, name: str, columns: Any) -> Response:
    if kind == "json":
        return Response(to_json(rows, list(columns)), media_type="application/json")
    if kind == "csv":
        return Response(
            to_csv(rows, list(columns)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    raise HTTPException(404, _(ONLY_CSV_JSON))


ROUTES = [
    Route("/announcements", announcement_page, methods=["GET"]),
    Route("/announcements.{kind:str}", announcement_data, methods=["GET"]),
    Route("/sunshine", sunshine, methods=["GET"]),
    Route("/sunshine/{month}.{kind:str}", sunshine_data, methods=["GET"]),
    Route("/open-data/yangguang.sqlite", open_data_file, methods=["GET"]),
]
