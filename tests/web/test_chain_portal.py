"""A whole approval chain through the applicant portal (TestClient on the real app and a real
SQLite file): one merged form, one set of materials, one submission, one query code that opens
the chain's progress page and every member case."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from starlette.testclient import TestClient
from test_portal import PDF, csrf, find, form_values, portal  # noqa: F401  (the fixture)

from engine.rules import chains
from engine.rules.cases.model import Actor
from engine.service import chains as chain_service
from engine.service.samples import sample_chain_application


def merged_sample(svc: Any, chain_id: str, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every member's sample answers, each field once (the first member's answer wins)."""
    return sample_chain_application(svc.catalogue, svc.catalogue.chains[chain_id].data, leave_out)[0]


def sample_file(name: str, accept: str) -> tuple[str, bytes, str]:
    """A small real file of a kind the material accepts (judged by content, not by name)."""
    if ".pdf" in accept:
        return f"{name}.pdf", PDF, "application/pdf"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return f"{name}.xlsx", out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def apply_for_chain(client: TestClient, svc: Any, chain_id: str, leave_out: tuple[str, ...] = ()) -> tuple[str, str]:
    """Walk the chain's one application page by page, upload each asked material once, submit;
    returns the chain number and query code shown on the confirmation."""
    data = merged_sample(svc, chain_id, leave_out)
    base = f"/chains/{chain_id}/apply"
    r = client.get(base)
    assert r.status_code == 303 and r.headers["location"].startswith(base + "/")
    url, draft = r.headers["location"], ""
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.text
        section = url.split("?")[0].rsplit("/", 1)[1]
        if section == "materials":
            break
        values = {f"{section}.{k}": v for k, v in form_values(data.get(section, {})).items()}
        r = client.post(
            url.split("?")[0], data={"csrf": csrf(page.text), **values} | ({"draft": draft} if draft else {})
        )
        assert r.status_code == 303, r.text
        url = r.headers["location"]
        draft = re.search(r"draft=([0-9a-f]+)", url).group(1)  # type: ignore[union-attr]
    inputs = re.findall(r'name="file-([^"]+)" multiple accept="([^"]*)"', page.text)
    assert len(inputs) == len({m for m, _ in inputs}), "each material is asked once"
    files = [(f"file-{m}", sample_file(m, accept)) for m, accept in inputs]
    r = client.post(f"{base}/materials", data={"csrf": csrf(page.text), "draft": draft}, files=files)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{base}/check"), r.text
    check = client.get(r.headers["location"])
    r = client.post(f"{base}/submit", data={"csrf": csrf(check.text), "draft": draft})
    assert r.status_code == 303, r.text
    done = client.get(r.headers["location"])
    assert done.status_code == 200 and "链条申请编号" in done.text
    number = re.search(r'id="case-number">([A-Z0-9]+)<', done.text).group(1)  # type: ignore[union-attr]
    query_code = re.search(r'id="query-code">([0-9A-Z-]+)<', done.text).group(1)  # type: ignore[union-attr]
    return number, query_code


def test_the_chain_guide_offers_one_application_for_the_whole_chain(portal: Any) -> None:  # noqa: F811
    client, _, _ = portal
    guide = client.get("/chains/organization")
    assert 'href="/chains/organization/apply"' in guide.text
    assert client.get("/chains/nowhere/apply").status_code == 404


def test_one_application_asks_each_material_once_and_never_a_result_the_chain_produces(portal: Any) -> None:  # noqa: F811
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


def test_one_query_code_opens_the_chain_and_every_member_case(portal: Any) -> None:  # noqa: F811
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


def test_an_optional_stage_the_applicant_does_not_need_asks_nothing(portal: Any) -> None:  # noqa: F811
    client, svc, _ = portal
    # a shop with no food, no tobacco and no public place: only the registration is needed
    number, _ = apply_for_chain(client, svc, "economic", leave_out=("food_business", "tobacco_retail", "hygiene"))
    chain_service.accept(svc, number, Actor("desk1", "frontdesk"))
    st = chain_service.state(svc, number)
    assert [code for code, _, _ in st.members["registration"]] == ["QQ-AMR-DJ-001"]


def test_associated_services_are_chosen_first_and_only_ticked_ones_ask_their_pages(portal: Any) -> None:  # noqa: F811
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
