"""Requests and complaints on the web: filed on the portal and followed with the query code; handled on the
desk (worklist with lights, its page, its actions); recorded by a window clerk from a phone call; refused to
another department; nothing a client sends answers 500."""

from __future__ import annotations

import re
from typing import Any

from support.appeals import follow, number_and_code
from support.cases import file_case
from support.desk import PASSWORD, browser
from support.portal import csrf

from engine.service import appeal_lists, upload_limits
from engine.service import appeals as svc_appeals
from engine.service.accounts import add_user


def file_on_portal(client: Any, **fields: str) -> tuple[str, str]:
    page = client.get("/appeals/new")
    assert page.status_code == 200 and "投诉" in page.text and "举报" in page.text
    data = {"csrf": csrf(page.text), "kind": "complaint", "subject": "办件超期", "body": "三周未受理。",
            "filer_name": "张三", "contact": "13800000000", **fields}  # fmt: skip
    return number_and_code(client.post("/appeals/new", data=data))


def desk_act(client: Any, number: str, action: str, **fields: str) -> Any:
    page = client.get(f"/desk/appeals/{number}")
    assert page.status_code == 200, page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version, f"no action form for {action}"
    body = {"csrf": csrf(page.text), "version": version.group(1), "action": action, **fields}
    return client.post(f"/desk/appeals/{number}/act", data=body)


def test_filed_followed_answered_and_rated(desk: tuple[Any, Any, Any]) -> None:
    app, svc, _ = desk
    add_user(svc.db, "window.complaints", "window", "complaints", PASSWORD)
    person = browser(app)
    number, code = file_on_portal(person)
    page = follow(person, number, code)
    assert page.status_code == 200 and "待办理" in page.text and "办件超期" in page.text
    wrong = follow(person, number, "2345-6789-AC")
    assert wrong.status_code == 404 and "办件超期" not in wrong.text

    office = browser(app, "window.complaints")
    worklist = office.get("/desk/appeals")
    assert worklist.status_code == 200 and number in worklist.text and "绿灯" in worklist.text
    assert "诉求办理" in office.get("/desk").text  # the link heads the office's pages
    assert desk_act(office, number, "answer", text="已督促住建局受理。").status_code == 303
    assert desk_act(office, number, "verdict", verdict="justified").status_code == 303
    answered = follow(person, number, code)
    assert "已督促住建局受理。" in answered.text and "已答复" in answered.text
    rate = {"csrf": csrf(answered.text), "query_code": code, "rating": "满意"}
    rated = person.post(f"/appeals/{number}/close", data=rate)
    assert rated.status_code == 200 and "感谢您的评价" in rated.text and "已办结" in rated.text


def test_another_department_gets_404_and_a_window_clerk_records_a_call(desk: tuple[Any, Any, Any]) -> None:
    app, _svc, _ = desk
    clerk = browser(app, "window.housing")
    form = clerk.get("/desk/appeals/record")
    assert form.status_code == 200
    data = {"csrf": csrf(form.text), "channel": "phone", "kind": "report", "subject": "索要好处",
            "body": "来电反映某窗口暗示收费。"}  # fmt: skip
    recorded = clerk.post("/desk/appeals/record", data=data)
    assert recorded.status_code == 200, recorded.text
    number = re.search(r'id="appeal-number">([A-Z0-9]+)<', recorded.text)
    assert number and re.search(r'id="query-code">[A-Z0-9-]+<', recorded.text)
    # the report goes to the complaints office: the housing clerk who took the call cannot open it
    assert clerk.get(f"/desk/appeals/{number.group(1)}").status_code == 404
    supervisor = browser(app, "supervisor")
    seen = supervisor.get(f"/desk/appeals/{number.group(1)}")
    assert seen.status_code == 200 and "电话" in seen.text and "匿名" in seen.text
    assert 'name="action" value="answer"' not in seen.text  # supervisors watch, they do not answer
    dashboard = supervisor.get("/supervision")
    assert dashboard.status_code == 200 and 'id="appeal-counts"' in dashboard.text
    assert "督办投诉科" in dashboard.text.split('id="appeal-counts"')[1].split("</table>")[0]


def test_what_a_client_sends_never_answers_500(desk: tuple[Any, Any, Any]) -> None:
    app, _, _ = desk
    person = browser(app)
    page = person.get("/appeals/new")
    token = csrf(page.text)
    for data in (
        {"kind": "complaint", "subject": "x" * 5000, "body": "y", "filer_name": "张三", "contact": "1"},
        {"kind": "nothing", "subject": "x", "body": "y"},
        {"kind": "complaint", "subject": "x", "body": "y"},  # a complaint is not anonymous
        {"kind": "report", "subject": "x", "body": "y", "case_number": "NOPE\x00"},
    ):
        r = person.post("/appeals/new", data={"csrf": token, **data})
        assert r.status_code in (400, 422), (data, r.status_code)
    assert person.post("/appeals/new", data={"kind": "report"}).status_code in (400, 403)  # no CSRF token
    assert follow(person, "X" * 200, "y" * 200).status_code == 404
    staff = browser(app, "window.housing")
    assert staff.get("/desk/appeals/NOSUCH").status_code == 404
    assert staff.post("/desk/appeals/NOSUCH/act", data={"csrf": "0"}).status_code in (400, 403, 404)


