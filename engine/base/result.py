"""Problems found while checking a catalogue, collected into one result and rendered once.

A check first locates a problem by its path inside a document (``Finding``);
the catalogue loader turns that path into a 1-based line and column
(``Problem``) only for the few documents that have problems, so the fast path
never builds position maps.
"""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str | int, ...]

#: Kinds that are warnings, not errors: the catalogue still checks clean and serves, but an
#: administrator should look (``yangguang check --strict`` makes them errors). A warning is for a
#: gap a real published guide may have — an element it does not state, a licence limit in
#: natural days — where refusing the catalogue would force an administrator to invent data.
WARNING_KINDS: frozenset[str] = frozenset(
    {
        "not-stated",  # an element recorded as 未说明 (the published guide does not state it)
        "licence-decider",  # a licence item whose steps have no deciding step
        "step-role",  # a step given to a role that cannot do that step's kind of work
        "natural-days",  # a licence limit in natural days without a basis that says so (Art. 82)
        "note-contradiction",  # a note that says the opposite of the field it explains
        "booking-no-counter",  # an item says online.booking but appointments.yaml has no counter for it
    }
)


def severity(kind: str) -> str:
    """``warning`` for the kinds in ``WARNING_KINDS``, otherwise ``error``."""
    return "warning" if kind in WARNING_KINDS else "error"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem inside one file, located by the path of keys/indexes to the offending value.

    ``on_key`` points at the mapping key named last in ``path`` instead of its value
    (used for unknown or duplicate keys).
    """

    file: str
    path: Path
    kind: str
    message: str
    on_key: bool = False
    #: other places the problem involves, as (file, path, label) — e.g. the parent catalogue's
    #: line an override contradicts, so both locations are reported
    related: tuple[tuple[str, Path, str], ...] = ()


#: a related location once located: (file, line, column, label)
Related = tuple[str, int, int, str]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """A located problem, ready to report as ``file:line:column: error[kind]: message`` (or
    ``warning[kind]`` for a kind in ``WARNING_KINDS``)."""

    file: str
    line: int
    column: int
    kind: str
    message: str
    related: tuple[Related, ...] = ()

    @property
    def severity(self) -> str:
        return severity(self.kind)

    @property
    def is_error(self) -> bool:
        return self.kind not in WARNING_KINDS

    def render(self) -> str:
        also = "".join(f" [{label}: {f}:{line}:{col}]" for f, line, col, label in self.related)
        return f"{self.file}:{self.line}:{self.column}: {self.severity}[{self.kind}]: {self.message}{also}"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
        }
        if self.related:
            out["related"] = [{"file": f, "line": ln, "column": c, "label": lb} for f, ln, c, lb in self.related]
        return out
