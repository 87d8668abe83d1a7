"""engine.cli.errors: the one place a command's outcome becomes an exit code (0, 1, 3, 130)."""

from __future__ import annotations

import argparse

import pytest

from engine.cli import errors


def outcome(raised: BaseException | None, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    def command(args: argparse.Namespace) -> int:
        if raised is not None:
            raise raised
        code: int = args.code
        return code

    code = errors.run(command, argparse.Namespace(code=errors.EXIT_USER))
    return code, capsys.readouterr().err


def test_a_command_s_own_exit_code_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    assert outcome(None, capsys) == (errors.EXIT_USER, "")


def test_a_user_error_is_exit_1_with_its_message_and_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert outcome(errors.UserError("no item with code 'X'"), capsys) == (1, "yangguang: no item with code 'X'\n")


def test_ctrl_c_is_exit_130_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    assert outcome(KeyboardInterrupt(), capsys) == (130, "")


def test_anything_else_is_a_bug_exit_3_with_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = outcome(ZeroDivisionError("boom"), capsys)
    assert code == errors.EXIT_BUG == 3
    assert err.startswith("yangguang: internal error — this is a bug in Yangguang, not in your catalogue.\n")
    assert "Traceback (most recent call last)" in err and err.rstrip().endswith("ZeroDivisionError: boom")


def test_a_reader_that_stops_early_is_not_a_bug(tmp_path: object) -> None:
    """`yangguang list | head`: the reader closes the pipe; the command ends quietly (141, as a shell
    reports SIGPIPE), never with "internal error" and a traceback."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "list", "--catalog", str(repo)],
        cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes: its first write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == errors.EXIT_PIPE_CLOSED, err
    assert "internal error" not in err and "Traceback" not in err
