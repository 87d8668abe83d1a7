"""Every reference item and chain exported as BPMN 2.0: valid against the XSD in both dialects, drawn
completely, its limits timers with the exact limit alongside. (Running the files in SpiffWorkflow:
test_bpmn_run.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.interchange.bpmn import DIALECTS, Exported, export, export_all

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "yangguang": "urn:yangguang:bpmn:1",
}
FLOW_NODES = ("startEvent", "endEvent", "boundaryEvent", "userTask", "parallelGateway", "subProcess", "callActivity")
DURATION = re.compile(r"<bpmn:timeDuration>([^<]*)</bpmn:timeDuration>")
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@pytest.fixture(scope="module")
def exported(reference: Any) -> dict[str, Exported]:
    return {e.filename: e for e in export_all(reference.catalogue)}


def tree(e: Exported) -> Any:
    return etree.fromstring(e.xml)


def test_every_item_and_chain_is_exported(reference: Any, exported: dict[str, Exported]) -> None:
    cat = reference.catalogue
    assert set(exported) == {f"{c}.bpmn" for c in cat.items} | {f"{c}.chain.bpmn" for c in cat.chains}
    assert len(cat.items) >= 50 and len(cat.chains) >= 3


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_file_validates_against_the_bpmn_xsd(reference: Any, dialect: str) -> None:
    validator = BpmnValidator()
    for e in export_all(reference.catalogue, dialect):
        validator.validate(tree(e), filename=e.filename)  # raises ValidationException with the line


def test_the_dialects_differ_only_in_how_timers_are_written(reference: Any, exported: dict[str, Exported]) -> None:
    """standard: the ISO literal (P5D); spiffworkflow: the same literal as a quoted Python string ("P5D")."""
    durations = 0
    for spiff in export_all(reference.catalogue, "spiffworkflow"):
        standard = exported[spiff.filename].xml.decode()
        for iso in DURATION.findall(standard):
            assert re.fullmatch(r"P(\d+D|T\d+M)", iso), (spiff.filename, iso)
            durations += 1
        quoted = DURATION.sub(r'<bpmn:timeDuration>"\1"</bpmn:timeDuration>', standard)
        assert spiff.xml.decode() == quoted, spiff.filename
    assert durations > 100


def test_an_unknown_dialect_is_refused(reference: Any) -> None:
    with pytest.raises(ValueError, match="unknown BPMN dialect 'camunda'"):
        export(reference.catalogue, "construction", "camunda")


def test_the_validator_refuses_what_the_xsd_forbids(exported: dict[str, Exported]) -> None:
    """The check above can fail: a flow without its target is refused."""
    doc = tree(exported["QQ-WATER-XK-001.bpmn"])
    flow = doc.find(".//bpmn:sequenceFlow", NS)
    del flow.attrib["targetRef"]
    with pytest.raises(ValidationException):
        BpmnValidator().validate(doc)


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


def _end_after(doc: Any, timer_id: str) -> Any:
    flow = doc.find(f".//bpmn:sequenceFlow[@sourceRef='{timer_id}']", NS)
    return doc.find(f".//bpmn:endEvent[@id='{flow.get('targetRef')}']", NS)


def test_no_timer_claims_an_overdue_since_none_is_the_centers_deadline(reference: Any) -> None:
    """Every timer fires at or before the real deadline — working days written as natural days, minutes the
    center counts in office hours, natural days it counts to the end of the day and past a holiday — so its
    end says the estimate ran out, and its documentation says why for its unit."""
    cat = reference.catalogue
    water = tree(export(cat, "QQ-WATER-XK-001"))  # promised and legal limits and steps in working days
    promised = _end_after(water, "item_QQ-WATER-XK-001_steps_promised_limit")
    assert (promised.get("id"), promised.get("name")) == (
        "item_QQ-WATER-XK-001_steps_promised_elapsed",
        "承诺时限（按自然日估）到期",
    )
    assert "真正的期限可能还没到" in promised.find("bpmn:documentation", NS).text
    assert _end_after(water, "item_QQ-WATER-XK-001_steps_legal_limit").get("name") == "法定时限（按自然日估）到期"
    assert _end_after(water, "step_inspect_step_limit").get("name") == "环节时限（按自然日估）到期"
    eco = tree(export(cat, "QQ-ECO-XK-001"))  # promised and legal limits in natural days
    promised = _end_after(eco, "item_QQ-ECO-XK-001_steps_promised_limit")
    assert (promised.get("id"), promised.get("name")) == (
        "item_QQ-ECO-XK-001_steps_promised_elapsed",
        "承诺时限（估算）到期",
    )
    assert "法定休假日" in promised.find("bpmn:documentation", NS).text
    seal = tree(export(cat, "QQ-DRC-BA-001"))  # steps in minutes
    accept = _end_after(seal, "step_accept_step_limit")
    assert accept.get("name") == "环节时限（估算）到期" and "办公时间" in accept.find("bpmn:documentation", NS).text
    construction = tree(export(cat, "construction"))  # the chain's promise and joint reviews in working days
    assert (
        _end_after(construction, "chain_construction_stages_chain_limit").get("name") == "承诺总时限（按自然日估）到期"
    )
    review = "chain_construction_stage_design-review_stage_limit"
    assert _end_after(construction, review).get("name") == "联审共同时限（按自然日估）到期"
    for e in export_all(cat):  # no timer anywhere leads to an overdue
        doc = tree(e)
        for limit in doc.iterfind(".//bpmn:boundaryEvent/bpmn:extensionElements/yangguang:limit", NS):
            event = limit.getparent().getparent()
            end = _end_after(doc, event.get("id"))
            assert end.get("id").endswith("_elapsed") and "超" not in end.get("name"), e.filename


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
