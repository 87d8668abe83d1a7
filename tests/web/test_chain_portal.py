"""A whole approval chain through the applicant portal (TestClient on the real app and a real
SQLite file): one merged form, one set of materials, one submission, one query code that opens
the chain's progress page and every member case."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient
from support.portal import apply_for_chain, csrf, find

from engine.rules import chains
from engine.rules.cases.model import Actor
from engine.service import chains as chain_service


def test_the_chain_guide_offers_one_application_for_the_whole_chain(portal: Any) -> None:
    client, _, _ = portal
    guide = client.get("/chains/organization")
    assert 'href="/chains/organization/apply"' in guide.text
    assert client.get("/chains/nowhere/apply").status_code == 404


def test_one_application_asks_each_material_once_and_never_a_result_the_chain_produces(portal: Any) -> None:
    client, svc, _ = portal
    cat = svc.catalogue
    chain = cat.chains["organization"].data
    app = chains.application_item(cat, chain)
    names = [m["name"] for m in app["materials"]]
    assert len(names) == len(set(names))
    assert "营业执照" not in "".join(names)  # the licence the first stage issues is never asked
    number, _ = apply_for_chain(client, svc, "organization")
    st = chain_service.state(svc, number)
    assert st.stage == 0 and [code for code, _, _ in st.members["registration"]] == ["QQ-AMR-DJ-001"]


def test_one_query_code_opens_the_chain_and_every_member_case(portal: Any) -> None:
    client, svc, _ = portal
    number, query_code = apply_for_chain(client, svc, "organization")
    assert client.get(f"/progress/{number}").status_code == 303  # no grant yet
    assert find(client, number, "000000" if query_code != "000000" else "111111").status_code == 404
    r = find(client, number, query_code)
    assert r.status_code == 303 and r.headers["location"] == f"/progress/{number}"
    page = client.get(f"/progress/{number}")
    assert page.status_code == 200 and "企业设立登记" in page.text and "待前一阶段办结" in page.text
    member = re.search(r'href="/progress/([A-Z0-9]+)"', page.text).group(1)  # type: ignore[union-attr]
    case_page = client.get(f"/progress/{member}")
    assert case_page.status_code == 200 and "待受理" in case_page.text  # granted through the chain
    chain_service.accept(svc, number, Actor("desk1", "frontdesk"))
    assert "办理中" in client.get(f"/progress/{member}").text
    other = TestClient(client.app, follow_redirects=False)  # another browser has no grant
    assert other.get(f"/progress/{member}").status_code == 303


def test_an_optional_stage_the_applicant_does_not_need_asks_nothing(portal: Any) -> None:
    client, svc, _ = portal
    # a shop with no food, no tobacco and no public place: only the registration is needed
    number, _ = apply_for_chain(client, svc, "economic", leave_out=("food_business", "tobacco_retail", "hygiene"))
    chain_service.accept(svc, number, Actor("desk1", "frontdesk"))
    st = chain_service.state(svc, number)
    assert [code for code, _, _ in st.members["registration"]] == ["QQ-AMR-DJ-001"]


def test_associated_services_are_chosen_first_and_only_ticked_ones_ask_their_pages(portal: Any) -> None:
    client, _svc, _ = portal
    r = client.get("/chains/organization/apply")
    assert r.headers["location"] == "/chains/organization/apply/chain_services"
    page = client.get(r.headers["location"])
    assert "同时申请的关联服务" in page.text and "银行基本存款账户" in page.text
    skip = client.post("/chains/organization/apply/chain_services", data={"csrf": csrf(page.text)})
    draft = re.search(r"draft=([0-9a-f]+)", skip.headers["location"]).group(1)  # type: ignore[union-attr]
    steps = client.get(skip.headers["location"]).text
    assert "开户信息" not in steps  # no page for a service nobody ticked
    again = client.get(f"/chains/organization/apply/chain_services?draft={draft}")
    ticked = client.post(
        "/chains/organization/apply/chain_services",
        data={"csrf": csrf(again.text), "draft": draft, "chain_services.wanted": "QQ-BANK-GG-001"},
    )
    assert ticked.status_code == 303
    steps = client.get(ticked.headers["location"]).text
    assert "开户信息" in steps  # the bank's own page joins the steps
