"""The channels a notification goes out by, behind one small interface (:class:`Sender`): e-mail over SMTP,
and SMS through a pluggable sender — a file (or the console) by default, an HTTP gateway given its URL.

Settings come from the environment (``yangguang serve`` and ``yangguang notify send`` turn their options into
these variables): ``YANGGUANG_SMTP_HOST`` (no host: no e-mail is sent; the messages wait), ``_PORT`` (default
25, 465 with ``ssl``), ``_FROM``, ``_TLS`` (none, starttls or ssl), ``_USER``, ``_PASSWORD``;
``YANGGUANG_SMS_URL`` (an HTTP gateway: each message is POSTed as JSON) or ``YANGGUANG_SMS_FILE`` (one JSON
line per message; ``-`` is standard output; default ``notifications-sms.log`` in the server's folder).
A sender raises :class:`SendFailed` with a short reason; the worker records it and tries again later.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from engine.ledger.outbox import Message

__all__ = ["FileSms", "HttpSms", "SendFailed", "Sender", "Smtp", "senders_from_env"]

TLS_MODES = ("none", "starttls", "ssl")
TIMEOUT = 20.0  # seconds a channel may take before the try counts as failed
_FILE_LOCK = threading.Lock()  # one line at a time from the worker's threads


class SendFailed(Exception):
    """A channel refused or could not take a message; ``str()`` is what the outbox records."""


class Sender(Protocol):
    def send(self, msg: Message) -> str:
        """Hand the message to the channel; what the channel answered (recorded), or SendFailed."""
        ...


@dataclass(frozen=True, slots=True)
class Smtp:
    host: str
    port: int = 25
    sender: str = "noreply@localhost"
    tls: str = "none"
    user: str = ""
    password: str = ""

    def send(self, msg: Message) -> str:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, msg.address, msg.subject
        mail["Date"] = formatdate(localtime=False)
        # the outbox key in the Message-ID: a receiving system can tell a resent copy (see the worker)
        mail["Message-ID"] = make_msgid(idstring=msg.key.replace(":", "."), domain="yangguang")
        mail["Content-Language"] = "zh-CN" if msg.language == "zh" else "en"
        mail.set_content(msg.body)
        try:
            if self.tls == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=TIMEOUT, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            with client:
                if self.tls == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, self.password)
                refused = client.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"SMTP {self.host}:{self.port}: {_short(exc)}") from exc
        if refused:
            raise SendFailed(f"SMTP refused {', '.join(refused)}")
        return f"SMTP {self.host}:{self.port} accepted"


@dataclass(slots=True)
class FileSms:
    """Writes one JSON line per SMS (to, text, key) to a file, or standard output for ``-``: the default
    SMS sender, for a center without a gateway yet and for tests."""

    path: str

    def send(self, msg: Message) -> str:
        line = json.dumps({"to": msg.address, "text": msg.body, "key": msg.key}, ensure_ascii=False) + "\n"
        try:
            with _FILE_LOCK:
                if self.path == "-":
                    sys.stdout.write(line)
                    sys.stdout.flush()
                else:
                    with Path(self.path).open("a", encoding="utf-8") as out:
                        out.write(line)
        except OSError as exc:
            raise SendFailed(f"SMS file {self.path}: {exc.strerror}") from exc
        return f"written to {self.path}"


@dataclass(frozen=True, slots=True)
class HttpSms:
    """POSTs ``{"to", "text", "key"}`` as JSON to a gateway's URL; any 2xx answer means it took the message."""

    url: str

    def send(self, msg: Message) -> str:
        body = json.dumps({"to": msg.address, "text": msg.body, "key": msg.key}, ensure_ascii=False).encode()
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            raise SendFailed(f"SMS gateway answered HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise SendFailed(f"SMS gateway {self.url}: {_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def senders_from_env(env: Mapping[str, str], folder: Path | None = None) -> dict[str, Sender]:
    """The configured channels: ``{"email": Smtp, "sms": …}``; e-mail only with a host. ValueError names a
    bad setting (the commands turn it into a clean message)."""
    out: dict[str, Sender] = {}
    host = env.get("YANGGUANG_SMTP_HOST", "").strip()
    tls = env.get("YANGGUANG_SMTP_TLS", "").strip() or "none"
    if tls not in TLS_MODES:
        raise ValueError(f"YANGGUANG_SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
    raw_port = env.get("YANGGUANG_SMTP_PORT", "").strip() or ("465" if tls == "ssl" else "25")
    if not (raw_port.isascii() and raw_port.isdigit() and 0 < int(raw_port) < 65536):
        raise ValueError(f"YANGGUANG_SMTP_PORT must be a port number, not {raw_port!r}")
    if host:
        out["email"] = Smtp(
            host,
            int(raw_port),
            env.get("YANGGUANG_SMTP_FROM", "").strip() or "noreply@localhost",
            tls,
            env.get("YANGGUANG_SMTP_USER", ""),
            env.get("YANGGUANG_SMTP_PASSWORD", ""),
        )
    url = env.get("YANGGUANG_SMS_URL", "").strip()
    if url:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"YANGGUANG_SMS_URL must be an http:// or https:// URL, not {url!r}")
        out["sms"] = HttpSms(url)
    else:
        default = str((folder or Path(".")) / "notifications-sms.log")
        out["sms"] = FileSms(env.get("YANGGUANG_SMS_FILE", "").strip() or default)
    return out
