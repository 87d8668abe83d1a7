"""The applicant portal through HTTP (Starlette TestClient on the real app and a real SQLite
file): apply page by page, errors shown with everything kept, uploads judged by content,
check answers, submit once, follow the case, supplement, rate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient
from support.portal import PDF, PERMIT, csrf, fill_sections, find, form_values, submit

from engine.ledger import tables
from engine.ledger.cases import get_case
from engine.ledger.db import read_only
from engine.rules.cases.model import Actor
from engine.service.samples import sample_application

BAD_ID = "110105194912310021"  # right shape, wrong check digit (the right one is X)


def test_the_form_is_generated_from_the_yaml_with_the_right_inputs(portal: Any) -> None:
    client, _, _ = portal
    page = client.get(f"/apply/{PERMIT}/applicant")
    html = page.text
    assert page.status_code == 200 and "申请人信息" in html
    assert 'type="radio"' in html and 'name="applicant.type"' in html  # radio from options
    assert 'name="applicant.id_card"' in html and 'maxlength="18"' in html  # ID-card input
    # conditional on a same-page answer: rendered with its condition, in words for no-JS browsers
    assert "data-when=" in html and "仅当申请人类型为自然人时填写" in html
    contact = client.get(f"/apply/{PERMIT}/contact").text
    assert 'type="tel"' in contact  # phone
    assert "yg_browser" in page.headers.get("set-cookie", "") and "HttpOnly" in page.headers["set-cookie"]


def test_wrong_id_number_is_shown_with_everything_kept_then_fixed(portal: Any) -> None:
    client, _, _ = portal
    page = client.get(f"/apply/{PERMIT}/applicant")
    body = {
        "csrf": csrf(page.text),
        "applicant.type": "natural_person",
        "applicant.name": "张<三>",
        "applicant.id_card": BAD_ID,
        "applicant.by_agent": "false",
    }
    r = client.post(f"/apply/{PERMIT}/applicant", data=body)
    assert r.status_code == 422
    html = r.text
    assert 'id="error-summary"' in html and 'href="#f-applicant-id_card"' in html  # summary links to the field
    assert "校验位不正确" in html and 'aria-invalid="true"' in html
    assert f'value="{BAD_ID}"' in html and 'value="张&lt;三&gt;"' in html  # kept, and escaped
    assert "<title>错误：" in html
    draft = re.search(r'name="draft" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post(f"/apply/{PERMIT}/applicant", data=body | {"applicant.id_card": BAD_ID[:-1] + "X", "draft": draft})
    assert r.status_code == 303 and r.headers["location"] == f"/apply/{PERMIT}/contact?draft={draft}"


def test_a_hidden_conditional_answer_is_ignored(portal: Any) -> None:
    client, svc, _ = portal
    draft = fill_sections(client, svc, PERMIT)
    # a company's credit code typed while "natural person" is chosen is not asked, so not kept
    page = client.get(f"/apply/{PERMIT}/applicant?draft={draft}")
    data, _ = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], {})
    body = {f"applicant.{k}": v for k, v in form_values(data["applicant"]).items()}
    body |= {"csrf": csrf(page.text), "draft": draft, "applicant.credit_code": "not-a-code"}
    assert client.post(f"/apply/{PERMIT}/applicant", data=body).status_code == 303
    check = client.get(f"/apply/{PERMIT}/check?draft={draft}").text
    applicant = check.split('id="fix-applicant"')[1].split("</dl>")[0]
    assert "公民身份号码" in applicant and "统一社会信用代码" not in applicant
    assert "not-a-code" not in check


def test_uploads_are_judged_by_content_and_never_lost(portal: Any) -> None:
    client, svc, _ = portal
    draft = fill_sections(client, svc, PERMIT)
    page = client.get(f"/apply/{PERMIT}/materials?draft={draft}")
    assert page.status_code == 200 and 'type="file"' in page.text and 'accept="' in page.text
    # a text file named .pdf is refused by its content; a real PDF for another material is kept
    files = [
        ("file-application", ("form.pdf", b"just text, not a PDF", "application/pdf")),
        ("file-construction_contract", ("contract.pdf", PDF, "application/pdf")),
    ]
    r = client.post(f"/apply/{PERMIT}/materials", data={"csrf": csrf(page.text), "draft": draft}, files=files)
    assert r.status_code == 422
    assert "form.pdf" in r.text and "按文件内容判断" in r.text  # the refused file, by name, and why
    assert "请上传" in r.text  # materials still missing are listed too
    assert "contract.pdf" in r.text  # the good file is kept and shown
    with read_only(svc.db) as conn:
        stored = conn.execute(tables.uploads.select()).all()
    assert [row.filename for row in stored] == ["contract.pdf"]
    assert Path(stored[0].path).read_bytes() == PDF and not Path(stored[0].path).name.endswith(".pdf")


def test_check_answers_submit_once_and_confirmation(portal: Any) -> None:
    client, svc, _ = portal
    number, query_code = submit(client, svc)
    with read_only(svc.db) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM cases").scalar() == 1  # the double click made one case
        row = get_case(conn, number)
    assert row is not None and row["query_code"] == query_code and row["state"] == "submitted"
    case, _ = svc.load(number)
    assert set(case.uploads) == {"application", "contractor_selection", "construction_contract",
                                 "funding_commitment", "quality_safety_measures"}  # fmt: skip


def test_progress_needs_the_query_code_and_does_not_leak_numbers(portal: Any) -> None:
    client, svc, _ = portal
    number, query_code = submit(client, svc)
    wrong = find(client, number, "000000" if query_code != "000000" else "111111")
    unknown = find(client, "QQ20990101000001", query_code)
    assert wrong.status_code == unknown.status_code == 404
    assert "没有与此办件编号和查询码相符的办件" in wrong.text and "没有与此办件编号和查询码相符的办件" in unknown.text
    assert client.get(f"/progress/{number}").status_code == 303  # no grant yet: back to the lookup form
    r = find(client, number, query_code)
    assert r.status_code == 303 and r.headers["location"] == f"/progress/{number}"
    page = client.get(f"/progress/{number}")
    assert page.status_code == 200 and "待受理" in page.text and "提交申请" in page.text
    assert "受理期限" in page.text and "2026-03-13" in page.text  # Art. 32: five working days from Friday 03-06
    other = TestClient(client.app, follow_redirects=False)  # another browser: no grant
    assert other.get(f"/progress/{number}").status_code == 303


def test_supplement_and_rating_from_the_progress_page(portal: Any) -> None:
    client, svc, _ = portal
    number, query_code = submit(client, svc)
    window = Actor("w", "window", "housing")
    missing = [{"material": "construction_contract", "reason": "合同未盖章"}]
    svc.act(number, "request_supplement", window, {"missing": missing}, 1)
    find(client, number, query_code)
    page = client.get(f"/progress/{number}")
    assert 'id="documents"' in page.text and "补正" in page.text.split('id="documents"')[1].split("</ul>")[0]
    notice = client.get(f"/progress/{number}/documents/0")
    assert notice.status_code == 200 and "合同未盖章" in notice.text  # the one-time notice, printable
    assert TestClient(client.app, follow_redirects=False).get(f"/progress/{number}/documents/0").status_code == 303
    assert "请补正以下材料" in page.text and "合同未盖章" in page.text and "暂停计时中：补正材料" in page.text
    body = {"csrf": csrf(page.text), "version": re.search(r'name="version" value="(\d+)"', page.text).group(1)}  # type: ignore[union-attr]
    nothing = client.post(f"/progress/{number}/supplement", data=body, files=[("x", ("", b"", "text/plain"))])
    assert nothing.status_code == 422 and "请上传补正的" in nothing.text
    r = client.post(
        f"/progress/{number}/supplement", data=body,
        files=[("file-construction_contract", ("stamped.pdf", PDF, "application/pdf"))],
    )  # fmt: skip
    assert r.status_code == 303
    assert "补正材料已提交" in client.get(r.headers["location"]).text
    case, _ = svc.load(number)
    assert case.state == "submitted"
    # the window refuses (ending the case), then the applicant rates the service once
    svc.act(number, "refuse", window, {"reason": "不符合法定条件"}, case.version)
    page = client.get(f"/progress/{number}")
    assert "不予受理" in page.text and "不符合法定条件" in page.text and "评价本次服务" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        f"/progress/{number}/evaluate",
        data={"csrf": csrf(page.text), "version": version, "rating": "满意", "comment": "窗口服务热情"},
    )
    assert r.status_code == 303
    after = client.get(r.headers["location"]).text
    assert "感谢您的评价" in after and "您的评价：满意" in after and "评价本次服务" not in after


def test_forged_csrf_and_someone_elses_draft_are_refused(portal: Any) -> None:
    client, svc, _ = portal
    draft = fill_sections(client, svc, PERMIT)
    forged = client.post(f"/apply/{PERMIT}/applicant", data={"csrf": "0" * 32, "applicant.name": "x"})
    assert forged.status_code == 403 and "表单已失效" in forged.text
    stranger = TestClient(client.app, follow_redirects=False)
    assert stranger.get(f"/apply/{PERMIT}/check?draft={draft}").status_code == 404
    assert client.get(f"/apply/{PERMIT}/nope?draft={draft}").status_code == 404
    assert client.get("/apply/NO-SUCH-ITEM").status_code == 404


def test_a_file_over_the_materials_size_limit_is_refused_and_nothing_else_is_lost(portal: Any) -> None:
    client, svc, _ = portal
    draft = fill_sections(client, svc, PERMIT)
    page = client.get(f"/apply/{PERMIT}/materials?draft={draft}")
    big = PDF + b"0" * (10 * 2**20)  # a real PDF header, just over the YAML's max_size_mb: 10
    files = [
        ("file-application", ("scan.pdf", big, "application/pdf")),
        ("file-funding_commitment", ("funds.pdf", PDF, "application/pdf")),
    ]
    r = client.post(f"/apply/{PERMIT}/materials", data={"csrf": csrf(page.text), "draft": draft}, files=files)
    assert r.status_code == 422 and "scan.pdf" in r.text and "不得超过 10 MB" in r.text
    assert "funds.pdf" in r.text  # the good file is kept
    with read_only(svc.db) as conn:
        assert [row.filename for row in conn.execute(tables.uploads.select()).all()] == ["funds.pdf"]
