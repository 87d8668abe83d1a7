"""The notification outbox page (/admin/outbox) through HTTP: messages in words with masked addresses and local
times, the status filter, 重试 (CSRF, version-checked), who may see it, and hostile input never a 500."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from support.desk import PASSWORD, browser
from support.portal import PERMIT, csrf, find

from engine.ledger import outbox
from engine.ledger.db import read_only
from engine.rules.cases.model import Actor
from engine.service.accounts import add_user
from engine.service.notification_senders import FileSms, SendFailed
from engine.service.notification_worker import Settings, cycle
from engine.service.samples import sample_application

WINDOW = Actor("w", "window", "housing")
REFUSED = "SMTP 127.0.0.1:25: recipient li@example.org refused"


class Refusing:
    def send(self, msg: outbox.Message) -> str:
        raise SendFailed(REFUSED)


class Taking:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, msg: outbox.Message) -> str:
        self.sent.append(msg.address)
        return "250 OK"


def accepted(svc: Any, key: str, **contact: str) -> tuple[str, str]:
    choices = {f"contact.{k}": v for k, v in contact.items()}
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], choices)
    sub = svc.submit(PERMIT, data, uploads, Actor("zhang", "applicant"), key)
    svc.act(sub.number, "accept", WINDOW, {}, 1)
    return str(sub.number), str(sub.query_code)


def run(svc: Any, senders: dict[str, Any], settings: Settings) -> None:
    cycle(svc.db, svc.catalogue, svc.calendar, senders, svc.clock.now(), settings)


@pytest.fixture
def site(desk: tuple[Any, Any, Any], tmp_path: Path) -> dict[str, Any]:
    """Three messages: an e-mail given up (one try allowed), an SMS sent, an e-mail failed and to be retried."""
    app, svc, _clk = desk
    add_user(svc.db, "admin", "admin", None, PASSWORD)
    dead, code = accepted(svc, "k1", notify="email", email="li@example.org", language="en", name="Li Lei")
    sms, _ = accepted(svc, "k2", notify="sms", phone="13800138000")
    run(svc, {"email": Refusing(), "sms": FileSms(str(tmp_path / "sms.log"))}, Settings(max_attempts=1))
    failed, _ = accepted(svc, "k3", notify="email", email="wang@example.org")
    run(svc, {"email": Refusing()}, Settings())
    return {"app": app, "svc": svc, "dead": dead, "code": code, "sms": sms, "failed": failed}


def statuses(svc: Any) -> dict[str, str]:
    o = outbox.outbox
    with read_only(svc.db) as conn:
        return {r.ref: r.status for r in conn.execute(select(o.c.ref, o.c.status))}


def visible(html: str) -> str:
    """The page's text as a person reads it (tags and attribute values left out)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S))


def test_the_messages_in_words_masked_and_in_local_time(site: dict[str, Any]) -> None:
    admin = browser(site["app"], "admin")
    page = admin.get("/admin/outbox")
    assert page.status_code == 200
    html, text = page.text, visible(page.text)
    for words in ("已放弃", "已发送", "失败待重试", "受理通知", "电子邮件", "短信"):
        assert words in text
    assert "l*@example.org" in text and "138****8000" in text
    assert "li@example.org" not in html and "13800138000" not in html and "wang@example.org" not in html
    assert "recipient l*@example.org refused" in text  # the channel's answer, its address masked too
    for number in (site["dead"], site["sms"], site["failed"]):
        assert f'<a href="/desk/cases/{number}">{number}</a>' in html
    assert "2026-03-06 09:00" in text  # created, local time
    assert "2026-03-06 09:01" in text  # the failed one's next try: a minute later
    assert not re.search(r"\d{4}-\d\d-\d\dT|\+00:00|\b(dead|failed|queued|sent|email|sms|accepted)\b", text)
    assert html.count("/retry") == 2  # the given-up and the failed one; the sent one has no button
    english = admin.get("/admin/outbox?lang=en")
    for words in ("Given up", "Sent", "Failed, will retry", "Acceptance", "E-mail", "SMS", "Retry"):
        assert words in english.text
    assert "已放弃" not in english.text


def test_the_status_filter(site: dict[str, Any]) -> None:
    admin = browser(site["app"], "admin")
    dead = admin.get("/admin/outbox?status=dead").text
    assert site["dead"] in dead and site["sms"] not in dead and site["failed"] not in dead
    assert '<strong aria-current="page">已放弃（1）</strong>' in dead
    sent = admin.get("/admin/outbox?status=sent").text
    assert site["sms"] in sent and site["dead"] not in sent
    assert "没有这样的通知。" in admin.get("/admin/outbox?status=queued").text
    every = admin.get("/admin/outbox?status=nonsense")
    assert every.status_code == 200 and all(site[k] in every.text for k in ("dead", "sms", "failed"))


