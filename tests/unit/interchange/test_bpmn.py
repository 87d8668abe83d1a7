"""Every reference item and chain exported as BPMN 2.0: valid against the XSD, drawn completely, and run to
the end in another engine (SpiffWorkflow) by completing its user tasks in an order the steps allow."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.interchange.bpmn import Exported, export, export_all
from engine.rules.cases.steps import step_groups

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "yangguang": "urn:yangguang:bpmn:1",
}
FLOW_NODES = ("startEvent", "endEvent", "boundaryEvent", "userTask", "parallelGateway", "subProcess", "callActivity")
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
ISO_DURATION = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?)?$")


class IsoTimers(PythonScriptEngine):
    """SpiffWorkflow evaluates a timer's text as Python; the BPMN standard, Camunda and bpmn.io read an ISO 8601
    literal (``P5D``), which is what the export writes. This engine reads such a literal as itself."""

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        if ISO_DURATION.match(expression.strip()):
            return expression.strip()
        return super().evaluate(task, expression, external_context)


@pytest.fixture(scope="module")
def exported(reference: Any) -> dict[str, Exported]:
    return {e.filename: e for e in export_all(reference.catalogue)}


@pytest.fixture(scope="module")
def parser(exported: dict[str, Exported]) -> BpmnParser:
    """Every file in one parser, validated against the XSD as it is added (chains need their items' processes)."""
    p = BpmnParser(validator=BpmnValidator())
    for e in exported.values():
        p.add_bpmn_xml(etree.fromstring(e.xml), filename=e.filename)
    return p


def walk(parser: BpmnParser, process_id: str) -> list[tuple[str, str]]:
    """Run the process to its end completing ready user tasks (the last offered first, so parallel steps
    are done out of their written order); no timer fires and no message arrives. (workflow, task) pairs."""
    wf = BpmnWorkflow(parser.get_spec(process_id), parser.get_subprocess_specs(process_id), script_engine=IsoTimers())
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


def tree(e: Exported) -> Any:
    return etree.fromstring(e.xml)


def test_every_item_and_chain_is_exported(reference: Any, exported: dict[str, Exported]) -> None:
    cat = reference.catalogue
    assert set(exported) == {f"{c}.bpmn" for c in cat.items} | {f"{c}.chain.bpmn" for c in cat.chains}
    assert len(cat.items) >= 50 and len(cat.chains) >= 3


def test_every_file_validates_against_the_bpmn_xsd(exported: dict[str, Exported]) -> None:
    validator = BpmnValidator()
    for e in exported.values():
        validator.validate(tree(e), filename=e.filename)  # raises ValidationException with the line


def test_the_validator_refuses_what_the_xsd_forbids(exported: dict[str, Exported]) -> None:
    """The check above can fail: a flow without its target is refused."""
    doc = tree(exported["QQ-WATER-XK-001.bpmn"])
    flow = doc.find(".//bpmn:sequenceFlow", NS)
    del flow.attrib["targetRef"]
    with pytest.raises(ValidationException):
        BpmnValidator().validate(doc)


def test_every_item_runs_its_steps_to_the_end_in_spiffworkflow(reference: Any, parser: BpmnParser) -> None:
    cat = reference.catalogue
    for code, doc in cat.items.items():
        item = cat.data(doc)
        done = [task for _, task in walk(parser, f"item_{code}")]
        groups = step_groups(item)
        # group by group, each group's steps all done before the next begins (parallel ones in any order)
        at = 0
        for group in groups:
            assert set(done[at : at + len(group)]) == {f"step_{s['id']}" for s in group}, (code, done)
            at += len(group)
        assert at == len(done), (code, done)  # nothing else: no special procedure, no overdue branch


def test_parallel_steps_are_done_out_of_order_and_joined(reference: Any, parser: BpmnParser) -> None:
    """QQ-WATER-XK-001 inspects and undertakes in parallel: the walk takes the last offered first."""
    done = [task for _, task in walk(parser, "item_QQ-WATER-XK-001")]
    assert done[:3] == ["step_accept", "step_undertake", "step_inspect"]
    assert done.index("step_review") > max(done.index("step_inspect"), done.index("step_undertake"))


def _item_of(workflow: str) -> str:
    return re.sub(r"^item_|_steps$", "", workflow)


def test_every_chain_runs_its_stages_in_order_in_spiffworkflow(reference: Any, parser: BpmnParser) -> None:
    cat = reference.catalogue
    for chain_id, doc in cat.chains.items():
        chain = cat.data(doc)
        done = walk(parser, f"chain_{chain_id}")
        order = [_item_of(wf) for wf, _ in done]
        for stage, after in zip(chain["stages"], chain["stages"][1:], strict=False):
            last = max(i for i, code in enumerate(order) if code in stage["items"])
            first_next = min(i for i, code in enumerate(order) if code in after["items"])
            assert last < first_next, (chain_id, stage["id"], after["id"])
        for code in {c for stage in chain["stages"] for c in stage["items"]}:
            steps = [task for wf, task in done if _item_of(wf) == code]
            expected = [f"step_{s['id']}" for group in step_groups(cat.data(cat.items[code])) for s in group]
            assert sorted(steps) == sorted(expected), (chain_id, code)


def _elements(doc: Any) -> Iterator[Any]:
    for tag in FLOW_NODES:
        yield from doc.iterfind(f".//bpmn:{tag}", NS)


def test_the_diagram_draws_every_node_and_flow_and_ids_are_unique_names(exported: dict[str, Exported]) -> None:
    for e in exported.values():
        doc = tree(e)
        ids = [el.get("id") for el in doc.iter() if el.get("id") is not None]
        assert len(ids) == len(set(ids)), e.filename
        assert all(NCNAME.match(i) for i in ids), e.filename
        shapes = {s.get("bpmnElement"): s for s in doc.iterfind(".//bpmndi:BPMNShape", NS)}
        edges = {s.get("bpmnElement"): s for s in doc.iterfind(".//bpmndi:BPMNEdge", NS)}
        nodes = list(_elements(doc))
        assert {n.get("id") for n in nodes} == set(shapes), e.filename
        for node in nodes:
            bounds = shapes[node.get("id")].find("dc:Bounds", NS)
            assert float(bounds.get("width")) > 0 and float(bounds.get("x")) >= 0, (e.filename, node.get("id"))
        flows = doc.findall(".//bpmn:sequenceFlow", NS)
        assert {f.get("id") for f in flows} == set(edges), e.filename
        for flow in flows:
            assert len(edges[flow.get("id")].findall("di:waypoint", NS)) >= 2


def _box(doc: Any, id_: str) -> tuple[float, float, float, float]:
    b = doc.find(f".//bpmndi:BPMNShape[@bpmnElement='{id_}']/dc:Bounds", NS)
    return float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height"))


def test_the_drawing_nests_and_attaches_as_the_process_does(exported: dict[str, Exported]) -> None:
    """What a subprocess holds is drawn inside it; a boundary event sits on its host's lower edge;
    a flow starts and ends on the shapes it joins."""
    for e in exported.values():
        doc = tree(e)
        for sub in doc.iterfind(".//bpmn:subProcess", NS):
            sx, sy, sw, sh = _box(doc, sub.get("id"))
            for child in sub:
                if child.get("id") and etree.QName(child).localname in FLOW_NODES:
                    x, y, w, h = _box(doc, child.get("id"))
                    assert sx <= x and x + w <= sx + sw and sy <= y and y + h <= sy + sh, (e.filename, child.get("id"))
        for event in doc.iterfind(".//bpmn:boundaryEvent", NS):
            assert event.get("cancelActivity") == "false"
            hx, hy, hw, hh = _box(doc, event.get("attachedToRef"))
            x, y, w, h = _box(doc, event.get("id"))
            assert y + h / 2 == hy + hh and hx <= x and x + w <= hx + hw, (e.filename, event.get("id"))


def _timers(doc: Any, host: str) -> dict[str, tuple[str, dict[str, str]]]:
    """The boundary timers on ``host``: what their yangguang:limit is of -> (ISO duration, the limit's attributes)."""
    out = {}
    for event in doc.iterfind(f".//bpmn:boundaryEvent[@attachedToRef='{host}']", NS):
        duration = event.find("bpmn:timerEventDefinition/bpmn:timeDuration", NS)
        if duration is not None:
            limit = event.find("bpmn:extensionElements/yangguang:limit", NS)
            out[limit.get("of")] = (duration.text, dict(limit.attrib))
    return out


def test_limits_are_iso_timers_with_the_exact_limit_alongside(reference: Any) -> None:
    cat = reference.catalogue
    water = tree(export(cat, "QQ-WATER-XK-001"))  # legal 45, promised 20 working days; steps in working days
    assert _timers(water, "item_QQ-WATER-XK-001_steps") == {
        "promised": ("P20D", {"of": "promised", "value": "20", "unit": "working_day"}),
        "legal": ("P45D", {"of": "legal", "value": "45", "unit": "working_day"}),
    }
    assert _timers(water, "step_inspect") == {"step": ("P5D", {"of": "step", "value": "5", "unit": "working_day"})}
    step_doc = water.find(".//bpmn:userTask[@id='step_inspect']/bpmn:documentation", NS).text
    assert "时限：5个工作日" in step_doc and "yangguang:limit" in step_doc
    seal = tree(export(cat, "QQ-DRC-BA-001"))  # on the spot: no promise to time; its steps in minutes
    assert _timers(seal, "item_QQ-DRC-BA-001_steps") == {}
    assert _timers(seal, "step_accept")["step"][0] == "PT20M"


def test_a_step_names_its_role_for_other_engines(reference: Any) -> None:
    doc = tree(export(reference.catalogue, "QQ-WATER-XK-001"))
    task = doc.find(".//bpmn:userTask[@id='step_accept']", NS)
    assert task.get("{http://camunda.org/schema/1.0/bpmn}candidateGroups") == "window"
    owner = task.find("bpmn:potentialOwner", NS)
    assert owner.get("name") == "窗口受理人员"
    assert owner.find(".//bpmn:formalExpression", NS).text == "window"


def test_special_procedures_start_beside_the_steps(reference: Any) -> None:
    """QQ-ECO-XK-001 declares expert review, public notice and a hearing: each a message boundary event on
    the steps leading to its own task, which has its longest time as a timer."""
    cat = reference.catalogue
    doc = tree(export(cat, "QQ-ECO-XK-001"))
    events = doc.findall(".//bpmn:boundaryEvent[@attachedToRef='item_QQ-ECO-XK-001_steps']", NS)
    messages = {m.get("id") for m in doc.iterfind("bpmn:message", NS)}
    started = [e for e in events if e.find("bpmn:messageEventDefinition", NS) is not None]
    assert len(started) == 3
    for event in started:
        assert event.find("bpmn:messageEventDefinition", NS).get("messageRef") in messages
    procedures = cat.data(cat.items["QQ-ECO-XK-001"])["special_procedures"]
    for sp in procedures:
        task = doc.find(f".//bpmn:userTask[@id='special_{sp['kind']}']", NS)
        assert task.get("name") == sp["name"]
        ext = task.find("bpmn:extensionElements/yangguang:specialProcedure", NS)
        assert ext.get("countsTowardLimit") == str(sp["counts_toward_limit"]).lower()
        assert "step" not in _timers(doc, task.get("id")) and "special_procedure" in _timers(doc, task.get("id"))


def test_a_joint_review_is_a_subprocess_with_its_lead_and_shared_limit(reference: Any) -> None:
    doc = tree(export(reference.catalogue, "construction"))
    review = doc.find(".//bpmn:subProcess[@id='chain_construction_stage_design-review']", NS)
    assert "牵头：" in review.get("name")
    calls = review.findall("bpmn:callActivity", NS)
    assert {c.get("calledElement") for c in calls} == {"item_QQ-HOUSING-XK-001", "item_QQ-CAD-XK-001"}
    assert _timers(doc, review.get("id")) == {"stage": ("P15D", {"of": "stage", "value": "15", "unit": "working_day"})}
    assert _timers(doc, "chain_construction_stages")["chain"][0] == "P70D"


def test_the_export_is_stable(reference: Any, exported: dict[str, Exported]) -> None:
    """The same catalogue gives the same bytes: ids and layout depend on nothing else."""
    again = export_all(reference.catalogue)
    assert all(e.xml == exported[e.filename].xml for e in again)
