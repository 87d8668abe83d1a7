"""Scenario tests written as YAML (tests/acceptance/scenarios/*.yaml): an item, actions and clock moves,
with the state, deadlines and events expected after each. Adding a scenario needs no Python.

Steps (one key each):
  submit: {choices: {section.field: value}, key: idempotency-key, expect_number_of: <label>}
  at: 2026-03-16T08:00            set the virtual clock (China Standard Time)
  sweep: N                        run the timed rules; N cases must change
  act: {action, role, department?, backup?, payload?, version?: stale|N, error?: code, message?: text}
  expect: {state: …, deemed_accepted: …, paused: …, accepted_at: …, extended: …, paid_fen: …}
  deadlines: {promised: YYYY-MM-DD, legal: YYYY-MM-DD, completeness: YYYY-MM-DD | null,
              steps: {step id: YYYY-MM-DD}}   (deadlines of the steps open now)
  events: [action, …]             the record's actions so far, in order
  edit_item: {path.to.key: value} the administrator edits the item's YAML (running cases must not notice)
  verify: true                    the hash chains verify
"""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from engine.base.dates import TZ
from engine.catalogue.model import Catalogue, Document
from engine.catalogue.yaml_policy import parse
from engine.ledger.db import open_engine, read_only
from engine.ledger.errors import VersionConflict
from engine.ledger.events import events_of
from engine.ledger.migrations import migrate
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import ActionRefused, Actor
from engine.rules.clock import ManualClock
from engine.service.cases import CaseService, SubmissionInvalid
from engine.service.samples import sample_application
from engine.supervision import audit

SCENARIOS = sorted((Path(__file__).resolve().parent / "scenarios").glob("*.yaml"))


def _when(text: str) -> datetime:
    return datetime.fromisoformat(str(text)).replace(tzinfo=TZ)


def _edited(cat: Catalogue, code: str, changes: dict[str, Any]) -> Catalogue:
    doc = cat.items[code]
    data = copy.deepcopy(doc.data)
    for path, value in changes.items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    items = dict(cat.items)
    items[code] = Document(doc.file, doc.kind, data, doc.key + "-edited")
    return Catalogue(
        cat.root,
        cat.version + "-edited",
        cat.center,
        items,
        cat.fees,
        cat.forms,
        cat.chains,
        cat.calendars,
        cat.documents,
    )


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path, tmp_path: Path, reference) -> None:  # type: ignore[no-untyped-def]
    parsed = parse(path.read_bytes())
    assert parsed.ok, parsed.errors
    spec = parsed.data
    cat = reference.catalogue
    cal = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    db = open_engine(tmp_path / "cases.db")
    migrate(db)
    clock = ManualClock(_when(spec["start"]))
    svc = CaseService(cat, db, clock, cal)
    code = spec["item"]
    dept = cat.items[code].data["department"]
    number = ""
    for i, step in enumerate(spec["steps"]):
        ((kind, arg),) = step.items()
        where = f"{path.name} step {i + 1} ({kind})"
        if kind == "submit":
            arg = arg or {}
            data, uploads = sample_application(svc.catalogue, svc.catalogue.items[code], arg.get("choices"))
            sub = svc.submit(code, data, uploads, Actor("applicant", "applicant"), arg.get("key", "k"))
            if number:
                assert sub.number == number and not sub.created, where
            number = sub.number
        elif kind == "at":
            clock.set(_when(arg))
        elif kind == "sweep":
            assert len(svc.sweep()) == arg, where
        elif kind == "act":
            case, _ = svc.load(number)
            role = arg["role"]
            actor = (
                Actor("applicant", "applicant")
                if role == "applicant"
                else Actor(
                    f"{role}@{arg.get('department', dept)}", role, arg.get("department", dept), arg.get("backup")
                )
            )
            version = case.version - 1 if arg.get("version") == "stale" else case.version
            if "error" in arg:
                with pytest.raises((ActionRefused, VersionConflict, SubmissionInvalid)) as info:
                    svc.act(number, arg["action"], actor, arg.get("payload") or {}, version)
                err = info.value
                got = (
                    "conflict"
                    if isinstance(err, VersionConflict)
                    else "invalid"
                    if isinstance(err, SubmissionInvalid)
                    else err.code  # type: ignore[union-attr]
                )
                assert got == arg["error"], f"{where}: {err}"
                if "message" in arg:
                    assert arg["message"] in str(err), f"{where}: {err}"
            else:
                svc.act(number, arg["action"], actor, arg.get("payload") or {}, version)
        elif kind == "expect":
            case, _ = svc.load(number)
            for key, want in arg.items():
                got = getattr(case, key)
                if isinstance(got, datetime):
                    got = got.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
                assert got == want, f"{where}: {key} is {got!r}, expected {want!r}"
        elif kind == "deadlines":
            case, snap = svc.load(number)
            dl = svc.deadlines(case, snap)
            for key, want in arg.items():
                if key == "steps":
                    got_steps = {k: None if v is None else v.date().isoformat() for k, v in dl.steps.items()}
                    assert got_steps == want, f"{where}: step deadlines are {got_steps}, expected {want}"
                    continue
                got = getattr(dl, key)
                got = None if got is None else got.date().isoformat()
                assert got == want, f"{where}: {key} deadline is {got}, expected {want}"
        elif kind == "events":
            with read_only(db) as conn:
                actions = [e.action for e in events_of(conn, number)]
            assert actions == arg, where
        elif kind == "edit_item":
            svc = CaseService(_edited(svc.catalogue, code, arg), db, clock, cal)
        elif kind == "verify":
            report = audit.verify(db, service=svc)  # the chains, and every case row against its events
            assert report.ok, report.render()
        else:
            pytest.fail(f"{where}: unknown step kind {kind!r}")
