"""``yangguang simulate``: drive synthetic cases through the real engine on a virtual clock.

Applicants arrive each working day; staff act on what is open, sometimes a day late;
some applications need a supplement; some payments are first recorded wrong (and
refused as fee anomalies). Every action goes through CaseService and the hash-chained
record, so the simulation doubles as the load generator for the benchmark.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from engine.base import stated
from engine.base.dates import TZ
from engine.rules.cases.law import assess_step, fee_due
from engine.rules.cases.model import ActionRefused, Actor, Case, FeeMismatch
from engine.rules.cases.steps import open_steps, steps_of
from engine.rules.clock import ManualClock, local_date
from engine.service.cases import CaseService
from engine.service.samples import sample_application


@dataclass
class SimulationReport:
    days: int
    submitted: int = 0
    completed: int = 0
    on_time: int = 0
    deemed_accepted: int = 0
    overdue_cases: int = 0
    refused: int = 0
    supplements: int = 0
    fee_anomalies: int = 0
    actions: int = 0
    open_cases: int = 0
    by_item: Counter[str] = field(default_factory=Counter)

    def render(self) -> str:
        rate = f"{self.on_time / self.completed:.1%}" if self.completed else "n/a"
        lines = [
            f"simulated {self.days} working days: {self.submitted} cases submitted, {self.actions} actions",
            f"  completed          {self.completed} (on time {self.on_time}, {rate})",
            f"  still open         {self.open_cases}",
            f"  refused            {self.refused}",
            f"  supplements asked  {self.supplements}",
            f"  deemed accepted    {self.deemed_accepted} (Art. 32: nobody acted within 5 working days)",
            f"  overdue cases      {self.overdue_cases} (past the promised deadline)",
            f"  fee anomalies      {self.fee_anomalies} (payments refused for not matching the assessment)",
        ]
        return "\n".join(lines) + "\n"


def _staff(role: str, dept: str) -> Actor:
    return Actor(f"{role}@{dept}", role, dept)


def simulate(
    service: CaseService,
    clock: ManualClock,
    items: Sequence[str],
    days: int = 20,
    per_day: int = 10,
    seed: int = 1,
    late_rate: float = 0.15,
    supplement_rate: float = 0.1,
    wrong_payment_rate: float = 0.05,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationReport:
    """``progress(done, days)`` is called after each simulated working day (engine.cli.progress)."""
    rng = random.Random(seed)
    report = SimulationReport(days=days)
    cal = service.calendar
    open_numbers: list[str] = []
    day = local_date(clock.now())
    applicant = Actor("applicant", "applicant")
    for done in range(1, days + 1):
        while not cal.is_working_day(day):
            day += timedelta(days=1)
        clock.set(datetime.combine(day, time(9, 0), TZ))
        for n in range(per_day):
            code = rng.choice(items)
            doc = service.catalogue.items[code]
            data, uploads = sample_application(service.catalogue, doc)
            sub = service.submit(code, data, uploads, applicant, f"sim-{seed}-{day}-{n}")
            report.submitted += 1
            report.by_item[code] += 1
            open_numbers.append(sub.number)
        clock.set(datetime.combine(day, time(10, 0), TZ))
        report.deemed_accepted += len(service.sweep())
        still_open = []
        for number in open_numbers:
            if rng.random() < late_rate:
                still_open.append(number)
                continue
            if _work(service, number, rng, report, supplement_rate, wrong_payment_rate):
                still_open.append(number)
        open_numbers = still_open
        day += timedelta(days=1)
        if progress is not None:
            progress(done, days)
    report.open_cases = len(open_numbers)
    now = clock.now()
    for number in open_numbers:
        case, snap = service.load(number)
        due = service.deadlines(case, snap).promised
        if due is not None and now > due:
            report.overdue_cases += 1
    return report


def _work(
    service: CaseService,
    number: str,
    rng: random.Random,
    report: SimulationReport,
    supplement_rate: float,
    wrong_payment_rate: float,
) -> bool:
    """Act on one case as far as today allows; True while it stays open."""
    for _ in range(12):  # a bounded number of actions per case per day
        case, snap = service.load(number)
        item = snap["item"]
        dept = item["department"]
        try:
            if case.state == "submitted":
                if not case.supplement_requested and rng.random() < supplement_rate:
                    listed = stated.materials(item)
                    mat = listed[0]["id"] if listed else None
                    if mat:
                        _act(
                            service,
                            case,
                            "request_supplement",
                            _staff("window", dept),
                            {"missing": [{"material": mat, "reason": "材料不清晰"}]},
                            report,
                        )
                        report.supplements += 1
                        return True
                _act(service, case, "accept", _staff(steps_of(item)[0]["role"], dept), {}, report)
            elif case.state == "awaiting_supplement":
                _act(service, case, "supplement", Actor("applicant", "applicant"), {"uploads": {}}, report)
                return True
            elif case.state == "in_progress":
                _advance(service, case, item, rng, report, wrong_payment_rate)
            else:
                if case.state == "completed":
                    report.completed += 1
                    due = service.deadlines(case, snap).promised
                    if due is not None and service.clock.now() <= due:
                        report.on_time += 1
                    else:
                        report.overdue_cases += 1
                elif case.state == "refused":
                    report.refused += 1
                return False
        except ActionRefused:
            return True
    return True


def _advance(
    service: CaseService,
    case: Case,
    item: dict[str, Any],
    rng: random.Random,
    report: SimulationReport,
    wrong_payment_rate: float,
) -> None:
    dept = item["department"]
    steps = open_steps(case, item)
    last = steps_of(item)[-1]["id"]
    step = steps[0]
    actor = _staff(step["role"], dept)
    fee = fee_due(item)
    if fee and case.assessment is None and step["id"] == assess_step(item):
        _act(service, case, "assess_fee", actor, {}, report)
    elif step["role"] == "decider" and case.decision is None:
        _act(service, case, "decide", actor, {"outcome": "approve"}, report)
    elif step["id"] == last:
        if fee and case.assessment is not None and case.paid_fen is None:
            total = int(case.assessment["total_fen"])
            if rng.random() < wrong_payment_rate:
                try:
                    _act(service, case, "record_payment", _staff("window", dept), {"amount_fen": total + 1}, report)
                except FeeMismatch:
                    report.fee_anomalies += 1
                    return
            _act(service, case, "record_payment", _staff("window", dept), {"amount_fen": total}, report)
        else:
            _act(service, case, "complete", actor, {}, report)
    else:
        _act(service, case, "complete_step", actor, {"step": step["id"]}, report)


def _act(
    service: CaseService,
    case: Case,
    action: str,
    actor: Actor,
    payload: dict[str, Any],
    report: SimulationReport,
) -> None:
    report.actions += 1
    service.act(case.number, action, actor, payload, case.version)
