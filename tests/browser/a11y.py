"""Accessibility checks with axe-core, run inside the page under test.

axe-core comes from the PyPI package ``axe-playwright-python`` (pinned in pyproject.toml),
which ships ``axe.min.js`` inside the wheel: nothing is downloaded at test time. We only
take the script from it and call ``axe.run`` ourselves, so the context and options reach
axe as real JSON arguments.
"""

from __future__ import annotations

from typing import Any

BLOCKING_IMPACTS = ("serious", "critical")
"""Violations of these impacts fail a test; "minor" and "moderate" ones are only reported."""


def axe_script() -> str:
    from axe_playwright_python.base import AXE_SCRIPT  # the pinned, bundled axe.min.js

    return str(AXE_SCRIPT)


def run_axe(page: Any, script: str, context: Any = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Inject axe (once per document) and return its full result object."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(script)  # Runtime.evaluate: not subject to the page's Content-Security-Policy
    opts = {"resultTypes": ["violations"], **(options or {})}
    result: dict[str, Any] = page.evaluate(
        "([context, options]) => axe.run(context ?? document, options)", [context, opts]
    )
    return result


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


def format_violations(violations: list[dict[str, Any]], where: str = "") -> str:
    """One block per rule: impact, rule id, help text and URL, then every failing selector."""
    if not violations:
        return f"no axe violations{' on ' + where if where else ''}"
    lines = [f"{len(violations)} axe violation(s){' on ' + where if where else ''}:"]
    for v in violations:
        lines.append(f"  [{v.get('impact')}] {v['id']}: {v['help']}  ({v.get('helpUrl', '')})")
        for node in v.get("nodes", []):
            target = " >> ".join(str(t) for t in node.get("target", []))
            lines.append(f"      at {target}")
            summary = (node.get("failureSummary") or "").strip().replace("\n", " ")
            if summary:
                lines.append(f"         {summary[:300]}")
    return "\n".join(lines)


def assert_no_violations(violations: list[dict[str, Any]], where: str = "") -> None:
    """Fail with a readable list of the rules broken and where, if there are any."""
    if violations:
        raise AssertionError(format_violations(violations, where))
