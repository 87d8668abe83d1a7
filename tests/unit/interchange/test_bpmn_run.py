"""Every reference item and chain run in another engine, SpiffWorkflow 3: the spiffworkflow dialect in stock
SpiffWorkflow (its default script engine), the standard dialect with a script engine that reads an ISO literal
as itself. The happy path of every item and chain; then, on chosen items, timers fired and a special procedure's
message delivered, what they lead to reached, and the steps still done to the end.

SpiffWorkflow reads the clock itself (datetime.now) when a timer starts and keeps the deadline it computed in
the waiting timer task's ``internal_data["event_value"]``; a test moves that deadline into the past, which is
what the passing of the time would do, and asks the workflow to look at its timers again."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.interchange.bpmn import export_all
from engine.rules.cases.steps import step_groups

ISO_DURATION = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?)?$")
LONG_AGO = "2000-01-01T00:00:00+00:00"


class IsoTimers(PythonScriptEngine):
    """SpiffWorkflow evaluates a timer's text as Python; the BPMN standard, Camunda and bpmn.io read an ISO 8601
    literal (``P5D``), which is what the standard dialect writes. This engine reads such a literal as itself."""

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        if ISO_DURATION.match(expression.strip()):
            return expression.strip()
        return super().evaluate(task, expression, external_context)


Start = Callable[[str], BpmnWorkflow]


def _parser(reference: Any, dialect: str) -> BpmnParser:
    """Every file in one parser, validated against the XSD as it is added (chains need their items' processes)."""
    p = BpmnParser(validator=BpmnValidator())
    for e in export_all(reference.catalogue, dialect):
        p.add_bpmn_xml(etree.fromstring(e.xml), filename=e.filename)
    return p


@pytest.fixture(scope="module")
def stock(reference: Any) -> Start:
    """Starts a process of the spiffworkflow dialect in stock SpiffWorkflow: no script engine given."""
    p = _parser(reference, "spiffworkflow")
    return lambda pid: BpmnWorkflow(p.get_spec(pid), p.get_subprocess_specs(pid))


@pytest.fixture(scope="module", params=["spiffworkflow", "standard"])
def start(request: pytest.FixtureRequest, reference: Any, stock: Start) -> Start:
    """Both dialects: the spiffworkflow one in stock SpiffWorkflow, the standard one with IsoTimers."""
    if request.param == "spiffworkflow":
        return stock
    p = _parser(reference, "standard")
    return lambda pid: BpmnWorkflow(p.get_spec(pid), p.get_subprocess_specs(pid), script_engine=IsoTimers())


def finish(wf: BpmnWorkflow, process_id: str) -> list[tuple[str, str]]:
    """Run the workflow to its end completing ready user tasks (the last offered first, so parallel steps are
    done out of their written order); (workflow, task) pairs in the order done."""
    wf.do_engine_steps()
    done = []
    while not wf.is_completed():
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        assert ready, f"{process_id} is stuck before its end"
        task = ready[-1]
        task.run()
        done.append((task.workflow.spec.name, task.task_spec.bpmn_id))
        wf.refresh_timers()
        wf.do_engine_steps()
    return done


def walk(start: Start, process_id: str) -> list[tuple[str, str]]:
    """The happy path: no timer fires and no message arrives."""
    return finish(start(process_id), process_id)


def do(wf: BpmnWorkflow, *bpmn_ids: str) -> None:
    """Complete these ready user tasks."""
    for bpmn_id in bpmn_ids:
        [task] = [t for t in wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == bpmn_id]
        task.run()
        wf.do_engine_steps()


def fire(wf: BpmnWorkflow, timer_id: str) -> None:
    """Let the time of the waiting timer ``timer_id`` pass."""
    [task] = [t for t in wf.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == timer_id]
    assert isinstance(task.task_spec.event_definition, DurationTimerEventDefinition)
    assert task.internal_data["event_value"] > LONG_AGO  # the deadline SpiffWorkflow computed: now + the duration
    task.internal_data["event_value"] = LONG_AGO
    wf.refresh_timers()
    wf.do_engine_steps()


def deliver(wf: BpmnWorkflow, message: str) -> None:
    """Send the message named ``message`` from outside (WorkflowException when nothing waits for it)."""
    wf.send_event(BpmnEvent(MessageEventDefinition(message), {}))
    wf.do_engine_steps()


def names(wf: BpmnWorkflow, state: TaskState, kind: str) -> dict[str, str]:
    """The tasks of ``kind`` (a BPMN element name) in ``state``: bpmn id -> name."""
    return {
        t.task_spec.bpmn_id: t.task_spec.bpmn_name
        for t in wf.get_tasks(state=state)
        if t.task_spec.bpmn_id and t.task_spec.__class__.__name__ == kind
    }


def ready(wf: BpmnWorkflow) -> set[str]:
    return {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True)}


