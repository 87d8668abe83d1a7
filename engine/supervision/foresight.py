"""The what-if inputs and run: the recorded load of a database's case record (arrivals per item and
working day, step durations, staff and their pace per department and role) or a synthetic one, run
under the current and a changed catalogue (engine.rules.foresight) and compared (foresight_report)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, and_, select

from engine.base.dates import TZ
from engine.catalogue.model import Catalogue
from engine.ledger import tables
from engine.ledger.db import iso, read_only
from engine.rules import clock, foresight, foresight_report
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.steps import step_groups, steps_of
from engine.rules.lights import Thresholds

_C, _E, _CH = tables.cases, tables.events, tables.chain_cases
#: the actions that finish a step (the first step is finished by the acceptance)
_STEP_ACTIONS = ("accept", "deemed_accept", "complete_step", "complete")
#: the actions that stop and restart the clock (engine.rules.cases.fold): a step's pace leaves them out
_PAUSE_ACTIONS = {"request_supplement": True, "start_special_procedure": True, "supplement": False,
                  "end_special_procedure": False}  # fmt: skip


def catalog_of(cat: Catalogue) -> foresight.Catalog:
    """What the model reads of a checked catalogue."""
    center = cat.center or {}
    supervision = center.get("supervision", {})
    return foresight.Catalog(
        items={code: cat.data(doc) for code, doc in cat.items.items()},
        chains={cid: cat.data(doc) for cid, doc in cat.chains.items()},
        thresholds=Thresholds.of(center),
        completeness_days=int(supervision.get("completeness_working_days", 5)),
    )


def synthetic_pace(cat: foresight.Catalog) -> foresight.Pace:
    """The pace of the current catalogue's steps: each step a share (``foresight.SPREAD``) of its own
    limit, or of the item's promise split over its steps; the same pace then drives the changed one."""
    lo, hi = foresight.SPREAD
    shares = [lo + (hi - lo) * k / 12 for k in range(13)]
    by_step: dict[tuple[str, str], tuple[float, ...]] = {}
    for code, item in cat.items.items():
        steps = steps_of(item)
        share = foresight.limit_minutes(item["time_limit"]["promised"]) / max(1, len(steps))
        for step in steps:
            base = foresight.limit_minutes(step["limit"]) if "limit" in step else share
            by_step[(code, str(step["id"]))] = tuple(round(base * s, 1) for s in shares)
    return foresight.Pace(by_step=by_step)


def working_days(cal: WorkCalendar, start: date, n: int) -> list[date]:
    """The first ``n`` working days from ``start`` (``start`` included when it is one)."""
    out: list[date] = []
    day = start
    while len(out) < n:
        if cal.is_working_day(day):
            out.append(day)
        day += timedelta(days=1)
    return out


