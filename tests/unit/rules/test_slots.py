"""Slot arithmetic (engine.rules.slots): sessions cut into slots, late hours on their weekdays, working
days only, the no-show rule's dates; and a county's catalogue inheriting the city's appointments.yaml."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from support import REPO

from engine.check.pipeline import load
from engine.rules.calendar import WorkCalendar
from engine.rules.slots import NoShowRule, blocked_until, rules_of, slots

CENTER = [{"id": "amr", "window": "1"}, {"id": "psb", "window": "2"}]
FILE = {
    "counters": [
        {
            "id": "a", "name": "甲", "window": "1", "slot_minutes": 45, "capacity": 3,
            "sessions": [{"start": "08:30", "end": "10:00"}, {"start": "13:30", "end": "14:30"}],
            "late": {"weekdays": ["wed"], "sessions": [{"start": "17:00", "end": "18:00"}], "capacity": 1},
        },
        {"id": "b", "name": "乙", "item": "X-1", "slot_minutes": 60, "capacity": 1,
         "sessions": [{"start": "09:00", "end": "10:00"}]},
    ],
}  # fmt: skip


def calendar(reference: Any) -> WorkCalendar:
    return WorkCalendar.from_documents([d.data for d in reference.catalogue.calendars.values()])


def test_sessions_are_cut_into_slots_and_late_hours_come_on_their_weekdays(reference: Any) -> None:
    rules = rules_of(FILE, CENTER, {"X-1": "psb"})
    a = rules.counters["a"]
    tuesday, wednesday = date(2026, 5, 12), date(2026, 5, 13)
    assert [s.key for s in slots(a, tuesday, calendar(reference))] == ["08:30", "09:15", "13:30"]  # 14:15 does not fit
    late = [(s.key, s.capacity) for s in slots(a, wednesday, calendar(reference)) if s.late]
    assert late == [("17:00", 1)]  # 17:45 + 45 minutes is past 18:00
    assert slots(a, date(2026, 5, 1), calendar(reference)) == []  # 劳动节
    assert slots(a, date(2026, 5, 9), calendar(reference))  # its make-up Saturday
    assert rules.for_item("X-1", "psb") == [rules.counters["b"]]  # the item's own counter
    assert rules.for_item("Y-2", "amr") == [a]  # else its department's window
    assert rules.counters["b"].department == "psb"


def test_the_no_show_rule() -> None:
    rule = NoShowRule(count=3, within_days=90, blocked_days=30)
    today = date(2026, 6, 1)
    two = [date(2026, 5, 1), date(2026, 5, 20)]
    assert blocked_until(rule, two, today) is None
    three = [*two, date(2026, 5, 25)]
    assert blocked_until(rule, three, today) == date(2026, 6, 25)  # 30 days after May 25
    assert blocked_until(rule, three, date(2026, 6, 25)) is None
    assert blocked_until(rule, [date(2026, 1, 1), *two], today) is None  # January is outside 90 days
    assert blocked_until(None, three, today) is None


def test_a_county_inherits_the_citys_file_unless_it_has_its_own(tmp_path: Path) -> None:
    county = load(REPO / "examples" / "county").catalogue
    assert county.appointments_file == "../../appointments.yaml" and county.appointments is not None
    own = tmp_path / "county"
    shutil.copytree(REPO / "examples" / "county", own)
    own_file = (
        "counters:\n  - {id: x, name: 县窗口, department: amr, "
        "sessions: [{start: '09:00', end: '11:00'}], slot_minutes: 60, capacity: 1}\n"
    )
    (own / "appointments.yaml").write_text(own_file, encoding="utf-8")
    (own / "center.yaml").write_text(
        (own / "center.yaml").read_text(encoding="utf-8").replace("extends: ../..", f"extends: {REPO}"),
        encoding="utf-8",
    )
    result = load(own)
    assert result.ok, [p.render() for p in result.errors]
    assert result.catalogue.appointments_file == "appointments.yaml"
    assert [c["id"] for c in result.catalogue.appointments["counters"]] == ["x"]  # replaced whole, not merged