def test_an_address_filing_too_often_is_told_when_to_try_again(desk: tuple[Any, Any, Any]) -> None:
    app, _, _ = desk
    person = browser(app)
    limit = upload_limits.CLIENT_FILINGS_PER_HOUR  # the app runs with the default limits
    for _ in range(limit):
        file_on_portal(person)
    page = person.get("/appeals/new")
    data = {"csrf": csrf(page.text), "kind": "complaint", "subject": "第十一件", "body": "机器人。",
            "filer_name": "张三", "contact": "13800000000"}  # fmt: skip
    refused = person.post("/appeals/new", data=data)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "分钟后再提交" in refused.text and 'value="第十一件"' in refused.text  # what was typed is kept
    clerk = browser(app, "window.housing")  # a clerk recording a call is not limited by the office's address
    form = clerk.get("/desk/appeals/record")
    recorded = clerk.post("/desk/appeals/record", data={**data, "csrf": csrf(form.text), "channel": "phone"})
    assert recorded.status_code == 200 and 'id="appeal-number"' in recorded.text


def test_a_case_number_gets_the_same_answer_whether_it_exists_or_not(desk: tuple[Any, Any, Any]) -> None:
    app, svc, _ = desk
    case_number = file_case(svc)
    department = svc.catalogue.department(svc.load(case_number)[0].department)
    assert department is not None
    person = browser(app)
    answers = []
    for typed in (case_number, "QQ20260101999999"):
        number, code = file_on_portal(person, kind="enquiry", case_number=typed)
        page = follow(person, number, code)
        assert page.status_code == 200
        answers.append(page.text.replace(number, "N").replace(typed, "C"))
        assert department["name"] not in page.text and department.get("short_name", "-") not in page.text
    history = [re.findall(r'<ol id="history">.*?</ol>', a, re.S) for a in answers]
    assert history[0] == history[1]


def test_an_item_is_chosen_from_the_catalogue(desk: tuple[Any, Any, Any]) -> None:
    app, svc, _ = desk
    person = browser(app)
    form = person.get("/appeals/new")
    assert 'name="item_code"' in form.text and 'value="QQ-AMR-XK-103"' in form.text
    number, _ = file_on_portal(person, kind="enquiry", item_code="QQ-AMR-XK-103")
    assert (svc_appeals.load(svc, number).row["item_code"]) == "QQ-AMR-XK-103"  # type: ignore[union-attr]
    data = {"csrf": csrf(form.text), "kind": "enquiry", "subject": "x", "body": "y", "filer_name": "张三",
            "contact": "13800000000", "item_code": "NO-SUCH"}  # fmt: skip
    refused = person.post("/appeals/new", data=data)
    assert refused.status_code == 422 and "没有这个事项" in refused.text


def test_a_stale_page_answers_409_with_the_refresh_message(desk: tuple[Any, Any, Any]) -> None:
    app, svc, _ = desk
    add_user(svc.db, "window.complaints", "window", "complaints", PASSWORD)
    number, _ = file_on_portal(browser(app))
    office = browser(app, "window.complaints")
    stale = office.get(f"/desk/appeals/{number}")
    assert desk_act(office, number, "answer", text="已督促。").status_code == 303
    body = {"csrf": csrf(stale.text), "version": "1", "action": "assign", "assignee": "window.complaints"}
    refused = office.post(f"/desk/appeals/{number}/act", data=body)
    assert refused.status_code == 409 and "刚被他人处理过" in refused.text


def test_the_history_names_people_and_places_never_codes(desk: tuple[Any, Any, Any]) -> None:
    app, svc, _ = desk
    add_user(svc.db, "window.complaints", "window", "complaints", PASSWORD)
    number, _ = file_on_portal(browser(app))
    office = browser(app, "window.complaints")
    assert desk_act(office, number, "escalate", text="久拖不办。").status_code == 303
    page = office.get(f"/desk/appeals/{number}")
    history = page.text.split('id="history"')[1].split("</table>")[0]
    assert "诉求人" in history and "applicant" not in history
    assert "转至：效能监察" in history and "supervision" not in history
    english = office.get(f"/desk/appeals/{number}?lang=en")
    assert "Filer" in english.text.split('id="history"')[1].split("</table>")[0]


def test_the_worklist_is_paged_and_says_how_many(desk: tuple[Any, Any, Any]) -> None:
    app, svc, _ = desk
    filing = svc_appeals.Filing(kind="suggestion", subject="建议", body="延长午间办理。", filer_name="王五",
                                contact="13700000000")  # fmt: skip
    total = appeal_lists.PAGE + 3
    numbers = [svc_appeals.file(svc, filing)[0] for _ in range(total)]
    supervisor = browser(app, "supervisor")
    first = supervisor.get("/desk/appeals")
    assert f"共 {total} 件诉求" in first.text and 'rel="next"' in first.text
    second = supervisor.get("/desk/appeals?page=2")
    listed = re.findall(r'href="/desk/appeals/([A-Z0-9]+)"', first.text + second.text)
    assert sorted(set(listed)) == sorted(numbers) and 'rel="prev"' in second.text
    assert supervisor.get("/desk/appeals?page=999").status_code == 200  # past the end: the last page
    assert supervisor.get("/desk/appeals?page=x").status_code == 200


def test_progress_never_takes_an_appeals_number_and_code(desk: tuple[Any, Any, Any]) -> None:
    app, _, _ = desk
    person = browser(app)
    number, code = file_on_portal(person)
    find = person.get("/progress")
    found = person.post("/progress", data={"csrf": csrf(find.text), "number": number, "query_code": code})
    assert found.status_code == 404 and "location" not in found.headers  # as a wrong code: not a redirect to a 404
    assert follow(person, number, code).status_code == 200  # the appeal's own page takes them
