"""A real SMTP server on 127.0.0.1 for the notification tests (aiosmtpd): it keeps every message it
accepted, and can be stopped and started again on the same port (an outage and its end)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from . import free_port


class _Keep:
    def __init__(self, inbox: list[EmailMessage]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.inbox.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


class SmtpServer:
    """``start()``/``stop()``; ``inbox`` holds the messages received, across restarts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox: list[EmailMessage] = []
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(_Keep(self.inbox), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def env(self) -> dict[str, str]:
        """The settings that point the engine's e-mail sender here."""
        return {"YANGGUANG_SMTP_HOST": "127.0.0.1", "YANGGUANG_SMTP_PORT": str(self.port),
                "YANGGUANG_SMTP_FROM": "yangguang@example.org"}  # fmt: skip
