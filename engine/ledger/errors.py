"""What the record refuses: the errors engine/ledger raises on purpose, for callers to catch by kind.

:class:`VersionConflict` is the one a person meets (two clerks acting on the same case at once: the later
one reloads and tries again); the others name a case that is not there or already is, and a database that a
newer Yangguang has migrated further than this one knows.
"""

from __future__ import annotations

__all__ = ["CaseExists", "CaseNotFound", "LedgerError", "SchemaTooNew", "VersionConflict"]


class LedgerError(Exception):
    """Base class of the errors the ledger package raises on purpose."""


class VersionConflict(LedgerError):
    """The case changed since the caller read it (optimistic concurrency)."""

    def __init__(self, case_number: str, expected: int, actual: int | None) -> None:
        self.case_number = case_number
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"case {case_number} was changed by someone else (now version {actual}, expected {expected});"
            " reload it and try again"
        )


class CaseNotFound(LedgerError, LookupError):
    def __init__(self, case_number: str) -> None:
        self.case_number = case_number
        super().__init__(f"no case {case_number}")


class CaseExists(LedgerError):
    def __init__(self, case_number: str) -> None:
        self.case_number = case_number
        super().__init__(f"case {case_number} already exists")


class SchemaTooNew(LedgerError):
    def __init__(self, found: int, known: int) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"the database is at schema version {found} but this Yangguang knows only {known}; upgrade Yangguang"
        )


# ---------------------------------------------------------------------------------------