def synthetic_load(
    cat: foresight.Catalog, cal: WorkCalendar, start: date, days: int, per_day: int, seed: int,
    codes: Sequence[str] | None = None, chains_per_day: float = 0.2, staff: int = 2,
) -> foresight.Load:  # fmt: skip
    """``per_day`` arrivals each working day, items drawn evenly (seeded); each chain starts a case on a
    day with probability ``chains_per_day``; the pace from the catalogue's limits (synthetic_pace)."""
    codes = sorted(codes if codes is not None else cat.items)
    first = working_days(cal, start, 1)[0]
    arrivals = tuple(
        (d, codes[int(foresight.uniform(seed, "item", d, n) * len(codes))]) for d in range(days) for n in range(per_day)
    )
    chain_arrivals = tuple(
        (d, cid)
        for d in range(days)
        for cid in sorted(cat.chains)
        if foresight.uniform(seed, "chain", d, cid) < chains_per_day
    )
    pace = synthetic_pace(cat)
    return foresight.Load(
        first, days, arrivals if codes else (), foresight.Pace(by_step=pace.by_step, default_staff=staff),
        chain_arrivals,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Window:
    """The working days a recorded load is read from: [since, until] (local dates)."""

    since: date
    until: date


def received_days(db: Engine) -> tuple[date, date] | None:
    """The local dates of the first and the newest case received in the database (None when it has none)."""
    with read_only(db) as conn:
        first = conn.execute(select(_C.c.created_at).order_by(_C.c.created_at).limit(1)).scalar()
        newest = conn.execute(select(_C.c.created_at).order_by(_C.c.created_at.desc()).limit(1)).scalar()
    if not first or not newest:
        return None
    return clock.local_date(datetime.fromisoformat(first)), clock.local_date(datetime.fromisoformat(newest))


def window_of(db: Engine, cal: WorkCalendar, last: int, since: date | None, until: date | None) -> Window | None:
    """``--since/--until``, or the ``last`` working days up to the newest case received, never from before
    the first (days with nothing recorded would count as days without arrivals); None: no cases."""
    received = received_days(db)
    if received is None:
        return None
    end = until or received[1]
    if since is not None:
        return Window(since, end)
    day, count = end, 0
    while day > received[0]:
        if cal.is_working_day(day):
            count += 1
            if count >= last:
                break
        day -= timedelta(days=1)
    return Window(day, end)


def _bounds(window: Window) -> tuple[str, str]:
    lo = datetime.combine(window.since, time(0, 0), TZ)
    hi = datetime.combine(window.until + timedelta(days=1), time(0, 0), TZ)
    return iso(lo), iso(hi)


def _rows(db: Engine, window: Window) -> tuple[Sequence[Any], Sequence[Any], Sequence[Any]]:
    lo, hi = _bounds(window)
    received = and_(_C.c.created_at >= lo, _C.c.created_at < hi)
    with read_only(db) as conn:
        cases = conn.execute(
            select(_C.c.id, _C.c.item_code, _C.c.department, _C.c.created_at, _C.c.chain_number)
            .where(received).order_by(_C.c.created_at, _C.c.id)
        ).all()  # fmt: skip
        events = conn.execute(
            select(_E.c.case_id, _E.c.at, _E.c.actor, _E.c.role, _E.c.action, _E.c.payload)
            .join(_C, _C.c.id == _E.c.case_id)
            .where(received, _E.c.action.in_((*_STEP_ACTIONS, *_PAUSE_ACTIONS)))
            .order_by(_E.c.case_id, _E.c.seq)
        ).all()  # fmt: skip
        chains = conn.execute(
            select(_CH.c.chain_id, _CH.c.created_at)
            .where(_CH.c.created_at >= lo, _CH.c.created_at < hi).order_by(_CH.c.created_at, _CH.c.id)
        ).all()  # fmt: skip
    return cases, events, chains


def recorded_load(db: Engine, cat: foresight.Catalog, cal: WorkCalendar, window: Window) -> foresight.Load:
    """The arrivals and pace recorded in ``window``: each case received (not a chain's member: its chain
    brings it) on its working day; each step's elapsed office minutes from when its group opened (the
    previous group's last step done; the first step from receipt), less the time a supplement or a
    special procedure stopped the clock, by item and step and by department and role; staff = who acted;
    effort = an office day over the steps a member of staff finished on the days they acted."""
    cases, events, chains = _rows(db, window)
    days = working_days(cal, window.since, 1)
    first = days[0]
    index: dict[date, int] = {}

    def day_of(stamp: str) -> int:
        d = clock.local_date(datetime.fromisoformat(stamp))
        if d not in index:
            index[d] = cal.working_days_between(first, d) if d > first else 0
        return index[d]

    arrivals = tuple((day_of(c.created_at), str(c.item_code)) for c in cases if not c.chain_number)
    chain_arrivals = tuple((day_of(c.created_at), str(c.chain_id)) for c in chains)
    pace = _pace(cases, events, cat, cal)
    return foresight.Load(first, day_of(iso(datetime.combine(window.until, time(12), TZ))) + 1, arrivals, pace,
                          chain_arrivals)  # fmt: skip


@dataclass(slots=True)
class _Walk:
    """One case's record as ``_pace`` walks it: where its current step group opened, and its pauses."""

    group: int
    opened: datetime
    last: datetime
    pauses: list[tuple[str, datetime, datetime | None]] = field(default_factory=list)

    def paused(self, lo: datetime, hi: datetime, cal: WorkCalendar) -> int:
        """Office minutes in [lo, hi] during which a pause stopped the clock (overlaps counted once)."""
        spans = sorted((max(lo, a), min(hi, b or hi)) for _, a, b in self.pauses)
        total, reach = 0, lo
        for a, b in spans:
            a = max(a, reach)
            if b > a:
                total += clock.office_minutes_between(a, b, cal)
                reach = b
        return total


def _pace(cases: Iterable[Any], events: Iterable[Any], cat: foresight.Catalog, cal: WorkCalendar) -> foresight.Pace:
    about = {c.id: c for c in cases}
    by_step: dict[tuple[str, str], list[float]] = {}
    by_role: dict[tuple[str, str], list[float]] = {}
    done: dict[tuple[str, str], int] = {}
    actor_days: dict[tuple[str, str], set[tuple[str, date]]] = {}
    walks: dict[int, _Walk] = {}
    for e in events:
        case = about[e.case_id]
        item = cat.items.get(case.item_code)
        at = datetime.fromisoformat(e.at)
        walk = walks.get(e.case_id)
        if walk is None:
            received = datetime.fromisoformat(case.created_at)
            walk = walks[e.case_id] = _Walk(0, received, received)
        if e.action in _PAUSE_ACTIONS:
            _pause(walk, e.action, e.payload, at)
            continue
        step = _step_of(item, e.action, e.payload)
        group = _group_of(item, step)
        if group is not None and group != walk.group:  # a new group opened when the last step before it ended
            walk.group, walk.opened = group, walk.last
        start = walk.opened if group is not None else walk.last
        walk.last = at
        key = (str(case.department), str(e.role))
        minutes = float(max(0, clock.office_minutes_between(start, at, cal) - walk.paused(start, at, cal)))
        if step is not None:
            by_step.setdefault((str(case.item_code), step), []).append(minutes)
        by_role.setdefault(key, []).append(minutes)
        done[key] = done.get(key, 0) + 1
        actor_days.setdefault(key, set()).add((str(e.actor), clock.local_date(at)))
    staff = {k: len({a for a, _ in v}) for k, v in actor_days.items()}
    effort = {k: foresight.DAY * len(actor_days[k]) / n for k, n in done.items()}
    return foresight.Pace(
        by_step={k: tuple(sorted(v)) for k, v in by_step.items()},
        by_role={k: tuple(sorted(v)) for k, v in by_role.items()},
        effort=effort,
        staff=staff,
    )


def _pause(walk: _Walk, action: str, payload: str, at: datetime) -> None:
    kind = "supplement" if "supplement" in action else str(json.loads(payload or "{}").get("kind", ""))
    if _PAUSE_ACTIONS[action]:
        walk.pauses.append((kind, at, None))
        return
    walk.pauses = [(k, a, at if b is None and k == kind else b) for k, a, b in walk.pauses]


def _group_of(item: Mapping[str, Any] | None, step: str | None) -> int | None:
    if item is None or step is None:
        return None
    for n, group in enumerate(step_groups(item)):
        if any(str(s["id"]) == step for s in group):
            return n
    return None


def _step_of(item: Mapping[str, Any] | None, action: str, payload: str) -> str | None:
    if item is None:
        return None
    steps = steps_of(item)
    if action in ("accept", "deemed_accept"):
        return str(steps[0]["id"])
    if action == "complete":
        return str(steps[-1]["id"])
    step = json.loads(payload or "{}").get("step")
    return str(step) if step else None


@dataclass(frozen=True, slots=True)
class WhatIf:
    current: foresight_report.Summary
    changed: foresight_report.Summary
    load: foresight.Load
    cases: int  # cases simulated under the current catalogue


def what_if(
    current: foresight.Catalog, changed: foresight.Catalog, load: foresight.Load, cal: WorkCalendar, seed: int,
    changed_load: foresight.Load | None = None, changed_cal: WorkCalendar | None = None,
) -> WhatIf:  # fmt: skip
    """Both catalogues under the same load and seed (``changed_load``: the same arrivals with other staff,
    what /admin's "one more reviewer" asks); the changed one over its own calendar when given (the load
    counts working days over ``cal``: each arrival keeps its date, the next working day of the changed
    calendar when that date is no longer one)."""
    a = foresight.run(current, load, cal, seed)
    other = changed_load or load
    if changed_cal is None or changed_cal is cal:
        b = foresight.run(changed, other, cal, seed)
    else:
        b = foresight.run(changed, recounted(other, cal, changed_cal), changed_cal, seed)
    return WhatIf(foresight_report.summarise(current, a), foresight_report.summarise(changed, b), load, len(a.cases))


def recounted(load: foresight.Load, cal: WorkCalendar, other: WorkCalendar) -> foresight.Load:
    """``load`` (working days counted over ``cal``) with its days counted over ``other``: each arrival
    on the same date, or the next working day of ``other`` when that date is not one."""
    dates = working_days(cal, load.start, max(1, load.days))
    first = working_days(other, load.start, 1)[0]

    def index(d: date) -> int:
        while not other.is_working_day(d):
            d += timedelta(days=1)
        return other.working_days_between(first, d) if d > first else 0

    moved = [index(d) for d in dates]
    return foresight.Load(
        first, moved[-1] + 1, tuple((moved[d], code) for d, code in load.arrivals), load.pace,
        tuple((moved[d], cid) for d, cid in load.chain_arrivals),
    )  # fmt: skip


def capped(load: foresight.Load, cat: foresight.Catalog, most: int) -> foresight.Load:
    """The earliest arrivals and chain cases of ``load`` that make at most ``most`` cases in all, a chain case
    counting every member case its stages open (a page's bounded work: "at most 2,000 cases" holds)."""
    size = {cid: sum(len(s["items"]) for s in chain["stages"]) for cid, chain in cat.chains.items()}
    merged = sorted(
        [(day, 0, n, 1) for n, (day, _code) in enumerate(load.arrivals)]
        + [(day, 1, n, size.get(cid, 0)) for n, (day, cid) in enumerate(load.chain_arrivals)]
    )
    total, kept = 0, set()
    for _day_index, kind, n, cost in merged:
        if total + cost > most:
            break
        total += cost
        kept.add((kind, n))
    if len(kept) == len(merged):
        return load
    arrivals = tuple(a for n, a in enumerate(load.arrivals) if (0, n) in kept)
    chains = tuple(a for n, a in enumerate(load.chain_arrivals) if (1, n) in kept)
    days = 1 + max((a[0] for a in arrivals + chains), default=0)
    return foresight.Load(load.start, days, arrivals, load.pace, chains)
