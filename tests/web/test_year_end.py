"""A year's end is not a crash: with no calendar/2027.yaml yet (the reference catalogue has 2025
and 2026), everything due in 2027 gets a provisional deadline counted from the statutory
holidays of 《全国年节及纪念日放假办法》, marked 暂定 on every page, notice and API answer —
and counted again, unmarked, once the State Council's file for 2027 is added.

2027 by the statutory days alone: 元旦 Friday 01-01 is the only day off in early January (no
bridge, no make-up day); Saturdays and Sundays are off.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support import copy_catalogue
from support.cases import chain_application, file_case
from support.desk import PASSWORD, browser
from support.portal import csrf

from engine.base.dates import TZ
from engine.ledger import tables
from engine.ledger.cases import get_case
from engine.ledger.db import read_only
from engine.rules import clock
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service import chains as chain_service
from engine.service import documents, green_channel, provisional, recount
from engine.service.accounts import add_user
from engine.supervision import sweep as supervision
from engine.supervision.counts import lights_of
from engine.web.app import create_app

CULTURE = "QQ-CULTURE-XK-101"  # promised 10 working days, legal 20; review 2 days, inspection 4
NOTE = "（暂定：2027年放假安排尚未公布，按法定节假日推算）"
FULL = f'<span class="provisional">{NOTE}</span>'  # after a date on a page about one case
SHORT = "（暂定）"  # in a list, with the reason as its title
CULTURE_STAFF = [("window.culture", "window"), ("undertaker.culture", "undertaker"), ("inspector.culture", "inspector")]


def at(y: int, mo: int, d: int, h: int = 9) -> datetime:
    return datetime(y, mo, d, h, 0, tzinfo=TZ)


def staff(role: str, dept: str = "culture") -> Actor:
    return Actor(f"{role}.{dept}", role, dept)


def add_culture_staff(svc: Any) -> None:
    for username, role in CULTURE_STAFF:
        add_user(svc.db, username, role, "culture", PASSWORD)


def row(svc: Any, number: str) -> dict[str, Any]:
    with read_only(svc.db) as conn:
        found = get_case(conn, number)
    assert found is not None
    return found


def day(iso: str | None) -> date:
    assert iso is not None
    return clock.local_date(datetime.fromisoformat(iso))


def table_row(html: str, label: str) -> str:
    """The <tr> of a page's table whose header is ``label``."""
    found = re.search(rf"<tr><th scope=\"row\">{label}</th>.*?</tr>", html)
    assert found, label
    return found.group(0)


def rows_of(html: str) -> list[str]:
    return re.findall(r"<tr[ >].*?</tr>", html, re.S)


def progress_page(app: Any, number: str, query_code: str, lang: str = "") -> str:
    client = TestClient(app, follow_redirects=False)
    page = client.get(f"/progress?number={number}")
    r = client.post("/progress", data={"csrf": csrf(page.text), "number": number, "query_code": query_code})
    assert r.status_code == 303, r.text
    return client.get(f"/progress/{number}{lang}").text


