"""The what-if comparison: two simulation results (engine.rules.foresight) summed up per item, per
department, per (department, role) and per chain stage, side by side with the difference, as plain
text for the terminal and as a JSON-ready mapping. Same inputs give the same bytes."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.rules.foresight import CaseResult, Catalog, Result

#: the figures of an item or department row, in the order the report shows them
CASE_FIGURES = ("cases", "on_time", "yellow", "red", "step_overdue", "mean_days", "p90_days")
LOAD_FIGURES = ("mean", "peak")
STAGE_FIGURES = ("mean_days", "p90_days", "limit_days", "slack_days", "critical")


def p90(values: list[int]) -> float:
    """The 90th percentile by nearest rank (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def case_figures(cases: list[CaseResult]) -> dict[str, float]:
    n = len(cases)
    days = [c.used_days for c in cases]
    return {
        "cases": n,
        "on_time": round(100.0 * sum(c.on_time for c in cases) / n, 1) if n else 0.0,
        "yellow": sum(c.yellow for c in cases),
        "red": sum(c.red for c in cases),
        "step_overdue": sum(c.step_overdue for c in cases),
        "mean_days": round(sum(days) / n, 2) if n else 0.0,
        "p90_days": p90(days),
    }


def _grouped(cases: Iterable[CaseResult], key: Callable[[CaseResult], str]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[CaseResult]] = {}
    for c in cases:
        groups.setdefault(key(c), []).append(c)
    return {k: case_figures(v) for k, v in sorted(groups.items())}


def stage_figures(cat: Catalog, result: Result) -> dict[str, dict[str, float]]:
    """Per ``chain/stage``: mean and p90 working days, the stage's limit in working days (a joint
    review's shared limit from the stage's opening, else its longest member promise from the members'
    acceptance, as engine.rules.chains.critical_path reads it; the mean over the chain cases, as the
    calendar gives natural days), its slack (what 90% of chain cases had left at the stage's close:
    limit − days, per case) and whether it is critical (its slack is negative, or the chain's lowest)."""
    out: dict[str, dict[str, float]] = {}
    for chain_id, runs in sorted(result.stages.items()):
        chain = cat.chains.get(chain_id)
        if chain is None:
            continue
        rows: dict[str, dict[str, float]] = {}
        for stage in chain["stages"]:
            passes = runs.get(str(stage["id"]), [])
            if not passes:
                continue
            days = [r.days for r in passes]
            rows[str(stage["id"])] = {
                "mean_days": round(sum(days) / len(days), 2),
                "p90_days": p90(days),
                "limit_days": round(sum(r.limit for r in passes) / len(passes), 2),
                "slack_days": -p90([-r.slack for r in passes]) + 0.0,  # the 10th percentile of slack
                "critical": 0,
            }
        lowest = min((r["slack_days"] for r in rows.values()), default=0.0)
        for stage_id, r in rows.items():
            r["critical"] = int(r["slack_days"] < 0 or r["slack_days"] == lowest)
            out[f"{chain_id}/{stage_id}"] = r
    return out


def load_figures(result: Result) -> dict[str, dict[str, float]]:
    """Per ``department/role``: steps taken up per working day of the load, mean and peak."""
    days = max(1, result.days)
    out = {}
    for (dept, role), per_day in sorted(result.load.items()):
        total = sum(n for d, n in per_day.items() if d < days)
        peak = max((n for d, n in per_day.items() if d < days), default=0)
        out[f"{dept}/{role}"] = {"mean": round(total / days, 2), "peak": peak}
    return out


@dataclass(frozen=True, slots=True)
class Summary:
    items: dict[str, dict[str, float]]
    departments: dict[str, dict[str, float]]
    roles: dict[str, dict[str, float]]
    stages: dict[str, dict[str, float]]
    skipped: int


def summarise(cat: Catalog, result: Result) -> Summary:
    return Summary(
        _grouped(result.cases, lambda c: c.item),
        _grouped(result.cases, lambda c: c.department),
        load_figures(result),
        stage_figures(cat, result),
        result.skipped,
    )


def _rows(
    current: Mapping[str, Mapping[str, float]], changed: Mapping[str, Mapping[str, float]], figures: tuple[str, ...],
    everything: bool,
) -> list[dict[str, Any]]:  # fmt: skip
    rows = []
    for key in sorted(set(current) | set(changed)):
        a, b = current.get(key), changed.get(key)
        diff = {f: round((b or {}).get(f, 0) - (a or {}).get(f, 0), 2) for f in figures}
        if everything or a is None or b is None or any(diff.values()):
            rows.append({"key": key, "current": a, "changed": b, "difference": diff})
    return rows


def compare(current: Summary, changed: Summary, everything: bool = False) -> dict[str, Any]:
    """The comparison as plain data: per section, the rows that changed (all rows with ``everything``)."""
    return {
        "items": _rows(current.items, changed.items, CASE_FIGURES, everything),
        "departments": _rows(current.departments, changed.departments, CASE_FIGURES, everything),
        "roles": _rows(current.roles, changed.roles, LOAD_FIGURES, everything),
        "chain_stages": _rows(current.stages, changed.stages, STAGE_FIGURES, everything),
        "skipped": {"current": current.skipped, "changed": changed.skipped},
    }


_HEADS = {
    "cases": "cases", "on_time": "on-time %", "yellow": "yellow", "red": "red", "step_overdue": "step late",
    "mean_days": "mean days", "p90_days": "p90 days", "mean": "mean/day", "peak": "peak/day",
    "limit_days": "limit", "slack_days": "slack", "critical": "critical",
}  # fmt: skip
_TITLES = {
    "items": "Items", "departments": "Departments", "roles": "Load per role (steps taken up per working day)",
    "chain_stages": (
        "Chain stages (working days, counted as each stage's limit is; critical = slack below 0 or the chain's lowest)"
    ),
}  # fmt: skip


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _cell(row: Mapping[str, Any], figure: str) -> str:
    a, b = row["current"], row["changed"]
    old = _num(a[figure]) if a else "-"
    new = _num(b[figure]) if b else "-"
    if old == new:
        return old
    d = row["difference"][figure]
    return f"{old}→{new} ({'+' if d > 0 else ''}{_num(d)})"


def render(comparison: Mapping[str, Any], heading: str) -> str:
    """The comparison as aligned text, one table per section: ``current→changed (difference)`` where
    a figure changed, the figure alone where it did not."""
    out = [heading]
    figures = {"items": CASE_FIGURES, "departments": CASE_FIGURES, "roles": LOAD_FIGURES,
               "chain_stages": STAGE_FIGURES}  # fmt: skip
    for section, columns in figures.items():
        rows = comparison[section]
        out.append("")
        out.append(f"{_TITLES[section]}: {len(rows)} row(s)" if rows else f"{_TITLES[section]}: no change")
        if not rows:
            continue
        table = [["", *(_HEADS[f] for f in columns)]]
        table += [[r["key"], *(_cell(r, f) for f in columns)] for r in rows]
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
        for line in table:
            out.append("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    skipped = comparison["skipped"]
    if skipped["current"] or skipped["changed"]:
        out.append("")
        out.append(
            f"arrivals of items or chains a catalogue does not have: current {skipped['current']}, "
            f"changed {skipped['changed']}"
        )
    return "\n".join(out) + "\n"
