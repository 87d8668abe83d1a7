"""The organization chain in a real browser against a real server (企业开办"一照多证"): the
applicant applies once for the whole chain — one merged form, each material uploaded once, the
business licence never asked — the front desk accepts once, five departments work their own
cases, and the applicant follows the chain with one query code until every result is out."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.portal import PDF

from engine.ledger.db import open_engine
from engine.rules.cases.steps import steps_of
from engine.service.accounts import add_user
from engine.service.samples import sample_chain_application

from .steps import PASSWORD, do, fill_page, login

CHAIN = "organization"
DEPARTMENTS = ("amr", "psb", "tax", "hrss", "hpf")


@pytest.fixture(scope="module")
def chain_staff(live_db: Path) -> Iterator[None]:
    db = open_engine(live_db)
    accounts = [("front.chain.e2e", "frontdesk", None)] + [
        (f"{role}.{dept}.chain.e2e", role, dept)
        for dept in DEPARTMENTS
        for role in ("window", "undertaker", "reviewer", "decider", "issuer")
    ]
    for username, role, dept in accounts:
        try:
            add_user(db, username, role, dept, PASSWORD)
        except ValueError:  # already there from an earlier run of this module
            pass
    db.dispose()
    yield


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    pdf, xlsx = tmp_path / "材料.pdf", tmp_path / "名单.xlsx"
    pdf.write_bytes(PDF)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    xlsx.write_bytes(out.getvalue())
    return {"pdf": pdf, "xlsx": xlsx}


def merged_sample(catalogue: Any) -> dict[str, Any]:
    return sample_chain_application(catalogue, catalogue.chains[CHAIN].data)[0]


def work_case(new_page: Any, base: str, catalogue: Any, number: str, code: str) -> None:
    """The member's department works its own case through its own item's steps."""
    item = catalogue.items[code].data
    dept = item["department"]
    steps = steps_of(item)
    for step in steps[1:-1]:
        worker = login(new_page, base, f"{step['role']}.{dept}.chain.e2e")
        if step["role"] == "decider":
            do(worker, base, number, "decide", outcome="approve")
        do(worker, base, number, "complete_step", step=step["id"])
        worker.context.close()
    last = login(new_page, base, f"{steps[-1]['role']}.{dept}.chain.e2e")
    do(last, base, number, "complete")
    last.context.close()


def test_the_organization_chain_from_one_application_to_every_result(
    live_server: str, chain_staff: None, catalogue: Any, new_page: Any, files: dict[str, Path], axe: Any,
    screenshot: Any,
) -> None:  # fmt: skip
    from playwright.sync_api import expect

    base = live_server
    data = merged_sample(catalogue)
    applicant = new_page("desktop")

    # the chain's guide offers one application for the whole chain
    applicant.goto(f"{base}/chains/{CHAIN}")
    axe.check(applicant, "chain guide")
    applicant.get_by_role("link", name="一表申请整个链条").click()
    while applicant.get_by_role("button", name="保存并继续").count():
        section = applicant.url.split("?")[0].rsplit("/", 1)[1]
        fill_page(applicant, section, data.get(section, {}))
        applicant.get_by_role("button", name="保存并继续").click()
    expect(applicant.get_by_role("heading", level=1)).to_have_text("申请材料")
    axe.check(applicant, "chain materials page")
    labels = applicant.locator(".field.material label").all_inner_texts()
    assert not any("营业执照" in label for label in labels)  # produced by the first stage, never asked
    boxes = applicant.locator('input[type="file"]').all()
    assert len(boxes) == len({b.get_attribute("name") for b in boxes})  # each material once
    for box in boxes:
        accept = box.get_attribute("accept") or ""
        box.set_input_files(str(files["pdf"] if ".pdf" in accept else files["xlsx"]))
    applicant.get_by_role("button", name="上传并继续").click()
    expect(applicant.get_by_role("heading", level=1)).to_have_text("核对并提交")
    applicant.get_by_role("button", name="提交申请").click()
    expect(applicant.get_by_text("链条申请编号")).to_be_visible()
    number = applicant.locator("#case-number").inner_text()
    query_code = applicant.locator("#query-code").inner_text()
    assert re.fullmatch(r"L\d{8}[0-9A-F]{6}", number)
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{2}", query_code)

    # the front desk accepts the whole application once (统一受理)
    front = login(new_page, base, "front.chain.e2e")
    front.goto(f"{base}/desk/chains")
    axe.check(front, "front desk chains")
    front.locator(f'form[action="/desk/chains/{number}/accept"]').get_by_role("button", name="统一受理").click()
    expect(front.get_by_role("status")).to_contain_text("已统一受理")
    expect(front.locator("#running")).to_contain_text(number)

    # one query code opens the chain; the first stage's case is with the market regulator
    applicant.goto(base + "/progress")
    applicant.get_by_label("办件编号").fill(number)
    applicant.get_by_label("查询码").fill(query_code)
    applicant.get_by_role("button", name="查询").click()
    expect(applicant.locator("#chain-state")).to_contain_text("办理中")
    axe.check(applicant, "chain progress")
    registration = applicant.locator("#chain-stages > li").first.locator("a").first
    member = str(registration.get_attribute("href")).rsplit("/", 1)[1]
    work_case(new_page, base, catalogue, member, "QQ-AMR-DJ-001")

    # the licence is out: the four start-up cases open at once, each already accepted
    applicant.reload()
    second = applicant.locator("#chain-stages > li").nth(1)
    expect(second.locator("a")).to_have_count(4)
    expect(second).to_contain_text("办理中")
    numbers = {a.inner_text(): a.get_attribute("href").rsplit("/", 1)[1] for a in second.locator("a").all()}  # type: ignore[union-attr]
    codes = {catalogue.items[c].data["name"]: c for c in catalogue.chains[CHAIN].data["stages"][1]["items"]}
    for name, case_number in numbers.items():
        work_case(new_page, base, catalogue, case_number, codes[name])

    # every result issued: the chain is complete, and each member case opens with the same code
    applicant.reload()
    expect(applicant.locator("#chain-state")).to_contain_text("全部办结")
    screenshot(applicant, "chain-progress-completed")
    applicant.locator("#chain-stages a").nth(2).click()
    expect(applicant.locator("#state")).to_contain_text("已办结")
