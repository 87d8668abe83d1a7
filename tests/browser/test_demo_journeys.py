"""The food journey from `make run` alone: `yangguang demo-users` (the real command, on the live
server's database) makes the market-supervision accounts, and with the printed demo password the
window clerk (window.amr) signs in, finds a new food business licence application on the worklist
and accepts it; the undertaker (undertaker.amr) finishes the material review. Before this issue
only housing and real estate had demo accounts, so nobody could work a food case without
`user add`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.check.pipeline import load
from engine.ledger import tables
from engine.ledger.db import open_engine
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.rules.clock import SystemClock
from engine.service.accounts import DEMO_PASSWORD
from engine.service.cases import CaseService
from engine.service.samples import sample_application

from .steps import do

REPO = Path(__file__).resolve().parents[2]
FOOD = "QQ-AMR-XK-101"  # 食品经营许可: accept (window) → undertake (undertaker) → inspect → decide
WIDTHS = (320, 390, 1280)


@pytest.fixture(scope="module")
def demo_table(live_db: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "engine", "demo-users", "--db", str(live_db)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/desk")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)  # the password the table prints
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/desk$"))


def test_a_food_case_is_worked_with_the_demo_accounts(
    live_server: str, live_db: Path, demo_table: str, new_page: Any, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    assert re.search(r"window\.amr\s+窗口受理 window\s+市场监管局 \(amr\)", demo_table), demo_table
    assert re.search(r"undertaker\.amr\s+承办 undertaker\s+市场监管局 \(amr\)", demo_table)
    assert f"password: {DEMO_PASSWORD}" in demo_table

    catalogue = load(REPO).catalogue
    db = open_engine(live_db)
    calendar = WorkCalendar.from_documents([d.data for d in catalogue.calendars.values()])
    data, uploads = sample_application(catalogue, catalogue.items[FOOD], {})
    number = (
        CaseService(catalogue, db, SystemClock(), calendar)
        .submit(FOOD, data, uploads, Actor("applicant", "applicant"), "demo-journey-food")
        .number
    )
    db.dispose()

    for width in WIDTHS:  # the clerk's worklist on a phone and a desk
        clerk = new_page((width, 800))
        sign_in(clerk, live_server, "window.amr")
        expect(clerk.get_by_role("link", name=number)).to_be_visible()
        # (the worklist's own width at 320 px is the phone-layout part of issue 16, tested there)
        axe.check(clerk, f"window.amr worklist at {width} px")
        screenshot(clerk, f"demo-journey-food-worklist-{width}")

    clerk.get_by_role("link", name=number).click()
    axe.check(clerk, "the food case for window.amr")
    do(clerk, live_server, number, "accept")

    undertaker = new_page("desktop")
    sign_in(undertaker, live_server, "undertaker.amr")
    expect(undertaker.get_by_role("link", name=number)).to_be_visible()  # the accepted case is now its work
    do(undertaker, live_server, number, "complete_step", step="undertake")
    screenshot(undertaker, "demo-journey-food-undertaken")

    db = open_engine(live_db)
    with db.connect() as conn:
        actions = [
            (r.action, r.actor)
            for r in conn.execute(
                tables.events.select()
                .join(tables.cases, tables.cases.c.id == tables.events.c.case_id)
                .where(tables.cases.c.number == number)
                .order_by(tables.events.c.seq)
            )
        ]
    db.dispose()
    assert ("accept", "window.amr") in actions and ("complete_step", "undertaker.amr") in actions
