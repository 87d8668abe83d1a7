"""Benchmark supervision over a million cases: dashboard counts, worklists, rankings (issue 6, performance).

Builds an SQLite store of ``--cases`` case rows (default 1,000,000) written straight into the
real schema (``open_engine`` with ``synchronous=NORMAL``, ``migrate``, every index the
migrations create, no ANALYZE — the engine never runs it), then times the engine's own functions
on it, each the median of ``--repeat`` runs after one warm-up:

1. ``supervision.open_counts`` — the dashboard's running cases by department and light;
2. ``worklist.for_actor`` — the window role of the largest department, and a supervisor
   (everything open, center-wide), 500 rows sorted by deadline;
3. ``rankings.month`` for 2026-10 — departments and staff;
4. ``supervision.event_counts`` (and, informational, ``anomaly_counts``) for that month.

Targets (the issue): each ≤ 250 ms, never scanning ``cases`` in Python. Every SQL statement a
function ran is captured during its warm-up, timed alone on a plain sqlite3 connection ("SQL
only": the rest of the median is Python) and shown with ``EXPLAIN QUERY PLAN``; a plan that
scans a whole table (``SCAN cases`` without an index) is flagged. Nothing here asserts a time:
the targets are printed as PASS/MISS and the exit status is 0 either way.

The data (seeded, so every build is the same): 19 departments of the reference catalogue with
Zipf-like sizes (1/rank), each with its catalogue items plus generated ones (Zipf popularity;
items whose limits are in minutes take 25 % of ended and 8 % of open cases, ≈ 22 % in all; an open
case is likelier on an item that takes longer); submissions on the working days of the
reference calendar from 2025-01-02 to "now", 2026-11-20 10:00 (Beijing), growing over time;
≈ 85 % ended (completed 93 %, refused 7 %), ≈ 15 % open (submitted 25 %, awaiting supplement
10 %, in progress 65 %). Deadlines come from ``engine.rules.clock`` with the reference calendar
(a deadline in 2027 stays unknown, as the engine leaves it); lights, the abnormal mark and the
legal-overdue mark follow the supervision rules at "now"; ``due_next`` is what the engine writes.
``data`` is the item's sample application (engine.service.samples) with the applicant's name and type.
Events exist only for the cases that ended in the ranking month (submit, accept, one step, the
completion or refusal, sometimes an extension, and an evaluation for ≈ 30 %), with staff actors
``<role>.<department>.<n>``; supervision events for ≈ 5 % of the cases (warning, abnormal,
violation, legal_overdue) through 2026, and a few hundred corrections. Hash columns hold dummy
64-hex strings and versions are plausible counts: this benchmark does not verify hash chains.

The database is cached in bench/out/ (git-ignored) under a name with the generator version, the
schema version (number of migrations) and the case count, so a re-run skips the build; ``--rebuild`` forces it.

    .venv/bin/python bench/bench_supervision.py [--cases N] [--repeat R] [--rebuild]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # import the engine from this checkout, however the venv was installed

from sqlalchemy import Engine, event  # noqa: E402

from engine.base.dates import TZ  # noqa: E402
from engine.catalogue.model import Catalogue  # noqa: E402
from engine.check.pipeline import load  # noqa: E402
from engine.ledger.db import dumps, iso, open_engine  # noqa: E402
from engine.ledger.events import GENESIS_HASH  # noqa: E402
from engine.ledger.migrations import MIGRATIONS, migrate  # noqa: E402
from engine.rules import clock  # noqa: E402
from engine.rules.calendar import CalendarYearMissing, WorkCalendar  # noqa: E402
from engine.rules.cases.model import Actor  # noqa: E402
from engine.rules.cases.steps import steps_of  # noqa: E402
from engine.service import worklist  # noqa: E402
from engine.service.samples import sample_application  # noqa: E402
from engine.supervision import rankings  # noqa: E402
from engine.supervision import sweep as supervision  # noqa: E402
from engine.supervision.counts import anomaly_counts, event_counts, open_counts  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pg  # noqa: E402  (bench/pg.py: the PostgreSQL server of the benchmarks)

GENERATOR_VERSION = 4  # bump when the generated data change: the cached database is rebuilt
OUT = Path(__file__).resolve().parent / "out"
DEFAULT_CASES = 1_000_000
SEED = 20261120
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)  # a Friday, mid-morning
HISTORY_START = date(2025, 1, 2)
RANK_MONTH = "2026-10"
TARGET_MS = 250.0
OPEN_MINUTE_SHARE = 0.08  # of open cases on items with minute limits (25 % of all cases)
BATCH = 100_000  # case rows per transaction while building
# departments by volume (largest first); sizes fall as 1/rank
DEPARTMENT_ORDER = (
    "realestate", "psb", "hrss", "amr", "tax", "hpf", "civil", "housing", "health", "transport", "nr",
    "education", "culture", "fire", "drc", "cad", "eco", "tobacco", "water",
)  # fmt: skip
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕彬辉鹏斌宇浩凯健俊帆帅旭宁龙林欣"
DISTRICTS = (
    "龙沙区",
    "建华区",
    "铁锋区",
    "昂昂溪区",
    "富拉尔基区",
    "碾子山区",
    "梅里斯区",
    "讷河市",
    "依安县",
    "泰来县",
)
FIRMS = ("恒达", "鑫源", "嫩江", "鹤城", "北疆", "瑞丰", "宏图", "金穗", "兴农", "安泰", "永盛", "华信")
TRADES = ("商贸", "建筑工程", "农业发展", "餐饮管理", "物流", "房地产开发", "医药", "科技", "食品", "汽车服务")
RATINGS = (("非常满意", 70), ("满意", 20), ("基本满意", 6), ("不满意", 3), ("非常不满意", 1))
DUMMY = "d" * 64
CASE_COLUMNS = (
    "id", "number", "query_code", "item_code", "catalogue_version", "state", "version", "data", "created_at",
    "updated_at", "department", "current_step", "assignee_role", "due_promised", "due_legal", "paused",
    "last_event_hash", "due_completeness", "due_step", "light", "light_since", "step_overdue", "legal_overdue",
    "minute_limit", "accepted_at", "ended_at", "decision", "applicant_name", "applicant_type", "due_next",
    "on_time", "early", "used_days", "promised_days", "rating_score", "rated_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "id", "case_id", "seq", "at", "actor", "role", "action", "payload", "catalogue_version", "prev_hash", "hash",
)  # fmt: skip


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


# ---------------------------------------------------------------------------------------
# The world: catalogue items, departments, calendar
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    """Steps worked at the same time (one, or parallel ones): what a case row shows while there."""

    ids: str  # current_step: "review" or "review,tax"
    roles: str  # assignee_role: "reviewer" or "reviewer,undertaker"
    limit: dict[str, Any] | None  # the first limit among the group's steps


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    department: str
    promised: dict[str, Any]
    legal: dict[str, Any]
    groups: tuple[Group, ...]
    decides: bool
    templates: dict[str, tuple[str, str]]  # applicant type -> the data JSON before and after the name

    @property
    def minute(self) -> bool:
        return self.promised["unit"] == "minute"

    @property
    def span_days(self) -> int:
        """The promised limit in (about) working days, for spreading open cases over it."""
        value, unit = int(self.promised["value"]), self.promised["unit"]
        return 0 if unit == "minute" else value if unit == "working_day" else max(0, round(value * 5 / 7))


@dataclass(slots=True)
class World:
    catalogue: Catalogue
    calendar: WorkCalendar
    center: dict[str, Any]
    departments: list[str]  # largest first
    weights: list[float]
    items: dict[str, list[Item]]  # department -> its items, most popular first
    staff: dict[tuple[str, str], int]  # (department, role) -> how many people


def _groups(steps: list[dict[str, Any]]) -> tuple[Group, ...]:
    grouped: list[list[dict[str, Any]]] = []
    where: dict[str, int] = {}
    for step in steps:  # as engine.rules.cases: a step with ``parallel_with`` joins the group of the step it names
        other = step.get("parallel_with")
        if other in where:
            grouped[where[other]].append(step)
            where[step["id"]] = where[other]
        else:
            where[step["id"]] = len(grouped)
            grouped.append([step])
    return tuple(
        Group(
            ",".join(s["id"] for s in g),
            ",".join(dict.fromkeys(s["role"] for s in g)),
            next((dict(s["limit"]) for s in g if s.get("limit")), None),
        )
        for g in grouped
    )


def _templates(cat: Catalogue, code: str) -> dict[str, tuple[str, str]]:
    """The item's sample application as JSON text split around the applicant's name, per applicant type."""
    try:
        data, _ = sample_application(cat, cat.items[code])
    except Exception:  # a sample the engine cannot build: a small form still gives the row its size
        data = {"note": "申请事项说明" * 10}
    out: dict[str, tuple[str, str]] = {}
    for kind in ("natural_person", "legal_person"):
        copy = json.loads(json.dumps(data))
        applicant = copy.get("applicant") if isinstance(copy.get("applicant"), dict) else {}
        applicant.update(type=kind, name="\x00")
        copy["applicant"] = applicant
        before, after = dumps(copy).split('"\\u0000"')
        out[kind] = (before + '"', '"' + after)
    return out


def _synthetic(code: str, department: str, minute: bool, rng: random.Random, templates: dict[str, Any]) -> Item:
    if minute:
        total = rng.choice((30, 60, 90, 120, 180))
        promised = {"value": total, "unit": "minute"}
        legal = {"value": rng.choice((1, 3, 5)), "unit": "working_day"}
        plan = [("accept", "window"), ("review", "reviewer"), ("complete", rng.choice(("window", "issuer")))]
        share = [0.25, 0.5, 0.25]
        steps = [
            {"id": s, "role": r, "limit": {"value": max(5, round(total * f)), "unit": "minute"}}
            for (s, r), f in zip(plan, share, strict=True)
        ]
    else:
        days = rng.choice((3, 5, 5, 7, 10, 10, 15, 20))
        unit = "working_day" if rng.random() < 0.8 else "natural_day"
        promised = {"value": days, "unit": unit}
        legal = {"value": max(days * 2, 20), "unit": unit}
        middle = [("undertake", "undertaker"), ("inspect", "inspector"), ("review", "reviewer")]
        chosen = rng.sample(middle, rng.randint(1, 3))
        steps = [{"id": "accept", "role": "window", "limit": {"value": 1, "unit": unit}}]
        for i, (s, r) in enumerate(chosen):
            step: dict[str, Any] = {"id": s, "role": r, "limit": {"value": max(1, days // 4), "unit": unit}}
            if i and rng.random() < 0.3:  # sometimes worked in parallel with the one before
                step["parallel_with"] = chosen[i - 1][0]
            steps.append(step)
        steps += [
            {"id": "decide", "role": "decider", "limit": {"value": 1, "unit": unit}},
            {"id": "complete", "role": rng.choice(("issuer", "window")), "limit": {"value": 1, "unit": unit}},
        ]
    return Item(code, department, promised, legal, _groups(steps), not minute, templates)


def build_world() -> World:
    result = load(REPO)
    cat = result.catalogue
    if not cat.center or not cat.calendars:
        raise SystemExit("the reference catalogue has no center.yaml or calendar: " + "; ".join(
            p.render() for p in result.problems[:5]))  # fmt: skip
    calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    known = [d["id"] for d in cat.center.get("departments", [])]
    departments = [d for d in DEPARTMENT_ORDER if d in known] + [d for d in known if d not in DEPARTMENT_ORDER]
    weights = [1 / (k + 1) for k in range(len(departments))]
    share = {d: w / sum(weights) for d, w in zip(departments, weights, strict=True)}
    rng = random.Random(SEED)
    items: dict[str, list[Item]] = {}
    for dept in departments:
        real = [code for code, doc in sorted(cat.items.items()) if doc.data.get("department") == dept]
        sample = _templates(cat, real[0]) if real else _templates(cat, next(iter(sorted(cat.items))))
        mine: list[Item] = []
        for code in real:
            data = cat.items[code].data
            tl = data["time_limit"]
            steps = steps_of(data)
            mine.append(
                Item(code, dept, dict(tl["promised"]), dict(tl["legal"]), _groups(steps),
                     any(s["role"] == "decider" for s in steps), _templates(cat, code))
            )  # fmt: skip
        extra = max(3, round(share[dept] * 80))  # the big departments have many more items
        for i in range(extra):
            minute = i % 3 == 0  # every department has both kinds; the case mix sets the share
            mine.append(_synthetic(f"QQ-{dept.upper()}-BX-{i + 1:03d}", dept, minute, rng, sample))
        rng.shuffle(mine)
        items[dept] = mine
    staff = {
        (d, role): max(2, round(share[d] * (60 if role == "window" else 25)))
        for d in departments
        for role in ("window", "undertaker", "inspector", "reviewer", "decider", "issuer")
    }
    return World(cat, calendar, dict(cat.center), departments, weights, items, staff)


# ---------------------------------------------------------------------------------------
# Generating case rows
# ---------------------------------------------------------------------------------------


class Clockwork:
    """Working days of the reference calendar and cached deadlines (``engine.rules.clock``)."""

    def __init__(self, cal: WorkCalendar, completeness_days: int) -> None:
        self.cal = cal
        self.completeness_days = completeness_days
        day, last = date(2025, 1, 1), date(2026, 12, 31)
        self.work: list[date] = []
        while day <= last:
            if cal.is_working_day(day):
                self.work.append(day)
            day += timedelta(days=1)
        self.rank = {d: i for i, d in enumerate(self.work)}
        self.first = self.rank[cal.next_working_day(HISTORY_START - timedelta(days=1))]
        self.today = self.rank[clock.local_date(NOW)]
        self.opening = [datetime.combine(d, dtime(8, 30), tzinfo=TZ).astimezone(UTC) for d in self.work]
        self.now = NOW.astimezone(UTC)
        self.day_boundary = supervision.warning_boundary(NOW, cal, 1)
        self.minute_boundary = NOW + timedelta(minutes=10)
        self._days: dict[tuple[date, int, str], datetime | None] = {}

    def at(self, index: int, rng: random.Random) -> datetime:
        """A moment of office time on working day ``index`` (before now on today)."""
        span = 30600.0 if index < self.today else max(60.0, (self.now - self.opening[index]).total_seconds() - 60)
        return self.opening[index] + timedelta(seconds=rng.random() * span)

    def due(self, start: datetime, limit: dict[str, Any]) -> datetime | None:
        """``clock.due`` (None when the deadline falls in a year the calendar lacks, as the engine stores it)."""
        value, unit = int(limit["value"]), str(limit["unit"])
        try:
            if unit == "minute":
                return clock.due(start, limit, self.cal)
            key = (clock.local_date(start), value, unit)
            if key not in self._days:
                self._days[key] = clock.due(start, limit, self.cal)
            return self._days[key]
        except CalendarYearMissing:
            if unit != "minute":
                self._days[(clock.local_date(start), value, unit)] = None
            return None

    def end_of(self, index: int) -> datetime:
        return clock.end_of_day(self.work[index])


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


@dataclass(slots=True)
class Draft:
    """One case before it gets its id and number (rows are inserted in submission order)."""

    created: str
    item: Item
    applicant: tuple[str, str]  # type, name
    state: str
    version: int
    updated: str
    current_step: str | None = None
    assignee_role: str | None = None
    due_promised: str | None = None
    due_legal: str | None = None
    paused: bool = False
    due_completeness: str | None = None
    due_step: str | None = None
    light: str = "green"
    light_since: str | None = None
    step_overdue: bool = False
    legal_overdue: bool = False
    accepted: str | None = None
    ended: str | None = None
    decision: str | None = None
    due_next: str | None = None
    rating_score: int | None = None
    rated_at: str | None = None


def _ranking_facts(d: Draft) -> tuple[bool | None, bool | None, int | None, int | None]:
    """What the engine stores when a case completes (engine.service.cases): by the deadline, before its
    day, working days used and promised (approximated here as 5/7 of calendar days)."""
    if d.state != "completed" or not d.ended or not d.due_promised or not d.accepted:
        return None, None, None, None
    ended, due, accepted = (datetime.fromisoformat(x) for x in (d.ended, d.due_promised, d.accepted))
    if d.item.minute:
        return ended <= due, ended.date() < due.date(), None, None
    used, promised = max(0, (ended - accepted).days * 5 // 7), max(1, (due - accepted).days * 5 // 7)
    return ended <= due, ended.date() < due.date(), used, promised


def _applicant(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.72:
        return "natural_person", rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
    name = f"齐齐哈尔市{rng.choice(DISTRICTS)}{rng.choice(FIRMS)}{rng.choice(TRADES)}有限公司"
    return "legal_person", name


class Generator:
    def __init__(self, world: World, n: int) -> None:
        self.world = world
        self.n = n
        self.rng = random.Random(SEED + n)
        self.cw = Clockwork(
            world.calendar, int(world.center.get("supervision", {}).get("completeness_working_days", 5))
        )
        self.minute_items = {d: [i for i in items if i.minute] for d, items in world.items.items()}
        self.day_items = {d: [i for i in items if not i.minute] for d, items in world.items.items()}

    def _item(self, open_case: bool = False) -> Item:
        """An item of a department, by popularity; an open case more likely on an item that takes longer
        (what is open at any moment is intake × duration), and seldom on one done in minutes."""
        rng = self.rng
        dept = rng.choices(self.world.departments, self.world.weights)[0]
        minute = rng.random() < (OPEN_MINUTE_SHARE if open_case else 0.25)
        pool = self.minute_items[dept] if minute else self.day_items[dept]
        weights = [(1 + (i.span_days if open_case else 0)) / (k + 1) ** 0.8 for k, i in enumerate(pool)]
        return rng.choices(pool, weights)[0]

    def _history_day(self) -> int:
        """A working day before today; intake grows by half over the period."""
        a, u = 0.5, self.rng.random()
        x = (-1 + math.sqrt(1 + 2 * a * u * (1 + a / 2))) / a
        return self.cw.first + min(int(x * (self.cw.today - self.cw.first)), self.cw.today - self.cw.first - 1)

    def draft(self) -> Draft:
        u = self.rng.random()
        if u < 0.85:
            return self._ended("completed" if self.rng.random() < 0.93 else "refused")
        u = self.rng.random()
        if u < 0.25:
            return self._submitted()
        if u < 0.35:
            return self._awaiting()
        return self._in_progress()

    def _ended(self, state: str) -> Draft:
        rng, cw = self.rng, self.cw
        item = self._item()
        for _ in range(50):
            day = self._history_day()
            created = cw.at(day, rng)
            if state == "refused":  # 不予受理 at the window: never accepted, no deadlines
                ended = created + timedelta(minutes=rng.uniform(10, 60 * 24 * 3))
                if ended < cw.now:
                    return Draft(_iso(created) or "", item, _applicant(rng), state, 2, _iso(ended) or "",
                                 ended=_iso(ended))  # fmt: skip
                continue
            if item.minute:
                accepted = created + timedelta(minutes=rng.uniform(1, 15))
            elif rng.random() < 0.7:
                accepted = created + timedelta(minutes=rng.uniform(5, 90))
            else:
                accepted = cw.at(min(day + rng.randint(1, 2), cw.today), rng)
            promised, legal = cw.due(accepted, item.promised), cw.due(accepted, item.legal)
            if promised is None:
                ended = accepted + timedelta(hours=rng.uniform(1, 240))
            elif rng.random() < 0.92:
                ended = accepted + (promised - accepted) * rng.uniform(0.05, 0.97)
            else:
                ended = promised + timedelta(hours=rng.uniform(0.5, 144))
            if ended >= cw.now:
                continue
            late = promised is not None and ended > promised
            light = "violation" if late else ("warning" if rng.random() < 0.15 else "green")
            since = None
            if light != "green" and promised is not None:
                since = _iso(promised if late else max(accepted, promised - timedelta(days=1)))
            return Draft(
                _iso(created) or "", item, _applicant(rng), state, len(item.groups) + 3, _iso(ended) or "",
                due_promised=_iso(promised), due_legal=_iso(legal), light=light, light_since=since,
                step_overdue=not late and rng.random() < 0.03, legal_overdue=legal is not None and ended > legal,
                accepted=_iso(accepted), ended=_iso(ended), due_next=_iso(promised),
                decision=(("approve" if rng.random() < 0.95 else "deny") if item.decides else None),
            )  # fmt: skip
        raise RuntimeError("could not place an ended case before now")  # pragma: no cover

    def _open_start(self, back: int) -> datetime:
        return self.cw.at(self.cw.today - back, self.rng)

    def _submitted(self) -> Draft:
        rng, cw = self.rng, self.cw
        item = self._item(open_case=True)
        back = rng.choices(range(6), (45, 25, 12, 8, 6, 4))[0]
        created = self._open_start(back)
        due = cw.due(created, {"value": cw.completeness_days, "unit": "working_day"})
        first = item.groups[0]
        return Draft(
            _iso(created) or "", item, _applicant(rng), "submitted", 1, _iso(created) or "",
            current_step=first.ids, assignee_role=first.roles, due_completeness=_iso(due), due_next=_iso(due),
        )  # fmt: skip

    def _awaiting(self) -> Draft:
        """A one-time notice was given: the clock stops, every deadline is unknown until the supplement."""
        rng = self.rng
        item = self._item(open_case=True)
        created = self._open_start(rng.randint(1, 25))
        noticed = created + timedelta(hours=rng.uniform(0.2, 30))
        first = item.groups[0]
        return Draft(
            _iso(created) or "", item, _applicant(rng), "awaiting_supplement", 2, _iso(min(noticed, self.cw.now)) or "",
            current_step=first.ids, assignee_role=first.roles, paused=True,
        )  # fmt: skip

    def _in_progress(self) -> Draft:
        rng, cw = self.rng, self.cw
        item = self._item(open_case=True)  # items done in minutes are seldom still open
        span = item.span_days
        if item.minute:
            if rng.random() < 0.9:
                accepted = cw.now - timedelta(minutes=rng.uniform(0, 1.1 * int(item.promised["value"])))
                progress = rng.random()
            else:  # stuck for days
                accepted, progress = self._open_start(rng.randint(1, 10)), rng.random()
        else:
            back = rng.randint(0, max(span, 1)) if rng.random() < 0.95 else rng.randint(span + 1, 2 * span + 5)
            accepted = self._open_start(min(back, cw.today - cw.first))
            progress = min(1.0, back / (span + 1))
        created = accepted - timedelta(minutes=rng.uniform(5, 120))
        groups = item.groups
        g = groups[min(len(groups) - 1, 1 + int(progress * (len(groups) - 1)))] if len(groups) > 1 else groups[0]
        draft = Draft(
            _iso(created) or "", item, _applicant(rng), "in_progress", 2 + groups.index(g),
            _iso(accepted + (cw.now - accepted) * rng.random()) or "", current_step=g.ids, assignee_role=g.roles,
            accepted=_iso(accepted),
        )  # fmt: skip
        if rng.random() < 0.03:  # a special procedure that stops the clock: deadlines unknown, lights kept
            draft.paused = True
            draft.light = "green" if rng.random() < 0.8 else "warning"
            return draft
        promised, legal = cw.due(accepted, item.promised), cw.due(accepted, item.legal)
        step: datetime | None = None
        if g.limit is not None:
            if g.limit["unit"] == "minute":
                step = max(accepted, cw.now + timedelta(minutes=rng.uniform(-15, 150)))
            elif rng.random() < 0.92:
                step = cw.end_of(min(cw.today + rng.randint(0, int(g.limit["value"])), len(cw.work) - 1))
            else:
                step = max(cw.end_of(cw.today - rng.randint(1, 3)), clock.end_of_day(clock.local_date(accepted)))
        boundary = cw.minute_boundary if item.minute else cw.day_boundary
        if promised is not None and promised < NOW:
            light = "violation"
        elif promised is not None and promised <= boundary:
            light = "warning"
        else:
            light = "green"
        draft.due_promised, draft.due_legal, draft.due_step = _iso(promised), _iso(legal), _iso(step)
        draft.light = light
        draft.step_overdue = light != "violation" and step is not None and step < NOW
        draft.legal_overdue = legal is not None and legal < NOW
        if light != "green":
            draft.light_since = _iso(max(accepted, cw.now - timedelta(hours=rng.uniform(0, 72))))
        nearest = [d for d in (draft.due_step, draft.due_promised) if d is not None]
        draft.due_next = min(nearest) if nearest else None
        return draft


# ---------------------------------------------------------------------------------------
# Building the database
# ---------------------------------------------------------------------------------------


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """A plain connection with the engine's pragmas (WAL, synchronous=NORMAL); autocommit mode."""
    if read_only:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    else:
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL").fetchall()
        con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA busy_timeout=5000")
    return con


