"""The notification outbox page (/admin/outbox): the messages to applicants and staff, whether each was sent,
and a 重试 for those given up or failing.

Administrators and supervisors may use it (engine.service.access.OUTBOX). Each message shows its status, what it
is about and its channel in words, its address masked (engine.base.masking: the page is for seeing that notices go
out, not for reading applicants' addresses), the case it is about as a link, its tries and the channel's last
answer, and its times in local time. 重试 puts a failed or given-up message back in the queue, due at once, if it
has not changed since the page was read (its version), so a sender's try or a colleague's retry is not undone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.base import input_guard, masking, wording
from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.catalogue.notifications import CASE_EVENTS
from engine.ledger import outbox
from engine.service import notifications
from engine.web.deps import deps
from engine.web.desk.staff import Staff, show, staff_route

#: the newest this many messages are listed
LIMIT = 200
STATUS_WORDS = {
    "queued": N_("待发送"),
    "sending": N_("发送中"),
    "sent": N_("已发送"),
    "failed": N_("失败待重试"),
    "dead": N_("已放弃"),
}
KIND_WORDS = {
    "accepted": N_("受理通知"),
    "supplement_requested": N_("补正通知"),
    "paused": N_("中止计时通知"),
    "extended": N_("延期通知"),
    "decided": N_("决定通知"),
    "ready_to_collect": N_("办结领取通知"),
    "complaint_answered": N_("诉求答复"),
    "appointment_reminder": N_("预约提醒"),
    "staff_digest": N_("工作人员每日提醒"),
}
CHANNEL_WORDS = {"email": N_("电子邮件"), "sms": N_("短信")}
RETRYABLE = ("failed", "dead")


def masked_address(channel: str, address: str) -> str:
    """An address as the page shows it: a phone with its middle hidden, an e-mail with its name hidden."""
    return masking.mask_phone(address) if channel == "sms" else masking.mask_text(address)


def row_view(r: Any) -> dict[str, Any]:
    """One message as the page shows it: words and local times, never codes or UTC."""
    return {
        "id": r.id,
        "version": r.version,
        "status": r.status,
        "status_text": _(STATUS_WORDS[r.status]) if r.status in STATUS_WORDS else r.status,
        "kind_text": _(KIND_WORDS[r.kind]) if r.kind in KIND_WORDS else r.kind,
        "channel_text": _(CHANNEL_WORDS[r.channel]) if r.channel in CHANNEL_WORDS else r.channel,
        "address": masked_address(r.channel, r.address),
        "ref": r.ref or "",
        "case_link": bool(r.ref) and r.kind in CASE_EVENTS,
        "attempts": r.attempts,
        "error": masking.mask_text(r.last_error) if r.last_error and r.status != "sent" else "",
        "created": wording.local_time(r.created_at),
        "sent": wording.local_time(r.sent_at) if r.status == "sent" else "",
        "next": wording.local_time(r.next_attempt_at) if r.status in ("queued", "failed") else "",
        "retryable": r.status in RETRYABLE,
    }


def page_data(db: Any, status: str | None) -> dict[str, Any]:
    rows, counts = notifications.outbox_listing(db, status, LIMIT)
    return {"rows": [row_view(r) for r in rows], "counts": counts, "total": sum(counts.values())}


def status_of(request: Request) -> str | None:
    """The status filter asked for (``?status=``); anything else, or nothing: every message."""
    asked = request.query_params.get("status", "")
    return asked if asked in outbox.STATUSES else None


async def render(request: Request, staff: Staff, status: str | None, code: int = 200, error: str = "") -> Response:
    data = await run_in_threadpool(page_data, deps(request).service.db, status)
    done = request.query_params.get("done") == "retried"
    filters = [(key, _(words)) for key, words in STATUS_WORDS.items()]
    return show(
        request, staff, "admin/outbox.html", code, shown=status or "", filters=filters, limit=LIMIT,
        done=done and not error, error=error, **data,
    )  # fmt: skip


async def index(request: Request, staff: Staff) -> Response:
    """``GET /admin/outbox?status=…``: the newest messages, of one status or all."""
    return await render(request, staff, status_of(request))


async def retry(request: Request, staff: Staff) -> Response:
    """``POST /admin/outbox/ID/retry`` (``version``, ``status``: the filter to return to): queue the message
    again; the page again with why not (409) when it changed meanwhile or is not failed or given up."""
    service = deps(request).service
    form = await request.form()
    back = str(form.get("status", ""))
    back = back if back in outbox.STATUSES else ""
    ident = input_guard.whole(request.path_params["id"], 9)
    version = input_guard.whole(str(form.get("version", "")), 9)
    if ident is None:
        raise HTTPException(404, _("没有这条通知。"))
    if version is None:
        raise HTTPException(400, _("请从通知发送页面重试。"))

    done = await run_in_threadpool(notifications.retry, service.db, ident, version, service.clock.now())
    if done is None:
        raise HTTPException(404, _("没有这条通知。"))
    if not done:
        why = _("这条通知已有变化（已在发送、已发出或已被他人重试），未再排队。请看它现在的状态。")
        return await render(request, staff, back or None, 409, why)
    query = urlencode({"status": back, "done": "retried"} if back else {"done": "retried"})
    return RedirectResponse(f"/admin/outbox?{query}", status_code=303)


ROUTES: list[Route] = [  # who may use each: engine.service.access.ROUTES (OUTBOX)
    staff_route("GET", "/admin/outbox", index),
    staff_route("POST", "/admin/outbox/{id}/retry", retry),
]
