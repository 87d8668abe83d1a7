"""Random sequences of actions, roles, payments and clock moves never break the invariants:
no completion without the exact fee, deadlines never earlier than the working-day rule,
stored state == state rebuilt from events, and the hash chain verifies."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from engine.base.dates import TZ
from engine.check.pipeline import load
from engine.ledger.cases import get_case
from engine.ledger.db import iso, open_engine, read_only
from engine.ledger.errors import VersionConflict
from engine.ledger.migrations import migrate
from engine.rules import clock as clk
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import ActionRefused, Actor
from engine.rules.cases.steps import open_steps
from engine.service.cases import CaseService
from engine.service.samples import sample_application
from engine.supervision import audit

REPO = Path(__file__).resolve().parents[3]
CAT = load(REPO).catalogue
CAL = WorkCalendar.from_documents([d.data for d in CAT.calendars.values()])
CODE = "QQ-REALESTATE-DJ-102"
ROLES = ["window", "reviewer", "undertaker", "decider", "issuer", "head", "applicant"]
ACTIONS = [
    "accept",
    "refuse",
    "request_supplement",
    "supplement",
    "complete_step",
    "assess_fee",
    "record_payment",
    "decide",
    "complete",
    "extend",
    "evaluate",
]


class CaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.db = open_engine(Path(self.dir.name) / "c.db", synchronous="NORMAL")
        migrate(self.db)
        self.clock = clk.ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
        self.svc = CaseService(CAT, self.db, self.clock, CAL)
        data, uploads = sample_application(CAT, CAT.items[CODE], {"realestate.certificate_copies": 2})
        self.number = self.svc.submit(CODE, data, uploads, Actor("a", "applicant"), "k").number

    def teardown(self) -> None:
        self.db.dispose()
        self.dir.cleanup()

    @rule(
        action=st.sampled_from(ACTIONS),
        role=st.sampled_from(ROLES),
        step=st.sampled_from(["accept", "review", "tax", "decide", "complete"]),
        amount=st.sampled_from([0, 8999, 9000, 9001, 9000]),
        outcome=st.sampled_from(["approve", "deny"]),
        stale=st.booleans(),
    )
    def act(self, action: str, role: str, step: str, amount: int, outcome: str, stale: bool) -> None:
        case, _ = self.svc.load(self.number)
        payload = {
            "step": step,
            "amount_fen": amount,
            "outcome": outcome,
            "reason": "理由",
            "rating": "满意",
            "missing": [{"material": "identities", "reason": "不清晰"}],
            "uploads": {},
        }
        actor = Actor(role, role, None if role == "applicant" else "realestate")
        try:
            self.svc.act(self.number, action, actor, payload, case.version - 1 if stale else case.version)
        except (ActionRefused, VersionConflict):
            pass

    @rule(off_by=st.sampled_from([0, 0, 0, 1, -1]))
    def progress(self, off_by: int) -> None:
        """The right next action (so random runs do reach payment and completion), with payments
        sometimes one fen off."""
        case, snap = self.svc.load(self.number)
        item = snap["item"]
        staff = lambda role: Actor(role, role, "realestate")  # noqa: E731
        if case.state == "submitted":
            action, actor, payload = "accept", staff("window"), {}
        elif case.state == "awaiting_supplement":
            action, actor, payload = "supplement", Actor("a", "applicant"), {"uploads": {}}
        elif case.state == "in_progress":
            step = open_steps(case, item)[0]
            if step["id"] == "decide" and case.assessment is None:
                action, actor, payload = "assess_fee", staff("decider"), {}
            elif step["id"] == "decide" and case.decision is None:
                action, actor, payload = "decide", staff("decider"), {"outcome": "approve"}
            elif step["id"] == "complete" and case.decision == "approve" and case.paid_fen is None:
                total = case.assessment["total_fen"] if case.assessment else 0
                action, actor, payload = "record_payment", staff("window"), {"amount_fen": total + off_by}
            elif step["id"] == "complete":
                action, actor, payload = "complete", staff(step["role"]), {}
            else:
                action, actor, payload = "complete_step", staff(step["role"]), {"step": step["id"]}
        else:
            return
        try:
            self.svc.act(self.number, action, actor, payload, case.version)
        except ActionRefused:
            pass

    @rule(hours=st.integers(min_value=1, max_value=24 * 9))
    def wait(self, hours: int) -> None:
        self.clock.advance(hours=hours)
        self.svc.sweep()

    @invariant()
    def exact_fee_before_completion(self) -> None:
        case, _ = self.svc.load(self.number)
        if case.state == "completed" and case.decision == "approve":
            assert case.assessment is not None and case.paid_fen == case.assessment["total_fen"] == 9000

    @invariant()
    def deadlines_respect_the_working_day_rule(self) -> None:
        case, snap = self.svc.load(self.number)
        if case.accepted_at is None:
            return
        dl = self.svc.deadlines(case, snap)
        floor = clk.due(case.accepted_at, snap["item"]["time_limit"]["promised"], CAL)
        assert dl.promised is None or dl.promised >= floor

    @invariant()
    def stored_state_is_the_fold_of_events(self) -> None:
        case, _ = self.svc.load(self.number, fresh=True)
        assert case == self.svc.load(self.number)[0]  # the in-memory copy agrees with the record
        with read_only(self.db) as conn:
            row = get_case(conn, self.number)
        assert row is not None
        assert (row["state"], row["version"]) == (case.state, case.version)
        # the worklist columns (what supervision reads without folding) agree with the fold
        snap = self.svc.snapshot(row["catalogue_version"])
        expected = {k: iso(v) if isinstance(v, datetime) else v for k, v in self.svc.worklist(case, snap).items()}
        assert {k: row[k] for k in expected} | {"paused": bool(row["paused"])} == expected

    @invariant()
    def chain_verifies(self) -> None:
        assert audit.verify(self.db, service=self.svc).ok


CaseMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestCaseInvariants = CaseMachine.TestCase


def test_the_progress_rule_alone_completes_a_case() -> None:
    """The machine's progress rule really reaches payment and completion, so random runs that
    interleave it with noise do test the invariants on finished cases."""
    machine = CaseMachine()
    try:
        for off_by in (0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0):
            machine.progress(off_by)
        case, _ = machine.svc.load(machine.number, fresh=True)
        assert case.state == "completed" and case.paid_fen == 9000 and len(case.fee_anomalies) == 1
        machine.exact_fee_before_completion()
        machine.stored_state_is_the_fold_of_events()
        machine.chain_verifies()
    finally:
        machine.teardown()