def retry_form(client: TestClient, ref: str, status: str = "") -> tuple[str, dict[str, str]]:
    """The 重试 form of the message about case ``ref`` on the page (filtered by ``status``): its action and fields."""
    page = client.get(f"/admin/outbox?status={status}").text
    row = re.search(rf'<tr id="message-(\d+)">(?:(?!</tr>).)*?{ref}(?:(?!</tr>).)*</tr>', page, re.S)
    assert row, f"no row about {ref}"
    version = re.search(r'name="version" value="(\d+)"', row.group(0))
    assert version, f"no retry button for {ref}"
    return f"/admin/outbox/{row.group(1)}/retry", {"csrf": csrf(page), "version": version.group(1), "status": status}


def test_retry_queues_a_given_up_message_again_once(site: dict[str, Any]) -> None:
    svc = site["svc"]
    supervisor = browser(site["app"], "supervisor")
    action, form = retry_form(supervisor, site["dead"], "dead")
    done = supervisor.post(action, data=form)
    assert done.status_code == 303 and done.headers["location"] == "/admin/outbox?status=dead&done=retried"
    assert "已重新排队" in supervisor.get(done.headers["location"]).text
    assert statuses(svc)[site["dead"]] == "queued"
    again = supervisor.post(action, data=form)  # the same form again (a double click, a colleague's old page)
    assert again.status_code == 409 and "已有变化" in again.text
    assert statuses(svc)[site["dead"]] == "queued"
    taking = Taking()
    run(svc, {"email": taking}, Settings())
    assert taking.sent == ["li@example.org"]  # sent once: the queued retry; the failed one waits for its time
    assert statuses(svc)[site["dead"]] == "sent"


def test_retry_refuses_a_stale_version_without_csrf_or_a_sent_message(site: dict[str, Any]) -> None:
    svc = site["svc"]
    admin = browser(site["app"], "admin")
    action, form = retry_form(admin, site["failed"])
    run(svc, {"email": Refusing()}, Settings())  # not due yet: nothing changes
    svc.clock.set(svc.clock.now().replace(minute=2))
    run(svc, {"email": Refusing()}, Settings())  # the sender tried again: the page's version is stale
    assert admin.post(action, data=form).status_code == 409
    assert admin.post(action, data={**form, "csrf": "0" * 64}).status_code == 403
    assert admin.post(action, data={k: v for k, v in form.items() if k != "csrf"}).status_code == 403
    action, form = retry_form(admin, site["failed"])
    assert admin.post(action, data=form).status_code == 303
    o = outbox.outbox
    with read_only(svc.db) as conn:
        sent_id, sent_version = conn.execute(select(o.c.id, o.c.version).where(o.c.ref == site["sms"])).one()
    r = admin.post(f"/admin/outbox/{sent_id}/retry", data={**form, "version": str(sent_version)})
    assert r.status_code == 409 and statuses(svc)[site["sms"]] == "sent"


def test_only_administrators_and_supervisors(site: dict[str, Any]) -> None:
    app = site["app"]
    action, form = retry_form(browser(app, "admin"), site["dead"])
    clerk = browser(app, "window.housing")
    assert clerk.get("/admin/outbox").status_code == 403
    assert clerk.post(action, data={**form, "csrf": csrf(clerk.get("/desk").text)}).status_code == 403
    head = browser(app, "head.housing")
    assert head.get("/admin/outbox").status_code == 403
    assert "/admin/outbox" not in clerk.get("/desk").text  # no link to a page they may not open
    applicant = TestClient(app, follow_redirects=False)
    assert find(applicant, site["dead"], site["code"]).status_code == 303  # holds the case's query code
    for r in (applicant.get("/admin/outbox"), applicant.post(action, data=form)):
        assert r.status_code == 303 and r.headers["location"].startswith("/desk/login?next=")
    assert statuses(site["svc"])[site["dead"]] == "dead"
    for who in ("admin", "supervisor"):
        desk = browser(app, who).get("/desk").text
        assert '<a href="/admin/outbox">通知发送（2）</a>' in desk  # with how many failed or were given up


@pytest.mark.parametrize(
    "path",
    ["/admin/outbox/abc/retry", "/admin/outbox/-1/retry", "/admin/outbox/%D9%A1/retry",
     "/admin/outbox/99999999999999999999/retry", "/admin/outbox/424242/retry"],
)  # fmt: skip
def test_a_retry_of_no_message_is_404(site: dict[str, Any], path: str) -> None:
    admin = browser(site["app"], "admin")
    _action, form = retry_form(admin, site["dead"])
    assert admin.post(path, data=form).status_code == 404


def test_hostile_input_is_never_a_500(site: dict[str, Any]) -> None:
    admin = browser(site["app"], "admin")
    action, form = retry_form(admin, site["dead"])
    for query in ("status=%00", "status=" + "x" * 5000, "status=dead&status=sent", "status=%E4%B8", "done=retried"):
        r = admin.get(f"/admin/outbox?{query}")
        assert r.status_code < 500, query
    for version in ("", "x", "-1", "1.5", "9" * 40, "١"):
        r = admin.post(action, data={**form, "version": version})
        assert r.status_code == 400, version
    r = admin.post(action, data={**form, "status": "<script>"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/outbox?done=retried"
    assert (
        admin.post(
            action, content=b"\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ).status_code
        < 500
    )
