"""Security headers on every response (pure ASGI, no per-request objects).

The CSP allows only this origin's scripts (inline event handlers and inline scripts are
refused; JSON data blocks are not scripts), inline styles (the templates carry their small
stylesheet), images from this origin and data: URLs, no framing and no plug-ins.

A response to a request whose scheme is https also gets HSTS (:data:`HSTS`): browsers then
use https only for this host and its subdomains for a year. Plain http never gets it (it
would be ignored, and on a misconfigured proxy could pin a site that has no TLS). Behind a
TLS-terminating proxy the scheme comes from its X-Forwarded-Proto, which uvicorn believes
only from ``yangguang serve --forwarded-allow-ips`` addresses (default 127.0.0.1 and ::1).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = (*HEADERS, HSTS) if scope.get("scheme") == "https" else HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in headers if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
