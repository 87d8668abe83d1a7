"""BPMN 2.0 flow elements with their places on a diagram: nodes and sequence flows laid out left to right,
written as process XML and diagram interchange (BPMNShape, BPMNEdge) together so the two always agree.

engine.interchange.bpmn decides what an item or a chain becomes; this module knows only BPMN: the element
order the XSD requires, identifiers that are XML names, sizes and the routes of flows. A scope is laid out
in a frame of its own (its main line at y = 0) and moved into place once its container's size is known,
so a subprocess is sized around what it holds.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
#: Camunda's extension attributes (candidateGroups): Camunda Modeler shows a step's role in its properties panel
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
#: Yangguang's own extension elements: what BPMN cannot say (a limit in working days, a stage's mode)
YG = "urn:yangguang:bpmn:1"
PREFIXES = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "camunda": CAMUNDA, "yangguang": YG}

# element sizes as Camunda Modeler draws them, and the gaps between them
SIZES = {"task": (120.0, 80.0), "event": (36.0, 36.0), "gateway": (50.0, 50.0)}
GAP = 50.0
PAD = 30.0  # inside a subprocess, around what it holds
MARGIN = 100.0  # from the canvas's top left corner


def bpmn(tag: str) -> str:
    return f"{{{BPMN}}}{tag}"


def yg(tag: str) -> str:
    return f"{{{YG}}}{tag}"


_NOT_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def xml_id(*parts: str) -> str:
    """An XML NCName from readable parts (``item_QQ-DRC-BA-001``): the first part starts with a letter;
    anything an NCName cannot hold becomes ``_``. The catalogue's ids and codes already fit, so ids are
    stable: the same item always gives the same ids."""
    return "_".join(_NOT_NAME.sub("_", p) for p in parts if p)


@dataclass(slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass(eq=False, slots=True)
class Node:
    tag: str  # the element's local name in the BPMN namespace
    id: str
    name: str | None
    box: Box
    attrs: dict[str, str] = field(default_factory=dict)
    doc: str | None = None
    ext: list[ET.Element] = field(default_factory=list)  # inside extensionElements
    body: list[ET.Element] = field(default_factory=list)  # after incoming/outgoing: event definitions, owners
    inner: Scope | None = None  # what an expanded subprocess holds
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)

    def move(self, dx: float, dy: float) -> None:
        self.box.x += dx
        self.box.y += dy
        if self.inner is not None:
            self.inner.move(dx, dy)


@dataclass(eq=False, slots=True)
class Flow:
    id: str
    source: Node
    target: Node

    def waypoints(self) -> list[tuple[float, float]]:
        """Right angles only: a boundary event's flow leaves downwards, a split leaves from the gateway's
        top or bottom corner and a join arrives at one, anything else bends half-way between."""
        s, t = self.source.box, self.target.box
        if self.source.tag == "boundaryEvent":
            if abs(s.cx - t.cx) < 1:
                return [(s.cx, s.bottom), (t.cx, t.y)]
            return [(s.cx, s.bottom), (s.cx, t.cy), (t.x, t.cy)]
        if abs(s.cy - t.cy) < 1:
            return [(s.right, s.cy), (t.x, t.cy)]
        if self.source.tag.endswith("Gateway"):
            corner = s.bottom if t.cy > s.cy else s.y
            return [(s.cx, corner), (s.cx, t.cy), (t.x, t.cy)]
        if self.target.tag.endswith("Gateway"):
            corner = t.bottom if s.cy > t.cy else t.y
            return [(s.right, s.cy), (t.cx, s.cy), (t.cx, corner)]
        mid = (s.right + t.x) / 2
        return [(s.right, s.cy), (mid, s.cy), (mid, t.cy), (t.x, t.cy)]


@dataclass(eq=False, slots=True)
class Scope:
    """The flow elements of one process or subprocess."""

    nodes: list[Node] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)

    def add(self, tag: str, id_: str, name: str | None, x: float, cy: float, kind: str = "task") -> Node:
        """A node of ``kind`` (task, event, gateway) whose left edge is ``x`` and middle ``cy``."""
        w, h = SIZES[kind]
        node = Node(tag, id_, name, Box(x, cy - h / 2, w, h))
        self.nodes.append(node)
        return node

    def boundary(self, id_: str, name: str | None, host: Node, dx: float, definition: ET.Element) -> Node:
        """A non-interrupting boundary event on ``host``'s lower edge, ``dx`` from its left (the happy path
        is never cut short: what the event starts runs beside it)."""
        w, h = SIZES["event"]
        node = Node("boundaryEvent", id_, name, Box(host.box.x + dx, host.box.bottom - h / 2, w, h))
        node.attrs.update(attachedToRef=host.id, cancelActivity="false")
        node.body.append(definition)
        self.nodes.append(node)
        return node

    def below(self, tag: str, id_: str, name: str | None, over: Node, kind: str = "event", gap: float = 40.0) -> Node:
        """A node straight under ``over`` (what a boundary event leads to)."""
        w, h = SIZES[kind]
        return self.add(tag, id_, name, over.box.cx - w / 2, over.box.bottom + gap + h / 2, kind)

    def connect(self, source: Node, target: Node) -> Flow:
        flow = Flow(xml_id("flow", source.id, "to", target.id), source, target)
        source.outgoing.append(flow.id)
        target.incoming.append(flow.id)
        self.flows.append(flow)
        return flow

    def move(self, dx: float, dy: float) -> None:
        for node in self.nodes:
            node.move(dx, dy)

    def bounds(self) -> Box:
        """The smallest box around every node (a subprocess's content: its own boxes hold theirs)."""
        boxes = [n.box for n in self.nodes]
        x, y = min(b.x for b in boxes), min(b.y for b in boxes)
        return Box(x, y, max(b.right for b in boxes) - x, max(b.bottom for b in boxes) - y)

    def walk(self) -> Iterator[Node]:
        """Every node, those inside subprocesses too, each container before what it holds."""
        for node in self.nodes:
            yield node
            if node.inner is not None:
                yield from node.inner.walk()

    def all_flows(self) -> Iterator[Flow]:
        yield from self.flows
        for node in self.nodes:
            if node.inner is not None:
                yield from node.inner.all_flows()


def wrap(outer: Scope, inner: Scope, id_: str, name: str, x: float, cy: float, min_width: float = 0.0) -> Node:
    """An expanded subprocess in ``outer`` holding ``inner``, its left edge at ``x`` and middle at ``cy``,
    sized around ``inner`` (at least ``min_width`` wide, so boundary events have room below it)."""
    content = inner.bounds()
    w, h = max(content.w + 2 * PAD, min_width), content.h + 2 * PAD
    node = Node("subProcess", id_, name, Box(x, cy - h / 2, w, h), inner=inner)
    inner.move(node.box.x + PAD - content.x, node.box.y + PAD - content.y)
    outer.nodes.append(node)
    return node


def timer(duration: str) -> ET.Element:
    definition = ET.Element(bpmn("timerEventDefinition"))
    ET.SubElement(definition, bpmn("timeDuration")).text = duration
    return definition


def message(message_id: str) -> ET.Element:
    return ET.Element(bpmn("messageEventDefinition"), messageRef=message_id)


def _element(node: Node) -> ET.Element:
    """The node in the order the XSD requires: documentation, extensionElements, incoming, outgoing, the rest."""
    el = ET.Element(bpmn(node.tag), id=node.id)
    if node.name:
        el.set("name", node.name)
    for key, value in node.attrs.items():
        el.set(key, value)
    if node.doc:
        ET.SubElement(el, bpmn("documentation")).text = node.doc
    if node.ext:
        ET.SubElement(el, bpmn("extensionElements")).extend(node.ext)
    for ref in node.incoming:
        ET.SubElement(el, bpmn("incoming")).text = ref
    for ref in node.outgoing:
        ET.SubElement(el, bpmn("outgoing")).text = ref
    el.extend(node.body)
    if node.inner is not None:
        fill(el, node.inner)
    return el


def fill(parent: ET.Element, scope: Scope) -> None:
    """Write ``scope``'s nodes and sequence flows into a process or subprocess element."""
    for node in scope.nodes:
        parent.append(_element(node))
    for flow in scope.flows:
        ET.SubElement(parent, bpmn("sequenceFlow"), id=flow.id, sourceRef=flow.source.id, targetRef=flow.target.id)


def diagram(definitions: ET.Element, process_id: str, scope: Scope) -> None:
    """The diagram of one process: a shape with bounds for every node, an edge with waypoints for every flow.
    The drawing is moved to start near the canvas's top left corner (it was laid out around y = 0)."""
    at = scope.bounds()
    scope.move(MARGIN - at.x, MARGIN - at.y)
    dia = ET.SubElement(definitions, f"{{{BPMNDI}}}BPMNDiagram", id=xml_id(process_id, "diagram"))
    plane = ET.SubElement(dia, f"{{{BPMNDI}}}BPMNPlane", id=xml_id(process_id, "plane"), bpmnElement=process_id)
    for node in scope.walk():
        shape = ET.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=xml_id(node.id, "di"), bpmnElement=node.id)
        if node.inner is not None:
            shape.set("isExpanded", "true")
        b = node.box
        ET.SubElement(shape, f"{{{DC}}}Bounds", x=_n(b.x), y=_n(b.y), width=_n(b.w), height=_n(b.h))
    for flow in scope.all_flows():
        edge = ET.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=xml_id(flow.id, "di"), bpmnElement=flow.id)
        for x, y in flow.waypoints():
            ET.SubElement(edge, f"{{{DI}}}waypoint", x=_n(x), y=_n(y))


def _n(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def definitions(id_: str) -> ET.Element:
    for prefix, uri in PREFIXES.items():
        ET.register_namespace(prefix, uri)
    return ET.Element(
        bpmn("definitions"),
        id=id_,
        targetNamespace="urn:yangguang:catalogue",
        exporter="Yangguang",
        exporterVersion="1",
    )


def serialize(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode()
