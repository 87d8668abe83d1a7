"""The center's supervision thresholds (center.yaml ``supervision``): how near a deadline a case lights
yellow, and how long follow-ups of bad ratings and answers to corrections may take.

A rule of the law's timing like the clock's, read by the sweep that lights every case
(engine.supervision.sweep) and by the services that show a chain's or a green channel's lights
(engine.service.chains, engine.service.green_channel), which sit below supervision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Thresholds:
    warning_working_days: int = 1
    warning_minutes: int = 10
    followup_working_days: int = 15
    correction_working_days: int = 5

    @classmethod
    def of(cls, center: Mapping[str, Any] | None) -> Thresholds:
        s = (center or {}).get("supervision", {})
        return cls(
            int(s.get("warning_working_days", 1)),
            int(s.get("warning_minutes", 10)),
            int(s.get("bad_rating_followup_working_days", 15)),
            int(s.get("correction_working_days", 5)),
        )
