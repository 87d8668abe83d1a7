"""Fixtures for tests/unit/service (the ones every folder shares are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from engine.service.cases import CaseService


@pytest.fixture
def svc(case_service: CaseService) -> CaseService:
    """tests/conftest.py's ``case_service`` (Friday 2026-03-06 09:00), under the name the chain tests give it."""
    return case_service
