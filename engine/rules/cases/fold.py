"""Folding events into a case: ``apply(case, event)`` is the one way state changes, so a case's
state is always ``fold(events)`` (the store keeps both and a test proves they agree)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.rules.cases.model import Case, Event
from engine.rules.cases.steps import open_steps


def apply(case: Case, event: Event) -> Case:
    """Fold one recorded event into the state (no checks: events are facts)."""
    c = replace(
        case,
        done_steps=list(case.done_steps),
        pauses=[dict(p) for p in case.pauses],
        step_started=dict(case.step_started),
        fee_anomalies=list(case.fee_anomalies),
        version=case.version + 1,
    )
    a, p, at = event.action, event.payload, event.at
    if a == "submit":
        c.state, c.received_at = "submitted", at
        c.data, c.uploads = dict(p.get("data", {})), {k: list(v) for k, v in p.get("uploads", {}).items()}
        c.chain = p.get("chain")
    elif a in ("accept", "deemed_accept"):
        c.state = "in_progress"
        # Art. 32: after the completeness period an application is accepted from receipt, whether the
        # sweep (deemed_accept) or a member of staff (accept, as_of_receipt) records it
        c.deemed_accepted = a == "deemed_accept" or bool(p.get("as_of_receipt"))
        c.accepted_at = c.received_at if c.deemed_accepted else at
        first = p.get("first_step")
        if first:
            c.done_steps.append(first)
    elif a == "deemed_consent":  # the department's part ends here: the joint decision is its result
        c.decision, c.deemed_consent = "approve", True
        c.state, c.ended_at = "completed", at
    elif a == "refuse":
        c.state, c.refusal_reason, c.ended_at = "refused", p.get("reason"), at
    elif a == "request_supplement":
        c.state, c.supplement_requested = "awaiting_supplement", True
        c.missing = list(p.get("missing", []))
        c.pauses.append({"kind": "supplement", "start": at, "end": None})
    elif a == "supplement":
        c.state = "submitted"
        for k, v in p.get("uploads", {}).items():
            c.uploads.setdefault(k, []).extend(v)
        if p.get("data"):  # corrected form data, validated as a whole by the service
            c.data = dict(p["data"])
        c.missing = []
        _close(c, "supplement", at)
    elif a == "complete_step":
        c.done_steps.append(p["step"])
    elif a == "assess_fee":
        c.assessment = dict(p["assessment"])
    elif a == "record_payment":
        c.paid_fen = int(p["amount_fen"])
    elif a == "extend":
        c.extended, c.extension = True, dict(p)
    elif a == "start_special_procedure":
        c.pauses.append({"kind": p["kind"], "start": at, "end": None})
    elif a == "end_special_procedure":
        _close(c, p["kind"], at)
    elif a == "decide":
        c.decision, c.decision_reason, c.decided_at = p["outcome"], p.get("reason"), at
    elif a == "complete":
        c.state, c.ended_at = "completed", at
        c.done_steps.append(p.get("step", "complete"))
    elif a == "fee_anomaly":
        c.fee_anomalies.append(dict(p))
    elif a == "evaluate":
        c.evaluation, c.rated_at = {"rating": p["rating"], "comment": p.get("comment", "")}, at
    return c


def _close(c: Case, kind: str, at: datetime) -> None:
    for pause in c.pauses:
        if pause["kind"] == kind and pause["end"] is None:
            pause["end"] = at


def fold_event(case: Case, event: Event, item: Mapping[str, Any]) -> Case:
    """``apply``, and note when each step the event opens became workable (a step's own limit runs from
    then): the one fold the service records and the audit checks the stored rows against."""
    after = apply(case, event)
    for step in open_steps(after, item):
        after.step_started.setdefault(step["id"], event.at)
    return after
