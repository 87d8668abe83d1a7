"""Progress bars of the long commands (engine.cli.progress), run as a person would: the real
``yangguang`` process with its standard output and standard error on pseudo-terminals (the pty
module), 100 columns wide. On a terminal a bar with counts and an estimate of the time left shows on
standard error, and is erased at the end; piped, or with ``--format json``, or with ``TERM=dumb``,
nothing extra is printed, and the output is byte for byte the same as a terminal's."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

# DELAY (a bar shows only once a command has run half a second) and MININTERVAL (redrawn at most
# every 0.2 s) set to 0, so that every bar and step is seen however fast this machine is; everything
# else is the real command
RUN = (
    "import sys, engine.cli.progress as p; p.DELAY = p.MININTERVAL = 0; "
    "from engine.cli.main import main; sys.exit(main(sys.argv[1:]))"
)
REPO = Path(__file__).resolve().parents[3]
ESTIMATE = re.compile(r"(\d+)/(\d+) \[\d\d:\d\d<\d\d:\d\d")  # tqdm: done/total [elapsed<left


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its side
            return
        if not chunk:
            return
        into.extend(chunk)


def run(args: list[str], cwd: Path, *, tty: bool, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    """``yangguang ARGS`` with stdout and stderr each on its own terminal (``tty``) or on pipes."""
    full_env = {**os.environ, "TERM": "xterm", "YANGGUANG_CACHE_DIR": str(cwd.parent / "cache"), **(env or {})}
    # the reference catalogue, named: each command runs in a folder of its own, which holds no catalogue
    argv = [sys.executable, "-c", RUN, *args, "--catalog", str(REPO)]
    if not tty:
        done = subprocess.run(argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        return done.returncode, done.stdout, done.stderr
    pairs = [pty.openpty(), pty.openpty()]
    for _, follower in pairs:  # 30 rows x 100 columns, as a terminal window says
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen(
        argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL, stdout=pairs[0][1], stderr=pairs[1][1]
    )
    for _, follower in pairs:
        os.close(follower)
    out, err = bytearray(), bytearray()
    buffers = zip(pairs, (out, err), strict=True)
    readers = [threading.Thread(target=_drain, args=(leader, buf)) for (leader, _), buf in buffers]
    for r in readers:
        r.start()
    code = proc.wait(timeout=300)
    for r in readers:
        r.join(timeout=30)
    for leader, _ in pairs:
        os.close(leader)
    # a terminal writes each "\n" as "\r\n" (termios ONLCR): undo that to compare with a pipe
    return code, bytes(out).replace(b"\r\n", b"\n"), bytes(err)


def assert_bar(err: bytes, what: str) -> None:
    text = err.decode("utf-8")
    assert what in text, text
    shown = ESTIMATE.findall(text)
    assert shown, f"no count with a time estimate in {text!r}"
    done, total = map(int, shown[-1])
    assert 0 < done <= total
    assert text.endswith("\r"), "the bar is erased at the end, leaving the command's own output"


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    term, piped = tmp_path / "term", tmp_path / "piped"
    term.mkdir()
    piped.mkdir()
    return term, piped


def test_check_shows_a_bar_on_a_terminal_and_nothing_piped_or_as_json(dirs: tuple[Path, Path]) -> None:
    term, piped = dirs
    code, out, err = run(["check", "--no-cache"], term, tty=True)
    assert code == 0 and out.startswith(b"ok: ")
    assert_bar(err, "checking the catalogue")
    files = re.search(rb"ok: (\d+) files checked", out)
    assert files is not None and ESTIMATE.findall(err.decode())[-1][1] == files.group(1).decode()  # one per file

    assert run(["check", "--no-cache"], piped, tty=False) == (0, out, b"")  # byte for byte, and no bar

    code, as_json, err = run(["check", "--no-cache", "--format", "json"], term, tty=True)
    assert code == 0 and json.loads(as_json) == [] and err == b""  # a program reads it: no bar even on a terminal
    assert run(["check", "--no-cache"], term, tty=True, env={"TERM": "dumb"}) == (0, out, b"")


def test_simulate_sweep_audit_and_demo_users_show_bars_only_on_a_terminal(dirs: tuple[Path, Path]) -> None:
    term, piped = dirs
    simulate = ["simulate", "--db", "sim.db", "--days", "3", "--per-day", "2"]
    code, out, err = run(simulate, term, tty=True)
    assert code == 0 and out.startswith(b"simulated 3 working days: 6 cases submitted")
    assert_bar(err, "simulating")
    assert ESTIMATE.findall(err.decode())[-1][1] == "3"  # one step per simulated day
    assert run(simulate, piped, tty=False) == (0, out, b"")  # same seed: the same report, no bar

    code, out, err = run(["sweep", "--db", "sim.db"], term, tty=True)
    assert code == 0 and out.startswith(b"deemed accepted: ")
    assert_bar(err, "sweeping")
    # its warning (no signing key in this database) is printed on a line of its own, above the bar
    assert re.search(r"\rno checkpoint of the case record is signed: [^\r\n]*\r\n", err.decode()), err
    assert ESTIMATE.findall(err.decode())[-1][1] == "12"  # the sweep's twelve phases
    code, piped_out, piped_err = run(["sweep", "--db", "sim.db"], piped, tty=False)
    assert (code, piped_out) == (0, out) and b"sweeping" not in piped_err and b"\r" not in piped_err

    code, out, err = run(["audit", "verify", "--db", "sim.db"], term, tty=True)
    assert code == 0
    assert_bar(err, "verifying the record")
    assert ESTIMATE.findall(err.decode())[-1][1] == "6"  # the six simulated cases
    code, piped_out, piped_err = run(["audit", "verify", "--db", "sim.db"], term, tty=False)
    assert (code, piped_out, piped_err) == (0, out, b"")

    code, out, err = run(["demo-users", "--db", "demo.db"], term, tty=True)
    assert code == 0 and b" created, 0 already existed" in out
    assert_bar(err, "demo accounts")
    assert run(["demo-users", "--db", "demo.db"], piped, tty=False) == (0, out, b"")
