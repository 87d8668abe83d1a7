"""``yangguang diff OLD NEW``: the public change notice (变更公告) between two catalogue versions.

OLD and NEW are each a catalogue directory or a git revision. A revision is read from the git
repository that holds ``--catalog``: the whole tree at that revision is extracted to a
temporary directory (``git archive REV | tar -x``) and the catalogue is taken from the same
relative path inside it, so a catalogue that extends ``../city`` finds its parent as it was at
that revision too. Both sides must check clean (a notice about a broken catalogue would
mislead the public) unless ``--allow-errors`` is given.

Without ``--catalog``, revisions are read from the git repository of the current directory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli.errors import EXIT_OK, EXIT_USER, UserError

if TYPE_CHECKING:  # imported where used: registering the command must not slow every `yangguang` run
    from engine.authoring.diff import Change
    from engine.catalogue.model import Catalogue, CheckResult

__all__ = ["Side", "add_parsers", "as_json", "cmd_diff", "headings", "open_side", "render_text"]

#: how many of a broken side's problems the error message quotes (the rest: `yangguang check`)
SHOWN_PROBLEMS = 3


@dataclass(frozen=True, slots=True)
class Side:
    """One loaded version: what the user named, where it was read from, and what loaded."""

    source: str  # the directory or revision as typed
    revision: str | None  # the full commit id for a revision, else None
    result: CheckResult

    @property
    def catalogue(self) -> Catalogue:
        return self.result.catalogue

    def as_dict(self) -> dict[str, Any]:
        center = self.catalogue.center or {}
        return {
            "version": self.catalogue.version,
            "source": self.source,
            "revision": self.revision,
            "center": center.get("name"),
            "problems": len(self.result.problems),
        }


# --- where a side comes from -----------------------------------------------------------


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError as exc:
        raise UserError("git is not installed, so revisions cannot be read; pass two catalogue directories") from exc
    except subprocess.TimeoutExpired as exc:
        raise UserError(
            f"git did not answer within a minute in {repo}; check the repository with `git status`"
        ) from exc


def _toplevel(catalog: Path) -> Path:
    # the catalogue may exist only at the revision (deleted since): ask git from its nearest existing folder
    start = next((p for p in (catalog.resolve(), *catalog.resolve().parents) if p.is_dir()), Path.cwd())
    proc = _git(start, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise UserError(
            f"{catalog} is not inside a git repository, so revisions cannot be resolved there; "
            "pass catalogue directories, or --catalog DIR inside the git repository that holds the catalogue"
        )
    return Path(proc.stdout.strip()).resolve()


def _commit(top: Path, name: str) -> str | None:
    if name.startswith("-"):  # never let a name reach git as an option
        return None
    proc = _git(top, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def _extract(top: Path, commit: str, into: Path) -> None:
    """``git archive COMMIT | tar -x -C INTO``, without a shell."""
    git = ["git", "-C", str(top), "archive", "--format=tar", commit]
    archive = subprocess.Popen(git, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert archive.stdout is not None and archive.stderr is not None
    try:
        tar = subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        archive.kill()
        raise UserError(f"could not extract revision {commit[:12]} with tar: {exc}") from exc
    finally:
        archive.stdout.close()
        archive_rc = archive.wait(timeout=300)
    parts = (archive.stderr.read(), tar.stderr)
    errors = "; ".join(t for t in (p.decode("utf-8", "replace").strip() for p in parts) if t)
    archive.stderr.close()
    if archive_rc != 0 or tar.returncode != 0:
        raise UserError(f"could not extract revision {commit[:12]} from {top}" + (f": {errors}" if errors else ""))


@contextmanager
def open_side(name: str, catalog: Path, allow_errors: bool = False) -> Iterator[Side]:
    """Load one side of the comparison: an existing directory as it is, else a git revision of
    ``catalog``'s repository (extracted to a temporary directory removed on exit).

    A name that is an existing directory (relative to the current directory) is read as one even
    when a branch has the same name; write ``NAME^{commit}`` to mean the revision.
    """
    with ExitStack() as stack:
        path, revision = Path(name), None
        if not path.is_dir():
            top = _toplevel(catalog)
            revision = _commit(top, name)
            if revision is None:
                raise UserError(
                    f"{name!r} is neither a catalogue directory nor a revision git knows in {top}; "
                    "pass a directory, or a commit, tag or branch such as HEAD~1 (`git log --oneline` lists them)"
                )
            try:
                rel = catalog.resolve().relative_to(top)
            except ValueError as exc:
                raise UserError(f"--catalog {catalog} is not inside the git repository {top}") from exc
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="yangguang-diff-")))
            _extract(top, revision, tmp)
            path = tmp / rel
            if not path.is_dir():
                raise UserError(f"revision {name} ({revision[:12]}) has no catalogue at {rel.as_posix() or '.'}")
        from engine.check.pipeline import load

        side = Side(name, revision, load(path))
        if not side.result.ok and not allow_errors:
            raise UserError(_broken(side))
        yield side


def _broken(side: Side) -> str:
    problems = side.result.problems
    files = len({p.file for p in problems})
    where = f"revision {side.source}" if side.revision else side.source
    lines = [f"{where} does not check clean: {len(problems)} problem(s) in {files} file(s), e.g."]
    lines += [f"  {p.render()}" for p in problems[:SHOWN_PROBLEMS]]
    check = f"check out {side.source} and run `yangguang check`" if side.revision else f"run `yangguang check {where}`"
    lines.append(
        f"a change notice of a broken catalogue would mislead; {check} and fix them, "
        "or pass --allow-errors to compare only the files that did check"
    )
    return "\n".join(lines)


# --- output ----------------------------------------------------------------------------

_NOUNS = {
    "item": ("事项", "items"),
    "fee": ("收费标准", "fees"),
    "form": ("表单分组", "forms"),
    "chain": ("审批链条", "chains"),
}


def headings(old: Catalogue, new: Catalogue, changes: Sequence[Change]) -> dict[tuple[str, str | None], str]:
    """A heading per group of changes: ``事项 CODE 名称``, a fee schedule with the items using it…"""
    out: dict[tuple[str, str | None], str] = {}
    for ch in changes:
        key = (ch.subject, ch.code)
        if key in out:
            continue
        if ch.subject == "center":
            out[key] = f"中心 {(new.center or old.center or {}).get('name', '')}".rstrip()
        elif ch.subject == "calendar":
            out[key] = f"工作日历 {ch.code} 年"
        else:
            noun, table = _NOUNS[ch.subject]
            doc = getattr(new, table).get(ch.code) or getattr(old, table).get(ch.code)
            data = doc.data if doc is not None and doc.data else {}
            heading = f"{noun} {ch.code} {data.get('name') or data.get('title') or ''}".rstrip()
            if ch.subject in ("fee", "form"):
                heading += f"（适用事项：{'、'.join(ch.items)}）" if ch.items else "（目前没有事项使用）"
            out[key] = heading
    return out


def _side_line(label: str, side: Side) -> str:
    cat = side.catalogue
    where = f"{side.source} ({side.revision[:12]})" if side.revision else side.source
    center = (cat.center or {}).get("name", "（无中心清单）")
    line = f"{label}: {where} — {center}，目录版本 (version) {cat.version}"
    if side.result.problems:
        line += f"；有 {len(side.result.problems)} 个检查问题，只比较了通过检查的文件 (--allow-errors)"
    return line


def render_text(old: Side, new: Side, changes: Sequence[Change]) -> str:
    """The notice as text: both versions, the changes grouped under headings, one summary line."""
    out = ["变更公告 (change notice)", _side_line("旧版 (old)", old), _side_line("新版 (new)", new)]
    heads = headings(old.catalogue, new.catalogue, changes)
    group: tuple[str, str | None] | None = None
    for ch in changes:
        if (ch.subject, ch.code) != group:
            group = (ch.subject, ch.code)
            out += ["", heads[group]]
        out.append(f"  - {ch.text} ({ch.kind})")
    out.append("")
    out.append(summary(changes))
    return "\n".join(out) + "\n"


def summary(changes: Sequence[Change]) -> str:
    from engine.authoring.diff import KIND_ORDER

    if not changes:
        return "两个版本之间没有变更 (no changes)"
    items = len({ch.code for ch in changes if ch.subject == "item"})
    kinds = Counter(ch.kind for ch in changes)
    counts = ", ".join(f"{kind} {kinds[kind]}" for kind in KIND_ORDER if kind in kinds)
    return f"共 {len(changes)} 项变更，涉及 {items} 个事项 ({len(changes)} changes in {items} items: {counts})"


def as_json(old: Side, new: Side, changes: Sequence[Change]) -> str:
    doc = {"old": old.as_dict(), "new": new.as_dict(), "changes": [ch.as_dict() for ch in changes]}
    # values are YAML data (text, numbers, lists, mappings); str() is a last resort, never a crash
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"


# --- the command -----------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    from engine.authoring.diff import compare

    with ExitStack() as stack:
        old = stack.enter_context(open_side(args.old, args.catalog, args.allow_errors))
        new = stack.enter_context(open_side(args.new, args.catalog, args.allow_errors))
        changes = compare(old.catalogue, new.catalogue)
        sys.stdout.write(as_json(old, new, changes) if args.format == "json" else render_text(old, new, changes))
    return EXIT_USER if args.exit_code and changes else EXIT_OK


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    """Register ``diff`` on the ``yangguang`` subcommands (``sub`` is argparse's subparsers object)."""
    d = sub.add_parser(
        "diff",
        parents=[catalog],
        help="list what changed between two catalogue versions, item by item (the public change notice, 变更公告)",
        description="OLD and NEW are catalogue directories or git revisions (HEAD~1, a tag, a commit) of the "
        "repository holding --catalog; a revision is read with the same path inside it.",
    )
    d.add_argument("old", metavar="OLD", help="old version: a catalogue directory or a git revision")
    d.add_argument("new", metavar="NEW", help="new version: a catalogue directory or a git revision")
    d.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    d.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes (like git diff --exit-code)")
    d.add_argument(
        "--allow-errors",
        action="store_true",
        help="compare even if a side does not check clean (only the files that did check are compared)",
    )
    # two directories need no catalogue; revisions are read from the git repository of --catalog, else of the
    # current directory
    d.set_defaults(func=cmd_diff, catalog_optional=True)
