"""Files and the answer's notice on the appeal forms: a person attaches files on the portal and a clerk on the
record form, checked as a case's materials are; those who may see the appeal download them from its desk page
and the holder of the query code from theirs; anyone else is refused; a hostile file is refused with a message
and files nothing; nothing answers 500."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from support.appeals import follow, number_and_code
from support.desk import PASSWORD, browser
from support.portal import csrf

from engine.ledger import tables
from engine.ledger.db import read_only
from engine.service.accounts import add_user

PDF = b"%PDF-1.4\n% a receipt\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HOSTILE = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>"
TEXT = {"kind": "complaint", "subject": "窗口办理超期", "body": "三周未受理，收据附后。", "filer_name": "张三",
        "contact": "13800000000"}  # fmt: skip


def post_new(client: Any, files: list[tuple[str, bytes]], **fields: str) -> Any:
    page = client.get("/appeals/new")
    assert page.status_code == 200 and 'type="file"' in page.text
    sent = [("files", (name, content, "application/octet-stream")) for name, content in files]
    return client.post("/appeals/new", data={"csrf": csrf(page.text), **TEXT, **fields}, files=sent)


def upload_count(svc: Any) -> int:
    with read_only(svc.db) as conn:
        return int(conn.execute(select(func.count()).select_from(tables.uploads)).scalar_one())


def test_files_sent_with_a_complaint_are_seen_by_its_handlers_and_its_filer_only(desk: tuple[Any, Any, Any]) -> None:
    app, svc, _ = desk
    add_user(svc.db, "window.complaints", "window", "complaints", PASSWORD)
    person = browser(app)
    number, code = number_and_code(post_new(person, [("收据.pdf", PDF), ("photo.png", PNG)], notify="sms"))

    office = browser(app, "window.complaints")
    page = office.get(f"/desk/appeals/{number}")
    links = re.findall(rf'href="(/desk/appeals/{number}/files/[0-9a-f]+)"', page.text)
    assert len(links) == 2 and "短信" in page.text
    got = office.get(links[0])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf" and got.headers["x-content-type-options"] == "nosniff"
    assert (
        got.headers["content-disposition"].startswith("attachment;")
        and "收据" not in got.headers["content-disposition"]
    )
    assert office.get(links[1]).content == PNG

    # the person, with the query code (in the form, never in the URL)
    mine = follow(person, number, code)
    forms = re.findall(rf'action="(/appeals/{number}/files/[0-9a-f]+)"', mine.text)
    assert len(forms) == 2
    token = csrf(mine.text)
    assert person.post(forms[0], data={"csrf": token, "query_code": code}).content == PDF
    # anyone else: another department, no session, a wrong code, another appeal's file
    assert browser(app, "head.housing").get(links[0]).status_code == 404
    assert browser(app).get(links[0]).status_code == 303  # to the login page
    stranger = browser(app)
    strangers_page = stranger.get("/appeals/follow")
    wrong = stranger.post(forms[0], data={"csrf": csrf(strangers_page.text), "query_code": "2345-6789-AC"})
    assert wrong.status_code == 404 and wrong.content != PDF
    other, _ = number_and_code(post_new(browser(app), []))
    upload_id = links[0].rsplit("/", 1)[1]
    assert office.get(f"/desk/appeals/{other}/files/{upload_id}").status_code == 404


def test_a_hostile_or_excess_file_is_refused_with_a_message_and_files_nothing(desk: tuple[Any, Any, Any]) -> None:
    app, svc, _ = desk
    person = browser(app)
    refused = post_new(person, [("invoice.pdf", HOSTILE)])
    assert refused.status_code == 422 and "只接受 PDF" in refused.text and "invoice.pdf" in refused.text
    assert 'id="appeal-number"' not in refused.text and "三周未受理" in refused.text  # the text is kept
    empty = post_new(person, [("empty.pdf", b"")])
    assert empty.status_code == 422 and "是空的" in empty.text
    six = post_new(person, [(f"{i}.pdf", PDF) for i in range(6)])
    assert six.status_code == 422 and "最多附 5 个文件" in six.text
    zipped = post_new(person, [("a.zip", b"PK\x05\x06" + b"\x00" * 18)])
    assert zipped.status_code == 422
    wrong_text = post_new(person, [("ok.pdf", PDF)], subject="")  # the files of a refused filing are not kept
    assert wrong_text.status_code == 422 and "请填写标题" in wrong_text.text
    assert upload_count(svc) == 0


def test_a_clerk_records_a_call_with_a_file_and_the_persons_choice_of_notice(desk: tuple[Any, Any, Any]) -> None:
    app, svc, _ = desk
    add_user(svc.db, "window.complaints", "window", "complaints", PASSWORD)
    clerk = browser(app, "window.housing")
    form = clerk.get("/desk/appeals/record")
    assert form.status_code == 200 and 'type="file"' in form.text and "答复后通知方式" in form.text
    data = {"csrf": csrf(form.text), "channel": "phone", **TEXT, "notify": "email", "email": "zhang@example.org",
            "language": "en"}  # fmt: skip
    recorded = clerk.post("/desk/appeals/record", data=data, files=[("files", ("scan.pdf", PDF, "application/pdf"))])
    number, _ = number_and_code(recorded)
    page = browser(app, "window.complaints").get(f"/desk/appeals/{number}")
    assert "电子邮件 zhang@example.org（英文）" in page.text
    assert len(re.findall(rf'href="/desk/appeals/{number}/files/[0-9a-f]+"', page.text)) == 1
    bad = clerk.get("/desk/appeals/record")
    hostile = clerk.post(
        "/desk/appeals/record", data={**data, "csrf": csrf(bad.text)}, files=[("files", ("x.pdf", HOSTILE, "a/b"))]
    )
    assert hostile.status_code == 422 and "只接受 PDF" in hostile.text


def test_what_a_client_sends_to_the_files_never_answers_500(desk: tuple[Any, Any, Any]) -> None:
    app, _, _ = desk
    person = browser(app)
    page = person.get("/appeals/new")
    token = csrf(page.text)
    for files in (
        [("files", ("", b"", "x"))],
        [("files", ("a" * 5000, PDF, "x" * 500))],
        [("other", ("a.pdf", PDF, "x"))],
    ):
        r = person.post("/appeals/new", data={"csrf": token, **TEXT}, files=files)
        assert r.status_code in (200, 400, 413, 422), r.status_code
    huge = person.post(
        "/appeals/new",
        content=b"x",
        headers={"content-length": str(10**12), "content-type": "multipart/form-data; boundary=b"},
    )
    assert huge.status_code in (400, 413)
    many = [("files", (f"{i}.pdf", PDF, "x")) for i in range(40)]
    assert person.post("/appeals/new", data={"csrf": token, **TEXT}, files=many).status_code in (400, 422)
    assert person.post("/appeals/NOSUCH/files/abc", data={"csrf": token, "query_code": "x"}).status_code == 404
    staff = browser(app, "window.housing")
    assert staff.get("/desk/appeals/NOSUCH/files/abc").status_code == 404
    form = staff.get("/desk/appeals/record")
    huge = staff.post(
        "/desk/appeals/record",
        content=b"x",
        headers={"content-length": str(10**12), "content-type": "multipart/form-data; boundary=b"},
    )
    assert huge.status_code in (400, 413)
    many = [("files", (f"{i}.pdf", PDF, "x")) for i in range(40)]
    sent = staff.post("/desk/appeals/record", data={"csrf": csrf(form.text), **TEXT}, files=many)
    assert sent.status_code in (400, 422)
