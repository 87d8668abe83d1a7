"""Checks of the requests and complaints file (appeals/kinds.yaml) that its schema cannot express: the
office and every escalation name a department of center.yaml (or supervision), no kind id twice, and the
kinds the ranking counts (``ranking.kinds``) are kinds of the file that are found justified or not."""

from __future__ import annotations

from engine.catalogue.model import Document
from engine.check.context import Cross, hint

#: an escalation's ``to`` that is no department: the center's supervisors (效能监察)
SUPERVISION = "supervision"


def appeals_file(cross: Cross, doc: Document) -> None:
    """Report the file's references to departments and repeated kind ids."""
    data = doc.data
    cross.department(doc, ("office",), data["office"])
    seen: dict[str, int] = {}
    for i, kind in enumerate(data.get("kinds", [])):
        if kind["id"] in seen:
            cross.add(
                doc.file,
                ("kinds", i, "id"),
                "duplicate-id",
                f"kind id {kind['id']!r} is listed twice; keep one",
                related=((doc.file, ("kinds", seen[kind["id"]], "id"), "first"),),
            )
        seen.setdefault(kind["id"], i)
        to = (kind.get("escalation") or {}).get("to")
        departments = [d["id"] for d in (cross.cat.center or {}).get("departments", [])]
        if to is not None and to != SUPERVISION and to not in departments:
            cross.add(
                doc.file,
                ("kinds", i, "escalation", "to"),
                "unknown-department",
                f"escalation goes to {SUPERVISION!r} or a department of center.yaml, not {to!r}"
                f"{hint(to, [SUPERVISION, *departments])}",
            )
    _ranking_kinds(cross, doc)


def _ranking_kinds(cross: Cross, doc: Document) -> None:
    """A kind the monthly ranking counts must exist and be judged (``verdict: true``), or it never counts."""
    kinds: dict[str, dict[str, object]] = {}
    for kind in doc.data.get("kinds", []):
        kinds.setdefault(kind["id"], kind)  # a repeated id is reported above; the first one stands
    for i, kind_id in enumerate((doc.data.get("ranking") or {}).get("kinds", [])):
        where = ("ranking", "kinds", i)
        if kind_id not in kinds:
            message = f"ranking counts kind {kind_id!r}, which is not listed{hint(kind_id, list(kinds))}"
            cross.add(doc.file, where, "unknown-id", message)
        elif not kinds[kind_id].get("verdict"):
            cross.add(
                doc.file, where, "ranking-kind",
                f"kind {kind_id!r} is never found justified (no verdict: true), so the ranking would never count it",
            )  # fmt: skip