def test_a_case_accepted_on_24_december_shows_provisional_deadlines_everywhere(desk: Any) -> None:
    app, svc, clk = desk
    add_culture_staff(svc)
    clk.set(at(2026, 12, 24))  # Thursday
    number = file_case(svc, CULTURE, key="dec24")
    window = browser(app, "window.culture")
    page = window.get(f"/desk/cases/{number}").text
    r = window.post(
        f"/desk/cases/{number}/act",
        data={"csrf": csrf(page), "version": "1", "action": "accept"},
    )
    assert r.status_code == 303, r.text  # was: a case accepted now had no deadline at all

    # promised 10: 12-25 (1), 12-28..31 (5), [01-01 元旦], 01-04..08 (10) -> Friday 2027-01-08;
    # legal 20: 01-11..15 (15), 01-18..22 (20) -> Friday 2027-01-22
    case, snap = svc.load(number)
    dl = svc.deadlines(case, snap)
    assert dl.promised is not None and clock.local_date(dl.promised) == date(2027, 1, 8)
    assert dl.legal is not None and clock.local_date(dl.legal) == date(2027, 1, 22)
    assert dl.provisional_from == 2027 and dl.is_provisional(dl.promised) and dl.is_provisional(dl.legal)
    # the undertake step (材料审查) (2 working days: 12-25, 12-28) stays in 2026: exact
    step = dl.steps["undertake"]
    assert clock.local_date(step) == date(2026, 12, 28) and not dl.is_provisional(step)
    stored = row(svc, number)
    assert day(stored["due_promised"]) == date(2027, 1, 8) and day(stored["due_legal"]) == date(2027, 1, 22)
    assert stored["provisional_from"] == 2027

    # the desk's case page: each 2027 date with the reason; the 2026 step date unmarked
    page = window.get(f"/desk/cases/{number}").text
    assert "2027-01-08 23:59" + FULL in table_row(page, "承诺办结期限")
    assert "2027-01-22 23:59" + FULL in table_row(page, "法定办结期限")
    assert "2026-12-28 23:59</td>" in table_row(page, "环节时限")
    english = window.get(f"/desk/cases/{number}?lang=en").text
    assert (
        '2027-01-08 23:59<span class="provisional"> (provisional: the 2027 public holiday arrangement is not '
        "published yet; counted from the statutory holidays)</span>"
    ) in english
    assert "暂定" not in english

    # the applicant's progress page
    progress = progress_page(app, number, case_query_code(svc, number))
    assert re.search(r'<td id="deadline">2027-01-08 23:59<span class="provisional">' + re.escape(NOTE), progress)

    # the JSON API names the provisional dates
    api = TestClient(app).get(f"/api/cases/{number}", params={"query_code": case_query_code(svc, number)}).json()
    assert api["deadlines"]["provisional"] == ["promised", "legal"]
    assert datetime.fromisoformat(api["deadlines"]["promised"]).astimezone(TZ).date() == date(2027, 1, 8)

    # the acceptance notice prints both dates with the reason
    notice = documents.documents_of(svc, number)[0]
    assert notice.kind == "acceptance"
    assert f"即承诺于2027年1月8日{NOTE}前办结，最迟不超过2027年1月22日{NOTE}。" in notice.paragraphs
    printed = window.get(f"/desk/cases/{number}/documents/0").text
    assert f"2027年1月8日{NOTE}" in printed


def case_query_code(svc: Any, number: str) -> str:
    return str(row(svc, number)["query_code"])


def test_worklists_supervision_and_lights_use_the_provisional_dates_with_the_mark(desk: Any) -> None:
    app, svc, clk = desk
    add_culture_staff(svc)
    clk.set(at(2026, 12, 28))  # Monday
    waiting = file_case(svc, CULTURE, key="waiting")
    running = file_case(svc, CULTURE, key="running")
    case = svc.act(running, "accept", staff("window"), {}, 1)
    svc.act(running, "complete_step", staff("undertaker"), {"step": "undertake"}, case.version)

    # the window's worklist: the Art. 32 period from 12-28: 12-29, 30, 31, 01-04, 01-05 -> 2027-01-05
    page = browser(app, "window.culture").get("/desk").text
    line = next(tr for tr in rows_of(page) if waiting in tr)
    assert "2027-01-05 23:59" in line and SHORT in line
    assert 'title="暂定：2027年放假安排尚未公布，按法定节假日推算"' in line
    # the inspection step (4 working days from 12-28: 12-29, 30, 31, 01-04) is due Monday 2027-01-04,
    # before the promise (10: 12-29..31 (3), 01-04..08 (8), 01-11, 01-12 -> 2027-01-12)
    stored = row(svc, running)
    assert day(stored["due_step"]) == date(2027, 1, 4) and day(stored["due_promised"]) == date(2027, 1, 12)
    inspector = browser(app, "inspector.culture").get("/desk").text
    line = next(tr for tr in rows_of(inspector) if running in tr)
    assert "2027-01-04 23:59" in line and SHORT in line
    listed = browser(app, "supervisor").get("/supervision/cases").text
    line = next(tr for tr in rows_of(listed) if running in tr)
    assert "2027-01-04 23:59" in line and SHORT in line

    # Monday 2027-01-11: the promise (01-12) is within one working day -> yellow; the step (01-04) is
    # overdue -> abnormal; both recorded with the provisional year beside their deadline
    clk.set(at(2027, 1, 11, 10))
    supervision.sweep(svc)
    lights = {e["kind"]: e["detail"] for e in lights_of(svc.db, running)}
    assert lights["warning"]["provisional_from"] == 2027 and day(lights["warning"]["deadline"]) == date(2027, 1, 12)
    assert lights["abnormal"]["provisional_from"] == 2027
    page = browser(app, "supervisor").get(f"/desk/cases/{running}").text
    timeline = page.split('id="lights"')[1].split("</ol>")[0]
    assert "黄灯：承诺期限将至" + '<span class="provisional" title="暂定：2027' in timeline


