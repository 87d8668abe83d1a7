"""``yangguang export bpmn``: items and chains as BPMN 2.0 XML files with diagram interchange.

One file per item or chain, each a ``definitions`` with one executable process and its diagram. A chain's
call activities name the member items' processes, which are in the items' own files (``--all`` writes them
all), as Camunda and SpiffWorkflow resolve a calledElement among the processes they were given.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.catalogue.model import Catalogue
from engine.interchange.bpmn_canvas import definitions, diagram, fill, serialize, xml_id
from engine.interchange.bpmn_chain import chain_process, chain_process_id
from engine.interchange.bpmn_item import item_process, item_process_id


@dataclass(frozen=True, slots=True)
class Exported:
    """One written file: its name (``CODE.bpmn`` or ``ID.chain.bpmn``), process id and XML."""

    filename: str
    process_id: str
    xml: bytes


def export_item(cat: Catalogue, code: str) -> Exported:
    item = cat.data(cat.items[code])
    process, scope, messages = item_process(item)
    root = definitions(xml_id("definitions", "item", code))
    root.extend(messages)
    root.append(process)
    fill(process, scope)
    diagram(root, process.get("id", ""), scope)
    return Exported(f"{code}.bpmn", item_process_id(code), serialize(root))


def export_chain(cat: Catalogue, chain_id: str) -> Exported:
    chain = cat.data(cat.chains[chain_id])
    process, scope = chain_process(cat, chain)
    root = definitions(xml_id("definitions", "chain", chain_id))
    root.append(process)
    fill(process, scope)
    diagram(root, process.get("id", ""), scope)
    return Exported(f"{chain_id}.chain.bpmn", chain_process_id(chain_id), serialize(root))


def export(cat: Catalogue, name: str) -> Exported:
    """The item with code ``name``, else the chain with that id (KeyError when neither)."""
    if name in cat.items:
        return export_item(cat, name)
    if name in cat.chains:
        return export_chain(cat, name)
    raise KeyError(name)


def export_all(cat: Catalogue) -> list[Exported]:
    """Every item, then every chain, in code order."""
    return [export_item(cat, c) for c in sorted(cat.items)] + [export_chain(cat, c) for c in sorted(cat.chains)]
