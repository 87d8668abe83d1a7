"""What-if simulation of a catalogue: a deterministic discrete-event model of arrivals, step queues and
deadlines over the working-day calendar, fast enough to run thousands of cases under two catalogues.

Time is counted in office minutes from the start of the first simulated working day (``DAY`` = 420 a
working day, engine.rules.clock.OFFICE_HOURS), so weekends and holidays take no time. Each case is
received on its arrival day, waits for the window's first step (its acceptance), then runs its item's
step groups in order (engine.rules.cases.steps: a ``parallel_with`` group ends with its slowest step).
A step lasts at least its *elapsed* time (the pace: how long such a step takes from opening to done)
and needs its *effort* (minutes of staff work) from its (department, role) queue, whose ``staff``
servers each work the office day: the queue serves the most urgent case first, by promised deadline,
as the worklist sorts by light. Deadlines and lights are the engine's own (engine.rules.clock.due from
the acceptance, engine.rules.lights thresholds as the sweep applies them); Art. 45 pauses, supplements
and extensions are not modelled. Every random draw is a hash of (seed, case, step), so a case draws
the same pace under both catalogues and the same seed gives the same result.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.base.dates import TZ
from engine.rules import clock
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.steps import step_groups
from engine.rules.lights import Thresholds

DAY = 420  # office minutes of a working day (08:30–12:00, 13:30–17:00)
_MORNING = 210  # office minutes before the lunch break
#: default pace when nothing recorded or stated says more: a share of the step's limit
SPREAD = (0.5, 1.1)
CASES_PER_STAFF_DAY = 8  # synthetic effort: a member of staff finishes this many steps a day


def uniform(seed: int, *key: object) -> float:
    """A number in [0, 1) fixed by the seed and the key (the same in both catalogues' runs)."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def limit_minutes(limit: Mapping[str, Any]) -> float:
    """A limit in office minutes: a working day is ``DAY``, a natural day 5/7 of one."""
    value, unit = int(limit["value"]), limit["unit"]
    if unit == "minute":
        return float(value)
    return value * DAY * (1.0 if unit == "working_day" else 5 / 7)


@dataclass(frozen=True, slots=True)
class Pace:
    """How long steps take and how much staff there is: recorded from a database or synthetic."""

    #: (item code, step id) -> elapsed office minutes observed or assumed (a sample drawn from)
    by_step: Mapping[tuple[str, str], Sequence[float]] = field(default_factory=dict)
    #: (department, role) -> elapsed office minutes, for steps with no sample of their own
    by_role: Mapping[tuple[str, str], Sequence[float]] = field(default_factory=dict)
    #: (department, role) -> office minutes of staff work per step
    effort: Mapping[tuple[str, str], float] = field(default_factory=dict)
    #: (department, role) -> members of staff
    staff: Mapping[tuple[str, str], int] = field(default_factory=dict)
    default_staff: int = 2
    default_effort: float = DAY / CASES_PER_STAFF_DAY


@dataclass(frozen=True, slots=True)
class Load:
    """What arrives: (working-day index from ``start``, item code) and (index, chain id)."""

    start: date
    days: int
    arrivals: tuple[tuple[int, str], ...]
    pace: Pace
    chain_arrivals: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the model reads of a catalogue: item data by code, chains by id, the center's thresholds."""

    items: Mapping[str, Mapping[str, Any]]
    chains: Mapping[str, Mapping[str, Any]]
    thresholds: Thresholds
    completeness_days: int = 5


@dataclass(slots=True)
class CaseResult:
    item: str
    department: str
    used_days: int  # working days from acceptance to completion (engine: used_days)
    on_time: bool
    yellow: bool
    red: bool
    step_overdue: bool


@dataclass(frozen=True, slots=True)
class StageRun:
    """One chain case's pass through a stage, in working days counted as the stage's limit counts: from
    the opening for a joint review with a shared limit (engine.service.chains), else from its members'
    first acceptance (their promises run from their acceptance, so the wait for it is not the stage's)."""

    days: int  # working days from that start to the stage's close
    limit: int  # working days from that start to the stage's deadline, over the real calendar
    slack: int  # limit - days (negative: the stage closed after its deadline)


@dataclass(slots=True)
class Result:
    cases: list[CaseResult] = field(default_factory=list)
    #: (department, role) -> steps started on each working day (index -> count)
    load: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)
    #: chain id -> stage id -> each chain case's pass through the stage
    stages: dict[str, dict[str, list[StageRun]]] = field(default_factory=dict)
    skipped: int = 0  # arrivals of items the catalogue does not have
    days: int = 0