def test_a_correction_due_in_2027_is_issued_with_a_provisional_date(desk: Any) -> None:
    """It used to answer 500: from about 24 December even the default five working days reach 2027."""
    app, svc, clk = desk
    clk.set(at(2026, 12, 25))  # Friday
    supervisor = browser(app, "supervisor")
    page = supervisor.get("/supervision/corrections").text
    r = supervisor.post(
        "/supervision/corrections",
        data={"csrf": csrf(page), "department": "housing", "card": "yellow", "reason": "逾期未答复", "days": "5"},
    )
    assert r.status_code == 303, r.text
    # five working days from Friday 12-25: 12-28, 29, 30, 31, [01-01 元旦], Monday 2027-01-04
    with read_only(svc.db) as conn:
        stored = conn.execute(tables.corrections.select()).one()
    assert day(stored.respond_by) == date(2027, 1, 4) and stored.provisional_from == 2027 and stored.working_days == 5
    listed = supervisor.get("/supervision/corrections").text.split('id="corrections"')[1].split("</table>")[0]
    assert "2027-01-04" + '<span class="provisional" title="暂定：2027年放假安排尚未公布，按法定节假日推算">' in listed


def test_a_follow_up_opened_on_28_december_gets_a_provisional_due_date(desk: Any) -> None:
    app, svc, clk = desk
    clk.set(at(2026, 12, 28))  # Monday
    number = file_case(svc, key="rated")
    case = svc.act(number, "refuse", Actor("window.housing", "window", "housing"), {"reason": "不属于本机关职权"}, 1)
    svc.act(number, "evaluate", Actor("zhang", "applicant"), {"rating": "不满意"}, case.version)
    # fifteen working days from 12-28: 12-29..31 (3), 01-04..08 (8), 01-11..15 (13), 01-18, Tuesday 01-19 (15)
    with read_only(svc.db) as conn:
        followup = conn.execute(tables.followups.select()).one()
    assert day(followup.due) == date(2027, 1, 19) and followup.provisional_from == 2027
    assert followup.working_days == 15
    listed = browser(app, "supervisor").get("/supervision/corrections").text.split('id="followups"')[1]
    assert "2027-01-19" + '<span class="provisional"' in listed.split("</table>")[0]


def test_a_chain_applied_for_in_december_has_provisional_dates_on_its_pages_card_and_api(desk: Any) -> None:
    app, svc, clk = desk
    add_user(svc.db, "front", "frontdesk", None, PASSWORD)
    clk.set(at(2026, 12, 14))  # Monday
    data, uploads = chain_application(svc, "construction")
    number = chain_service.submit(svc, "construction", data, uploads, Actor("zhou", "applicant"), "c").number
    front = browser(app, "front")
    page = front.get("/desk/chains").text
    accept = {"csrf": csrf(page), "green_channel": "yes", "green_basis": "重点项目名单（示例）"}
    assert front.post(f"/desk/chains/{number}/accept", data=accept).status_code == 303
    # the chain promises 70 working days: 12-15..31 (13), then 2027 (provisional) up to the 70th
    st = chain_service.state(svc, number)
    assert st.due is not None and svc.calendar.is_provisional(clock.local_date(st.due))
    card = green_channel.card(svc, number)
    assert card is not None
    # filing (0 days) ends the day applied for; siting (10 working days): 12-15..18 (4), 12-21..25 (9),
    # Monday 12-28 (10); both exact. Land permit (+5, 15 in all): 12-29..31 (13), [01-01], 01-04 (14),
    # 01-05 (15) -> 2027-01-05, provisional like every later stage.
    dates = {s.id: clock.local_date(s.due) for s in card.stages if s.due}
    assert (dates["filing"], dates["siting"], dates["land-permit"]) == (date(2026, 12, 14), date(2026, 12, 28),
                                                                      date(2027, 1, 5))  # fmt: skip
    assert [k for k, d in dates.items() if not svc.calendar.is_provisional(d)] == ["filing", "siting"]

    listing = front.get("/desk/chains").text.split('id="running"')[1]
    assert SHORT in next(tr for tr in rows_of(listing) if number in tr)
    card_page = front.get(f"/desk/chains/{number}/card").text
    assert NOTE in card_page.split('id="card-due"')[1].split("</td>")[0]
    siting_row = next(tr for tr in rows_of(card_page) if "2026-12-28" in tr)
    assert SHORT not in siting_row  # exact: the siting stage ends in 2026
    dashboard = browser(app, "supervisor").get("/supervision").text
    assert SHORT in next(tr for tr in rows_of(dashboard) if number in tr)
    code = chain_service.query_code(svc, number)
    api = TestClient(app).get(f"/api/chains/{number}", params={"query_code": code}).json()
    assert api["provisional"] == ["due"]
    progress = progress_page(app, number, code)
    assert NOTE in progress.split('id="chain-due"')[1].split("</td>")[0]


