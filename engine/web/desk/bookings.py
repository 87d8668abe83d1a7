"""The window's appointments (预约) and the department's home visits (上门服务) on the desk, and the hall's call screen.

``/desk/bookings?counter=…&day=…`` is a window's day list: every booking in slot order with the
person masked (name and phone as supervision publishes them), its state, the queue number given on
arrival, and the forms to mark an arrival (签到), to call the next person (叫号) and to link the case a
booked applicant filed. ``/desk/bookings/{counter}/ticket/{number}`` is the printable queue ticket;
``/hall/{counter}`` is the hall's screen: the number called last, large, and how many wait (no
names), refreshing itself. ``/desk/home-visits`` lists a department's home-visit requests to
schedule and mark done. Who may work a window: engine.service.access.may_handle_bookings.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.base.dates import TZ
from engine.base.i18n import gettext
from engine.base.masking import mask_name, mask_phone
from engine.rules.slots import Counter
from engine.service import access
from engine.service import bookings_desk as desk
from engine.service import bookings_visits as visits
from engine.service.bookings import BookingError
from engine.web.deps import deps
from engine.web.desk.staff import Staff, show, staff_route
from engine.web.portal.booking import STATES, bookings_of, day_words, parse_day

NO_COUNTER = desk.NO_COUNTER
FLASHES = ("linked", "nobody", "called")  # what the pages redirect with; anything else is not shown


def counters_for(request: Request, staff: Staff) -> list[Counter]:
    """The windows this member of staff may see (work, or watch as a supervisor)."""
    return [
        c for c in bookings_of(request).rules.counters.values() if access.may_see_bookings(staff.actor, c.department)
    ]


def counter_of(request: Request, staff: Staff, counter_id: str) -> Counter:
    """The route's window, 404 for one that does not exist or is another department's (the same answer)."""
    for c in counters_for(request, staff):
        if c.id == counter_id:
            return c
    raise HTTPException(404, gettext(NO_COUNTER))


def page(
    request: Request, staff: Staff, counter_id: str, day: date | None, status: int = 200, **extra: Any
) -> Response:
    mine = counters_for(request, staff)
    bk = bookings_of(request)
    chosen = next((c for c in mine if c.id == counter_id), mine[0] if mine else None)
    day = day or bk.today()
    rows = desk.day_list(bk, staff.actor, chosen.id, day) if chosen else []
    may_act = chosen is not None and access.may_handle_bookings(staff.actor, chosen.department)
    called = None
    if chosen is not None and extra.get("flash") == "called":  # the number this window called last, not the URL's
        called = desk.now_serving(bk, chosen.id)[0]
    return show(
        request, staff, "desk/bookings.html", status, counters=mine, counter=chosen, day=day, rows=rows,
        today=bk.today(), day_words=day_words, states=STATES, mask_name=mask_name, mask_phone=mask_phone,
        may_act=may_act, called=called, **{"flash": "", "error": "", **extra},
    )  # fmt: skip


async def day_list(request: Request, staff: Staff) -> Response:
    """``GET /desk/bookings?counter=…&day=YYYY-MM-DD``."""
    q = request.query_params
    counter, day = q.get("counter", "")[:64], parse_day(q.get("day", ""))
    flash = q.get("done", "")
    return await run_in_threadpool(page, request, staff, counter, day, flash=flash if flash in FLASHES else "")


async def act(request: Request, staff: Staff) -> Response:
    """``POST /desk/bookings/{counter}/arrive | call-next | link``: engine.service.bookings_desk checks
    the window is this person's to work and the booking is that window's before it changes anything."""
    counter_id = request.path_params["counter"][:64]
    action = request.path_params["action"]
    if action not in ("arrive", "call-next", "link"):
        raise HTTPException(404, gettext("没有这个操作。"))
    form = await request.form(max_files=0, max_fields=200)
    number = str(form.get("number", ""))[:32]
    try:
        version = int(str(form.get("version", ""))[:10] or -1)
    except ValueError:
        version = -1
    bk, actor = bookings_of(request), staff.actor
    try:
        if action == "arrive":
            b = await run_in_threadpool(desk.arrive, bk, actor, counter_id, number, version)
            return RedirectResponse(f"/desk/bookings/{b.counter}/ticket/{b.number}", status_code=303)
        if action == "call-next":
            called = await run_in_threadpool(desk.call_next, bk, actor, counter_id)
            done = "called" if called else "nobody"
            return RedirectResponse(f"/desk/bookings?counter={counter_id}&done={done}", status_code=303)
        case_number = str(form.get("case_number", ""))
        await run_in_threadpool(desk.link_case, bk, actor, counter_id, number, version, case_number)
        return RedirectResponse(f"/desk/bookings?counter={counter_id}&done=linked", status_code=303)
    except desk.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except BookingError as exc:
        return await run_in_threadpool(page, request, staff, counter_id, None, 422, error=str(exc))


async def ticket(request: Request, staff: Staff) -> Response:
    """``GET /desk/bookings/{counter}/ticket/{number}``: the printable queue ticket."""
    counter = counter_of(request, staff, request.path_params["counter"])
    b = await run_in_threadpool(bookings_of(request).get, request.path_params["number"])
    if b is None or b.counter != counter.id or b.queue_number is None:
        raise HTTPException(404, gettext("没有这张排队票。"))
    return show(request, staff, "desk/ticket.html", links=False, booking=b, counter=counter, day_words=day_words)


async def hall(request: Request) -> Response:
    """``GET /hall/{counter}``: the hall's call screen (queue numbers only), refreshing every 10 seconds."""
    bk = bookings_of(request)
    try:
        counter = bk.counter(request.path_params["counter"])
    except BookingError:
        raise HTTPException(404, gettext(NO_COUNTER)) from None
    called, waiting = await run_in_threadpool(desk.now_serving, bk, counter.id)
    response = deps(request).render("hall.html", counter=counter, called=called, waiting=waiting)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Refresh"] = "10"  # the screen follows the calls without any script
    return response