def test_stock_spiffworkflow_cannot_evaluate_a_standard_iso_literal(reference: Any) -> None:
    """Why the spiffworkflow dialect exists: stock SpiffWorkflow reads P5D as a Python name."""
    p = _parser(reference, "standard")
    wf = BpmnWorkflow(p.get_spec("item_QQ-WATER-XK-001"), p.get_subprocess_specs("item_QQ-WATER-XK-001"))
    with pytest.raises(WorkflowException, match="P20D"):
        wf.do_engine_steps()


def test_every_item_runs_its_steps_to_the_end(reference: Any, start: Start) -> None:
    cat = reference.catalogue
    for code, doc in cat.items.items():
        item = cat.data(doc)
        done = [task for _, task in walk(start, f"item_{code}")]
        groups = step_groups(item)
        # group by group, each group's steps all done before the next begins (parallel ones in any order)
        at = 0
        for group in groups:
            assert set(done[at : at + len(group)]) == {f"step_{s['id']}" for s in group}, (code, done)
            at += len(group)
        assert at == len(done), (code, done)  # nothing else: no special procedure, no overdue branch


def test_parallel_steps_are_done_out_of_order_and_joined(start: Start) -> None:
    """QQ-WATER-XK-001 inspects and undertakes in parallel: the walk takes the last offered first."""
    done = [task for _, task in walk(start, "item_QQ-WATER-XK-001")]
    assert done[:3] == ["step_accept", "step_undertake", "step_inspect"]
    assert done.index("step_review") > max(done.index("step_inspect"), done.index("step_undertake"))


def _item_of(workflow: str) -> str:
    return re.sub(r"^item_|_steps$", "", workflow)


def test_every_chain_runs_its_stages_in_order(reference: Any, start: Start) -> None:
    cat = reference.catalogue
    for chain_id, doc in cat.chains.items():
        chain = cat.data(doc)
        done = walk(start, f"chain_{chain_id}")
        order = [_item_of(wf) for wf, _ in done]
        for stage, after in zip(chain["stages"], chain["stages"][1:], strict=False):
            last = max(i for i, code in enumerate(order) if code in stage["items"])
            first_next = min(i for i, code in enumerate(order) if code in after["items"])
            assert last < first_next, (chain_id, stage["id"], after["id"])
        for code in {c for stage in chain["stages"] for c in stage["items"]}:
            steps = [task for wf, task in done if _item_of(wf) == code]
            expected = [f"step_{s['id']}" for group in step_groups(cat.data(cat.items[code])) for s in group]
            assert sorted(steps) == sorted(expected), (chain_id, code)


WATER_STEPS = {"step_accept", "step_inspect", "step_undertake", "step_review", "step_decide", "step_complete"}


def test_a_step_timer_fires_beside_the_step_which_still_completes(start: Start) -> None:
    """QQ-WATER-XK-001's inspection has 5 working days: written as 5 natural days, its end says the estimate
    ran out; the steps carry on to the end and the item's own limits never fire."""
    wf = start("item_QQ-WATER-XK-001")
    wf.do_engine_steps()
    do(wf, "step_accept")
    fire(wf, "step_inspect_step_limit")
    assert names(wf, TaskState.COMPLETED, "EndEvent") == {"step_inspect_step_elapsed": "环节时限（按自然日估）到期"}
    assert ready(wf) == {"step_inspect", "step_undertake"}
    done = {task for _, task in finish(wf, "item_QQ-WATER-XK-001")}
    assert done == WATER_STEPS - {"step_accept"} and wf.is_completed()
    assert set(names(wf, TaskState.COMPLETED, "EndEvent")) == {"step_inspect_step_elapsed", "steps_end", "end"}


def test_a_timer_in_minutes_ends_as_an_estimate_not_an_overdue(start: Start) -> None:
    """The center counts a step's minutes in office hours: the clock-time timer may fire before the deadline."""
    wf = start("item_QQ-DRC-BA-001")
    wf.do_engine_steps()
    fire(wf, "step_accept_step_limit")
    assert names(wf, TaskState.COMPLETED, "EndEvent") == {"step_accept_step_elapsed": "环节时限（估算）到期"}
    finish(wf, "item_QQ-DRC-BA-001")
    assert wf.is_completed()


