"""A complaint in a real browser against a real server: a person files it from the home page, notes its
number and query code and follows it; the complaints office answers it and finds it justified on the desk; the
person sees the answer and rates it, which closes it. axe-core checks the form and the desk page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.ledger.db import open_engine
from engine.service.accounts import add_user

from .steps import PASSWORD, login


def test_file_follow_answer_and_rate_a_complaint(live_server: str, live_db: Path, new_page: Any, axe: Any) -> None:
    from playwright.sync_api import expect

    db = open_engine(live_db)
    try:
        add_user(db, "window.complaints.e2e", "window", "complaints", PASSWORD)
    except ValueError:  # there from an earlier run on this server
        pass
    db.dispose()
    base = live_server
    person = new_page("phone")
    person.goto(base + "/")
    person.get_by_role("link", name="咨询、投诉、举报、求助、建议").click()
    axe.check(person, "the appeal form")
    person.get_by_label("投诉", exact=True).check()
    person.get_by_label("标题").fill("窗口办理超期")
    person.get_by_label("内容").fill("提交三周仍未受理，请督促。")
    person.get_by_label("所涉部门（如有）").select_option("housing")
    person.get_by_label("姓名").fill("张三")
    person.get_by_label("联系电话").fill("13800000000")
    person.get_by_role("button", name="提交").click()
    number = person.locator("#appeal-number").inner_text()
    code = person.locator("#query-code").inner_text()
    assert re.fullmatch(r"[A-Z]+SQ\d{12}", number), number

    person.get_by_role("link", name="查看办理情况").click()
    person.get_by_label("查询码").fill(code)
    person.get_by_role("button", name="查询").click()
    expect(person.locator("#state")).to_have_text("待办理")

    office = login(new_page, base, "window.complaints.e2e")
    office.get_by_role("link", name=re.compile("诉求办理")).click()
    office.get_by_role("link", name=number).click()
    axe.check(office, "an appeal's desk page")
    office.get_by_label("答复内容").fill("已督促住建局当日受理，并对窗口人员进行了批评教育。")
    office.get_by_role("button", name="答复", exact=True).click()
    expect(office.locator("[role=status]")).to_contain_text("已答复")
    office.get_by_label("属实", exact=True).check()
    office.get_by_role("button", name="认定", exact=True).click()
    expect(office.locator("#appeal")).to_contain_text("属实")

    person.goto(f"{base}/appeals/follow?number={number}")
    person.get_by_label("查询码").fill(code)
    person.get_by_role("button", name="查询").click()
    expect(person.locator("#answer")).to_contain_text("已督促住建局当日受理")
    person.get_by_label("满意", exact=True).check()
    person.get_by_role("button", name="提交评价").click()
    expect(person.locator("#state")).to_have_text("已办结")
    expect(person.locator("#rated")).to_contain_text("满意")
