"""The case JSON API (engine.web.api) as the tests drive it, in-process: ``Client`` speaks ASGI to the app
directly (one event loop per request, like a fresh connection), and the helpers sign in, open drafts,
upload and build an application. The fixture that serves an API with given upload limits is
``make_api`` in tests/web/conftest.py."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

from engine.rules.clock import ManualClock
from engine.service.cases import CaseService
from engine.service.samples import sample_application

from .portal import PDF

RESALE = "QQ-REALESTATE-DJ-102"  # 不动产转移登记（二手房买卖） (realestate), with a fee
ROLES = ("window", "reviewer", "undertaker", "decider", "issuer")  # each an account named after its role

class Reply:
    def __init__(self, status_code: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.status_code, self.content = status_code, body
        self.headers = dict(headers or {})  # lower-case names
        self.text = body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Client:
    """Just enough of an HTTP client for these tests, speaking ASGI to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Reply:
        return self.request("POST", path, **kw)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        files: Mapping[str, tuple[str, bytes] | tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        head = {k.lower(): v for k, v in (headers or {}).items()}
        body = content or b""
        if json is not None:
            body, head["content-type"] = _json_bytes(json), "application/json"
        if files is not None:
            boundary = uuid.uuid4().hex
            parts = []
            for field, (name, data, *ctype) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                    f"Content-Type: {ctype[0] if ctype else 'application/octet-stream'}\r\n\r\n".encode()
                    + data
                    + b"\r\n"
                )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            head["content-type"] = f"multipart/form-data; boundary={boundary}"
        head["content-length"] = str(len(body))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(params or {}).encode(),
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in head.items()],
            "client": ("127.0.0.1", 1234),
            "server": ("testserver", 80),
        }
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]
        sent: list[Message] = []

        async def receive() -> Message:
            if chunks:
                chunk = chunks.pop(0)
                return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        async def call() -> None:
            await self.app(scope, receive, send)

        asyncio.run(call())
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return Reply(start["status"], body, {k.decode().lower(): v.decode() for k, v in start.get("headers", [])})


#: what an API fixture yields: the client, the service behind it, its clock, the uploads folder
World = tuple[Client, CaseService, ManualClock, Path]


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def token(client: Client, role: str) -> dict[str, str]:
    """The Authorization header of a session for the account named ``role`` (password ``<role>-secret``)."""
    r = client.post("/api/session", json={"username": role, "password": f"{role}-secret"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def new_draft(client: Client) -> str:
    r = client.post("/api/drafts")
    assert r.status_code == 201, r.text
    return str(r.json()["draft"])


def upload(client: Client, content: bytes = PDF, name: str = "a.pdf", draft: str | None = None) -> Any:
    """Into ``draft`` (a new one by default): every upload belongs to a draft or a case."""
    headers = {"X-Draft-Token": draft or new_draft(client)}
    return client.post("/api/uploads", files={"file": (name, content, "application/octet-stream")}, headers=headers)


def application(client: Client, svc: CaseService, key: str = "k1", **choices: Any) -> dict[str, Any]:
    """The JSON body of a valid RESALE application, its materials uploaded into a new draft."""
    data, needed = sample_application(svc.catalogue, svc.catalogue.items[RESALE], choices)
    draft = new_draft(client)
    uploads = {m: [upload(client, draft=draft).json()["upload_id"]] for m in needed}
    return {"item": RESALE, "data": data, "uploads": uploads, "idempotency_key": key, "draft": draft}


def error(r: Any, status: int) -> dict[str, Any]:
    """The body of the one error shape, after checking the answer is it with ``status``."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    return dict(body["error"])
