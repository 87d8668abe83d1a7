"""Load a catalogue: read it (engine.catalogue.reading.read), then judge the references across its files
(engine.check.crossref), into one ``CheckResult`` holding every problem, which engine.check.report
renders once. Everything that serves or edits a catalogue starts here."""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from pathlib import Path

from engine.base.result import Finding, Problem
from engine.catalogue.cache import FileCache
from engine.catalogue.model import Catalogue, CheckResult
from engine.catalogue.reading import read
from engine.check import crossref


def load(
    root: Path | str,
    cache: FileCache | None = None,
    full: bool = True,
    replaced: Mapping[str, bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CheckResult:
    """Check the catalogue at ``root`` and return every problem found. Never raises for bad input.

    ``full=False`` (``yangguang check``) leaves unchanged items' data in the cache and
    reuses their cross-reference findings, so a re-check after one edit reads one file.
    ``replaced`` maps paths relative to ``root`` to content that stands in for the file on
    disk (or adds a file that is not there yet): ``yangguang edit`` checks an edit this way
    before it writes anything. ``progress(done, total)`` is called after each file is checked (the
    CLI draws a bar from it: engine.cli.progress).
    """
    root = Path(root)
    if not root.is_dir():
        problem = Problem(str(root), 1, 1, "no-catalogue", "no such directory; pass --catalog DIR")
        return CheckResult(Catalogue(root, ""), [problem], 0)
    # Parsing allocates millions of acyclic containers; the cyclic garbage collector would
    # rescan every live object many times over while they pile up, for nothing to free.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        reading = read(root, cache, full, replaced, progress)
        findings: list[Finding] = []
        if reading.complete:  # else the references across files wait for the cut in the stack to be fixed
            findings = crossref.check(
                reading.catalogue,
                has_center_file=reading.has_center_file,
                cache=cache,
                codes=reading.codes,
                partial=reading.refs,
            )
        if cache is not None:
            cache.retain(reading.files)
            cache.save()
    finally:
        if gc_was_enabled:
            gc.enable()
    return reading.result(findings)
