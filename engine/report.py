"""Render a check result once, as text lines or JSON."""

from __future__ import annotations

import json
from collections import Counter

from engine.catalogue import CheckResult


def text(result: CheckResult) -> str:
    lines = [p.render() for p in result.problems]
    if result.problems:
        files = len({p.file for p in result.problems})
        kinds = Counter(p.kind for p in result.problems)
        summary = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
        lines.append(
            f"{len(result.problems)} problem(s) in {files} file(s) of {result.files_checked} checked "
            f"({summary}); fix them and run `yangguang check` again"
        )
    else:
        cat = result.catalogue
        lines.append(
            f"ok: {result.files_checked} files checked — {len(cat.items)} items, {len(cat.fees)} fee "
            f"schedules, {len(cat.forms)} form sections, {len(cat.chains)} chains, "
            f"{len(cat.calendars)} calendar years; catalogue version {cat.version}"
        )
        if len(cat.layers) > 1:  # a five-level stack: say what it was built from
            overridden, withdrawn = len(cat.patches), len(cat.withdrawn)
            lines.append(
                "layers: "
                + " ← ".join(f"{layer.label} {layer.prefix or '.'}" for layer in cat.layers)
                + f"; {overridden} item(s) overridden, {withdrawn} withdrawn"
            )
    return "\n".join(lines) + "\n"


def as_json(result: CheckResult) -> str:
    return json.dumps([p.as_dict() for p in result.problems], ensure_ascii=False, indent=2) + "\n"
