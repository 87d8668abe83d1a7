"""The what-if's recorded load (engine.supervision.foresight) read from a real database that the engine's
own simulation filled (runs on PostgreSQL too with ``--store=postgresql``)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from engine.rules import foresight, foresight_report
from engine.service.cases import CaseService
from engine.service.simulate import simulate
from engine.supervision import foresight as recorded

CODES = ["QQ-TRANSPORT-XK-102", "QQ-PSB-BA-001"]


def filled(case_service: CaseService) -> Any:
    clock = case_service.clock
    return simulate(case_service, clock, CODES, days=6, per_day=4, seed=3)  # type: ignore[arg-type]


def test_the_recorded_load_has_every_case_received_and_the_pace_of_who_worked_them(case_service: CaseService) -> None:
    report = filled(case_service)
    cat = recorded.catalog_of(case_service.catalogue)
    window = recorded.window_of(case_service.db, case_service.calendar, 20, None, None)
    assert window is not None and window.until == date(2026, 3, 13)  # the sixth working day from Friday 6 March
    load = recorded.recorded_load(case_service.db, cat, case_service.calendar, window)
    assert len(load.arrivals) == report.submitted == 24
    assert {code for _, code in load.arrivals} <= set(CODES)
    assert sorted({day for day, _ in load.arrivals}) == [0, 1, 2, 3, 4, 5]
    assert load.start == date(2026, 3, 6)
    assert load.pace.staff[("transport", "reviewer")] == 1  # the simulation's one reviewer@transport
    assert all(m >= 0 for sample in load.pace.by_step.values() for m in sample)
    assert ("QQ-TRANSPORT-XK-102", "review") in load.pace.by_step


def test_a_window_of_the_last_days_and_an_empty_database(case_service: CaseService) -> None:
    assert recorded.window_of(case_service.db, case_service.calendar, 5, None, None) is None
    filled(case_service)
    window = recorded.window_of(case_service.db, case_service.calendar, 2, None, None)
    assert window is not None and (window.since, window.until) == (date(2026, 3, 12), date(2026, 3, 13))
    load = recorded.recorded_load(case_service.db, recorded.catalog_of(case_service.catalogue),
                                  case_service.calendar, window)  # fmt: skip
    assert {day for day, _ in load.arrivals} == {0, 1} and len(load.arrivals) == 8


def test_a_shorter_promise_under_the_recorded_load_shows_in_the_comparison(case_service: CaseService) -> None:
    filled(case_service)
    current = recorded.catalog_of(case_service.catalogue)
    items = dict(current.items)
    changed_item = copy.deepcopy(dict(items["QQ-TRANSPORT-XK-102"]))
    changed_item["time_limit"]["promised"]["value"] = 1
    items["QQ-TRANSPORT-XK-102"] = changed_item
    changed = foresight.Catalog(items, current.chains, current.thresholds, current.completeness_days)
    window = recorded.window_of(case_service.db, case_service.calendar, 20, None, None)
    assert window is not None
    load = recorded.recorded_load(case_service.db, current, case_service.calendar, window)
    result = recorded.what_if(current, changed, load, case_service.calendar, 1)
    rows = foresight_report.compare(result.current, result.changed)["items"]
    assert [r["key"] for r in rows] == ["QQ-TRANSPORT-XK-102"]
    assert rows[0]["difference"]["on_time"] < 0 and rows[0]["difference"]["red"] > 0
