"""The portal's appointments (网上预约) and home-visit requests (上门服务申请).

``/booking`` lists the center's bookable windows and items (appointments.yaml) with a form to find
one's booking; ``/booking/{counter}?day=…`` shows the bookable days (holidays closed) and the free
slots of one day (late-hours slots marked) with the person's details; posting it books a seat and
shows the booking's number and query code once. ``/booking-manage`` takes the number and query code
(engine.service.bookings.Bookings.verify: wrong codes limited like a case's, 429 past the limit) and
offers moving to another free slot and cancelling; each of those posts the number and code again, so
nothing grants access beyond one form. A booking whose window has left appointments.yaml is still shown
and may be cancelled, with nothing to move to. ``/home-visit/{code}`` asks for a home visit on an item
whose ``home_visit`` allows it; ``/home-visit-manage`` (number and query code, limited the same way)
shows the request and its visit time, and cancels it. Bookings and home-visit requests from one address
are capped per day (429 with when to try again). Every form carries a CSRF token bound to the browser
cookie; too long input is refused by the service with a message, never cut; a refusal is a page saying
what to do (422), never a 500.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.base import addresses
from engine.base.i18n import N_, gettext
from engine.service import bookings_visits as visits
from engine.service import filing_limits, query_codes
from engine.service.bookings import Booking, BookingError, Bookings, Busy
from engine.web import csrf
from engine.web.deps import deps
from engine.web.portal.browser import browser_token, remember_browser, throttled

WEEKDAYS = (N_("周一"), N_("周二"), N_("周三"), N_("周四"), N_("周五"), N_("周六"), N_("周日"))
#: a booking's state as the applicant and the window read it
STATES = {
    "booked": N_("已预约"),
    "moved": N_("已改约"),
    "cancelled": N_("已取消"),
    "arrived": N_("已签到，等候叫号"),
    "served": N_("已叫号办理"),
    "no_show": N_("未按时到场（爽约）"),
    "closed": N_("中心当天不办公，预约已取消（不计爽约）"),
    "left": N_("已签到，当天未叫号"),
}
NO_BOOKING = N_("本中心暂未开通网上预约。")
MAX_FIELD = 2000  # longer than any field's limit: the service refuses it with a message (nothing is cut)


def bookings_of(request: Request) -> Bookings:
    """The appointments of the catalogue version serving ``request``, built once per version."""
    d = deps(request)
    found = d.memo.get("bookings")
    if found is None:
        found = d.memo["bookings"] = Bookings(d.service)
    assert isinstance(found, Bookings)
    return found


def day_words(day: date | str) -> str:
    """A day as people read it: ``2026-05-06 周三``."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{d.isoformat()} {gettext(WEEKDAYS[d.weekday()])}"


