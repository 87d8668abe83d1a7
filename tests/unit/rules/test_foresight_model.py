"""The what-if model (engine.rules.foresight): deterministic, deadlines as the engine counts them over
the real calendar, parallel groups, queues by capacity, lights; and its comparison report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.base.dates import TZ
from engine.rules import foresight_report
from engine.rules.calendar import WorkCalendar
from engine.rules.foresight import DAY, Catalog, Load, Pace, Simulation, run
from engine.rules.lights import Thresholds

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    docs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((REPO / "calendar").glob("*.yaml"))]
    return WorkCalendar.from_documents(docs)


def item(promised: int, steps: Sequence[dict[str, Any]], unit: str = "working_day") -> dict[str, Any]:
    return {
        "department": "d",
        "time_limit": {"promised": {"value": promised, "unit": unit}, "legal": {"value": 20, "unit": unit}},
        "steps": list(steps),
    }


SERIAL = [
    {"id": "accept", "role": "window"},
    {"id": "undertake", "role": "undertaker"},
    {"id": "review", "role": "reviewer"},
]
#: a pace that needs about 6 to 8 working days after acceptance
SLOW = Pace(
    by_step={
        ("X", "accept"): (0.2 * DAY,),
        ("X", "undertake"): tuple(d * DAY for d in (3.5, 4, 4.5, 5)),
        ("X", "review"): tuple(d * DAY for d in (2, 2.5, 3)),
    },
    default_staff=50,
    default_effort=30,
)


def catalog(items: dict[str, dict[str, Any]]) -> Catalog:
    return Catalog(items, {}, Thresholds())


def load(n: int, pace: Pace, days: int = 20, start: date = date(2026, 3, 2), code: str = "X") -> Load:
    arrivals = tuple((d % days, code) for d in range(n))
    return Load(start, days, tuple(sorted(arrivals)), pace)


def test_the_same_seed_gives_the_same_result_and_another_seed_another(cal: WorkCalendar) -> None:
    cat = catalog({"X": item(10, SERIAL)})
    first, again = run(cat, load(200, SLOW), cal, 7), run(cat, load(200, SLOW), cal, 7)
    assert first == again
    assert [c.used_days for c in run(cat, load(200, SLOW), cal, 8).cases] != [c.used_days for c in first.cases]


def test_shortening_the_promise_from_10_to_5_days_lowers_the_on_time_rate_and_adds_red_lights(
    cal: WorkCalendar,
) -> None:
    before = foresight_report.case_figures(run(catalog({"X": item(10, SERIAL)}), load(300, SLOW), cal).cases)
    after = foresight_report.case_figures(run(catalog({"X": item(5, SERIAL)}), load(300, SLOW), cal).cases)
    assert 6 <= before["mean_days"] <= 8 and before["mean_days"] == after["mean_days"]  # the same pace
    assert before["on_time"] == 100.0 and before["red"] == 0
    assert after["on_time"] < 20.0 and after["red"] > 250
    assert after["yellow"] >= after["red"]  # a case lights yellow before it goes red


def test_a_holiday_in_the_window_shifts_the_deadline_past_it(cal: WorkCalendar) -> None:
    before_holiday = Simulation(catalog({}), load(0, SLOW, start=date(2026, 9, 28)), cal, 1)
    accepted = 2 * DAY + 60  # Wednesday 30 September, the last working day before 国庆节
    due = before_holiday.due(accepted, {"value": 2, "unit": "working_day"})
    assert before_holiday.moment(due - 1).date() == date(2026, 10, 9)  # the 9th is the second working day after it
    ordinary = Simulation(catalog({}), load(0, SLOW, start=date(2026, 3, 2)), cal, 1)
    assert ordinary.moment(ordinary.due(2 * DAY + 60, {"value": 2, "unit": "working_day"}) - 1).date() == date(
        2026, 3, 6
    )


def test_natural_days_over_a_holiday_leave_less_working_time(cal: WorkCalendar) -> None:
    """7 natural days are about 5 working days in an ordinary week, 2 over 国庆节: the same work is late."""
    cat = catalog({"X": item(7, SERIAL, unit="natural_day")})
    pace = replace(SLOW, by_step={**SLOW.by_step, ("X", "undertake"): (2 * DAY,), ("X", "review"): (DAY,)})
    ordinary = run(cat, Load(date(2026, 3, 4), 1, ((0, "X"),) * 5, pace), cal)
    holiday = run(cat, Load(date(2026, 9, 30), 1, ((0, "X"),) * 5, pace), cal)  # due 9 October
    assert all(c.on_time for c in ordinary.cases)
    assert not any(c.on_time for c in holiday.cases)


def test_parallel_steps_take_the_longest(cal: WorkCalendar) -> None:
    steps = [
        {"id": "accept", "role": "window"},
        {"id": "a", "role": "undertaker"},
        {"id": "b", "role": "inspector", "parallel_with": "a"},
    ]
    pace = Pace(
        by_step={("X", "accept"): (0.0,), ("X", "a"): (1 * DAY,), ("X", "b"): (3 * DAY,)},
        default_effort=10,
    )
    result = run(catalog({"X": item(10, steps)}), Load(date(2026, 3, 2), 1, ((0, "X"),), pace), cal)
    assert [c.used_days for c in result.cases] == [3]


def test_a_queue_serves_only_its_staffs_office_hours(cal: WorkCalendar) -> None:
    """20 cases a day needing an hour and a half of a reviewer each: one reviewer falls behind, five keep up."""
    pace = Pace(
        by_step={("X", "accept"): (0.0,), ("X", "undertake"): (0.5 * DAY,), ("X", "review"): (0.5 * DAY,)},
        effort={("d", "reviewer"): 90.0},
        staff={("d", "reviewer"): 1},
        default_staff=20,
        default_effort=5,
    )
    cat = catalog({"X": item(10, SERIAL)})
    one = foresight_report.case_figures(run(cat, load(200, pace, days=10), cal).cases)
    five = foresight_report.case_figures(
        run(cat, load(200, replace(pace, staff={("d", "reviewer"): 5}), days=10), cal).cases
    )
    assert five["mean_days"] <= 1.5 and five["on_time"] == 100.0
    assert one["mean_days"] > 5 and one["red"] > 0
    loads = foresight_report.load_figures(run(cat, load(200, pace, days=10), cal))
    # the one reviewer is busy every day: 420 office minutes / 90 on average = 4.7 steps a day (efforts
    # vary from half to one and a half times the pace, so a day takes up at most 420 / 45 = 9)
    assert 4 <= loads["d/reviewer"]["mean"] <= 5.5 and loads["d/reviewer"]["peak"] <= 9


def test_a_case_finished_on_its_deadline_day_is_yellow_not_red(cal: WorkCalendar) -> None:
    pace = replace(SLOW, by_step={("X", "accept"): (0.0,), ("X", "undertake"): (2.5 * DAY,), ("X", "review"): (0.0,)})
    result = run(catalog({"X": item(3, SERIAL)}), Load(date(2026, 3, 2), 1, ((0, "X"),), pace), cal)
    (case,) = result.cases
    assert case.on_time and case.yellow and not case.red


def test_the_report_shows_only_changed_rows_unless_asked_and_renders_the_same_bytes(cal: WorkCalendar) -> None:
    cur = catalog({"X": item(10, SERIAL), "Y": item(10, SERIAL)})
    new = catalog({"X": item(5, SERIAL), "Y": item(10, SERIAL)})
    pace = Pace(by_step={**SLOW.by_step, **{("Y", k): v for (_, k), v in SLOW.by_step.items()}}, default_staff=50)
    arrivals = Load(date(2026, 3, 2), 10, tuple((d, c) for d in range(10) for c in ("X", "Y")), pace)
    a = foresight_report.summarise(cur, run(cur, arrivals, cal))
    b = foresight_report.summarise(new, run(new, arrivals, cal))
    changed = foresight_report.compare(a, b)
    assert [r["key"] for r in changed["items"]] == ["X"]
    assert [r["key"] for r in foresight_report.compare(a, b, everything=True)["items"]] == ["X", "Y"]
    text = foresight_report.render(changed, "h")
    assert text == foresight_report.render(foresight_report.compare(a, b), "h")
    assert "100→0 (-100)" in text


def test_the_end_of_an_office_day_is_17_00_of_that_day_and_a_deadline_counts_from_it(cal: WorkCalendar) -> None:
    sim = Simulation(catalog({}), load(0, SLOW, start=date(2026, 3, 2)), cal, 1)
    assert sim.moment(DAY) == datetime(2026, 3, 2, 17, 0, tzinfo=TZ)  # not 08:30 on Tuesday
    assert sim.at(sim.moment(DAY)) == DAY
    assert sim.moment(2 * DAY + 1e-9).date() == date(2026, 3, 3)  # a rounding error from Tuesday's close
    # accepted at Monday's close: one working day is the end of Tuesday (day 1), as the engine counts it
    assert sim.due(DAY, {"value": 1, "unit": "working_day"}) == 2 * DAY


def test_a_minute_limit_lights_yellow_by_the_wall_clock_across_lunch(cal: WorkCalendar) -> None:
    """Due at 13:35 with a 10-minute warning: yellow from 13:25 (the lunch break), so a case done at
    12:00 was never yellow, though 12:00 is 5 office minutes before 13:35 minus 10."""
    sim = Simulation(catalog({}), load(0, SLOW, start=date(2026, 3, 2)), cal, 1)
    due = sim.at(datetime(2026, 3, 2, 13, 35, tzinfo=TZ))
    assert sim.yellow_from(due, "minute") == sim.at(datetime(2026, 3, 2, 12, 0, tzinfo=TZ))
    assert sim.yellow_from(sim.at(datetime(2026, 3, 2, 10, 0, tzinfo=TZ)), "minute") == sim.at(
        datetime(2026, 3, 2, 9, 50, tzinfo=TZ)
    )


def test_a_stage_of_immediate_items_is_not_critical_for_the_wait_before_acceptance(cal: WorkCalendar) -> None:
    """Stage "file" holds an immediate item (promise 0) that waits a day at the window and is then done
    at once; stage "permit" needs 3 working days against a promise of 2: only "permit" is critical."""
    steps = [{"id": "accept", "role": "window"}, {"id": "finish", "role": "undertaker"}]
    items = {"I": item(0, steps), "X": item(2, SERIAL)}
    chain = {"stages": [{"id": "file", "mode": "parallel", "items": ["I"]},
                        {"id": "permit", "mode": "parallel", "items": ["X"]}]}  # fmt: skip
    pace = Pace(
        by_step={("I", "accept"): (DAY,), ("I", "finish"): (0.0,), ("X", "accept"): (0.0,),
                 ("X", "undertake"): (3 * DAY,), ("X", "review"): (0.0,)},
        default_staff=5, default_effort=1,
    )  # fmt: skip
    cat = Catalog(items, {"C": chain}, Thresholds())
    result = run(cat, Load(date(2026, 3, 2), 5, (), pace, tuple((d, "C") for d in range(5))), cal)
    stages = foresight_report.stage_figures(cat, result)
    assert stages["C/file"]["p90_days"] == 0 and stages["C/file"]["limit_days"] == 0
    assert stages["C/file"]["critical"] == 0
    assert stages["C/permit"]["slack_days"] == -1 and stages["C/permit"]["critical"] == 1
