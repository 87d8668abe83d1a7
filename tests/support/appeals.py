"""Requests and complaints as tests file them: a complaint and an enquiry with plausible answers, an
appeal's current row, and on the portal: the number and query code a filing shows, and following one."""

from __future__ import annotations

import re
from typing import Any

from engine.service import appeals
from engine.service.cases import CaseService

from .portal import csrf


def complaint(**extra: str) -> appeals.Filing:
    fields = {"kind": "complaint", "subject": "窗口办理超期", "body": "提交三周未受理。", "filer_name": "张三",
              "contact": "13800000000", **extra}  # fmt: skip
    return appeals.Filing(**fields)  # type: ignore[arg-type]


def enquiry(**extra: str) -> appeals.Filing:
    fields = {"kind": "enquiry", "subject": "办证材料", "body": "需要什么材料？", "filer_name": "李四",
              "contact": "13900000000", **extra}  # fmt: skip
    return appeals.Filing(**fields)  # type: ignore[arg-type]


def row(service: CaseService, number: str) -> dict[str, Any]:
    """The appeal's current row (it must exist)."""
    found = appeals.load(service, number)
    assert found is not None
    return dict(found.row)


def number_and_code(page: Any) -> tuple[str, str]:
    """The appeal number and query code the portal's filing page shows."""
    assert page.status_code == 200, page.text
    number = re.search(r'id="appeal-number">([A-Z0-9]+)<', page.text)
    code = re.search(r'id="query-code">([A-Z0-9-]+)<', page.text)
    assert number and code
    return number.group(1), code.group(1)


def follow(client: Any, number: str, code: str) -> Any:
    """The portal's page of an appeal for the holder of its number and query code."""
    page = client.get(f"/appeals/follow?number={number}")
    return client.post("/appeals/follow", data={"csrf": csrf(page.text), "number": number, "query_code": code})
