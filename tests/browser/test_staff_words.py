"""Staff pages in words, in a real browser against a real server, at 320, 390 and 1280 px: the
desk's case page shows labels and step names (none of the case's stored codes, no step id),
times in local time, each role lands on its own work with the waiting work linked, the decide
flow asks for an outcome in words and leaves no stale form, and a supplement reason typed for an
unticked material is kept and named. axe-core finds nothing serious on any of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.base import wording
from engine.check.pipeline import load
from engine.ledger.db import open_engine
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.rules.clock import SystemClock
from engine.service import chains as chain_service
from engine.service.accounts import add_user
from engine.service.cases import CaseService
from engine.service.samples import sample_application, sample_chain_application

REPO = Path(__file__).resolve().parents[2]
PERMIT = "QQ-HOUSING-XK-003"
PASSWORD = "staff-words-password"
WIDTHS = ((320, 800), (390, 844), (1280, 800))
ACCOUNTS = [
    ("window.words", "window", "housing"),
    ("reviewer.words", "reviewer", "housing"),
    ("decider.words", "decider", "housing"),
    ("front.words", "frontdesk", None),
    ("supervisor.words", "supervisor", None),
]


@pytest.fixture(scope="module")
def svc(live_db: Path) -> Iterator[CaseService]:
    """A service on the live server's own database: cases filed here are the server's cases."""
    cat = load(REPO).catalogue
    db = open_engine(live_db)
    for username, role, dept in ACCOUNTS:
        try:
            add_user(db, username, role, dept, PASSWORD)
        except ValueError:  # already there from an earlier test of this module
            pass
    yield CaseService(cat, db, SystemClock(), WorkCalendar.from_documents([d.data for d in cat.calendars.values()]))
    db.dispose()


def file_permit(svc: CaseService, key: str) -> str:
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[PERMIT])
    return str(svc.submit(PERMIT, data, uploads, Actor("zhang", "applicant"), key).number)


def sign_in(new_page: Any, base: str, username: str, size: tuple[int, int] = (1280, 800)) -> Any:
    """Log in from the login page itself (no page asked for): the person lands on their own work."""
    page = new_page(size)
    page.goto(base + "/desk/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return page


def no_sideways_scroll(page: Any, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"{where}: {width}px wide"


def test_the_case_page_in_words_and_the_decide_flow(
    live_server: str, svc: CaseService, new_page: Any, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    number = file_permit(svc, "words-decide")
    case, _ = svc.load(number)
    case = svc.act(number, "accept", Actor("window.words", "window", "housing"), {}, case.version)
    svc.act(number, "complete_step", Actor("reviewer.words", "reviewer", "housing"), {"step": "review"}, case.version)
    case, _ = svc.load(number)
    stored = {str(v) for s in case.data.values() for v in s.values() if isinstance(v, str | bool)}
    codes = {c for c in stored if re.fullmatch(r"[a-z_]+|True|False", c)} | {"review", "decide"}
    assert {"public_tender", "False"} <= codes  # the answers hold codes the page must not show

    for size in WIDTHS:
        page = sign_in(new_page, live_server, "decider.words", size)
        expect(page).to_have_url(re.compile(r"/desk$"))  # an approver lands on the worklist
        page.goto(f"{live_server}/desk/cases/{number}")
        text = page.locator("main").inner_text()
        for code in codes:
            assert not re.search(rf"(?<![\w.]){code}(?![\w.])", text), f"{size[0]}px shows {code}"
        assert "完成环节：审核" in text and "批准并核发电子证照：" in text
        received = wording.local_time(case.received_at)  # the record's first line, local time
        assert received in text
        no_sideways_scroll(page, f"case page at {size[0]}px")
        axe.check(page, f"case page at {size[0]}px")
        screenshot(page, f"staff-words-case-{size[0]}")

    page = sign_in(new_page, live_server, "decider.words", (390, 844))
    page.goto(f"{live_server}/desk/cases/{number}")
    decide = page.locator('form:has(input[name="action"][value="decide"])')
    expect(decide.locator("#decide-hint")).to_contain_text("作出决定后生成决定书")
    decide.get_by_label("理由（不予准予时必填）").fill("材料齐全")
    decide.get_by_role("button", name="作出决定").click()
    expect(page.locator("#error-summary")).to_contain_text("请选择决定：“准予”或“不予准予”")
    assert "outcome" not in page.locator("#error-summary").inner_text()
    decide = page.locator('form:has(input[name="action"][value="decide"])')
    expect(decide.get_by_label("理由（不予准予时必填）")).to_have_value("材料齐全")  # kept
    decide.get_by_label("准予", exact=True).check()
    decide.get_by_role("button", name="作出决定").click()
    expect(page.get_by_role("status")).to_contain_text("已办理：作出决定：准予许可")
    expect(page.get_by_role("status")).to_contain_text("下一步：请在下方办结并送达。")
    expect(page.locator('form:has(input[name="action"][value="decide"])')).to_have_count(0)  # no stale form
    expect(page.get_by_role("button", name="办结并送达")).to_be_visible()
    axe.check(page, "case page after the decision")
    screenshot(page, "staff-words-decided-390")


def test_every_role_lands_on_its_own_work_in_local_time(
    live_server: str, svc: CaseService, new_page: Any, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    data, uploads = sample_chain_application(svc.catalogue, svc.catalogue.chains["organization"].data)
    sub = chain_service.submit(svc, "organization", data, uploads, Actor("li", "applicant"), "words-chain")
    row = next(r for r in chain_service.waiting(svc) if r["number"] == sub.number)
    filed = wording.local_time(row["created_at"])  # stored in UTC, read in Beijing time
    for size in WIDTHS:
        front = sign_in(new_page, live_server, "front.words", size)
        expect(front).to_have_url(re.compile(r"/desk/chains$"))  # the front desk lands on what waits for it
        row_text = front.locator("#chains tr", has_text=sub.number).inner_text()
        assert filed in row_text and not re.search(r"\d{4}-\d{2}-\d{2}T", row_text)
        waiting = len(chain_service.waiting(svc))
        expect(front.get_by_role("navigation", name="工作台")).to_contain_text(f"链条申请统一受理（{waiting}）")
        no_sideways_scroll(front, f"chains at {size[0]}px")
        axe.check(front, f"chains at {size[0]}px")
        screenshot(front, f"staff-words-chains-{size[0]}")
    supervisor = sign_in(new_page, live_server, "supervisor.words", (390, 844))
    expect(supervisor).to_have_url(re.compile(r"/supervision$"))
    supervisor.goto(f"{live_server}/supervision/cases")
    text = supervisor.locator("main").inner_text()
    assert not re.search(r"\b(accept|undertake|review|decide|green|warning|violation)\b", text)
    axe.check(supervisor, "supervision case list")


def test_a_supplement_reason_for_an_unticked_material_is_kept(
    live_server: str, svc: CaseService, new_page: Any, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    number = file_permit(svc, "words-supplement")
    for size in WIDTHS:
        page = sign_in(new_page, live_server, "window.words", size)
        expect(page).to_have_url(re.compile(r"/desk$"))
        expect(page.locator("table.worklist thead")).to_contain_text("申请人")
        page.goto(f"{live_server}/desk/cases/{number}")
        form = page.locator('form:has(input[name="action"][value="request_supplement"])')
        form.get_by_label("施工合同 补正原因").fill("缺少盖章页")
        form.get_by_role("button", name="发出补正告知").click()
        expect(page.locator("#error-summary")).to_contain_text("未勾选的材料填写的说明未被采用：施工合同")
        form = page.locator('form:has(input[name="action"][value="request_supplement"])')
        expect(form.get_by_label("施工合同 补正原因")).to_have_value("缺少盖章页")
        no_sideways_scroll(page, f"supplement error at {size[0]}px")
        axe.check(page, f"supplement error at {size[0]}px")
        screenshot(page, f"staff-words-supplement-{size[0]}")
    assert svc.load(number)[0].state == "submitted"  # nothing was sent