def show(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    d = deps(request)
    browser, new = browser_token(request)
    response = d.render(
        template, status=status, csrf=csrf.token(d.key, csrf.PROGRESS, browser), day_words=day_words,
        states=STATES, groups=visits.GROUPS, **ctx,
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return remember_browser(response, request, browser) if new else response


async def checked_form(request: Request) -> FormData:
    """The posted form (no files, few fields) with its CSRF token checked."""
    form = await request.form(max_files=0, max_fields=20)
    csrf.check(request, form, deps(request).key, csrf.PROGRESS, browser_token(request)[0])
    return form


def text(form: FormData, name: str) -> str:
    """A posted field as typed (up to :data:`MAX_FIELD`, past every field's limit, so too long is refused)."""
    return str(form.get(name, ""))[:MAX_FIELD]


def busy(response: Response, exc: BookingError) -> Response:
    if isinstance(exc, Busy):
        response.headers["Retry-After"] = str(exc.seconds)
    return response


def parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


async def index(request: Request) -> Response:
    """``GET /booking``: the bookable windows and items, and the form to find one's booking."""
    bk = bookings_of(request)
    cat = deps(request).service.catalogue
    items = {
        c.item: (cat.data(cat.items[c.item]) or {}).get("name", c.item)
        for c in bk.rules.counters.values()
        if c.item and c.item in cat.items
    }
    return show(request, "portal/booking_index.html", counters=list(bk.rules.counters.values()), items=items)


def slot_page(request: Request, counter_id: str, day: date | None, status: int = 200, **ctx: Any) -> Response:
    bk = bookings_of(request)
    try:
        counter = bk.counter(counter_id)
    except BookingError:
        raise HTTPException(404, gettext("没有这个预约窗口。")) from None
    days = bk.days(counter_id)
    if day is None or not any(d == day for d, _ in days):
        day = first_free(bk, counter_id, days)
    free = bk.free(counter_id, day)
    values = {"person": "", "id_number": "", "contact": "", "start": "", **ctx.pop("values", {})}
    return show(
        request, "portal/booking_slots.html", status, counter=counter, days=days, day=day, free=free,
        values=values, error=ctx.pop("error", ""), **ctx,
    )  # fmt: skip


def first_free(bk: Bookings, counter_id: str, days: list[tuple[date, bool]]) -> date:
    """The day the page opens on: the first with a free seat (late in the day, today has none left),
    else the first open day, else today."""
    opened = [d for d, is_open in days if is_open]
    for d in opened:
        if any(n > 0 for _, n in bk.free(counter_id, d)):
            return d
    return opened[0] if opened else days[0][0]


async def slots_page(request: Request) -> Response:
    """``GET /booking/{counter}?day=YYYY-MM-DD``: the days and the free slots of one of them."""
    day = parse_day(request.query_params.get("day", ""))
    return await run_in_threadpool(slot_page, request, request.path_params["counter"], day)


async def book(request: Request) -> Response:
    """``POST /booking/{counter}``: book the chosen slot; the number and the query code, once."""
    form = await checked_form(request)
    counter_id = request.path_params["counter"]
    values = {k: text(form, k) for k in ("person", "id_number", "contact", "start")}
    day = parse_day(text(form, "day"))
    bk = bookings_of(request)
    if day is None:
        return await run_in_threadpool(slot_page, request, counter_id, None, 422, error=gettext("请选择日期。"))
    if not values["start"]:
        return await run_in_threadpool(
            slot_page, request, counter_id, day, 422, values=values, error=gettext("请选择一个时段。")
        )
    filer = filing_limits.per_day(request, "booking", bk.rules.bookings_per_address)
    try:
        made, code = await run_in_threadpool(
            lambda: bk.book(
                counter_id, day, values["start"], person=values["person"], id_number=values["id_number"],
                contact=values["contact"], filer=filer,
            )
        )  # fmt: skip
    except BookingError as exc:
        status = 429 if isinstance(exc, Busy) else 422
        page = await run_in_threadpool(slot_page, request, counter_id, day, status, values=values, error=str(exc))
        return busy(page, exc)
    return show(request, "portal/booking_done.html", booking=made, code=code, counter=bk.counter(made.counter))


def manage_page(request: Request, b: Booking, code: str, status: int = 200, **ctx: Any) -> Response:
    """The booking with its move choices; a booking whose window is no longer in appointments.yaml
    is shown (by its id) with cancel only."""
    bk = bookings_of(request)
    counter = bk.rules.counters.get(b.counter)
    choices: list[tuple[date, list[Any]]] = []
    if b.active and counter is not None:
        for d, is_open in bk.days(b.counter):
            if is_open:
                free = [(s, n) for s, n in bk.free(b.counter, d) if n > 0]
                if free:
                    choices.append((d, free))
    return show(
        request, "portal/booking_manage.html", status, booking=b, code=code, counter=counter,
        counter_name=counter.name if counter is not None else b.counter, choices=choices,
        **{"error": "", "flash": "", **ctx},
    )  # fmt: skip


async def manage(request: Request) -> Response:
    """``POST /booking-manage`` (number and query code): the booking, with move and cancel.
    ``POST /booking-manage/move`` and ``/cancel`` do those, with the number and code again."""
    form = await checked_form(request)
    action = request.path_params.get("action", "")
    if action not in ("", "move", "cancel"):
        raise HTTPException(404, gettext("没有这个操作。"))
    number, code = text(form, "number"), text(form, "query_code")[: query_codes.MAX_TYPED + 1]
    bk = bookings_of(request)
    try:
        b = await run_in_threadpool(bk.verify, number, code, addresses.of(request))
    except query_codes.Throttled as exc:
        return throttled(request, exc)
    except BookingError as exc:
        return show(
            request,
            "portal/booking_index.html",
            404,
            counters=list(bk.rules.counters.values()),
            items={},
            error=str(exc),
            number=number,
        )
    try:
        version = int(text(form, "version")[:10] or -1)
    except ValueError:
        version = -1
    if action and version != b.version:
        return await run_in_threadpool(
            manage_page, request, b, code, 409, error=gettext("这条预约刚刚有了变化，请刷新后再试。")
        )
    try:
        if action == "cancel":
            b = await run_in_threadpool(bk.cancel, b)
            return await run_in_threadpool(manage_page, request, b, code, flash=gettext("预约已取消。"))
        if action == "move":
            day_start = text(form, "slot")[:20].split("|")
            day = parse_day(day_start[0]) if len(day_start) == 2 else None
            if day is None:
                raise BookingError(gettext("请选择新的时段。"))
            b = await run_in_threadpool(bk.move, b, day, day_start[1])
            return await run_in_threadpool(manage_page, request, b, code, flash=gettext("已改约到新的时段。"))
    except BookingError as exc:
        fresh = bk.get(b.number) or b
        return await run_in_threadpool(manage_page, request, fresh, code, 422, error=str(exc))
    return await run_in_threadpool(manage_page, request, b, code)


def visit_offer(request: Request) -> tuple[str, dict[str, Any], dict[str, Any]]:
    code = request.path_params["code"]
    d = deps(request)
    offered = visits.offer(d.service, code)
    if offered is None:
        raise HTTPException(404, gettext("这个事项不提供上门服务。"))
    item = d.service.catalogue.data(d.service.catalogue.items[code]) or {}
    return code, offered, item


async def home_visit_form(request: Request) -> Response:
    """``GET /home-visit/{code}``: ask for a home visit on an item that offers them."""
    code, offered, item = visit_offer(request)
    return show(request, "portal/home_visit.html", item=item, code=code, offered=offered, values={}, error="")


async def home_visit(request: Request) -> Response:
    """``POST /home-visit/{code}``: the request is recorded; its number and query code, once."""
    code, offered, item = visit_offer(request)
    form = await checked_form(request)
    values = {k: text(form, k) for k in ("qualifies", "person", "contact", "address", "detail")}
    limit = bookings_of(request).rules.home_visits_per_address
    filer = filing_limits.per_day(request, "home_visit", limit)
    service = deps(request).service
    try:
        made, typed = await run_in_threadpool(lambda: visits.request(service, code, **values, filer=filer))
    except BookingError as exc:
        page = show(
            request, "portal/home_visit.html", 429 if isinstance(exc, Busy) else 422, item=item, code=code,
            offered=offered, values=values, error=str(exc),
        )  # fmt: skip
        return busy(page, exc)
    return show(
        request, "portal/home_visit.html", item=item, code=code, offered=offered, values={}, error="", made=made,
        typed=typed,
    )  # fmt: skip


def visit_page(request: Request, v: visits.HomeVisit, typed: str, status: int = 200, **ctx: Any) -> Response:
    cat = deps(request).service.catalogue
    doc = cat.items.get(v.item_code)
    name = (cat.data(doc) or {}).get("name", v.item_code) if doc is not None else v.item_code
    return show(
        request, "portal/home_visit_manage.html", status, visit=v, typed=typed, item_name=name,
        **{"error": "", "flash": "", **ctx},
    )  # fmt: skip


async def home_visit_manage(request: Request) -> Response:
    """``POST /home-visit-manage`` (number and query code): the request, its state and visit time;
    ``POST /home-visit-manage/cancel`` cancels it (the number, code and version again)."""
    form = await checked_form(request)
    action = request.path_params.get("action", "")
    if action not in ("", "cancel"):
        raise HTTPException(404, gettext("没有这个操作。"))
    number, typed = text(form, "number"), text(form, "query_code")[: query_codes.MAX_TYPED + 1]
    service = deps(request).service
    try:
        v = await run_in_threadpool(visits.verify, service, number, typed, addresses.of(request))
    except query_codes.Throttled as exc:
        return throttled(request, exc)
    except BookingError as exc:
        bk = bookings_of(request)
        return show(
            request, "portal/booking_index.html", 404, counters=list(bk.rules.counters.values()), items={},
            visit_error=str(exc), visit_number=number,
        )  # fmt: skip
    if action == "cancel":
        try:
            if text(form, "version")[:10] != str(v.version):
                raise BookingError(gettext("这条预约刚刚有了变化，请刷新后再试。"))
            v = await run_in_threadpool(visits.cancel, service, v)
        except BookingError as exc:
            return await run_in_threadpool(visit_page, request, v, typed, 409, error=str(exc))
        return await run_in_threadpool(visit_page, request, v, typed, flash=gettext("上门服务申请已取消。"))
    return await run_in_threadpool(visit_page, request, v, typed)


ROUTES: list[Route] = [  # who may use each: engine.service.access.ROUTES
    Route("/booking", index, methods=["GET"]),
    Route("/booking/{counter}", slots_page, methods=["GET"]),
    Route("/booking/{counter}", book, methods=["POST"]),
    Route("/booking-manage", manage, methods=["POST"]),
    Route("/booking-manage/{action}", manage, methods=["POST"]),
    Route("/home-visit/{code}", home_visit_form, methods=["GET"]),
    Route("/home-visit/{code}", home_visit, methods=["POST"]),
    Route("/home-visit-manage", home_visit_manage, methods=["POST"]),
    Route("/home-visit-manage/{action}", home_visit_manage, methods=["POST"]),
]
