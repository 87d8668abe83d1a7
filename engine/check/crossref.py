"""Checks across files that a schema cannot express.

Runs on documents that passed their schema, so shapes can be trusted. Every
check yields ``Finding``s located by path; the loader turns them into
file:line:column. Messages say what is expected and what to do. Here the catalogue is
indexed and each document handed to the checks of its kind: engine.check.items (with forms,
time_limits and fee_check), engine.check.chains, engine.check.withdrawn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from engine.base.result import Finding
from engine.catalogue.cache import FileCache
from engine.catalogue.discover import CENTER_FILE
from engine.catalogue.model import Catalogue
from engine.check import partial as partial_refs
from engine.check import quality
from engine.check.appeals import appeals_file
from engine.check.chains import chain
from engine.check.context import Cross
from engine.check.fee_check import check_fee_schedule
from engine.check.forms import form_file
from engine.check.items import item
from engine.check.withdrawn import withdrawn_producers
from engine.rules import slots
from engine.rules.calendar import check_calendar


def index(cross: Cross, has_center_file: bool, codes: Mapping[str, str]) -> None:
    cat = cross.cat
    for doc in cat.documents:
        if doc.kind == "center":
            cat.center = doc.data
        elif doc.kind == "item":
            code = codes[doc.file] if doc.file in codes else cat.data(doc)["code"]
            if code in cat.items:
                first = cat.items[code]
                cross.add(
                    doc.file,
                    ("code",),
                    "duplicate-code",
                    f"item code {code!r} is already used by {first.file}; every item needs its own code",
                )
            else:
                cat.items[code] = doc
        else:
            stem = PurePosixPath(doc.file).stem
            key = doc.data.get("id", doc.data.get("year"))
            if doc.kind in ("fee", "form", "chain") and key != stem:
                cross.add(
                    doc.file,
                    ("id",),
                    "id-mismatch",
                    f"id {key!r} must equal the file name {stem!r}; rename the file or change the id",
                )
            table = {"fee": cat.fees, "form": cat.forms, "chain": cat.chains, "calendar": cat.calendars}[doc.kind]
            table[key] = doc  # type: ignore[index]
    if not has_center_file:
        cross.add(
            CENTER_FILE,
            (),
            "missing-file",
            "the catalogue has no center.yaml; create it with the center's id, name, level, region and "
            "departments (see schema/center.schema.json)",
        )
    elif cat.center is not None:
        seen: dict[str, int] = {}
        for i, dept in enumerate(cat.center.get("departments", [])):
            if dept["id"] in seen:
                cross.add(
                    CENTER_FILE,
                    ("departments", i, "id"),
                    "duplicate-id",
                    f"department id {dept['id']!r} is listed twice; keep one",
                    related=((CENTER_FILE, ("departments", seen[dept["id"]], "id"), "first"),),
                )
            seen.setdefault(dept["id"], i)


def check(
    cat: Catalogue,
    has_center_file: bool = True,
    cache: FileCache | None = None,
    codes: Mapping[str, str] | None = None,
    partial: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> list[Finding]:
    """Index the catalogue's documents (filling its tables) and return every cross-file problem,
    including those of the references ``partial`` kept from items that fail their schema (engine.catalogue.partial).

    An item's findings depend only on the item, the center, the form sections, the fee
    schedules and the set of item codes; with a cache they are reused while none of those
    changed, so editing one item re-checks that item alone.
    """
    cross = Cross(cat)
    index(cross, has_center_file, codes or {})
    for file, facts in partial:  # items that fail their schema: the references that can still be judged
        partial_refs.check(cross, file, facts)
    shared = hashlib.blake2b(digest_size=16)
    for doc in cat.documents:
        if doc.kind != "item":
            shared.update(f"{doc.file}\0{doc.key}\0".encode())
    shared.update("\0".join(sorted(cat.items)).encode())
    context = shared.hexdigest()
    for doc in cat.documents:
        if doc.kind == "item":
            dep = f"{doc.key}:{context}"
            cached = cache.xref(doc.file, dep) if cache is not None else None
            if cached is not None:
                cross.out.extend(
                    Finding(f, tuple(p), k, m, o, tuple((rf, tuple(rp), rl) for rf, rp, rl in r))
                    for f, p, k, m, o, r in cached
                )
                continue
            start = len(cross.out)
            if cat.data(doc) is not None:
                item(cross, doc)
                cross.out.extend(quality.item(doc.file, doc.data))  # warnings (engine.check.quality)
            if cache is not None:
                mine = [(f.file, f.path, f.kind, f.message, f.on_key, f.related) for f in cross.out[start:]]
                cache.put_xref(doc.file, dep, mine)
        elif doc.kind == "form":
            form_file(cross, doc)
        elif doc.kind == "chain":
            chain(cross, doc)
        elif doc.kind == "fee":
            cross.out.extend(check_fee_schedule(doc.file, doc.data))
            if "department" in doc.data:
                cross.department(doc, ("department",), doc.data["department"])
        elif doc.kind == "calendar":
            cross.out.extend(check_calendar(doc.file, doc.data))
    if cat.appeals is not None and cat.center is not None:
        appeals_file(cross, cat.appeals)
    if cat.appointments is not None and cat.appointments_file is not None:  # the center's bookable windows
        departments = (cat.center or {}).get("departments", [])
        cross.out.extend(
            slots.check(cat.appointments_file, cat.appointments, departments, dict.fromkeys(cat.items, ""))
        )
        cross.out.extend(slots.unbookable(cat, departments))
    return withdrawn_producers(cat, cross.out)
