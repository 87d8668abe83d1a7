"""How a ``yangguang`` command ends: its exit code, and the one place that turns exceptions into one.

Exit codes (as pre-commit does): 0 success; 1 an expected user error (a catalogue that does not
check, an unknown item, bad input data) with a clean message; 3 a bug in Yangguang, with a
traceback to put in a bug report; 130 interrupted (Ctrl-C, 128 + SIGINT as shells report it).

Commands raise :class:`UserError` for what the person running them can fix and return
``EXIT_OK`` or ``EXIT_USER``; they never print tracebacks or call ``sys.exit`` themselves.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable

EXIT_OK, EXIT_USER, EXIT_BUG = 0, 1, 3
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, as a shell reports a command whose reader went away


class UserError(Exception):
    """An expected problem: the message says what to do; no traceback."""


Command = Callable[[argparse.Namespace], int]


def run(command: Command, args: argparse.Namespace) -> int:
    """Run ``command`` and map what it raises to an exit code, with a message on standard error."""
    try:
        return command(args)
    except UserError as exc:
        sys.stderr.write(f"yangguang: {exc}\n")
        return EXIT_USER
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader stopped early (`yangguang list | head`): not a bug. Point stdout at devnull so
        # the interpreter's final flush does not raise again (the Python docs' advice for SIGPIPE)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE_CLOSED
    except Exception:
        sys.stderr.write(
            "yangguang: internal error — this is a bug in Yangguang, not in your catalogue.\n"
            "Please report it with the traceback below.\n"
        )
        traceback.print_exc()
        return EXIT_BUG