# --------------------------------------------------------------------------- counting again

CALENDAR_2027 = """\
# test-only arrangement, not the real 2027 notice
year: 2027
basis: {law: 测试用的2027年放假安排（非真实通知）, article: 全文}
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-04}
make_up_working_days:
  - {date: 2027-01-09, holiday: 元旦}
"""


def year_end_cases(svc: Any, clk: ManualClock) -> tuple[str, str]:
    """A case accepted Sunday 2026-12-20, a correction and a follow-up opened Monday 12-28."""
    clk.set(at(2026, 12, 20))
    number = file_case(svc, CULTURE, key="sunday")
    svc.act(number, "accept", staff("window"), {}, 1)
    clk.set(at(2026, 12, 28))
    from engine.supervision import corrections

    corrections.issue(
        svc.db, department="culture", card="yellow", reason="回访", issued_by="s", now=clk.now(),
        calendar=svc.calendar, working_days=5,
    )  # fmt: skip
    rated = file_case(svc, key="rated")
    case = svc.act(rated, "refuse", Actor("window.housing", "window", "housing"), {"reason": "不属于本机关职权"}, 1)
    svc.act(rated, "evaluate", Actor("zhang", "applicant"), {"rating": "不满意"}, case.version)
    return number, rated


def stored_dates(svc: Any, number: str) -> dict[str, tuple[date, int | None]]:
    stored = row(svc, number)
    with read_only(svc.db) as conn:
        correction = conn.execute(tables.corrections.select()).one()
        followup = conn.execute(tables.followups.select()).one()
    return {
        "promised": (day(stored["due_promised"]), stored["provisional_from"]),
        "legal": (day(stored["due_legal"]), stored["provisional_from"]),
        "correction": (day(correction.respond_by), correction.provisional_from),
        "followup": (day(followup.due), followup.provisional_from),
    }


# Provisional (元旦 alone off): promised 10 from Sunday 12-20: 12-21..25 (5), 12-28..31 (9), Monday 01-04
# (10); legal 20: 01-05..08 (14), 01-11..15 (19), Monday 01-18 (20). Correction 5 from 12-28: 12-29..31
# (3), 01-04, Tuesday 01-05. Follow-up 15 from 12-28: 12-29..31 (3), 01-04..08 (8), 01-11..15 (13), 01-18,
# Tuesday 01-19.
PROVISIONAL = {
    "promised": (date(2027, 1, 4), 2027),
    "legal": (date(2027, 1, 18), 2027),
    "correction": (date(2027, 1, 5), 2027),
    "followup": (date(2027, 1, 19), 2027),
}
# With the file (01-01..04 off, Saturday 01-09 worked): promised 12-31 is the 9th, Tuesday 01-05 the 10th;
# legal 01-05..08 (13), Saturday 01-09 (14), 01-11..15 (19), 01-18 (20) — the same day, now exact;
# correction 12-29..31 (3), 01-05, Wednesday 01-06; follow-up 01-05..08 (7), 01-09 (8), 01-11..15 (13),
# 01-18, 01-19 (15) — the same day, now exact.
EXACT = {
    "promised": (date(2027, 1, 5), None),
    "legal": (date(2027, 1, 18), None),
    "correction": (date(2027, 1, 6), None),
    "followup": (date(2027, 1, 19), None),
}


