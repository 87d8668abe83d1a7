"""Render a check result once, as text lines or JSON."""

from __future__ import annotations

import json
from collections import Counter

from engine.base.result import Problem
from engine.catalogue.model import CheckResult


def _summary(problems: list[Problem]) -> str:
    kinds = Counter(p.kind for p in problems)
    return ", ".join(f"{n} {k}" for k, n in kinds.most_common())


def text(result: CheckResult, strict: bool = False) -> str:
    """Every problem, one per line, then one summary line. Warnings (``engine.base.result.WARNING_KINDS``)
    do not fail a check unless ``strict``."""
    lines = [p.render() for p in result.problems]
    errors, warnings = result.errors, result.warnings
    if errors or (strict and warnings):
        failing = result.problems if strict else errors
        files = len({p.file for p in failing})
        counted = f"{len(errors)} error(s)"
        if warnings:
            counted += f" and {len(warnings)} warning(s)" + (" (errors under --strict)" if strict else "")
        lines.append(
            f"{counted} in {files} file(s) of {result.files_checked} checked "
            f"({_summary(result.problems)}); fix them and run `yangguang check` again"
        )
        return "\n".join(lines) + "\n"
    cat = result.catalogue
    lines.append(
        f"ok: {result.files_checked} files checked — {len(cat.items)} items, {len(cat.fees)} fee "
        f"schedules, {len(cat.forms)} form sections, {len(cat.chains)} chains, "
        f"{len(cat.calendars)} calendar years"
        + (f", {len(cat.appeal_kinds())} kinds of requests and complaints" if cat.appeals else "")
        + (f", {len(cat.synonyms)} search synonym groups" if cat.synonyms else "")
        + (f", {len(cat.notifications)} notification templates" if cat.notifications else "")
        + f"; catalogue version {cat.version}"
    )
    if len(cat.layers) > 1:  # a five-level stack: say what it was built from
        overridden, withdrawn = len(cat.patches), len(cat.withdrawn)
        lines.append(
            "layers: "
            + " ← ".join(f"{layer.label} {layer.prefix or '.'}" for layer in cat.layers)
            + f"; {overridden} item(s) overridden, {withdrawn} withdrawn"
        )
    if warnings:
        files = len({p.file for p in warnings})
        lines.append(
            f"{len(warnings)} warning(s) in {files} file(s) ({_summary(warnings)}): the catalogue serves, but "
            "look at each; `yangguang check --strict` treats them as errors"
        )
    return "\n".join(lines) + "\n"


def as_json(result: CheckResult) -> str:
    return json.dumps([p.as_dict() for p in result.problems], ensure_ascii=False, indent=2) + "\n"
