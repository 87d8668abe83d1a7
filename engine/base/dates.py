"""Dates as the catalogue writes them: ``YYYY-MM-DD`` text (engine.catalogue.yaml_policy keeps dates as text),
and the zone dates are taken in."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

TZ: Final = ZoneInfo("Asia/Shanghai")
"""China Standard Time: the zone in which dates (and so working days) are taken; center.yaml names no
other. Here, below every layer, so the words people read (engine.base.wording) and the clock
(engine.rules.clock) share it."""

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")


def as_date(value: Any) -> date | None:
    """The date a document writes (``YYYY-MM-DD`` text, or a date object), or None when it is not a real date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        m = _DATE.match(value)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    return None
