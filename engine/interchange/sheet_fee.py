"""The fee element between the item and its 是否收费 / 收费标准 cells and 免收依据 rows.

An item's ``fee`` is ``free``, ``not_stated``, ``{schedule: id, assess_at?, note?}`` or ``{free: true,
basis: [...], note?}``; a province reading the sheet expects 是否收费 on every row (不收费, 收费 or 未说明).
So the sheet holds the fee in one form for all four: 是否收费 is ``fee.free`` (不收费 true, 收费 false; 未说明
makes the whole fee ``not_stated``), 收费标准 is ``fee.schedule`` and the basis of a free fee is rows of the
设定依据 sheet whose 依据类型 is 免收依据 (``fee.basis``). Export shows the item's fee in that form
(``shown``); import turns the rows' form back into the item's (``settle``), the same fee the catalogue had,
and says at the cell what cannot be one: 收费 with no 收费标准 (the engine needs a fee schedule to assess a
fee), 不收费 beside a 收费标准, 免收依据 rows of an item that is not 不收费.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from engine.interchange.sheet_files import SheetProblem
from engine.interchange.sheet_mapping import Mapping
from engine.interchange.sheet_rows import Row


def shown(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` with its fee in the sheet's form (a shallow copy; the item is not changed)."""
    fee = item.get("fee")
    if fee == "free":
        return {**item, "fee": {"free": True}}
    if isinstance(fee, dict) and "schedule" in fee and "free" not in fee:
        return {**item, "fee": {"free": False, **fee}}
    return item


def _heading(mapping: Mapping, key: str, default: str) -> str:
    col = mapping.sheets["items"].by_key(key)
    return col.heading if col else default


def _basis_label(mapping: Mapping) -> str:
    basis = mapping.sheets.get("basis")
    col = basis.by_key("$list") if basis else None
    labels = [k for k, v in (col.values if col else {}).items() if v == "fee.basis"]
    return labels[0] if labels else "fee.basis"


def _carries_free_basis(mapping: Mapping) -> bool:
    basis = mapping.sheets.get("basis")
    col = basis.by_key("$list") if basis else None
    return any(v == "fee.basis" for v in (col.values if col else {}).values())


def settle(item: dict[str, Any], row: Row, mapping: Mapping, existing_fee: Any = None) -> list[SheetProblem]:
    """Turn the fee the rows built into the item's form, in place; the problems of one that cannot be.

    ``existing_fee`` is the fee of the item file a re-import rewrites: what a county's sheet has no column
    for (a 收费标准, 免收依据 rows) comes from it, as every part the sheet does not carry does
    (engine.interchange.sheet_keep), rather than an error asking for a column the county does not have."""
    fee = item.get("fee")
    if not isinstance(fee, dict):
        return []
    free = fee.get("free", None)
    free = True if free == "free" else free  # a county's value table that still says 不收费: free
    said = _heading(mapping, "fee.free", "fee.free")
    at_free = row.cells.get(("fee", "free"))
    if free is True and "schedule" in fee:
        schedule = _heading(mapping, "fee.schedule", "fee.schedule")
        del item["fee"]
        return [
            row.problem(
                "bad-value",
                f"{schedule}: {said} says 不收费 but {schedule} names a fee schedule; write 收费 or empty {schedule}",
                row.cells.get(("fee", "schedule")),
            )
        ]
    if free is not True and "basis" in fee:
        del item["fee"]
        word = "says 收费" if free is False else "is empty"
        message = (
            f"{said} {word} but the item has {_basis_label(mapping)} rows (the basis of charging nothing): "
            "write 不收费, or remove those rows"
        )
        return [row.problem("bad-value", message, at_free)]
    if free is False:
        had = existing_fee if isinstance(existing_fee, dict) and "schedule" in existing_fee else None
        if "schedule" not in fee and had and mapping.sheets["items"].by_key("fee.schedule") is None:
            item["fee"] = {**copy.deepcopy(had), **{k: v for k, v in fee.items() if k != "free"}}
            return []
        if "schedule" not in fee:
            del item["fee"]
            col = mapping.sheets["items"].by_key("fee.schedule")
            fill = f"fill in {col.heading} with its id" if col else "add a column with key fee.schedule for its id"
            return [
                row.problem(
                    "missing-value",
                    f"{said} says 收费 but no fee schedule is given: the engine needs the id of a fee schedule "
                    f"(a file in fees/) to assess the fee; {fill}, or write 未说明 if the guide does not say",
                    at_free,
                )
            ]
        del fee["free"]
    elif free is True and set(fee) == {"free"}:
        had = existing_fee if isinstance(existing_fee, dict) and existing_fee.get("free") is True else None
        item["fee"] = copy.deepcopy(had) if had and not _carries_free_basis(mapping) else "free"
    return []


def settle_all(
    built: dict[str, Any], mapping: Mapping, existing_fee: Callable[[str], Any] | None = None
) -> tuple[list[SheetProblem], set[str]]:
    """``settle`` for every item assembled (``engine.interchange.sheet_import.Built`` by code), with the fee of
    its existing file when ``existing_fee`` gives one; the problems and the codes they concern."""
    problems: list[SheetProblem] = []
    bad: set[str] = set()
    for code, b in built.items():
        found = settle(b.item, b.row, mapping, existing_fee(code) if existing_fee else None)
        if found:
            problems += found
            bad.add(code)
    return problems, bad
