"""Notifications end to end on the virtual clock: a case action → the outbox → a real SMTP server on
127.0.0.1 (tests/support/smtp.py), an SMS file and a real HTTP gateway; retries, giving up, crashes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar, cast

import pytest
from sqlalchemy import select
from support.portal import PERMIT
from support.smtp import SmtpServer

from engine.ledger import outbox, tables
from engine.ledger.db import read_only
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service import accounts, notifications
from engine.service.cases import CaseService
from engine.service.notification_senders import FileSms, HttpSms, senders_from_env
from engine.service.notification_worker import CLAIM, Settings, cycle, send_due
from engine.service.samples import sample_application

WINDOW = Actor("w.housing", "window", "housing")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def file(svc: CaseService, key: str, **contact: Any) -> str:
    choices = {f"contact.{k}": v for k, v in contact.items()}
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], choices)
    return svc.submit(PERMIT, data, uploads, Actor("zhang", "applicant"), key).number


def accept(svc: CaseService, number: str) -> None:
    case, _ = svc.load(number)
    svc.act(number, "accept", WINDOW, {}, case.version)


def run(svc: CaseService, senders: Any, settings: Settings | None = None, tailer: Any = None) -> Any:
    return cycle(svc.db, svc.catalogue, svc.calendar, senders, svc.clock.now(), settings or Settings(), tailer)


def rows(svc: CaseService) -> list[Any]:
    with read_only(svc.db) as conn:
        return list(conn.execute(select(outbox.outbox).order_by(outbox.outbox.c.id)).all())


def test_an_acceptance_sends_one_email_in_the_applicants_language(case_service: CaseService, smtp: SmtpServer) -> None:
    svc = case_service
    number = file(svc, "k1", notify="email", email="li@example.org", language="en", name="Li Lei")
    quiet = file(svc, "k2")  # the sample answers choose no notice
    senders = senders_from_env(smtp.env())
    run(svc, senders)
    assert smtp.inbox == []  # filing is no event an applicant is told of
    accept(svc, number)
    accept(svc, quiet)
    report = run(svc, senders)
    assert (report.queued, report.sent) == (1, 1)
    [mail] = smtp.inbox
    assert mail["To"] == "li@example.org"
    assert mail["Subject"] == f"Your application has been accepted ({number})"
    body = mail.get_content()
    assert "Dear Li Lei" in body and "accepted by" in body and "2026-03-06" in body
    run(svc, senders)
    run(svc, senders, tailer=notifications.Tailer())  # a restarted worker: nothing again
    assert len(smtp.inbox) == 1
    [row] = rows(svc)
    assert (row.status, row.attempts, row.ref) == ("sent", 1, number)
    with read_only(svc.db) as conn:
        tries = conn.execute(select(outbox.outbox_attempts.c.outcome)).scalars().all()
    assert tries == ["sent"]


def test_chinese_by_default_and_sms_to_a_file(case_service: CaseService, tmp_path: Path) -> None:
    svc = case_service
    number = file(svc, "k1", notify="sms", phone="13800138000", name="张三")
    sms = tmp_path / "sms.log"
    accept(svc, number)
    report = run(svc, {"sms": FileSms(str(sms))})
    assert report.sent == 1
    [line] = [json.loads(x) for x in sms.read_text(encoding="utf-8").splitlines()]
    assert line["to"] == "13800138000"
    assert f"办件编号{number}" in line["text"] and line["text"].startswith("【")


class _Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    answer = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Gateway.received.append(json.loads(self.rfile.read(length)))
        self.send_response(_Gateway.answer)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_sms_through_an_http_gateway_retried_after_an_error(case_service: CaseService) -> None:
    svc, clk = case_service, cast(ManualClock, case_service.clock)
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _Gateway.received, _Gateway.answer = [], 503
        number = file(svc, "k1", notify="sms", phone="13800138000")
        accept(svc, number)
        senders = {"sms": HttpSms(f"http://127.0.0.1:{server.server_port}/send")}
        report = run(svc, senders)
        assert (report.sent, report.failed) == (0, 1)
        assert rows(svc)[0].last_error == "SMS gateway answered HTTP 503"
        _Gateway.answer = 200
        assert run(svc, senders).sent == 0  # not due yet: the first retry waits a minute
        clk.set(clk.now() + timedelta(minutes=1))
        assert run(svc, senders).sent == 1
        assert [r["to"] for r in _Gateway.received] == ["13800138000", "13800138000"]
        assert _Gateway.received[0]["key"] == f"event:{_first_event(svc, number, 'accept')}:sms"
    finally:
        server.shutdown()
        server.server_close()


def _first_event(svc: CaseService, number: str, action: str) -> int:
    e, c = tables.events, tables.cases
    with read_only(svc.db) as conn:
        query = select(e.c.id).join(c, c.c.id == e.c.case_id).where(c.c.number == number, e.c.action == action)
        return int(conn.execute(query).scalar_one())


def test_smtp_down_the_case_moves_on_and_the_mail_follows(case_service: CaseService, smtp: SmtpServer) -> None:
    svc, clk = case_service, cast(ManualClock, case_service.clock)
    number = file(svc, "k1", notify="email", email="li@example.org")
    senders = senders_from_env(smtp.env())
    smtp.stop()
    accept(svc, number)  # the channel being down is no concern of the case action
    assert svc.load(number)[0].state == "in_progress"
    for minutes in (0, 1, 2):  # tries at +0, +1 and +3 minutes: backoff 1, 2, 4 minutes
        clk.set(clk.now() + timedelta(minutes=minutes))
        assert run(svc, senders).failed == 1
    assert run(svc, senders).failed == 0  # the next try is 4 minutes away
    assert "SMTP 127.0.0.1" in rows(svc)[0].last_error
    smtp.start()
    clk.set(clk.now() + timedelta(minutes=4))
    assert run(svc, senders).sent == 1
    assert len(smtp.inbox) == 1 and rows(svc)[0].attempts == 4
    with read_only(svc.db) as conn:
        tries = conn.execute(select(outbox.outbox_attempts.c.outcome)).scalars().all()
    assert tries == ["failed", "failed", "failed", "sent"]


def test_dead_after_the_last_attempt_and_retried_by_hand(case_service: CaseService, smtp: SmtpServer) -> None:
    svc, clk = case_service, cast(ManualClock, case_service.clock)
    number = file(svc, "k1", notify="email", email="li@example.org")
    senders = senders_from_env(smtp.env())
    smtp.stop()
    accept(svc, number)
    settings = Settings(max_attempts=3)
    for _ in range(5):
        run(svc, senders, settings)
        clk.set(clk.now() + timedelta(hours=1))
    [row] = rows(svc)
    assert (row.status, row.attempts) == ("dead", 3)
    smtp.start()
    assert run(svc, senders, settings).sent == 0  # dead stays dead
    with svc.db.begin() as conn:
        assert outbox.retry(conn, [row.id], svc.clock.now()) == 1
    assert run(svc, senders, settings).sent == 1 and len(smtp.inbox) == 1


class _Dies(Exception):
    pass


def test_a_worker_killed_mid_batch_sends_nothing_twice(case_service: CaseService, smtp: SmtpServer) -> None:
    svc, clk = case_service, cast(ManualClock, case_service.clock)
    numbers = [file(svc, f"k{i}", notify="email", email=f"p{i}@example.org") for i in range(3)]
    for n in numbers:
        accept(svc, n)
    real = senders_from_env(smtp.env())["email"]
    sent: list[str] = []

    class DiesOnSecond:
        def send(self, msg: outbox.Message) -> str:
            if len(sent) == 1:
                raise KeyboardInterrupt  # the process is killed while sending the second message
            sent.append(msg.key)
            return real.send(msg)

    with pytest.raises(KeyboardInterrupt):
        run(svc, {"email": DiesOnSecond()})
    assert [r.status for r in rows(svc)] == ["sent", "sending", "sending"]
    again = {"email": real}
    assert run(svc, again).sent == 0  # the dead worker's claim still holds
    clk.set(clk.now() + CLAIM + timedelta(seconds=1))
    assert run(svc, again).sent == 2
    assert sorted(m["To"] for m in smtp.inbox) == ["p0@example.org", "p1@example.org", "p2@example.org"]
    assert [r.status for r in rows(svc)] == ["sent"] * 3


def test_two_senders_at_once_never_send_a_row_twice(case_service: CaseService, smtp: SmtpServer) -> None:
    svc = case_service
    for i in range(6):
        accept(svc, file(svc, f"k{i}", notify="email", email=f"p{i}@example.org"))
    notifications.tail(svc.db, svc.catalogue, svc.clock.now())
    senders = senders_from_env(smtp.env())
    workers = [threading.Thread(target=send_due, args=(svc.db, senders, svc.clock.now())) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(m["To"] for m in smtp.inbox) == sorted(f"p{i}@example.org" for i in range(6))


def test_a_producer_crash_leaves_neither_rows_nor_cursor(
    case_service: CaseService, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = case_service
    for i in range(3):
        accept(svc, file(svc, f"k{i}", notify="email", email=f"p{i}@example.org"))
    real, calls = notifications.enqueue, []

    def dies_on_third(*args: Any, **kwargs: Any) -> bool:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed while producing the batch
        return real(*args, **kwargs)

    monkeypatch.setattr(notifications, "enqueue", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        notifications.tail(svc.db, svc.catalogue, svc.clock.now())
    assert rows(svc) == []
    monkeypatch.setattr(notifications, "enqueue", real)
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now()) == 3
    assert notifications.tail(svc.db, svc.catalogue, svc.clock.now()) == 0
    assert len({r.key for r in rows(svc)}) == len(rows(svc)) == 3


def test_enqueue_for_another_feature_is_idempotent(case_service: CaseService) -> None:
    svc = case_service
    to = notifications.Recipient("email", "li@example.org")
    values = {"complaint_number": "TS-1", "answer": "已整改", "applicant": "李雷", "center": "中心", "date": "今天"}
    for _ in range(2):
        with svc.db.begin() as conn:
            notifications.enqueue(conn, svc.catalogue, kind="complaint_answered", key="complaint:TS-1:answered",
                                  to=to, values=values, language="zh", now=svc.clock.now(), ref="TS-1")  # fmt: skip
    [row] = rows(svc)
    assert row.subject == "您的诉求已答复（TS-1）" and "已整改" in row.body


def test_staff_digest_once_per_working_day(case_service: CaseService, smtp: SmtpServer) -> None:
    svc, clk = case_service, cast(ManualClock, case_service.clock)
    accounts.add_user(svc.db, "w.housing", "window", "housing", password="x" * 12)
    notifications.set_staff_email(svc.db, "w.housing", "w@example.org")
    file(svc, "k1")  # waits on the window: its completeness deadline is 5 working days away
    senders = senders_from_env(smtp.env())
    run(svc, senders)
    assert smtp.inbox == []  # green: nothing to tell
    clk.set(clk.now() + timedelta(days=7))  # Friday 09:00 → the deadline day: yellow
    run(svc, senders)
    run(svc, senders)
    [mail] = smtp.inbox
    assert mail["To"] == "w@example.org" and "黄灯 1 件" in mail["Subject"]
    clk.set(clk.now() + timedelta(days=1))  # Saturday: no digest
    run(svc, senders)
    assert len(smtp.inbox) == 1