def visits_page(request: Request, staff: Staff, status: int = 200, **extra: Any) -> Response:
    """The home-visit requests this person may see, a page at a time: the scheduling department reads
    names, phones and addresses in full; the front desk and supervisors (who see every department's) masked."""
    service = deps(request).service
    actor = staff.actor
    everyone = access.center_wide(actor) or access.holds(actor, (access.FRONT_DESK,))
    try:
        number = max(1, min(int(request.query_params.get("page", "1")[:6]), 10_000))
    except ValueError:
        number = 1
    rows, more = visits.listing(service, None if everyone else (actor.department or "-"), number)
    full = {v.number for v in rows if access.may_schedule_home_visit(actor, v.department)}
    return show(
        request, staff, "desk/home_visits.html", status, rows=rows, groups=visits.GROUPS, full=full,
        mask_name=mask_name, mask_phone=mask_phone, mask_address=visits.mask_address, page=number, more=more,
        **{"flash": "", "error": "", **extra},
    )  # fmt: skip


async def home_visits(request: Request, staff: Staff) -> Response:
    """``GET /desk/home-visits?page=N``: the department's home-visit requests."""
    flash = request.query_params.get("done", "")
    return await run_in_threadpool(visits_page, request, staff, flash=flash if flash in ("schedule", "done") else "")


async def home_visit_act(request: Request, staff: Staff) -> Response:
    """``POST /desk/home-visits/{number}/schedule | done``: the scheduling department only."""
    service = deps(request).service
    found = await run_in_threadpool(visits.get, service, request.path_params["number"])
    if found is None or not access.may_schedule_home_visit(staff.actor, found.department):
        raise HTTPException(404, gettext("没有这条上门服务申请。"))
    form = await request.form(max_files=0, max_fields=200)
    action = request.path_params["action"]
    try:
        if str(form.get("version", "")) != str(found.version):
            raise BookingError(gettext("这条预约刚刚有了变化，请刷新后再试。"))
        if action == "schedule":
            day = parse_day(str(form.get("day", ""))[:10])
            try:
                at = time.fromisoformat(str(form.get("time", ""))[:5])
            except ValueError:
                at = None
            if day is None or at is None:
                raise BookingError(gettext("请填写上门的日期和时间。"))
            when = datetime.combine(day, at, tzinfo=TZ)
            note = str(form.get("note", ""))
            await run_in_threadpool(visits.schedule, service, found, when, staff.actor.username, note)
        elif action == "done":
            await run_in_threadpool(visits.done, service, found)
        else:
            raise HTTPException(404, gettext("没有这个操作。"))
    except BookingError as exc:
        return await run_in_threadpool(visits_page, request, staff, 422, error=str(exc))
    return RedirectResponse(f"/desk/home-visits?done={action}", status_code=303)


ROUTES: list[Route] = [  # who may use each: engine.service.access.ROUTES
    staff_route("GET", "/desk/bookings", day_list),
    staff_route("POST", "/desk/bookings/{counter}/{action}", act),
    staff_route("GET", "/desk/bookings/{counter}/ticket/{number}", ticket),
    staff_route("GET", "/desk/home-visits", home_visits),
    staff_route("POST", "/desk/home-visits/{number}/{action}", home_visit_act),
    Route("/hall/{counter}", hall, methods=["GET"]),
]
