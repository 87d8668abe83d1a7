"""The what-if's recorded load (engine.supervision.foresight) read from a real database that the engine's
own simulation filled (runs on PostgreSQL too with ``--store=postgresql``)."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

from engine.base.dates import TZ
from engine.rules import foresight, foresight_report
from engine.rules.cases.model import Actor
from engine.service.cases import CaseService
from engine.service.samples import sample_application
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


def test_parallel_steps_are_paced_from_their_groups_opening_and_a_pause_is_not_work(
    case_service: CaseService,
) -> None:
    """QQ-TRANSPORT-XK-101 runs 材料审查 (undertake) and 实地核查 (inspect) side by side after acceptance:
    inspect, done an hour after undertake, took an hour and a half of the group's time; the 10 minutes
    the applicant took to supplement are not the window's work."""
    code, clock = "QQ-TRANSPORT-XK-101", case_service.clock
    data, uploads = sample_application(case_service.catalogue, case_service.catalogue.items[code])

    def at(hour: int, minute: int) -> None:
        clock.set(datetime(2026, 3, 6, hour, minute, tzinfo=TZ))  # type: ignore[attr-defined]

    at(9, 0)
    number = case_service.submit(code, data, uploads, Actor("applicant", "applicant"), "pace-1").number
    material = case_service.load(number)[1]["item"]["materials"][0]["id"]
    for when, action, actor, payload in (
        ((9, 10), "request_supplement", "window", {"missing": [{"material": material, "reason": "不清晰"}]}),
        ((9, 20), "supplement", "applicant", {"uploads": {}}),
        ((9, 30), "accept", "window", {}),
        ((10, 0), "complete_step", "undertaker", {"step": "undertake"}),
        ((11, 0), "complete_step", "inspector", {"step": "inspect"}),
    ):
        at(*when)
        who = (
            Actor("applicant", "applicant") if actor == "applicant" else Actor(f"{actor}@transport", actor, "transport")
        )
        case_service.act(number, action, who, payload, case_service.load(number)[0].version)
    cat = recorded.catalog_of(case_service.catalogue)
    window = recorded.window_of(case_service.db, case_service.calendar, 20, None, None)
    assert window is not None
    pace = recorded.recorded_load(case_service.db, cat, case_service.calendar, window).pace
    assert pace.by_step[(code, "accept")] == (20.0,)  # 30 minutes from receipt, 10 of them paused
    assert pace.by_step[(code, "undertake")] == (30.0,)
    assert pace.by_step[(code, "inspect")] == (90.0,)  # from acceptance, not from undertake's end


def test_capped_keeps_the_earliest_cases_within_the_budget_chain_members_counted() -> None:
    chain = {"stages": [{"items": ["A", "B"]}, {"items": ["C"]}]}
    cat = foresight.Catalog(items={}, chains={"ch": chain}, thresholds=None)  # type: ignore[arg-type]
    load = foresight.Load(date(2026, 3, 2), 5, tuple((d, "A") for d in range(5)), foresight.Pace(), ((1, "ch"),))
    cut = recorded.capped(load, cat, 4)  # day 0: 1, day 1: 1 + 3 members = 5 > 4
    assert cut.arrivals == ((0, "A"), (1, "A")) and cut.chain_arrivals == () and cut.days == 2
    assert recorded.capped(load, cat, 8) is load
