"""An applicant who asks to be told by e-mail gets one when the window accepts the case: the form's
channel choice in a real browser, ``yangguang serve``'s notification worker, and a real SMTP server on
127.0.0.1 (tests/support/smtp.py). Its own server, with the worker every half second."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.portal import PDF
from support.smtp import SmtpServer

from engine.ledger.db import open_engine
from engine.service.accounts import add_user
from engine.service.samples import sample_application

from .live import serve
from .steps import PASSWORD, do, fill_page, login

PERMIT = "QQ-HOUSING-XK-003"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def notifying_server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("notify_server")
    db = tmp / "y.db"
    with serve(tmp, db, YANGGUANG_NOTIFY_SECONDS="0.5", **smtp.env()) as base:
        engine = open_engine(db)
        add_user(engine, "window.housing.mail", "window", "housing", PASSWORD)
        engine.dispose()
        yield base


def test_the_applicant_chooses_email_and_receives_the_acceptance(
    notifying_server: str, smtp: SmtpServer, reference: Any, new_page: Any, tmp_path: Path, axe: Any
) -> None:
    from playwright.sync_api import expect

    base, cat = notifying_server, reference.catalogue
    data, _ = sample_application(cat, cat.items[PERMIT], {})
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(PDF)
    applicant = new_page("desktop")
    applicant.goto(f"{base}/apply/{PERMIT}")
    while applicant.get_by_role("button", name="保存并继续").count():
        section = applicant.url.split("?")[0].rsplit("/", 1)[1]
        answers = dict(data.get(section, {}))
        if section == "contact":
            applicant.get_by_label("电子邮件").check()  # how to be told: the e-mail field is now required
            answers |= {"email": "li.lei@example.org", "notify": "email"}
            axe.check(applicant, "contact page with the notification choice")
        fill_page(applicant, section, answers)
        applicant.get_by_role("button", name="保存并继续").click()
    for box in applicant.locator('input[type="file"]').all():
        box.set_input_files(str(pdf))
    applicant.get_by_role("button", name="上传并继续").click()
    expect(applicant.get_by_role("heading", level=1)).to_have_text("核对并提交")
    applicant.get_by_role("button", name="提交申请").click()
    number = applicant.locator("#case-number").inner_text()

    clerk = login(new_page, base, "window.housing.mail")
    do(clerk, base, number, "accept")
    expect(clerk.get_by_role("status")).to_contain_text("已办理")

    deadline = time.monotonic() + 30  # the worker runs every half second; waiting, not timing
    while not smtp.inbox and time.monotonic() < deadline:
        time.sleep(0.1)
    [mail] = smtp.inbox
    assert mail["To"] == "li.lei@example.org"
    assert mail["Subject"] == f"您的申请已受理（{number}）"
    assert "建筑工程施工许可证核发" in mail.get_content()