@pytest.fixture
def county(tmp_path: Path) -> Any:
    root = copy_catalogue(tmp_path / "catalogue")
    clk = ManualClock(at(2026, 12, 20))
    app = create_app(root, tmp_path / "var" / "y.db", clock=clk, sweep_seconds=0, reload_seconds=0)
    svc = app.state.service
    add_culture_staff(svc)
    add_user(svc.db, "supervisor", "supervisor", None, PASSWORD)
    with TestClient(app, follow_redirects=False):
        yield app, root, clk


def test_adding_the_2027_file_counts_every_provisional_deadline_again(county: Any) -> None:
    app, root, clk = county
    number, _ = year_end_cases(app.state.service, clk)
    assert stored_dates(app.state.service, number) == PROVISIONAL
    assert NOTE in browser(app, "window.culture").get(f"/desk/cases/{number}").text

    (root / "calendar" / "2027.yaml").write_text(CALENDAR_2027, encoding="utf-8")
    attempt = app.reload_now()  # what the watcher does within seconds of the file appearing
    assert attempt.result == "switched", attempt.problems
    svc = app.state.service
    assert svc.calendar.years == (2025, 2026, 2027) and svc.calendar.provisional_from == 2028
    assert stored_dates(svc, number) == EXACT
    page = browser(app, "window.culture").get(f"/desk/cases/{number}").text
    assert "2027-01-05 23:59</td>" in table_row(page, "承诺办结期限") and "暂定" not in page
    corrections_page = browser(app, "supervisor").get("/supervision/corrections").text
    assert "2027-01-06" in corrections_page and "暂定" not in corrections_page
    assert "即承诺于2027年1月5日前办结，最迟不超过2027年1月18日。" in documents.documents_of(svc, number)[0].paragraphs
    assert recount.provisional_deadlines(svc) == 0  # nothing left to count again


def test_a_server_started_with_the_new_file_counts_them_again_at_its_first_sweep(county: Any, tmp_path: Path) -> None:
    app, root, clk = county
    number, _ = year_end_cases(app.state.service, clk)
    (root / "calendar" / "2027.yaml").write_text(CALENDAR_2027, encoding="utf-8")
    # a restart: a new app on the same database reads the catalogue with the new file
    restarted = create_app(root, tmp_path / "var" / "y.db", clock=clk, sweep_seconds=0, reload_seconds=0)
    svc = restarted.state.service
    assert stored_dates(svc, number) == PROVISIONAL  # still marked: never shown exact while stale
    report = supervision.sweep(svc)
    assert report.other["provisional_recounted"] == 3  # the case, the correction and the follow-up
    assert stored_dates(svc, number) == EXACT
    assert "provisional_recounted" not in supervision.sweep(svc).other


def test_the_mark_names_the_year_and_is_escaped_text() -> None:
    # 2027-01-08 23:59 in Beijing is 15:59 UTC, as stored
    stored = "2027-01-08T15:59:59.999999+00:00"
    assert provisional.is_provisional(stored, 2027) and not provisional.is_provisional(stored, 2028)
    assert not provisional.is_provisional(None, 2027) and not provisional.is_provisional(stored, None)
    assert provisional.mark(stored, 2027) == (
        '<span class="provisional" title="暂定：2027年放假安排尚未公布，按法定节假日推算">（暂定）</span>'
    )
    assert provisional.mark(stored, 2027, full=True) == FULL
    assert provisional.mark("2026-12-31T15:59:59.999999+00:00", 2027) == ""  # 2026 has its file: exact
    assert provisional.chinese_note(date(2028, 3, 1)) == "（暂定：2028年放假安排尚未公布，按法定节假日推算）"


def test_the_administrators_page_says_deadlines_are_provisional_until_the_file_comes(desk: Any) -> None:
    app, _, clk = desk
    clk.set(at(2026, 11, 2))
    warnings = browser(app, "supervisor").get("/admin").text.split('id="warnings"')[1].split("</ul>")[0]
    assert "calendar/2027.yaml" in warnings and "跨入 2027 年的期限暂按法定节假日推算并标为“暂定”" in warnings
    clk.set(at(2027, 1, 4))  # the new year came without its file
    warnings = browser(app, "supervisor").get("/admin").text.split('id="warnings"')[1].split("</ul>")[0]
    assert "今年的期限暂按《全国年节及纪念日放假办法》的法定节假日推算" in warnings