def test_the_promised_limit_fires_on_all_steps_and_they_still_complete(start: Start) -> None:
    wf = start("item_QQ-WATER-XK-001")
    wf.do_engine_steps()
    do(wf, "step_accept", "step_inspect")
    fire(wf, "item_QQ-WATER-XK-001_steps_promised_limit")
    ended = names(wf, TaskState.COMPLETED, "EndEvent")
    assert ended == {"item_QQ-WATER-XK-001_steps_promised_elapsed": "承诺时限（按自然日估）到期"}
    assert ready(wf) == {"step_undertake"}
    done = {task for _, task in finish(wf, "item_QQ-WATER-XK-001")}
    assert done == WATER_STEPS - {"step_accept", "step_inspect"} and wf.is_completed()
    # the legal limit (45 working days) waited beside the steps and went with them, unfired
    assert "item_QQ-WATER-XK-001_steps_legal_elapsed" not in names(wf, TaskState.COMPLETED, "EndEvent")


def test_a_special_procedure_starts_on_its_message_beside_the_steps(stock: Start) -> None:
    """QQ-ECO-XK-001 (limits in natural days) declares a hearing: its message makes the hearing ready beside
    the current step; the hearing's own longest time and the promised limit fire (as estimates); the steps and the
    hearing both complete, and the other procedures, never asked for, do not start."""
    wf = stock("item_QQ-ECO-XK-001")
    wf.do_engine_steps()
    assert ready(wf) == {"step_accept"}
    deliver(wf, "QQ-ECO-XK-001:special_hearing")
    assert ready(wf) == {"step_accept", "special_hearing"}
    do(wf, "step_accept")
    fire(wf, "special_hearing_special_procedure_limit")
    fire(wf, "item_QQ-ECO-XK-001_steps_promised_limit")
    assert names(wf, TaskState.COMPLETED, "EndEvent") == {
        "special_hearing_special_procedure_elapsed": "特别程序最长时间（估算）到期",
        "item_QQ-ECO-XK-001_steps_promised_elapsed": "承诺时限（估算）到期",
    }
    done = [task for _, task in finish(wf, "item_QQ-ECO-XK-001")]
    assert "special_hearing" in done and wf.is_completed()
    steps = ["step_undertake", "step_review", "step_decide", "step_complete"]
    assert [t for t in done if t.startswith("step_")] == steps
    assert not {"special_expert_review", "special_public_notice"} & set(done)
    assert {"special_hearing_end", "steps_end", "end"} <= set(names(wf, TaskState.COMPLETED, "EndEvent"))


def test_a_message_nothing_waits_for_is_refused(stock: Start) -> None:
    """The delivery above can fail: a procedure the item does not declare is not caught."""
    wf = stock("item_QQ-WATER-XK-001")
    wf.do_engine_steps()
    with pytest.raises(WorkflowException, match="not waiting"):
        deliver(wf, "QQ-WATER-XK-001:special_hearing")


def test_a_chain_s_promise_and_a_joint_review_s_limit_fire_and_the_stages_still_complete(stock: Start) -> None:
    wf = stock("chain_construction")
    wf.do_engine_steps()
    fire(wf, "chain_construction_stages_chain_limit")
    assert names(wf, TaskState.COMPLETED, "EndEvent") == {
        "chain_construction_stages_chain_elapsed": "承诺总时限（按自然日估）到期"
    }
    # run up to the joint design review, let its shared limit pass, and go on to the end
    while "chain_construction_stage_design-review_stage_limit" not in names(wf, TaskState.WAITING, "BoundaryEvent"):
        wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
        wf.do_engine_steps()
    fire(wf, "chain_construction_stage_design-review_stage_limit")
    assert "chain_construction_stage_design-review_stage_elapsed" in names(wf, TaskState.COMPLETED, "EndEvent")
    finish(wf, "chain_construction")
    assert wf.is_completed()
    assert {"stages_end", "end"} <= set(names(wf, TaskState.COMPLETED, "EndEvent"))
    members = {"stage_design-review_QQ-HOUSING-XK-001", "stage_design-review_QQ-CAD-XK-001"}
    assert members <= set(names(wf, TaskState.COMPLETED, "CallActivity"))
