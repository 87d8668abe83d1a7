"""Problems found while checking a catalogue, collected into one result and rendered once.

A check first locates a problem by its path inside a document (``Finding``);
the catalogue loader turns that path into a 1-based line and column
(``Problem``) only for the few documents that have problems, so the fast path
never builds position maps.
"""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str | int, ...]


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
    """A located problem, ready to report as ``file:line:column: error[kind]: message``."""

    file: str
    line: int
    column: int
    kind: str
    message: str
    related: tuple[Related, ...] = ()

    def render(self) -> str:
        also = "".join(f" [{label}: {f}:{line}:{col}]" for f, line, col, label in self.related)
        return f"{self.file}:{self.line}:{self.column}: error[{self.kind}]: {self.message}{also}"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "kind": self.kind,
            "message": self.message,
        }
        if self.related:
            out["related"] = [{"file": f, "line": ln, "column": c, "label": lb} for f, ln, c, lb in self.related]
        return out
