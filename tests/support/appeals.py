"""Requests and complaints as tests file them: a complaint and an enquiry with plausible answers, and an
appeal's current row."""

from __future__ import annotations

from typing import Any

from engine.service import appeals
from engine.service.cases import CaseService


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
