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


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """A located problem, ready to report as ``file:line:column: error[kind]: message``."""

    file: str
    line: int
    column: int
    kind: str
    message: str

    def render(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: error[{self.kind}]: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "kind": self.kind,
            "message": self.message,
        }