@dataclass(slots=True)
class Build:
    path: Path
    seconds: float | None  # None: taken from the cache
    phases: list[tuple[str, float]] = field(default_factory=list)


class Staff:
    def __init__(self, world: World, rng: random.Random) -> None:
        self.world, self.rng = world, rng

    def __call__(self, dept: str, role: str) -> str:
        return f"{role}.{dept}.{self.rng.randint(1, self.world.staff.get((dept, role), 2))}"


def _month_events(
    case_id: int, d: Draft, version: str, staff: Staff, rng: random.Random, first_id: int
) -> list[tuple[Any, ...]]:
    """The events the ranking reads for one case that ended in the ranking month."""
    item, dept = d.item, d.item.department
    out: list[tuple[str, str, str, str, str]] = [(d.created, "applicant", "applicant", "submit", "{}")]
    assert d.ended is not None
    if d.state == "refused":
        out.append((d.ended, staff(dept, "window"), "window", "refuse", '{"reason":"不符合受理条件"}'))
    else:
        assert d.accepted is not None
        out.append((d.accepted, staff(dept, "window"), "window", "accept", "{}"))
        a, e = datetime.fromisoformat(d.accepted), datetime.fromisoformat(d.ended)
        middle = item.groups[1:-1] or item.groups[:1]
        for k, g in enumerate(middle[:2]):  # one or two middle steps by their roles
            role = g.roles.split(",")[0]
            at = iso(a + (e - a) * (k + 1) / 3)
            out.append((at, staff(dept, role), role, "complete_step", dumps({"step": g.ids.split(",")[0]})))
        if rng.random() < 0.01:
            out.append((iso(a + (e - a) / 2), staff(dept, "decider"), "decider", "extend", "{}"))
            out.sort(key=lambda ev: ev[0])
        last = item.groups[-1].roles.split(",")[0]
        out.append((d.ended, staff(dept, last), last, "complete", "{}"))
    if rng.random() < 0.30:
        rating = rng.choices([r for r, _ in RATINGS], [w for _, w in RATINGS])[0]
        rated = min(datetime.fromisoformat(d.ended) + timedelta(hours=rng.uniform(0.01, 72)), NOW)
        out.append((iso(rated), "applicant", "applicant", "evaluate", dumps({"rating": rating})))
        d.rating_score, d.rated_at = rankings.RATING_SCORE[rating], iso(rated)  # as the engine stores
    rows: list[tuple[Any, ...]] = []
    prev = GENESIS_HASH
    for seq, (at, actor, role, action, payload) in enumerate(out, 1):
        digest = f"{first_id + seq:064x}"
        rows.append((first_id + seq, case_id, seq, at, actor, role, action, payload, version, prev, digest))
        prev = digest
    return rows


