"""``yangguang export bpmn``: items and chains as BPMN 2.0 XML files with diagram interchange.

One file per item or chain, each a ``definitions`` with one executable process and its diagram. A chain's
call activities name the member items' processes, which are in the items' own files (``--all`` writes them
all), as Camunda and SpiffWorkflow resolve a calledElement among the processes they were given.

Two dialects differ only in how a timer's duration is written. ``standard``: the ISO 8601 literal the BPMN
specification shows and Camunda, Flowable and bpmn.io read (``P5D``). ``spiffworkflow``: SpiffWorkflow 3
evaluates a timer's text as a Python expression before parsing the duration it yields
(SpiffWorkflow.bpmn.specs.event_definitions.timer), so there the literal is a quoted Python string (``"P5D"``)
and stock SpiffWorkflow runs the file with its default script engine.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from engine.catalogue.model import Catalogue
from engine.interchange.bpmn_canvas import bpmn, definitions, diagram, fill, serialize, xml_id
from engine.interchange.bpmn_chain import chain_process, chain_process_id
from engine.interchange.bpmn_item import item_process, item_process_id

DIALECTS = ("standard", "spiffworkflow")


@dataclass(frozen=True, slots=True)
class Exported:
    """One written file: its name (``CODE.bpmn`` or ``ID.chain.bpmn``), process id and XML."""

    filename: str
    process_id: str
    xml: bytes


def _written(root: ET.Element, dialect: str) -> bytes:
    """The file in ``dialect`` (ValueError for one not in DIALECTS)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown BPMN dialect {dialect!r}")
    if dialect == "spiffworkflow":
        for duration in root.iter(bpmn("timeDuration")):
            duration.text = f'"{duration.text}"'  # an ISO literal has no quote to escape
    return serialize(root)


def export_item(cat: Catalogue, code: str, dialect: str = "standard") -> Exported:
    item = cat.data(cat.items[code])
    process, scope, messages = item_process(item)
    root = definitions(xml_id("definitions", "item", code))
    root.extend(messages)
    root.append(process)
    fill(process, scope)
    diagram(root, process.get("id", ""), scope)
    return Exported(f"{code}.bpmn", item_process_id(code), _written(root, dialect))


def export_chain(cat: Catalogue, chain_id: str, dialect: str = "standard") -> Exported:
    chain = cat.data(cat.chains[chain_id])
    process, scope = chain_process(cat, chain)
    root = definitions(xml_id("definitions", "chain", chain_id))
    root.append(process)
    fill(process, scope)
    diagram(root, process.get("id", ""), scope)
    return Exported(f"{chain_id}.chain.bpmn", chain_process_id(chain_id), _written(root, dialect))


def export(cat: Catalogue, name: str, dialect: str = "standard") -> Exported:
    """The item with code ``name``, else the chain with that id (KeyError when neither)."""
    if name in cat.items:
        return export_item(cat, name, dialect)
    if name in cat.chains:
        return export_chain(cat, name, dialect)
    raise KeyError(name)


def export_all(cat: Catalogue, dialect: str = "standard") -> list[Exported]:
    """Every item, then every chain, in code order."""
    items = [export_item(cat, c, dialect) for c in sorted(cat.items)]
    return items + [export_chain(cat, c, dialect) for c in sorted(cat.chains)]
