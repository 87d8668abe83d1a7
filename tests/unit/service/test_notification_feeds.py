"""The other counters' notices on the virtual clock: a complaint's answer reaches a real SMTP server in the
language the person chose (or nobody, without a contact); appointment reminders are queued once, the working
day before, never for cancelled bookings and anew for a moved one; the staff digest lists new complaints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.bookings import person
from support.smtp import SmtpServer

from engine.base.dates import TZ
from engine.ledger import outbox
from engine.ledger.db import read_only
from engine.rules.cases.model import ActionRefused, Actor
from engine.service import appeals, notifications
from engine.service.accounts import add_user
from engine.service.bookings import Bookings
from engine.service.cases import CaseService
from engine.service.notification_senders import FileSms, senders_from_env
from engine.service.notification_worker import Settings, cycle, settings_from_env

OFFICE = Actor("window.complaints", "window", "complaints")
OFFICE_HEAD = Actor("head.complaints", "head", "complaints")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def svc(case_service: CaseService, cheap_hashes: None) -> CaseService:
    for actor in (OFFICE, OFFICE_HEAD):
        add_user(case_service.db, actor.username, actor.role, actor.department, password="demo-password")
    return case_service


def at(d: date, hour: int) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=TZ)


def run(svc: CaseService, senders: Any, settings: Settings | None = None) -> Any:
    return cycle(svc.db, svc.catalogue, svc.calendar, senders, svc.clock.now(), settings or Settings())


def queued(svc: CaseService, kind: str) -> list[Any]:
    o = outbox.outbox
    with read_only(svc.db) as conn:
        return list(conn.execute(select(o).where(o.c.kind == kind).order_by(o.c.id)).all())


def filing(**extra: str) -> appeals.Filing:
    fields = {"kind": "complaint", "subject": "窗口办理超期", "body": "提交三周未受理。", "filer_name": "Li Lei",
              "contact": "13800000000", **extra}  # fmt: skip
    return appeals.Filing(**fields)  # type: ignore[arg-type]


def answer(svc: CaseService, number: str, text: str = "已督促住建局当日受理。") -> None:
    found = appeals.load(svc, number)
    assert found is not None
    appeals.act(svc, number, OFFICE, "answer", int(found.row["version"]), {"text": text})


# ------------------------------------------------------------------------------------------ complaint answered


def test_the_answer_reaches_the_smtp_server_once_in_the_chosen_language(svc: CaseService, smtp: SmtpServer) -> None:
    number, _ = appeals.file(svc, filing(notify="email", email="li@example.org", language="en"))
    quiet, _ = appeals.file(svc, filing())  # asked for no notice
    senders = senders_from_env(smtp.env())
    answer(svc, number, "We have asked the housing bureau to accept it today.")
    answer(svc, quiet)
    report = run(svc, senders)
    assert report.sent == 1
    [mail] = smtp.inbox
    assert mail["To"] == "li@example.org"
    assert mail["Subject"] == f"Your request has been answered ({number})"
    body = mail.get_content()
    assert "Dear Li Lei" in body and "We have asked the housing bureau" in body and "2026-03-06" in body
    run(svc, senders)
    run(svc, senders)  # again, as after a restart: the key is taken
    assert len(smtp.inbox) == 1
    [row] = queued(svc, "complaint_answered")
    assert (row.key, row.ref, row.status) == (f"appeal:{number}:answered:email", number, "sent")


def test_an_sms_in_chinese_and_a_channel_that_is_down_never_blocks_the_answer(svc: CaseService, tmp_path: Path) -> None:
    number, _ = appeals.file(svc, filing(notify="sms", filer_name="张三"))
    answer(svc, number)  # no sender at all: the answer is recorded, the message waits
    assert appeals.load(svc, number).row["state"] == "answered"  # type: ignore[union-attr]
    report = run(svc, {})
    assert (report.sent, report.failed) == (0, 1)
    sms = tmp_path / "sms.log"
    svc.clock.advance(minutes=2)  # type: ignore[attr-defined]
    assert run(svc, {"sms": FileSms(str(sms))}).sent == 1
    [line] = [json.loads(x) for x in sms.read_text(encoding="utf-8").splitlines()]
    assert line["to"] == "13800000000" and number in line["text"] and "张三您好" in line["text"]


def test_an_anonymous_report_is_told_only_when_it_left_a_contact(svc: CaseService) -> None:
    silent, _ = appeals.file(svc, filing(kind="report", filer_name="", contact="", notify="none"))
    with pytest.raises(ActionRefused) as refused:  # SMS without a phone number to send it to
        appeals.file(svc, filing(kind="report", filer_name="", contact="", notify="sms"))
    assert "手机号码" in refused.value.message
    told, _ = appeals.file(svc, filing(kind="report", filer_name="", contact="", notify="email", email="a@b.cn"))
    answer(svc, silent)
    answer(svc, told)
    assert [r.ref for r in queued(svc, "complaint_answered")] == [told]
    assert appeals.load(svc, silent).row["notify"] == "none"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"notify": "email", "email": ""}, "电子邮箱"),
        ({"notify": "email", "email": "not-an-address"}, "电子邮箱"),
        ({"email": "x" * 96 + "@a.cn"}, "最多 100 个字"),
        ({"notify": "sms", "contact": "0452-1234"}, "手机号码"),
    ],
)
def test_a_contact_choice_that_cannot_be_kept_is_refused_with_a_message(
    svc: CaseService, fields: dict[str, str], words: str
) -> None:
    with pytest.raises(ActionRefused) as refused:
        appeals.file(svc, filing(**fields))
    assert words in refused.value.message


# ---------------------------------------------------------------------------------------- appointment reminder

THURSDAY = date(2026, 4, 30)  # the day before the 劳动节 break (May 1-5): the next working day is Wednesday May 6
WEDNESDAY, THURSDAY_AFTER = date(2026, 5, 6), date(2026, 5, 7)


def reminded(svc: CaseService) -> list[tuple[str, str]]:
    return [(r.ref, r.key.rsplit(":", 1)[1]) for r in queued(svc, "appointment_reminder")]


def test_reminders_are_queued_once_the_working_day_before(svc: CaseService, tmp_path: Path) -> None:
    svc.clock.set(at(THURSDAY, 8))  # type: ignore[attr-defined]
    bk = Bookings(svc)
    kept, _ = bk.book("realestate", WEDNESDAY, "09:00", **person(1))
    gone, _ = bk.book("realestate", WEDNESDAY, "09:30", **person(2))
    later, _ = bk.book("realestate", THURSDAY_AFTER, "09:00", **person(3))
    moving, _ = bk.book("realestate", WEDNESDAY, "10:00", **person(4))
    bk.cancel(gone)
    sms = FileSms(str(tmp_path / "sms.log"))
    assert run(svc, {"sms": sms}).queued == 0  # 08:00: reminders go out from 16:00
    svc.clock.set(at(THURSDAY, 16))  # type: ignore[attr-defined]
    assert run(svc, {"sms": sms}).queued == 2  # Wednesday's, across the five days off
    assert sorted(reminded(svc)) == sorted([(kept.number, "2026-05-06"), (moving.number, "2026-05-06")])
    run(svc, {"sms": sms})
    assert cycle(svc.db, svc.catalogue, svc.calendar, {}, svc.clock.now()).queued == 0  # a restarted worker
    [first, *_] = [json.loads(x) for x in (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()]
    assert first["to"] == person(1)["contact"] and "2026年5月6日 09:00" in first["text"]

    svc.clock.set(at(date(2026, 5, 2), 11))  # type: ignore[attr-defined]
    bk.move(bk.get(moving.number), THURSDAY_AFTER, "10:00")  # type: ignore[arg-type]
    assert run(svc, {"sms": sms}).queued == 0  # a day off: Wednesday's were sent, Thursday's are not due
    svc.clock.set(at(WEDNESDAY, 15))  # type: ignore[attr-defined]
    assert run(svc, {"sms": sms}).queued == 0
    svc.clock.set(at(WEDNESDAY, 16))  # type: ignore[attr-defined]
    assert run(svc, {"sms": sms}).queued == 2
    assert (moving.number, "2026-05-07") in reminded(svc) and (later.number, "2026-05-07") in reminded(svc)
    assert gone.number not in {ref for ref, _ in reminded(svc)}


def test_the_reminder_hour_is_a_setting() -> None:
    assert settings_from_env({}).reminder_hour == 16
    assert settings_from_env({"YANGGUANG_NOTIFY_REMINDER_HOUR": "18"}).reminder_hour == 18
    with pytest.raises(ValueError, match="REMINDER_HOUR"):
        settings_from_env({"YANGGUANG_NOTIFY_REMINDER_HOUR": "24"})


# ------------------------------------------------------------------------------------------ the staff digest


def digest_of(svc: CaseService, username: str) -> str | None:
    for r in queued(svc, "staff_digest"):
        if r.key.startswith(f"digest:{username}:") and r.key.endswith(
            svc.clock.now().astimezone(TZ).date().isoformat()
        ):
            return str(r.body)
    return None


def test_the_digest_lists_the_complaints_new_for_each_person(svc: CaseService) -> None:
    for actor in (OFFICE, OFFICE_HEAD):
        notifications.set_staff_email(svc.db, actor.username, f"{actor.username}@example.org")
    number, _ = appeals.file(svc, filing())  # Friday 6 March, due Friday 20 March
    svc.clock.set(at(date(2026, 3, 9), 8))  # type: ignore[attr-defined]
    run(svc, {})
    for who in (OFFICE, OFFICE_HEAD):  # waiting on their department, unassigned
        body = digest_of(svc, who.username)
        assert body is not None and f"- {number} 投诉 绿灯（期限 2026年3月20日）" in body
    svc.clock.set(at(date(2026, 3, 9), 12))  # type: ignore[attr-defined]
    appeals.act(svc, number, OFFICE_HEAD, "assign", 1, {"assignee": OFFICE.username})
    svc.clock.set(at(date(2026, 3, 10), 8))  # type: ignore[attr-defined]
    run(svc, {})
    mine = digest_of(svc, OFFICE.username)
    assert mine is not None and number in mine  # assigned to them since the last digest
    assert digest_of(svc, OFFICE_HEAD.username) is None  # nothing new for the head: no digest at all
    svc.clock.set(at(date(2026, 3, 11), 8))  # type: ignore[attr-defined]
    run(svc, {})
    assert digest_of(svc, OFFICE.username) is None  # not new any more


def test_new_complaints_are_those_of_the_persons_department(svc: CaseService) -> None:
    since = at(date(2026, 3, 1), 8)
    appeals.file(svc, filing())
    lines = notifications.new_complaints(svc.db, svc.catalogue, OFFICE, since)
    assert len(lines) == 1 and lines[0].startswith("- ")
    outsider = Actor("head.housing", "head", "housing")
    assert notifications.new_complaints(svc.db, svc.catalogue, outsider, since) == []