def _supervision_events(candidates: list[tuple[int, Draft]], n: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """≈ 5 % of the cases get the supervision events their marks imply, at moments in 2026 before now."""
    lo, hi = "2026-01-01", iso(NOW)
    chosen = rng.sample(candidates, min(len(candidates), n * 5 // 100))
    for case_id, d in chosen:
        marks: list[tuple[str, str | None, float]] = []
        if d.light in ("warning", "violation"):
            marks.append(("warning", d.due_promised, -rng.uniform(1, 24)))
        if d.light == "violation":
            marks.append(("violation", d.due_promised, rng.uniform(0.01, 12)))
        if d.step_overdue:
            marks.append(("abnormal", d.due_step, rng.uniform(0.01, 12)))
        if d.legal_overdue:
            marks.append(("legal_overdue", d.due_legal, rng.uniform(0.01, 12)))
        for kind, deadline, hours in marks:
            base = datetime.fromisoformat(deadline) if deadline else datetime.fromisoformat(d.updated)
            at = iso(min(base + timedelta(hours=hours), NOW))
            if not lo <= at <= hi:
                continue
            detail = dumps({"deadline": deadline, "from": "green", "to": kind})
            yield (case_id, d.item.department, kind, f"{kind}:{case_id}:{deadline}:bench", at, detail)


def _corrections(world: World, numbers: list[tuple[str, str]], rng: random.Random) -> Iterator[tuple[Any, ...]]:
    cw = Clockwork(world.calendar, 5)
    for _ in range(min(400, len(numbers))):
        number, dept = rng.choice(numbers)
        issued = cw.at(rng.randint(cw.first, cw.today - 1), rng)
        respond_by = cw.due(issued, {"value": 5, "unit": "working_day"})
        answered = rng.random() < 0.85
        responded = issued + timedelta(hours=rng.uniform(2, 100))
        late = respond_by is not None and not answered and respond_by < NOW
        yield (
            number, dept, "yellow" if rng.random() < 0.8 else "red", "未按承诺时限办结，请说明原因并整改。",
            "supervisor.center.1", iso(issued), _iso(respond_by) or iso(issued),
            "已整改，加强窗口人员培训。" if answered else None, f"head.{dept}.1" if answered else None,
            iso(min(responded, NOW)) if answered else None, _iso(respond_by) if late else None,
        )  # fmt: skip


def build(world: World, path: Path, n: int) -> Build:
    """Generate ``n`` cases and the ranking month's events into a fresh database at ``path``."""
    started = time.perf_counter()
    report = Build(path, None)
    tmp = path.with_name(path.name + ".building")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    db = open_engine(tmp, synchronous="NORMAL")
    migrate(db)
    db.dispose()

    gen = Generator(world, n)
    gc.disable()  # a million acyclic rows: the collector would only pause
    try:
        t = time.perf_counter()
        drafts = [gen.draft() for _ in range(n)]
        drafts.sort(key=lambda d: d.created)  # ids in submission order, as a live system assigns them
        report.phases.append(("generate case rows (Python)", time.perf_counter() - t))

        con = connect(tmp)
        con.execute("PRAGMA cache_size=-1000000")  # 1 GB for index maintenance while building only
        version = world.catalogue.version
        rng = random.Random(SEED ^ n)
        staff = Staff(world, rng)
        lo, hi = (iso(x) for x in rankings.month_bounds(RANK_MONTH))
        per_day: dict[str, int] = {}
        events: list[tuple[Any, ...]] = []
        case_staff: list[tuple[Any, ...]] = []
        candidates: list[tuple[int, Draft]] = []
        numbers: list[tuple[str, str]] = []
        insert_case = _insert("cases", CASE_COLUMNS)
        t = time.perf_counter()
        for start in range(0, n, BATCH):
            rows: list[tuple[Any, ...]] = []
            for case_id, d in enumerate(drafts[start : start + BATCH], start + 1):
                day = clock.local_date(datetime.fromisoformat(d.created)).strftime("%Y%m%d")
                per_day[day] = per_day.get(day, 0) + 1
                number = f"QIQIHAR{day}{per_day[day]:06d}"
                kind, name = d.applicant
                before, after = d.item.templates[kind]
                if d.ended is not None and lo <= d.ended < hi:
                    evs = _month_events(case_id, d, version, staff, rng, len(events))
                    events += evs
                    d.version = len(evs)
                    on_time, early, used, promised = _ranking_facts(d)
                    for actor in sorted({ev[4] for ev in evs if ev[5] not in ("applicant", "system")}):
                        case_staff.append((case_id, actor, d.item.department, d.ended, d.state == "completed",
                                           on_time, early, d.item.minute, used, promised))  # fmt: skip
                if d.created >= "2025-12-15" and (d.light != "green" or d.step_overdue or d.legal_overdue):
                    candidates.append((case_id, d))
                if case_id % max(1, n // 400) == 0:
                    numbers.append((number, d.item.department))
                rows.append((
                    case_id, number, f"{rng.getrandbits(48):012x}", d.item.code, version, d.state, d.version,
                    before + name + after, d.created, d.updated, d.item.department, d.current_step, d.assignee_role,
                    d.due_promised, d.due_legal, d.paused, DUMMY, d.due_completeness, d.due_step, d.light,
                    d.light_since, d.step_overdue, d.legal_overdue, d.item.minute, d.accepted, d.ended, d.decision,
                    name, kind, d.due_next, *_ranking_facts(d), d.rating_score, d.rated_at,
                ))  # fmt: skip
            con.execute("BEGIN IMMEDIATE")
            con.executemany(insert_case, rows)
            con.execute("COMMIT")
            print(f"  building: {min(start + BATCH, n):,} / {n:,} cases", flush=True)
        report.phases.append(("insert cases (all indexes live)", time.perf_counter() - t))

        t = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.executemany(_insert("events", EVENT_COLUMNS), events)
        # case_staff as the engine writes it when a case ends (only the ranking month's cases are
        # generated with events, so only theirs; the month's range scan reads the same rows)
        con.executemany(
            "INSERT INTO case_staff (case_id, actor, department, ended_at, completed, on_time, early, minute_limit,"
            " used_days, promised_days) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            case_staff,
        )
        sup = list(_supervision_events(candidates, n, rng))
        con.executemany(
            "INSERT INTO supervision_events (case_id, department, kind, key, at, detail) VALUES (?, ?, ?, ?, ?, ?)",
            sup,
        )
        con.executemany(
            "INSERT INTO corrections (case_number, department, card, reason, issued_by, issued_at, respond_by,"
            " response, responded_by, responded_at, escalated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            list(_corrections(world, numbers, rng)),
        )
        con.execute("COMMIT")
        report.phases.append(
            (f"insert {len(events):,} events, {len(sup):,} supervision events", time.perf_counter() - t)
        )
        del drafts, candidates, events
    finally:
        gc.enable()
    t = time.perf_counter()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    con.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    report.phases.append(("checkpoint", time.perf_counter() - t))
    report.seconds = time.perf_counter() - started
    return report


def database(world: World, n: int, rebuild: bool) -> Build:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"supervision-v{GENERATOR_VERSION}-m{len(MIGRATIONS)}-{n}.db"
    if path.exists() and not rebuild:
        return Build(path, None)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return build(world, path, n)


# ---------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Figure:
    label: str
    target: bool  # measured against TARGET_MS (else informational)
    times: list[float] = field(default_factory=list)  # seconds
    sql_times: list[float] = field(default_factory=list)  # the captured statements alone, seconds
    statements: list[tuple[str, Any]] = field(default_factory=list)
    warmup: float = 0.0
    note: str = ""

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.times)


class Capture:
    """Every statement an engine function sends to SQLite (SQLAlchemy's cursor events)."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.found: list[tuple[str, Any]] = []

    def _hook(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            self.found.append((statement, parameters))

    def __enter__(self) -> Capture:
        event.listen(self.db, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.db, "before_cursor_execute", self._hook)


def measure(label: str, db: Engine, fn: Callable[[], Any], repeat: int, target: bool = True) -> Figure:
    fig = Figure(label, target)
    gc.collect()
    with Capture(db) as cap:
        t = time.perf_counter()
        result = fn()  # the warm-up (also what is captured)
        fig.warmup = time.perf_counter() - t
    fig.statements = cap.found
    fig.note = describe(result)
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        fig.times.append(time.perf_counter() - t)
    return fig


def describe(result: Any) -> str:
    if isinstance(result, dict) and "department" in result and "staff" in result:
        return f"{len(result['department'])} departments, {len(result['staff']):,} staff ranked"
    if isinstance(result, dict):
        counted = sum(n for v in result.values() for k, n in v.items() if k != "abnormal")
        return f"{len(result)} departments, {counted:,} counted"
    if isinstance(result, list):
        return f"{len(result)} rows"
    return ""


def time_sql(con: sqlite3.Connection, fig: Figure, repeat: int) -> None:
    """The captured statements alone on a plain connection: the floor the function's Python adds to."""
    for run in range(repeat + 1):
        t = time.perf_counter()
        for sql, params in fig.statements:
            con.execute(sql, params).fetchall()
        if run:  # the first run warms this connection's cache
            fig.sql_times.append(time.perf_counter() - t)


FULL_SCAN = re.compile(r"^SCAN (\w+)$")
INDEX_SCAN = re.compile(r"^SCAN (\w+) USING (COVERING )?INDEX")


def plan(con: sqlite3.Connection, sql: str, params: Any) -> list[str]:
    return [str(r[3]) for r in con.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()]


def short_sql(sql: str, params: Any) -> str:
    text = " ".join(sql.split())
    text = re.sub(r"\((?:\?, ){20,}\?\)", lambda m: f"(<{m.group(0).count('?'):,} ids>)", text)
    return text if len(text) <= 300 else text[:297] + "..."


# ---------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------


def summary(con: sqlite3.Connection) -> list[str]:
    def one(sql: str) -> Any:
        return con.execute(sql).fetchone()[0]

    total = one("SELECT count(*) FROM cases")
    states = con.execute("SELECT state, count(*) FROM cases GROUP BY state ORDER BY 2 DESC").fetchall()
    lights = con.execute(
        "SELECT light, count(*) FROM cases WHERE state = 'in_progress' GROUP BY light ORDER BY 2 DESC"
    ).fetchall()
    running = one("SELECT count(*) FROM cases WHERE state = 'in_progress'") or 1
    abnormal = one("SELECT count(*) FROM cases WHERE state = 'in_progress' AND step_overdue")
    legal = one("SELECT count(*) FROM cases WHERE state = 'in_progress' AND legal_overdue")
    depts = con.execute("SELECT department, count(*) FROM cases GROUP BY department ORDER BY 2 DESC").fetchall()
    minute = one("SELECT count(*) FROM cases WHERE minute_limit")
    items = one("SELECT count(DISTINCT item_code) FROM cases")
    lo, hi = (iso(x) for x in rankings.month_bounds(RANK_MONTH))
    ended = one(f"SELECT count(*) FROM cases WHERE ended_at >= '{lo}' AND ended_at < '{hi}'")
    counts = {t: one(f"SELECT count(*) FROM {t}") for t in ("events", "supervision_events", "corrections")}
    evaluate = one("SELECT count(*) FROM events WHERE action = 'evaluate'")

    def pct(rows: Sequence[Any], base: int) -> str:
        return ", ".join(f"{r[0]} {100 * r[1] / base:.1f}%" for r in rows)

    return [
        f"cases {total:,}: {pct(states, total)}",
        f"in progress: {pct(lights, running)}; abnormal {100 * abnormal / running:.1f}%, "
        f"legal overdue {100 * legal / running:.1f}%; minute limits {100 * minute / total:.1f}% of all cases",
        f"{len(depts)} departments, {items} item codes; largest {depts[0][0]} {100 * depts[0][1] / total:.1f}%, "
        f"smallest {depts[-1][0]} {100 * depts[-1][1] / total:.1f}%",
        f"ended in {RANK_MONTH}: {ended:,}; events {counts['events']:,} (evaluate {evaluate:,}), "
        f"supervision events {counts['supervision_events']:,}, corrections {counts['corrections']:,}",
    ]


def engine_runs(db: Engine, world: World) -> list[tuple[str, Callable[[], Any], bool]]:
    """The measured calls on one store: a label, the call, and whether it has the target."""
    cal, center = world.calendar, world.center
    largest = world.departments[0]
    start, end = rankings.month_bounds(RANK_MONTH)
    window = Actor(f"window.{largest}.1", "window", largest)
    supervisor = Actor("supervisor.center.1", "supervisor")
    return [
        ("1. open_counts (dashboard lights by department)", lambda: open_counts(db), True),
        (f"2. for_actor window, {largest} (largest)", lambda: worklist.for_actor(db, window, NOW, cal), True),
        ("2. for_actor supervisor (center-wide)", lambda: worklist.for_actor(db, supervisor, NOW, cal), True),
        (f"3. rankings.month {RANK_MONTH}", lambda: rankings.month(db, cal, center, RANK_MONTH), True),
        (f"4. event_counts {RANK_MONTH}", lambda: event_counts(db, start, end), True),
        (f"   anomaly_counts {RANK_MONTH}", lambda: anomaly_counts(db, start, end), False),
    ]


Timer = Callable[[Figure, int], None]


def measure_store(store: str, db: Engine, world: World, repeat: int, timer: Timer) -> list[Figure]:
    """Every figure on one store; ``timer`` times each function's captured statements alone."""
    figures: list[Figure] = []
    for label, fn, target in engine_runs(db, world):
        fig = measure(label, db, fn, repeat, target)
        timer(fig, repeat)
        figures.append(fig)
        print(f"  {store}: {label.strip()}: {fig.median_ms:.1f} ms", flush=True)
    return figures


def pg_time_sql(conn: Any) -> Callable[[Figure, int], None]:
    """``time_sql`` on a plain psycopg connection (the captured statements are psycopg's own)."""

    def timer(fig: Figure, repeat: int) -> None:
        for run in range(repeat + 1):
            t = time.perf_counter()
            for sql, params in fig.statements:
                conn.execute(sql, params).fetchall()
            if run:
                fig.sql_times.append(time.perf_counter() - t)

    return timer


PG_SEQ_SCAN = re.compile(r"Seq Scan on (cases|events|case_staff|supervision_events)\b")


def pg_plans(conn: Any, figures: list[Figure]) -> list[str]:
    """EXPLAIN of every statement each function ran on PostgreSQL (printed); the sequential scans of big tables."""
    scans: list[str] = []
    for f in figures:
        print(f"  {f.label.strip()}")
        for sql, params in f.statements:
            lines = [str(r[0]).strip() for r in conn.execute("EXPLAIN " + sql, params).fetchall()]
            print(f"    {short_sql(sql, params)}")
            print(f"      -> {' | '.join(line.split('  (cost')[0] for line in lines)}")
            scans += [f"{f.label.strip()}: {m.group(0)}" for line in lines if (m := PG_SEQ_SCAN.search(line))]
    return scans


def table(store: str, figures: list[Figure]) -> None:
    print(f"\n{store}")
    print(f"{'measurement':<48}{'runs':>5}{'median ms':>11}  {'range ms':<15}{'SQL only ms':>12}{'first ms':>10}  note")
    for f in figures:
        span = f"{1000 * min(f.times):.1f}–{1000 * max(f.times):.1f}"
        sql_ms = 1000 * statistics.median(f.sql_times)
        print(
            f"{f.label:<48}{len(f.times):>5}{f.median_ms:>11.1f}  {span:<15}{sql_ms:>12.1f}{1000 * f.warmup:>10.1f}  "
            f"{f.note}"
        )


def sqlite_plans(raw: sqlite3.Connection, figures: list[Figure]) -> None:
    scans: list[str] = []
    for f in figures:
        print(f"  {f.label.strip()}")
        for sql, params in f.statements:
            details = plan(raw, sql, params)
            print(f"    {short_sql(sql, params)}")
            print(f"      -> {' | '.join(details)}")
            for d in details:
                if FULL_SCAN.match(d):
                    scans.append(f"{f.label.strip()}: full table scan ({d})")
                elif INDEX_SCAN.match(d):
                    scans.append(f"{f.label.strip()}: whole-index scan, no range ({d})")
    tables = [s for s in scans if "full table scan" in s]
    print("\nfull table scans: " + ("none" if not tables else ""))
    for s in tables:
        print(f"  {s}")
    print("whole-index scans (an index read end to end, no range): " + ("none" if len(tables) == len(scans) else ""))
    for s in scans:
        if s not in tables:
            print(f"  {s}")
    print("\nindexes on cases, events, supervision_events, corrections")
    for tbl, name, sql in raw.execute(
        "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index'"
        " AND tbl_name IN ('cases', 'events', 'supervision_events', 'corrections') ORDER BY tbl_name, name"
    ).fetchall():
        cols = ", ".join(str(r[2]) for r in raw.execute(f"PRAGMA index_info('{name}')"))
        print(f"  {tbl:<19}{name:<42}({cols}){'' if sql else '  unique constraint'}")


COPIED = ["cases", "events", "case_staff", "supervision_events", "corrections"]


def postgres_figures(base: str, built: Build, world: World, n: int, repeat: int) -> tuple[list[Figure], Any]:
    """The same rows in PostgreSQL (copied from the SQLite file; kept between runs on a $YANGGUANG_BENCH_PG
    server, whose database is named like the SQLite file) and the figures measured there; and a plain
    psycopg connection for the plans (the caller closes it)."""
    import psycopg

    name = built.path.stem.replace("-", "_")
    keep = bool(os.environ.get(pg.ENV))
    url, existed = pg.database(base, name, keep=keep)
    if existed:
        with psycopg.connect(url) as conn:
            existed = conn.execute("SELECT count(*) FROM cases").fetchone()[0] == n
        if not existed:
            url, _ = pg.database(base, name)
    if not existed:
        db = open_engine(url)
        migrate(db)
        db.dispose()
        seconds = pg.copy_from_sqlite(built.path, url, COPIED)
        print(f"PostgreSQL database {name} loaded in {seconds:.1f} s (COPY from the SQLite file, VACUUM ANALYZE)")
    else:
        print(f"PostgreSQL database {name} kept from an earlier run on ${pg.ENV}")
    db = open_engine(url)
    raw = psycopg.connect(url, autocommit=True)
    version = raw.execute("SHOW server_version").fetchone()[0]
    print(f"PostgreSQL {version}")
    figures = measure_store("PostgreSQL", db, world, repeat, pg_time_sql(raw))
    db.dispose()
    return figures, raw


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--cases", type=int, default=DEFAULT_CASES, help="case rows (default 1,000,000)")
    p.add_argument("--repeat", type=int, default=7, help="timed runs per figure after one warm-up (default 7)")
    p.add_argument("--rebuild", action="store_true", help="build the database even if a cached one exists")
    p.add_argument(
        "--store",
        choices=("both", "sqlite", "postgresql"),
        default="both",
        help="which stores to measure (default both; PostgreSQL: $YANGGUANG_BENCH_PG or a throwaway cluster)",
    )
    args = p.parse_args(argv)
    if args.repeat < 1 or args.cases < 1000:
        p.error("--repeat must be >= 1 and --cases >= 1000")

    world = build_world()
    built = database(world, args.cases, args.rebuild)
    size = built.path.stat().st_size
    print(
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs; "
        f"{built.path.relative_to(REPO)} ({size / 2**20:,.0f} MiB); now = {NOW.isoformat()}"
    )
    if built.seconds is None:
        print("database from the cache (--rebuild to build it again)")
    else:
        print(f"built in {built.seconds:.1f} s: " + "; ".join(f"{k} {v:.1f} s" for k, v in built.phases))
    raw = connect(built.path, read_only=True)
    for line in summary(raw):
        print("  " + line)

    stores: dict[str, list[Figure]] = {}
    if args.store in ("both", "sqlite"):
        db = open_engine(built.path, synchronous="NORMAL")

        def sqlite_timer(fig: Figure, repeat: int) -> None:
            time_sql(raw, fig, repeat)

        stores["SQLite"] = measure_store("SQLite", db, world, args.repeat, sqlite_timer)
        db.dispose()
    pg_raw = None
    with contextlib.ExitStack() as stack:
        if args.store in ("both", "postgresql"):
            base = stack.enter_context(pg.server())
            if base is None:
                print(f"PostgreSQL: skipped ({pg.why_not[0]})")
            else:
                stores["PostgreSQL"], pg_raw = postgres_figures(base, built, world, args.cases, args.repeat)
                stack.callback(pg_raw.close)
        for store, figures in stores.items():
            table(store, figures)

        print("\ntargets")
        for store, figures in stores.items():
            for f in figures:
                if f.target:
                    mark = "PASS" if f.median_ms <= TARGET_MS else "MISS"
                    print(f"  {store:<11}{f.label:<48}{f.median_ms:>9.1f} ms   target <= {TARGET_MS:.0f} ms   {mark}")

        if "SQLite" in stores:
            print("\nSQLite query plans (EXPLAIN QUERY PLAN of every statement each function ran)")
            sqlite_plans(raw, stores["SQLite"])
        if pg_raw is not None:
            print("\nPostgreSQL query plans (EXPLAIN of every statement each function ran)")
            scans = pg_plans(pg_raw, stores["PostgreSQL"])
            print("\nsequential scans of a big table on PostgreSQL: " + ("none" if not scans else ""))
            for line in scans:
                print(f"  {line}")
    raw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
