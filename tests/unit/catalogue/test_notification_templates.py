"""Notification templates (engine.catalogue.notifications): plain substitution, the closed placeholder lists,
and a county that has no file of its own using its parent's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.catalogue.notifications import PLACEHOLDERS, check, render
from engine.check.pipeline import load

REPO = Path(__file__).resolve().parents[3]


def test_render_substitutes_and_never_evaluates() -> None:
    text = "{applicant}您好 {{不是占位符}} {missing} {__class__} {a.b}"
    assert render(text, {"applicant": "李雷", "__class__": "x"}) == "李雷您好 {不是占位符}  x "


def test_unknown_placeholders_and_lone_braces_are_findings() -> None:
    data = {
        "templates": {"accepted": {"subject": {"zh": "{case_number}", "en": "{due}"}, "body": {"zh": "}", "en": "ok"}}}
    }
    found = [(f.path, f.message.split(";")[0]) for f in check("t.yaml", data)]
    assert found == [
        (("templates", "accepted", "subject", "en"), "{due} is no placeholder of accepted"),
        (("templates", "accepted", "body", "zh"), "a lone { or }: write {{ or }} for a brace, {name} for a value"),
    ]


def test_the_reference_catalogue_has_a_template_for_every_event(reference: Any) -> None:
    assert set(reference.catalogue.notifications) == set(PLACEHOLDERS)


def test_a_county_without_its_own_file_uses_its_parents(reference: Any) -> None:
    county = load(REPO / "examples" / "county")
    assert county.ok
    assert county.catalogue.notifications == reference.catalogue.notifications
