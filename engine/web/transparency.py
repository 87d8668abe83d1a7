"""``GET /transparency/checkpoints``: the signed checkpoints of the case record and the public keys that
signed them, what an outside auditor saves and later checks with ``yangguang audit verify``. The
checkpoints are made and checked in engine.ledger.transparency; this is only their publication."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.base import input_guard
from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.ledger.db import read_only
from engine.ledger.transparency import LIST_DEFAULT, LIST_MAX, listing
from engine.web.deps import reader

BAD_LIMIT = N_("limit 须为 1 到 {most} 的整数。")


async def checkpoints(request: Request) -> Response:
    raw = request.query_params.get("limit", str(LIST_DEFAULT))
    if not 1 <= (input_guard.whole(raw) or 0) <= LIST_MAX:
        raise HTTPException(400, _(BAD_LIMIT).format(most=LIST_MAX))
    with read_only(reader(request).db) as conn:
        body = listing(conn, int(raw))
    return JSONResponse(body, headers={"Cache-Control": "no-cache"})


__all__ = ["checkpoints"]
