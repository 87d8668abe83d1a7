"""Progress bars for the long commands (``check``, ``simulate``, ``sweep``, ``audit verify``,
``demo-users``), on a terminal only.

Library code never prints: a long library function takes ``progress: Callable[[int, int], None] |
None`` and calls ``progress(done, total)`` after each unit of work (a file checked, a day
simulated, a sweep phase, a case verified, an account made). This module is the CLI side: it
turns those calls into a tqdm bar on standard error, with the rate and an estimate of the time
left. The bar appears only when both standard output and standard error are terminals (so piped
or redirected output is byte for byte what it was without bars), never with ``--format json``,
never with ``TERM=dumb``, and only once a command has run for ``DELAY`` seconds, so a quick run
stays quiet. It clears itself when done: what is left on the screen is the command's own output.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

Progress = Callable[[int, int], None]

DELAY = 0.5  # seconds before a bar shows; a command that finishes sooner prints no bar at all
MININTERVAL = 0.2  # seconds between redraws at most


def wanted(args: argparse.Namespace | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> bool:
    """Whether a bar may be drawn: both streams are terminals and the output is not for a program."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    if args is not None and getattr(args, "format", "text") == "json":
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return out.isatty() and err.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: no bar
        return False


@contextmanager
def bar(what: str, unit: str, args: argparse.Namespace | None = None) -> Iterator[Progress | None]:
    """``with bar("checking", "file", args) as progress: library_call(..., progress=progress)``.

    Yields None when no bar is wanted, so the library runs exactly as without one."""
    if not wanted(args):
        yield None
        return
    from tqdm import tqdm

    try:  # a terminal that does not say its size (0 x 0, e.g. `script` run without one) gets 80 x 24:
        size = os.get_terminal_size(sys.stderr.fileno())  # tqdm would draw nothing at 0 rows
        sized = size.columns > 0 and size.lines > 0
    except (OSError, ValueError):
        sized = False
    with tqdm(
        desc=what,
        unit=f" {unit}",
        file=sys.stderr,
        leave=False,  # erased at the end: the screen keeps only the command's own output
        dynamic_ncols=sized,  # follows a resized window
        ncols=None if sized else 80,
        nrows=None if sized else 24,
        delay=DELAY,
        mininterval=MININTERVAL,
    ) as t:

        def step(done: int, total: int) -> None:
            if t.total != total:
                t.total = total
            t.update(done - t.n)

        with _log_above(t):
            yield step


@contextmanager
def _log_above(t: Any) -> Iterator[None]:
    """A warning logged while the bar shows (e.g. engine.ledger.transparency's "no checkpoint is signed") is
    printed on its own line above the bar, not glued to it. Without logging set up, Python prints
    warnings through ``logging.lastResort``; that is swapped for one that writes around the bar."""
    import logging

    from tqdm.contrib.logging import logging_redirect_tqdm

    class AboveBar(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                t.write(self.format(record), file=sys.stderr)
            except Exception:
                self.handleError(record)

    before = logging.lastResort
    logging.lastResort = AboveBar(logging.WARNING)
    try:
        with logging_redirect_tqdm():  # and handlers a caller did set up
            yield
    finally:
        logging.lastResort = before
