"""The applicant's side of the web app as the tests drive it: a form's CSRF token and values, an item's
application walked page by page and submitted, a chain's one application, the progress lookup. Plain
functions over a Starlette TestClient (tests/web) or any client with the same get/post; the fixture
that serves the portal is ``portal`` in tests/web/conftest.py."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from typing import Any

from starlette.testclient import TestClient

from engine.service.samples import sample_application, sample_chain_application

PERMIT = "QQ-HOUSING-XK-003"  # 建筑工程施工许可证核发 (housing): four sections, five materials, no fee
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"  # the smallest file every material takes as a PDF
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # a PNG by its signature, for a material that takes images


def csrf(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "every form carries a CSRF token"
    return found.group(1)


def form_values(section: Mapping[str, Any]) -> dict[str, Any]:
    """A section of a sample application as a browser posts it: strings, a list for a multiple choice."""
    out: dict[str, Any] = {}
    for key, value in section.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[key] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return out


def fill_sections(client: TestClient, svc: Any, code: str, overrides: Mapping[str, Any] | None = None) -> str:
    """Walk the section pages with a valid sample application; returns the draft id."""
    data, _ = sample_application(svc.catalogue, svc.catalogue.items[code], overrides or {})
    r = client.get(f"/apply/{code}")
    assert r.status_code == 303
    url, draft = r.headers["location"], ""
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.text
        section = url.split("?")[0].rsplit("/", 1)[1]
        if section in ("materials", "check"):
            return draft
        values = {f"{section}.{k}": v for k, v in form_values(data.get(section, {})).items()}
        body = {"csrf": csrf(page.text), **values} | ({"draft": draft} if draft else {})
        r = client.post(url.split("?")[0], data=body)
        assert r.status_code == 303, r.text
        url = r.headers["location"]
        draft = re.search(r"draft=([0-9a-f]+)", url).group(1)  # type: ignore[union-attr]


def upload_everything(client: TestClient, svc: Any, draft: str, code: str = PERMIT) -> None:
    """One PDF for each material the item asks for, on the draft's materials page."""
    page = client.get(f"/apply/{code}/materials?draft={draft}")
    _, uploads = sample_application(svc.catalogue, svc.catalogue.items[code], {})
    files = [(f"file-{m}", (f"{m}.pdf", PDF, "application/pdf")) for m in uploads]
    r = client.post(f"/apply/{code}/materials", data={"csrf": csrf(page.text), "draft": draft}, files=files)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/apply/{code}/check"), r.text


def submit(client: TestClient, svc: Any, code: str = PERMIT) -> tuple[str, str]:
    """A whole application through the portal, submitted twice (a double click files once); returns the
    case number and query code the confirmation shows."""
    draft = fill_sections(client, svc, code)
    upload_everything(client, svc, draft, code)
    check = client.get(f"/apply/{code}/check?draft={draft}")
    assert "核对并提交" in check.text and "11010519491231002X" in check.text and "修改" in check.text
    body = {"csrf": csrf(check.text), "draft": draft}
    r = client.post(f"/apply/{code}/submit", data=body)
    assert r.status_code == 303
    again = client.post(f"/apply/{code}/submit", data=body)  # a double click
    assert again.status_code == 303 and again.headers["location"] == r.headers["location"]
    done = client.get(r.headers["location"])
    number = re.search(r'id="case-number">([A-Z0-9]+)<', done.text).group(1)  # type: ignore[union-attr]
    code_ = re.search(r'id="query-code">([0-9A-Z-]+)<', done.text).group(1)  # type: ignore[union-attr]
    return number, code_


def find(client: TestClient, number: str, query_code: str) -> Any:
    """The progress lookup posted with a case number and query code (a 303 grants this browser the case)."""
    page = client.get(f"/progress?number={number}")
    return client.post("/progress", data={"csrf": csrf(page.text), "number": number, "query_code": query_code})


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
