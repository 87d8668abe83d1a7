"""The notification worker: produces what is due (engine.service.notifications: case events, the staff digest;
engine.service.notifications_feeds: appointment reminders)
and sends the outbox's due messages, with retries and exponential backoff, recording every try.

Each message is claimed by a guarded update before it is sent (engine.ledger.outbox.claim), so several
server processes and ``yangguang notify send`` may run at once and no row is sent by two of them. A
failed try is retried after ``backoff * 2**(attempts - 1)`` (at most ``MAX_DELAY``); after
``max_attempts`` the message is ``dead`` and stays in the outbox for a person to look at and retry.
One exception: a process that dies after the channel took a message but before the outbox recorded it
leaves the row claimed; once the claim runs out (``CLAIM``) it is sent again — the e-mail's Message-ID
carries the outbox key, so a mail system can recognise that one copy.

A channel that fails only ever delays its messages: nothing here runs inside a case action.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from engine.catalogue.model import Catalogue
from engine.ledger import outbox
from engine.rules.calendar import WorkCalendar
from engine.service import notifications
from engine.service import notifications_feeds as feeds
from engine.service.cases import CaseService
from engine.service.notification_senders import Sender, SendFailed

__all__ = ["Report", "Runner", "Settings", "cycle", "send_due", "settings_from_env"]

log = logging.getLogger("yangguang.notifications")

CLAIM = timedelta(minutes=5)  # how long a claimed message is left to its sender
MAX_DELAY = timedelta(hours=6)
NO_SENDER = "no sender is configured for this channel"


@dataclass(frozen=True, slots=True)
class Settings:
    max_attempts: int = 8
    backoff: timedelta = timedelta(minutes=1)
    batch: int = 100
    digest_hour: int = 8  # local time from which the staff digest of a working day is queued
    reminder_hour: int = feeds.REMINDER_HOUR  # … and the working day before an appointment, its reminder

    def delay(self, attempts: int) -> timedelta:
        """How long after its ``attempts``-th failed try a message is tried again."""
        return min(self.backoff * (2 ** max(attempts - 1, 0)), MAX_DELAY)


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """``YANGGUANG_NOTIFY_MAX_ATTEMPTS`` (default 8), ``YANGGUANG_NOTIFY_BACKOFF_SECONDS`` (default 60) and
    ``YANGGUANG_NOTIFY_REMINDER_HOUR`` (0–23, default 16); ValueError naming a bad one."""
    values: dict[str, int] = {}
    for name, default in (("MAX_ATTEMPTS", 8), ("BACKOFF_SECONDS", 60)):
        raw = env.get(f"YANGGUANG_NOTIFY_{name}", "").strip() or str(default)
        if not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
            raise ValueError(f"YANGGUANG_NOTIFY_{name} must be a whole number, 1 or more, not {raw!r}")
        values[name] = int(raw)
    raw = env.get("YANGGUANG_NOTIFY_REMINDER_HOUR", "").strip() or str(feeds.REMINDER_HOUR)
    if not (raw.isascii() and raw.isdigit() and int(raw) <= 23):
        raise ValueError(f"YANGGUANG_NOTIFY_REMINDER_HOUR must be an hour, 0 to 23, not {raw!r}")
    return Settings(
        max_attempts=values["MAX_ATTEMPTS"],
        backoff=timedelta(seconds=values["BACKOFF_SECONDS"]),
        reminder_hour=int(raw),
    )


@dataclass(slots=True)
class Report:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def send_due(
    db: Engine,
    senders: Mapping[str, Sender],
    now: datetime,
    settings: Settings = Settings(),
    report: Report | None = None,
) -> Report:
    """Send every message due at ``now`` (in batches), recording each try; what happened."""
    out = report if report is not None else Report()
    while True:
        with db.begin() as conn:
            claimed = outbox.claim(conn, now, now + CLAIM, settings.batch)
        if not claimed:
            return out
        for msg in claimed:
            _send_one(db, senders, msg, now, settings, out)
        if len(claimed) < settings.batch:
            return out


def _send_one(
    db: Engine, senders: Mapping[str, Sender], msg: outbox.Message, now: datetime, settings: Settings, out: Report
) -> None:
    sender = senders.get(msg.channel)
    error: str | None = None
    detail = ""
    try:
        if sender is None:
            raise SendFailed(NO_SENDER)
        detail = sender.send(msg)
    except SendFailed as exc:
        error = str(exc)
    except Exception as exc:  # a sender's bug must not stop the others; recorded like a failure
        log.exception("notification sender %s failed", msg.channel)
        error = f"{type(exc).__name__}: {exc}"[:300]
    attempts = msg.attempts + 1
    retry_at = now + settings.delay(attempts) if error is not None and attempts < settings.max_attempts else None
    with db.begin() as conn:
        outbox.finish(conn, msg, now, error, retry_at, detail)
    if error is None:
        out.sent += 1
    elif retry_at is None:
        out.dead += 1
        out.errors.append(f"{msg.key}: {error}")
        log.warning("notification %s given up after %d attempts: %s", msg.key, attempts, error)
    else:
        out.failed += 1
        out.errors.append(f"{msg.key}: {error}")


def cycle(
    db: Engine,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    senders: Mapping[str, Sender],
    now: datetime,
    settings: Settings = Settings(),
    tailer: notifications.Tailer | None = None,
    warning_days: int = 1,
) -> Report:
    """One round of the worker: queue the messages of new case events, the day's digests and the next
    working day's appointment reminders, then send what is due. The server runs it every
    ``--notify-seconds``; ``yangguang notify send`` once."""
    report = Report(queued=notifications.tail(db, catalogue, now, tailer))
    report.queued += notifications.digest(db, catalogue, calendar, now, warning_days, settings.digest_hour)
    report.queued += feeds.reminders(db, catalogue, calendar, now, settings.reminder_hour)
    return send_due(db, senders, now, settings, report)


class Runner:
    """The worker as the server runs it every ``--notify-seconds``: one round on the live version's service,
    keeping its tailer (and the gaps it waits for) from round to round."""

    def __init__(self, senders: Mapping[str, Sender], settings: Settings = Settings()) -> None:
        self.senders, self.settings = senders, settings
        self.tailer = notifications.Tailer()

    def __call__(self, service: CaseService) -> Report:
        thresholds = (service.catalogue.center or {}).get("supervision", {})
        return cycle(
            service.db,
            service.catalogue,
            service.calendar,
            self.senders,
            service.clock.now(),
            self.settings,
            self.tailer,
            int(thresholds.get("warning_working_days", 1)),
        )