@dataclass(slots=True)
class _Case:
    code: str
    item: Mapping[str, Any]
    dept: str
    groups: list[list[dict[str, Any]]]
    arrived: float
    key: int
    chain: tuple[int, int] | None = None  # (chain case, stage index)
    group: int = 0
    waiting: int = 0
    accepted: float = -1.0
    due: float = float("inf")
    late_step: bool = False


@dataclass(slots=True)
class _Chain:
    chain_id: str
    stages: list[Mapping[str, Any]]
    key: int
    stage: int = 0
    opened: float = 0.0
    waiting: int = 0
    accepted: float = float("inf")  # the stage members' first acceptance
    due: float = -1.0  # the stage members' latest promised deadline


class Simulation:
    """One run of a catalogue under a load (``run`` below is the way in)."""

    def __init__(self, cat: Catalog, load: Load, cal: WorkCalendar, seed: int) -> None:
        self.cat, self.load, self.cal, self.seed = cat, load, cal, seed
        self.dates: list[date] = []
        self.index: dict[date, int] = {}
        self._grow(load.days + 60)
        self.events: list[tuple[float, int, int, Any]] = []
        self.seq = 0
        self.queues: dict[tuple[str, str], list[tuple[float, int, Any]]] = {}
        self.idle: dict[tuple[str, str], int] = {}
        self.dues: dict[tuple[int, int, str], float] = {}
        self.chains: list[_Chain] = []
        self.result = Result(days=load.days)

    # ---------------------------------------------------------------- time

    def _grow(self, n: int) -> None:
        day = self.dates[-1] + timedelta(days=1) if self.dates else self.load.start
        while len(self.dates) < n:
            if self.cal.is_working_day(day):
                self.index[day] = len(self.dates)
                self.dates.append(day)
            day += timedelta(days=1)

    def moment(self, t: float) -> datetime:
        """The local instant of simulated time ``t``: the end of an office day is 17:00 of that day, not
        08:30 of the next (a deadline or an acceptance at closing time belongs to its own day)."""
        i = _day(t)
        if i >= len(self.dates):
            self._grow(i + 60)
        m = min(max(t - i * DAY, 0.0), float(DAY))
        start = time(8, 30) if m < _MORNING else time(13, 30)
        offset = m if m < _MORNING else m - _MORNING
        return datetime.combine(self.dates[i], start, TZ) + timedelta(minutes=offset)

    def at(self, moment: datetime) -> float:
        """Simulated time of a local instant (the end of the office day after closing time)."""
        d = clock.local_date(moment)
        while d > self.dates[-1]:
            self._grow(len(self.dates) + 120)
        while d not in self.index:  # a day off: the next working day's opening
            d += timedelta(days=1)
            moment = datetime.combine(d, time(0, 0), TZ)
        i = self.index[d]
        local = moment.astimezone(TZ)
        minutes = (local - datetime.combine(d, time(8, 30), TZ)).total_seconds() / 60
        if local.time() >= time(13, 30):
            minutes -= 90
        elif local.time() >= time(12, 0):
            minutes = _MORNING
        return i * DAY + min(max(minutes, 0.0), float(DAY))

    def due(self, start: float, limit: Mapping[str, Any]) -> float:
        """The deadline of ``limit`` from ``start`` as engine.rules.clock counts it."""
        if limit["unit"] == "minute":
            return self.at(clock.due(self.moment(start), limit, self.cal))
        k = (_day(start), int(limit["value"]), str(limit["unit"]))
        if k not in self.dues:
            self.dues[k] = self.at(clock.due(self.moment(start), limit, self.cal))
        return self.dues[k]

    # ---------------------------------------------------------------- events

    def push(self, t: float, kind: int, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, payload))

    def enqueue(self, t: float, key: tuple[str, str], priority: float, job: Any) -> None:
        if key not in self.idle:
            self.idle[key] = self.load.pace.staff.get(key, self.load.pace.default_staff)
            self.queues[key] = []
        self.seq += 1
        heapq.heappush(self.queues[key], (priority, self.seq, job))
        if self.idle[key] > 0:
            self.idle[key] -= 1
            self.serve(t, key)

    def serve(self, t: float, key: tuple[str, str]) -> None:
        """A free member of staff of ``key`` takes the most urgent step waiting."""
        _, _, (case, step, ready, effort) = heapq.heappop(self.queues[key])
        day = int(t // DAY)
        per_day = self.result.load.setdefault(key, {})
        per_day[day] = per_day.get(day, 0) + 1
        finished = t + effort
        self.push(finished, _FREE, key)
        self.push(max(finished, ready), _STEP_DONE, (case, step))

    def free(self, t: float, key: tuple[str, str]) -> None:
        if self.queues[key]:
            self.serve(t, key)
        else:
            self.idle[key] += 1

    # ---------------------------------------------------------------- cases

    def start_case(self, t: float, code: str, key: int, chain: tuple[int, int] | None = None) -> None:
        item = self.cat.items.get(code)
        if item is None:
            self.result.skipped += 1
            if chain is not None:
                self.stage_member_done(t, chain)
            return
        case = _Case(code, item, str(item["department"]), [list(g) for g in step_groups(item)], t, key, chain)
        self.open_group(t, case)

    def open_group(self, t: float, case: _Case) -> None:
        group = case.groups[case.group]
        case.waiting = len(group)
        pace = self.load.pace
        for step in group:
            key = (case.dept, str(step["role"]))
            u = uniform(self.seed, case.key, step["id"])
            elapsed = self.elapsed(case, step, u)
            share = 0.5 + uniform(self.seed, case.key, step["id"], 1)
            effort = min(pace.effort.get(key, pace.default_effort) * share, elapsed or DAY)
            if "limit" in step and case.accepted >= 0:
                step = {**step, "due": self.due(t, step["limit"])}
            if case.accepted >= 0:
                priority = case.due
            else:
                priority = case.arrived + self.cat.completeness_days * DAY
            self.enqueue(t, key, priority, (case, step, t + elapsed, effort))

    def elapsed(self, case: _Case, step: Mapping[str, Any], u: float) -> float:
        """The step's elapsed time drawn from the pace: its own sample, its role's, else its limit's share."""
        pace = self.load.pace
        sample = pace.by_step.get((case.code, str(step["id"]))) or pace.by_role.get((case.dept, str(step["role"])))
        if sample:
            return float(sample[min(int(u * len(sample)), len(sample) - 1)])
        if "limit" in step:
            base = limit_minutes(step["limit"])
        else:
            base = limit_minutes(case.item["time_limit"]["promised"]) / max(1, sum(len(g) for g in case.groups))
        return base * (SPREAD[0] + (SPREAD[1] - SPREAD[0]) * u)

    def step_done(self, t: float, case: _Case, step: Mapping[str, Any]) -> None:
        if "due" in step and t > step["due"] and step["due"] < case.due:
            case.late_step = True
        case.waiting -= 1
        if case.waiting:
            return
        if case.accepted < 0:
            case.accepted = t
            case.due = self.due(t, case.item["time_limit"]["promised"])
        case.group += 1
        if case.group < len(case.groups):
            self.open_group(t, case)
        else:
            self.finish(t, case)

    def yellow_from(self, due: float, unit: str) -> float:
        """The moment after which an open case with this promised deadline shows yellow, as the sweep
        lights it: ``warning_minutes`` of wall-clock time before a minute limit (lunch counts), the
        start of the ``warning_working_days``-th working day before the deadline day otherwise."""
        th = self.cat.thresholds
        if unit == "minute":
            return self.at(self.moment(due) - timedelta(minutes=th.warning_minutes))
        return max(0, _day(due) - th.warning_working_days) * DAY

    def finish(self, t: float, case: _Case) -> None:
        yellow_from = self.yellow_from(case.due, str(case.item["time_limit"]["promised"]["unit"]))
        red = t > case.due
        self.result.cases.append(
            CaseResult(
                case.code,
                case.dept,
                _day(t) - _day(case.accepted),
                not red,
                t > max(yellow_from, case.accepted),
                red,
                case.late_step,
            )
        )
        if case.chain is not None:
            self.stage_member_done(t, case.chain, case)

    # ---------------------------------------------------------------- chains

    def start_chain(self, t: float, chain_id: str, key: int) -> None:
        chain = self.cat.chains.get(chain_id)
        if chain is None:
            self.result.skipped += 1
            return
        self.chains.append(_Chain(chain_id, list(chain["stages"]), key))
        self.open_stage(t, len(self.chains) - 1)

    def open_stage(self, t: float, n: int) -> None:
        chain = self.chains[n]
        stage = chain.stages[chain.stage]
        chain.opened, chain.waiting = t, len(stage["items"])
        chain.accepted, chain.due = float("inf"), -1.0
        for j, code in enumerate(stage["items"]):
            self.start_case(t, str(code), chain.key * 1000 + chain.stage * 50 + j, (n, chain.stage))

    def stage_member_done(self, t: float, where: tuple[int, int], case: _Case | None = None) -> None:
        chain = self.chains[where[0]]
        if case is not None:
            chain.accepted, chain.due = min(chain.accepted, case.accepted), max(chain.due, case.due)
        chain.waiting -= 1
        if chain.waiting:
            return
        stage = chain.stages[chain.stage]
        if stage.get("mode") == "joint_review" and "limit" in stage:
            begun, due = chain.opened, self.due(chain.opened, stage["limit"])
        elif chain.due >= 0:
            begun, due = chain.accepted, chain.due
        else:  # no member the catalogue has: nothing to measure
            begun = due = t
        days, limit = _day(t) - _day(begun), max(0, _day(due) - _day(begun))
        spans = self.result.stages.setdefault(chain.chain_id, {})
        spans.setdefault(str(stage["id"]), []).append(StageRun(days, limit, limit - days))
        chain.stage += 1
        if chain.stage < len(chain.stages):
            self.open_stage(t, where[0])


_FREE, _STEP_DONE, _ARRIVE, _CHAIN = 0, 1, 2, 3


#: office minutes within which two moments count as the same (sums of float durations are not exact)
_EPSILON = 1e-6


def _day(t: float) -> int:
    """The working day a moment falls on (the end of an office day still belongs to it)."""
    i = round(t / DAY)
    if i and abs(t - i * DAY) <= _EPSILON:
        return i - 1  # at (or a rounding error from) closing time of day i - 1
    return int(t // DAY)


def run(cat: Catalog, load: Load, cal: WorkCalendar, seed: int = 1) -> Result:
    """Simulate ``load`` under ``cat``: every arrival to its end (nothing is cut off at the last day)."""
    sim = Simulation(cat, load, cal, seed)
    for n, (day, code) in enumerate(load.arrivals):
        sim.push(day * DAY + DAY * 0.9 * uniform(seed, "arrive", n), _ARRIVE, (code, n))
    for n, (day, chain_id) in enumerate(load.chain_arrivals):
        sim.push(day * DAY + DAY * 0.9 * uniform(seed, "chain", n), _CHAIN, (chain_id, 1_000_000 + n))
    while sim.events:
        t, _, kind, payload = heapq.heappop(sim.events)
        if kind == _FREE:
            sim.free(t, payload)
        elif kind == _STEP_DONE:
            sim.step_done(t, *payload)
        elif kind == _ARRIVE:
            sim.start_case(t, *payload)
        else:
            sim.start_chain(t, *payload)
    return sim.result
