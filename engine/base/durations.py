"""Durations as the catalogue writes them (``{value, unit}``), made comparable.

The checker compares an item's promised limit with its legal one and with its steps
(engine.check), and a chain's critical path with the chain's promise (engine.rules.chains), in one
measure: minutes, a working day counted as 8 hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MINUTES_PER_WORKING_DAY = 480  # 8 hours; how minutes compare with days


def duration_minutes(d: Mapping[str, Any]) -> int | None:
    """A duration in minutes for comparison; natural days count 5/7 of a working day. None if not comparable."""
    value, unit = int(d["value"]), d["unit"]
    if unit == "minute":
        return value
    if unit == "working_day":
        return value * MINUTES_PER_WORKING_DAY
    return value * MINUTES_PER_WORKING_DAY * 5 // 7
