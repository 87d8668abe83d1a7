"""The whole journey in a real browser against a real server: an applicant finds the
construction permit by searching in Chinese, fills the generated form with a wrong ID number,
fixes it, uploads materials, submits and gets the number; a clerk asks for supplements; the
applicant supplements; staff work every step; the applicant sees completion and rates it.
A second journey records an exact fee. axe-core checks the guide, form and worklist pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.portal import PDF

from engine.ledger.db import open_engine
from engine.service.accounts import add_user
from engine.service.samples import sample_application

from .steps import PASSWORD, do, fill_page, login

PERMIT, PERMIT_NAME = "QQ-HOUSING-XK-003", "建筑工程施工许可证核发"
RESALE = "QQ-REALESTATE-DJ-102"
BAD_ID = "110105194912310021"  # the right check digit is X


@pytest.fixture(scope="module")
def staff(live_db: Path) -> Iterator[None]:
    db = open_engine(live_db)
    for dept in ("housing", "realestate"):
        for role in ("window", "undertaker", "reviewer", "decider", "issuer"):
            try:
                add_user(db, f"{role}.{dept}.e2e", role, dept, PASSWORD)
            except ValueError:  # already there from an earlier test of this module
                pass
    db.dispose()
    yield


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "材料.pdf"
    path.write_bytes(PDF)
    return path


def test_applicant_and_staff_journey(
    live_server: str, staff: None, catalogue: Any, new_page: Any, pdf: Path, axe: Any, screenshot: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server
    data, _ = sample_application(catalogue, catalogue.items[PERMIT], {})
    applicant = new_page("desktop")

    # find the item by searching in Chinese, read its guide, start the application
    applicant.goto(base + "/")
    applicant.get_by_label("搜索事项").fill("施工")
    applicant.get_by_label("搜索事项").press("Enter")
    applicant.get_by_role("link", name=PERMIT_NAME, exact=True).click()
    expect(applicant.get_by_role("img", name=re.compile("办理流程"))).to_be_visible()  # the SVG flowchart
    axe.check(applicant, "item guide")
    applicant.get_by_role("link", name="在线申请").click()

    # the first page with a wrong ID number: the error summary takes focus, the answers stay
    expect(applicant.get_by_role("heading", level=1)).to_have_text("申请人信息")
    axe.check(applicant, "application form")
    fill_page(applicant, "applicant", data["applicant"] | {"id_card": BAD_ID})
    applicant.get_by_role("button", name="保存并继续").click()
    summary = applicant.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("校验位不正确")
    expect(applicant.locator('[name="applicant.id_card"]')).to_have_value(BAD_ID)
    expect(applicant.locator('[name="applicant.name"]')).to_have_value(data["applicant"]["name"])
    screenshot(applicant, "form-error-desktop")
    axe.check(applicant, "form with errors")
    summary.get_by_role("link").first.click()
    expect(applicant.locator('[name="applicant.id_card"]')).to_be_focused()  # the link goes to the field
    applicant.locator('[name="applicant.id_card"]').fill(BAD_ID[:-1] + "X")
    applicant.get_by_role("button", name="保存并继续").click()

    # the other sections, then the materials (uploaded files are judged by content)
    while applicant.get_by_role("button", name="保存并继续").count():
        section = applicant.url.split("?")[0].rsplit("/", 1)[1]
        fill_page(applicant, section, data.get(section, {}))
        applicant.get_by_role("button", name="保存并继续").click()
    expect(applicant.get_by_role("heading", level=1)).to_have_text("申请材料")
    for box in applicant.locator('input[type="file"]').all():
        box.set_input_files(str(pdf))
    applicant.get_by_role("button", name="上传并继续").click()
    expect(applicant.get_by_role("heading", level=1)).to_have_text("核对并提交")
    expect(applicant.get_by_text(BAD_ID[:-1] + "X")).to_be_visible()
    applicant.get_by_role("button", name="提交申请").click()
    number = applicant.locator("#case-number").inner_text()
    query_code = applicant.locator("#query-code").inner_text()
    assert re.fullmatch(r"[A-Z]+\d{14}", number) and re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{2}", query_code)

    # the window clerk sees it on the worklist and gives the one-time supplement notice
    clerk = login(new_page, base, "window.housing.e2e")
    expect(clerk.get_by_role("link", name=number)).to_be_visible()
    screenshot(clerk, "worklist-desktop")
    axe.check(clerk, "worklist")
    clerk.get_by_role("link", name=number).click()
    axe.check(clerk, "case page")
    form = clerk.locator('form:has(input[name="action"][value="request_supplement"])')
    form.locator('input[name="material"][value="construction_contract"]').check()
    form.locator('[name="reason-construction_contract"]').fill("施工合同未加盖双方公章")
    form.get_by_role("button", name="发出补正告知").click()
    expect(clerk.get_by_role("status")).to_contain_text("已办理")

    # the applicant reads the notice on the progress page and supplements
    applicant.goto(base + "/progress")
    applicant.get_by_label("办件编号").fill(number)
    applicant.get_by_label("查询码").fill(query_code.replace("-", "").lower())  # as typed: any case, no dashes
    applicant.get_by_role("button", name="查询").click()
    expect(applicant.locator("#state")).to_contain_text("待补正材料")
    expect(applicant.get_by_text("施工合同未加盖双方公章")).to_be_visible()
    applicant.locator('input[type="file"]').first.set_input_files(str(pdf))
    applicant.get_by_role("button", name="提交补正材料").click()
    expect(applicant.get_by_role("status")).to_contain_text("补正材料已提交")
    expect(applicant.locator("#state")).to_contain_text("待受理")

    # staff accept and work every step in order, each by its own role
    do(clerk, base, number, "accept")
    item = catalogue.items[PERMIT].data
    for step in item["steps"][1:-1]:  # the first step's work was the acceptance
        worker = login(new_page, base, f"{step['role']}.housing.e2e")
        if step["role"] == "decider":
            do(worker, base, number, "decide", outcome="approve")
        do(worker, base, number, "complete_step", step=step["id"])
    last = item["steps"][-1]
    closer = login(new_page, base, f"{last['role']}.housing.e2e")
    if last["role"] == "decider":  # the decision is the last step's own work
        do(closer, base, number, "decide", outcome="approve")
    do(closer, base, number, "complete")

    # the applicant sees the completion and rates the service once
    applicant.goto(f"{base}/progress/{number}")
    expect(applicant.locator("#state")).to_contain_text("已办结")
    applicant.get_by_label("满意", exact=True).check()
    applicant.get_by_label("意见和建议（选填）").fill("一次告知，很清楚")
    applicant.get_by_role("button", name="提交评价").click()
    expect(applicant.get_by_role("status")).to_contain_text("感谢您的评价")
    expect(applicant.get_by_text("您的评价：满意")).to_be_visible()
    screenshot(applicant, "progress-completed-desktop")


def test_the_exact_fee_in_the_browser(
    live_server: str, live_db: Path, staff: None, catalogue: Any, new_page: Any
) -> None:
    from playwright.sync_api import expect

    from engine.rules.calendar import WorkCalendar
    from engine.rules.cases.model import Actor
    from engine.rules.clock import SystemClock
    from engine.service.cases import CaseService

    base = live_server
    db = open_engine(live_db)
    svc = CaseService(
        catalogue, db, SystemClock(), WorkCalendar.from_documents([d.data for d in catalogue.calendars.values()])
    )
    data, uploads = sample_application(catalogue, catalogue.items[RESALE], {"realestate.certificate_copies": 2})
    sub = svc.submit(RESALE, data, uploads, Actor("li", "applicant"), "e2e-fee")
    db.dispose()
    number = sub.number

    clerk = login(new_page, base, "window.realestate.e2e")
    do(clerk, base, number, "accept")
    do(login(new_page, base, "reviewer.realestate.e2e"), base, number, "complete_step", step="review")
    do(login(new_page, base, "undertaker.realestate.e2e"), base, number, "complete_step", step="tax")
    decider = login(new_page, base, "decider.realestate.e2e")
    do(decider, base, number, "assess_fee")
    total = decider.locator("tfoot td").last.inner_text().replace("元", "").strip()
    short = str(Decimal(total) - Decimal("0.01"))  # one fen short
    clerk.goto(f"{base}/desk/cases/{number}")
    form = clerk.locator('form:has(input[name="action"][value="record_payment"])')
    form.get_by_label("实收金额（元）").fill(short)
    form.get_by_role("button", name="登记缴费").click()
    expect(clerk.locator("#error-summary")).to_contain_text("缴费金额与核定金额不符")
    form = clerk.locator('form:has(input[name="action"][value="record_payment"])')
    form.get_by_label("实收金额（元）").fill(total)
    form.get_by_role("button", name="登记缴费").click()
    expect(clerk.get_by_role("status")).to_contain_text("登记缴费")
    expect(clerk.get_by_text("已缴：")).to_contain_text(total)
