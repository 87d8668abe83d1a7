"""The staff desk through HTTP (TestClient on the real app and a real SQLite file): log in,
worklists by role and department with lights, only the actions the rules allow, the exact
fee, conflicts, files and notices, CSRF and department walls."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from support.cases import chain_application, file_case
from support.desk import PASSWORD, act, browser, login
from support.portal import csrf, fill_sections, upload_everything

from engine.base.dates import TZ
from engine.ledger.db import read_only
from engine.ledger.events import events_of
from engine.rules.cases.model import Actor
from engine.service.accounts import add_user
from engine.service.samples import sample_application

PERMIT = "QQ-HOUSING-XK-003"  # housing, no fee, steps with their own limits
RESALE = "QQ-REALESTATE-DJ-102"  # realestate, 不动产登记费


def test_login_logout_and_the_login_wall(desk: Any) -> None:
    app, _, _ = desk
    client = browser(app)
    r = client.get("/desk?state=submitted")
    assert r.status_code == 303 and r.headers["location"].startswith("/desk/login?next=/desk")
    wrong = login(client, "window.housing", "nope")
    nobody = login(client, "nobody", "nope")
    assert wrong.status_code == nobody.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in nobody.text  # no probing for accounts
    forged = client.post("/desk/login", data={"username": "window.housing", "password": PASSWORD})
    assert forged.status_code == 403  # a login form posted from elsewhere carries no token
    r = login(client, "window.housing", PASSWORD, next="//evil.example")
    assert r.status_code == 303 and r.headers["location"] == "/desk"  # never an open redirect
    cookie = r.headers["set-cookie"]
    assert "yg_staff=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/desk")
    assert page.status_code == 200 and "window.housing" in page.text
    assert client.post("/desk/logout", data={"csrf": csrf(page.text)}).status_code == 303
    assert client.get("/desk").status_code == 303  # the session is gone


def test_too_many_failed_logins_are_throttled(desk: Any) -> None:
    app, _, _ = desk
    client = browser(app)
    for _ in range(5):
        assert login(client, "reviewer.housing", "guess").status_code == 401
    r = login(client, "reviewer.housing", PASSWORD)
    assert r.status_code == 429 and "登录失败次数过多" in r.text  # even the right password waits
    api = client.post("/api/session", json={"username": "reviewer.housing", "password": PASSWORD})
    assert api.status_code == 429 and int(api.headers["retry-after"]) > 0
    assert api.json()["error"]["code"] == "too_many_requests"


def test_an_idle_session_ends(desk: Any) -> None:
    app, _, clk = desk
    client = browser(app, "window.housing")
    assert client.get("/desk").status_code == 200
    clk.advance(minutes=20)
    assert client.get("/desk").status_code == 200  # used within the idle timeout: still signed in
    clk.advance(minutes=31)
    r = client.get("/desk")
    assert r.status_code == 303 and r.headers["location"].startswith("/desk/login")


def test_worklist_by_role_and_department_sorted_with_lights(desk: Any) -> None:
    app, svc, clk = desk
    early = file_case(svc, key="a")
    clk.set(datetime(2026, 3, 9, 9, 0, tzinfo=TZ))  # Monday
    late = file_case(svc, key="b")
    other = file_case(svc, RESALE, key="c")
    clk.set(datetime(2026, 3, 12, 9, 0, tzinfo=TZ))  # Thursday: the first one is due Friday 03-13
    window = browser(app, "window.housing").get("/desk").text
    assert window.index(early) < window.index(late)  # most urgent first
    assert other not in window  # another department's case
    assert "黄灯：即将到期" in window and "绿灯" in window
    assert late not in browser(app, "reviewer.housing").get("/desk").text  # not the reviewer's turn
    clk.set(datetime(2026, 3, 16, 9, 0, tzinfo=TZ))  # Monday: past Friday's completeness deadline
    assert "红灯：已超期" in browser(app, "window.housing").get("/desk").text
    everything = browser(app, "supervisor").get("/desk").text
    assert early in everything and other in everything  # supervisors see every department
    filtered = browser(app, "window.housing").get(f"/desk?item={PERMIT}&state=in_progress").text
    assert early not in filtered


def test_only_allowed_actions_are_offered_and_a_case_runs_to_completion(desk: Any) -> None:
    app, svc, _ = desk
    number = file_case(svc)
    window = browser(app, "window.housing")
    page = window.get(f"/desk/cases/{number}").text
    assert 'value="accept"' in page and 'value="request_supplement"' in page and 'value="refuse"' in page
    assert 'value="decide"' not in page and 'value="complete"' not in page
    assert "公民身份号码" in page  # applicant data with the form's labels
    reviewer_page = browser(app, "reviewer.housing").get(f"/desk/cases/{number}").text
    assert "本件当前没有需要您办理的操作" in reviewer_page
    r = act(window, number, "accept")
    assert r.status_code == 303 and "done=accept" in r.headers["location"]
    assert "已办理：受理" in window.get(r.headers["location"]).text
    case, snap = svc.load(number)
    while case.state == "in_progress":
        steps = [s for s in snap["item"]["steps"] if s["id"] not in case.done_steps]
        step = steps[0]
        who = browser(app, f"{step['role']}.housing")
        page = who.get(f"/desk/cases/{number}").text
        if step["role"] == "decider" and case.decision is None:
            r = act(who, number, "decide", outcome="approve")
        elif step is snap["item"]["steps"][-1]:
            r = act(who, number, "complete")
        else:
            assert f'name="step" value="{step["id"]}"' in page
            r = act(who, number, "complete_step", step=step["id"], note="同意")
        assert r.status_code == 303, r.text
        case, snap = svc.load(number)
    assert case.state == "completed" and case.decision == "approve"
    page = window.get(f"/desk/cases/{number}").text
    assert "受理通知书" in page and "准予" in page  # the statutory notices, printable
    notice = window.get(f"/desk/cases/{number}/documents/0")
    assert notice.status_code == 200 and "受理通知书" in notice.text and number in notice.text


def test_the_fee_must_be_recorded_to_the_fen(desk: Any) -> None:
    app, svc, _ = desk
    number = file_case(svc, RESALE, key="fee", **{"realestate.certificate_copies": 2})
    for username, action, fields in (
        ("window.realestate", "accept", {}),
        ("reviewer.realestate", "complete_step", {"step": "review"}),  # review and tax run in parallel
        ("undertaker.realestate", "complete_step", {"step": "tax"}),
    ):
        assert act(browser(app, username), number, action, **fields).status_code == 303
    decider = browser(app, "decider.realestate")
    assert act(decider, number, "assess_fee").status_code == 303
    case, _ = svc.load(number)
    fen = int(case.assessment["total_fen"])
    window = browser(app, "window.realestate")
    short = act(window, number, "record_payment", amount=f"{(fen - 1) // 100}.{(fen - 1) % 100:02d}")
    assert short.status_code == 422 and "缴费金额与核定金额不符" in short.text and "少 0.01 元" in short.text
    assert act(window, number, "record_payment", amount="abc").status_code == 422
    for odd in ("Infinity", "sNaN", "1E+999999999", "9" * 5000):  # review of issue 15: these answered 500
        assert act(window, number, "record_payment", amount=odd).status_code == 422
    exact = act(window, number, "record_payment", amount=f"{fen // 100}.{fen % 100:02d}")
    assert exact.status_code == 303
    case, _ = svc.load(number)
    assert case.paid_fen == case.assessment["total_fen"] and len(case.fee_anomalies) == 1  # the 1-fen-short one
    assert act(decider, number, "decide", outcome="approve").status_code == 303
    assert act(decider, number, "complete_step", step="decide").status_code == 303
    assert act(browser(app, "issuer.realestate"), number, "complete").status_code == 303
    case, _ = svc.load(number)
    assert case.state == "completed"


def test_a_stale_form_is_a_conflict_with_the_fresh_state(desk: Any) -> None:
    app, svc, _ = desk
    number = file_case(svc)
    first, second = browser(app, "window.housing"), browser(app, "window.housing")
    page = second.get(f"/desk/cases/{number}").text  # both open the case at version 1
    assert act(first, number, "accept").status_code == 303
    body = {"csrf": csrf(page), "version": "1", "action": "refuse", "reason": "材料不全"}
    r = second.post(f"/desk/cases/{number}/act", data=body)
    assert r.status_code == 409 and "本件刚刚被他人办理" in r.text and "办理中" in r.text
    case, _ = svc.load(number)
    assert case.state == "in_progress"  # the refusal did not happen


def test_walls_between_departments_and_forged_forms(desk: Any) -> None:
    app, svc, _ = desk
    number = file_case(svc)
    outsider = browser(app, "window.realestate")
    hidden, unknown = outsider.get(f"/desk/cases/{number}"), outsider.get("/desk/cases/QIQIHAR20260306999999")
    assert hidden.status_code == unknown.status_code == 404  # another department's case: as if there were none
    assert "没有这个办件" in hidden.text and "没有这个办件" in unknown.text
    page = browser(app, "window.housing").get(f"/desk/cases/{number}").text
    forged = outsider.post(f"/desk/cases/{number}/act", data={"csrf": csrf(page), "version": "1", "action": "accept"})
    assert forged.status_code == 403  # another session's token does not fit this session
    case, _ = svc.load(number)
    assert case.state == "submitted"


def test_materials_download_as_attachments_only_for_their_case(desk: Any, tmp_path: Path) -> None:
    app, svc, _ = desk
    from engine.service import uploads

    row = uploads.store(svc.db, tmp_path / "uploads", b"%PDF-1.4\n%%EOF\n",  # beside desk.db (tests/web/conftest.py)
                        "合同.pdf", "application/pdf", svc.clock.now())  # fmt: skip
    data, files = sample_application(svc.catalogue, svc.catalogue.items[PERMIT], {})
    files["construction_contract"] = [row.id]
    number = svc.submit(PERMIT, data, files, Actor("zhang", "applicant"), "files").number
    window = browser(app, "window.housing")
    assert "合同.pdf" in window.get(f"/desk/cases/{number}").text
    r = window.get(f"/desk/cases/{number}/files/{row.id}")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"].startswith("attachment;")
    other = file_case(svc, key="other")
    assert window.get(f"/desk/cases/{other}/files/{row.id}").status_code == 404
    with read_only(svc.db) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM uploads").scalar() == 1


def test_proxy_filing_records_who_filed_it(desk: Any) -> None:
    app, svc, _ = desk
    clerk = browser(app, "window.housing")
    r = clerk.get(f"/desk/proxy?item={PERMIT}")
    assert r.status_code == 303 and r.headers["location"] == f"/apply/{PERMIT}"
    draft = fill_sections(clerk, svc, PERMIT)
    upload_everything(clerk, svc, draft)
    check = clerk.get(f"/apply/{PERMIT}/check?draft={draft}")
    done = clerk.post(f"/apply/{PERMIT}/submit", data={"csrf": csrf(check.text), "draft": draft})
    page = clerk.get(done.headers["location"]).text
    assert "代办提交：window.housing" in page
    number = re.search(r'id="case-number">([A-Z0-9]+)<', page).group(1)  # type: ignore[union-attr]
    with read_only(svc.db) as conn:
        first = events_of(conn, number)[0]
    assert (first.actor, first.role, first.payload["proxy"]) == ("window.housing", "window", True)


def test_the_front_desk_accepts_chain_applications_once(desk: Any) -> None:
    from engine.service import chains as chain_service

    app, svc, _ = desk
    add_user(svc.db, "front", "frontdesk", None, PASSWORD)
    data, uploads = chain_application(svc, "organization")
    sub = chain_service.submit(svc, "organization", data, uploads, Actor("zhou", "applicant"), "desk-chain")
    assert browser(app, "window.housing").get("/desk/chains").status_code == 403
    front = browser(app, "front")
    page = front.get("/desk/chains").text
    assert sub.number in page.split('id="chains"')[1]
    r = front.post(f"/desk/chains/{sub.number}/accept", data={"csrf": csrf(page)})
    assert r.status_code == 303
    case, _ = svc.load(sub.members[0])
    assert case.state == "in_progress"
    again = front.get("/desk/chains").text
    waiting, running = again.split('id="chains"')[1].split('id="running"')
    assert sub.number not in waiting and sub.number in running  # now running, with its stage and light
    assert front.post(f"/desk/chains/{sub.number}/accept", data={"csrf": csrf(again)}).status_code == 422


def test_after_the_art32_period_the_desk_offers_only_acceptance_dated_from_receipt(desk: Any) -> None:
    app, svc, clk = desk
    number = file_case(svc)  # received Friday 2026-03-06 09:00
    # working days after 03-06: 09, 10, 11, 12, 13 -> the period ends with Friday 03-13
    clk.set(datetime(2026, 3, 16, 9, 0, tzinfo=TZ))  # Monday, no sweep has run (sweep_seconds=0)
    client = browser(app, "window.housing")
    page = client.get(f"/desk/cases/{number}").text
    assert 'value="accept"' in page and 'value="refuse"' not in page and 'value="request_supplement"' not in page
    assert "第三十二条" in page and "2026-03-06 09:00" in page  # says why, and from which day
    assert act(client, number, "accept").status_code == 303
    case, _ = svc.load(number, fresh=True)
    assert case.deemed_accepted and case.accepted_at == datetime(2026, 3, 6, 9, 0, tzinfo=TZ)
