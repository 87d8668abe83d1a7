"""Change one value of a YAML file and nothing else: comments, key order, quoting, flow style
and every other line stay byte for byte as they were.

How (and why not just "load, change, dump"): ruamel.yaml's round trip keeps comments and
quoting, but a whole-file dump still moves things an administrator did not touch — a comment
after the last material ends up below a newly added one, a wrapped flow mapping is joined,
indentation is normalised to one setting for the whole file. So ruamel only *renders* the
edit: the changed tree is dumped, the edited entry's lines are located in that dump and in
the original (libyaml node marks, through engine.catalogue.yaml_policy.compose), and just those lines
are spliced into the original text. The result is then read back under the catalogue's YAML
policy and must equal the original data with exactly the intended change; otherwise the edit
is refused rather than written wrong.

Library code: raises YamlEditError with a message an administrator can act on; never prints.
"""

from __future__ import annotations

import copy
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase, CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import ScalarString
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.base.result import Path
from engine.catalogue.yaml_policy import compose, decode, parse

#: wider than any line a person writes: ruamel must never fold a long line on its own
_WIDTH = 1_000_000
#: line separators libyaml counts as line breaks but the splice does not split on
_ODD_BREAKS = re.compile("[\x85\u2028\u2029]")


class YamlEditError(Exception):
    """The edit cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Value:
    """A value to write: ``rt`` as ruamel renders it (keeps the quoting and flow style the user
    typed), ``plain`` as engine.catalogue.yaml_policy reads it (what the result must read back as)."""

    rt: Any
    plain: Any


@dataclass(frozen=True, slots=True)
class Change:
    """``set`` the entry at ``path`` (a new key when the mapping lacks it); ``insert`` ``value``
    into the list at ``path[:-1]`` before index ``path[-1]``; ``delete`` the entry at ``path``."""

    op: Literal["set", "insert", "delete"]
    path: Path
    value: Value | None = None


def value_from_text(text: str, what: str = "VALUE") -> Value:
    """Read a value written in YAML (``5``, ``true``, ``"0230"``, ``{value: 5, unit: working_day}``)
    under the catalogue's YAML policy, so ``yes`` or ``010`` are refused here as in a file."""
    if not text.strip():
        raise YamlEditError(f'{what} is empty; write "" for empty text or null for no value')
    parsed = parse(text.encode("utf-8"))
    if parsed.errors:
        one_line = "\n" not in text.strip()
        raise YamlEditError(
            "; ".join(
                f"{what} {text.strip()!r}" + (f" (line {e.line})" if not one_line else "") + f": {e.message}"
                for e in parsed.errors
            )
        )
    try:
        rt = _yaml().load(text)
    except RuamelError as exc:  # pragma: no cover - policy accepted it, so ruamel should too
        raise YamlEditError(f"{what} {text.strip()!r} cannot be read: {exc}") from exc
    if isinstance(rt, CommentedBase):
        # Comments above the value in a --from file describe that file, not the entry it becomes.
        rt.ca.comment = None
    return Value(rt, parsed.data)


def plain_value(value: Any) -> Value:
    """A value built in code (a code, a name): ruamel picks its quoting."""
    return Value(value, copy.deepcopy(value))


def apply(text: str, change: Change) -> str:
    """Return ``text`` with ``change`` made, every line outside the edited entry unchanged."""
    body, restore = _normalise(text)
    original = parse(body.encode("utf-8"))
    if original.data is None:
        first = original.errors[0] if original.errors else None
        where = f" at line {first.line}, column {first.column}: {first.message}" if first else ""
        raise YamlEditError(f"the file cannot be read{where}; fix it by hand first")
    yml = _yaml(_detect_indent(compose(body)))
    try:
        tree = yml.load(body)
    except RuamelError as exc:
        raise YamlEditError(f"the file cannot be read for editing: {exc}; fix it by hand first") from exc
    expected = copy.deepcopy(original.data)
    old_span, new_span = _mutate(tree, expected, change)
    old_lines = _lines(body)
    a, b = old_span(_composed(body), old_lines)
    if new_span is None:
        middle: list[str] = []
    else:
        out = io.StringIO()
        try:
            yml.dump(tree, out)
        except RuamelError as exc:  # pragma: no cover - a tree ruamel loaded dumps
            raise YamlEditError(f"the edited file cannot be written as YAML: {exc}") from exc
        dumped = out.getvalue()
        new_lines = _lines(dumped)
        c, d = new_span(_composed(dumped), new_lines)
        middle = new_lines[c:d]
    result = "".join(old_lines[:a] + middle + old_lines[b:])
    _verify(result, expected, original.errors)
    return restore(result)


# -- the change, on ruamel's tree and on the plain data ------------------------------------------

#: (composed root node, lines of that text) -> (first line, end line), 0-based, end exclusive
_Span = Callable[[Node, list[str]], tuple[int, int]]


def _mutate(tree: Any, expected: Any, change: Change) -> tuple[_Span, _Span | None]:
    """Make the change on both trees; return how to find the edited lines before and after."""
    path = change.path
    if not path:
        raise YamlEditError("name a key to change, not the whole file")
    parent_path, last = path[:-1], path[-1]
    rt_parent = _walk(tree, parent_path)
    plain_parent = _walk(expected, parent_path)
    flow_parent = _is_flow(rt_parent)
    if change.op == "set":
        assert change.value is not None
        exists = last in rt_parent if isinstance(rt_parent, dict) else isinstance(last, int) and last < len(rt_parent)
        new = _styled(change.value.rt, rt_parent[last] if exists else None, flow_parent)
        rt_parent[last] = new
        plain_parent[last] = copy.deepcopy(change.value.plain)
        if exists or flow_parent:
            return _entry(path if exists else parent_path), _entry(path)
        return _after(parent_path), _entry(path)
    if change.op == "insert":
        assert change.value is not None and isinstance(last, int) and isinstance(rt_parent, list)
        if not rt_parent and isinstance(rt_parent, CommentedSeq):
            rt_parent.fa.set_block_style()  # "[]" gets its first entry: write the list as a block
            flow_parent = False
        sibling = rt_parent[last - 1] if last > 0 else (rt_parent[0] if rt_parent else None)
        rt_parent.insert(last, _styled(change.value.rt, sibling, flow_parent, like_sibling=True))
        plain_parent.insert(last, copy.deepcopy(change.value.plain))
        if flow_parent or len(rt_parent) == 1:
            return _entry(parent_path), _entry(parent_path)
        before = _after((*parent_path, last - 1)) if last > 0 else _before((*parent_path, 0))
        return before, _entry(path)
    del rt_parent[last]
    del plain_parent[last]
    if flow_parent or not rt_parent:
        if not parent_path:
            raise YamlEditError("the file would be left empty")
        return _entry(parent_path), _entry(parent_path)
    return _entry(path), None


def _composed(text: str) -> Node:
    try:
        node = compose(text)
    except yaml.YAMLError as exc:  # ruamel wrote text libyaml cannot read (a comment after a flow entry)
        raise YamlEditError(
            "this edit cannot be made without reformatting lines around it (a comment after a flow "
            "entry here); nothing was changed — edit the file by hand"
        ) from exc
    if node is None:  # pragma: no cover - both texts hold a mapping
        raise YamlEditError("the file is empty")
    return node


def _walk(node: Any, path: Path) -> Any:
    for part in path:
        node = node[part]
    return node


def _is_flow(node: Any) -> bool:
    return isinstance(node, CommentedBase) and bool(node.fa.flow_style())


def _styled(new: Any, old: Any, flow_parent: bool, like_sibling: bool = False) -> Any:
    """Make a new value look like what it replaces (or like its siblings in a list), so a block
    material list gets a block material and a quoted or folded text stays quoted or folded."""
    new = copy.deepcopy(new)
    if flow_parent:
        _set_flow(new, True, deep=True)  # inside {…} or […] everything is flow
    elif isinstance(new, CommentedMap | CommentedSeq) and isinstance(old, CommentedMap | CommentedSeq):
        if type(new) is type(old) or like_sibling:
            flow = _is_flow(old)
            _set_flow(new, flow, deep=flow)
    elif isinstance(new, CommentedMap | CommentedSeq) and like_sibling and old is None:
        _set_flow(new, False, deep=False)
    elif type(new) is str and isinstance(old, ScalarString) and not like_sibling:
        new = type(old)(new)  # same quotes, or the same | / > block style
    return new


def _set_flow(node: Any, flow: bool, deep: bool) -> None:
    if isinstance(node, CommentedMap | CommentedSeq):
        if flow:
            node.fa.set_flow_style()
        else:
            node.fa.set_block_style()
        if deep:
            for child in node.values() if isinstance(node, CommentedMap) else node:
                _set_flow(child, flow, deep)


# -- where the edited lines are -------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line + "\n" for line in text.split("\n")[:-1]]


def _find(root: Node, path: Path) -> tuple[Node | None, Node, int]:
    """(key node or None, value node, how many path parts were walked before a flow collection)."""
    node, key = root, None
    for i, part in enumerate(path):
        if getattr(node, "flow_style", False):
            return key, node, i  # inside {…} or […]: the edited lines are the whole flow collection's
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.value == part:
                    key, node = k, v
                    break
            else:
                raise YamlEditError(f"internal: no key {part!r} in the composed file")  # pragma: no cover
        elif isinstance(node, SequenceNode) and isinstance(part, int):
            key, node = None, node.value[part]
        else:  # pragma: no cover - the path was resolved against the same data
            raise YamlEditError(f"internal: cannot walk {path!r}")
    return key, node, len(path)


def _end(node: Node) -> int:
    """The line after the node's last content line: block collections end where their last child
    ends (their own end mark sits on the next token, past any comment lines in between)."""
    if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return _end(last[1] if isinstance(last, tuple) else last)
    mark = node.end_mark
    return mark.line + (1 if mark.column > 0 else 0)


def _start(key: Node | None, node: Node, lines: list[str]) -> int:
    """The entry's first line: its key's, or for a list item the line of its ``-``."""
    if key is not None:
        return int(key.start_mark.line)
    line = node.start_mark.line
    if lines[line][: node.start_mark.column].strip():
        return int(line)  # "- id: x": the dash is on this line
    for up in range(line - 1, -1, -1):  # "-" alone on a line above the item
        stripped = lines[up].strip()
        if stripped and not stripped.startswith("#"):
            return up if stripped.endswith("-") else int(line)
    return int(line)


def _entry(path: Path) -> _Span:
    def span(root: Node, lines: list[str]) -> tuple[int, int]:
        key, node, _ = _find(root, path)
        start, end = _start(key, node, lines), _end(node)
        while end - 1 > start and not lines[end - 1].strip():  # blank lines a block scalar swallowed
            end -= 1
        return start, end

    return span


def _after(path: Path) -> _Span:
    """An empty span right after the entry at ``path`` (before any comment lines that follow it)."""

    def span(root: Node, lines: list[str]) -> tuple[int, int]:
        end = _entry(path)(root, lines)[1]
        return end, end

    return span


def _before(path: Path) -> _Span:
    def span(root: Node, lines: list[str]) -> tuple[int, int]:
        start = _entry(path)(root, lines)[0]
        return start, start

    return span


# -- the file's own formatting ---------------------------------------------------------------------


def _detect_indent(root: Node | None) -> tuple[int, int, int]:
    """ruamel's (mapping, sequence, offset) indentation as this file writes it: the most common
    step under a key, and where the ``-`` of a list stands. Default: the reference files' 2, 4, 2."""
    mapping: Counter[int] = Counter()
    sequence: Counter[int] = Counter()
    offset: Counter[int] = Counter()

    def walk(node: Node) -> None:
        if isinstance(node, MappingNode) and not node.flow_style:
            for k, v in node.value:
                col = k.start_mark.column
                if isinstance(v, MappingNode) and not v.flow_style and v.value:
                    mapping[v.value[0][0].start_mark.column - col] += 1
                if isinstance(v, SequenceNode) and not v.flow_style and v.value:
                    offset[v.start_mark.column - col] += 1
                    first = v.value[0]
                    if first.start_mark.line == v.start_mark.line:
                        sequence[first.start_mark.column - col] += 1
                walk(v)
        elif isinstance(node, SequenceNode) and not node.flow_style:
            for child in node.value:
                walk(child)

    if root is not None:
        walk(root)
    m = mapping.most_common(1)[0][0] if mapping else 2
    o = offset.most_common(1)[0][0] if offset else 2
    s = sequence.most_common(1)[0][0] if sequence else o + 2
    return m, max(s, o + 2), o


def _yaml(indent: tuple[int, int, int] = (2, 4, 2)) -> YAML:
    yml = YAML(typ="rt")
    yml.preserve_quotes = True
    yml.width = _WIDTH
    yml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return yml


def _normalise(text: str) -> tuple[str, Callable[[str], str]]:
    """Work on LF text with a final newline; give back a function that restores the BOM, CRLF
    endings and a missing final newline exactly as the original had them."""
    bom = text.startswith("\ufeff")
    body = text.removeprefix("\ufeff")
    if _ODD_BREAKS.search(body):
        raise YamlEditError("the file contains unusual line separators (U+0085, U+2028 or U+2029); remove them first")
    crlf = "\r\n" in body
    if crlf:
        if body.count("\r") != body.count("\r\n") or body.count("\n") != body.count("\r\n"):
            raise YamlEditError("the file mixes CRLF and LF line endings; save it with one kind first")
        body = body.replace("\r\n", "\n")
    elif "\r" in body:
        raise YamlEditError("the file uses CR line endings; save it with LF (or CRLF) endings first")
    final_newline = body.endswith("\n")
    if not final_newline:
        body += "\n"

    def restore(result: str) -> str:
        if not final_newline:
            result = result.removesuffix("\n")
        if crlf:
            result = result.replace("\n", "\r\n")
        return ("\ufeff" if bom else "") + result

    return body, restore


def _verify(result: str, expected: Any, errors_before: list[Any]) -> None:
    """The spliced text must read back as exactly the intended data, with no new YAML problem."""
    try:
        parsed = parse(result.encode("utf-8"))
    except yaml.YAMLError:  # pragma: no cover - parse never raises for bad input
        parsed = None
    before = Counter((e.kind, e.message) for e in errors_before)
    after = Counter((e.kind, e.message) for e in parsed.errors) if parsed is not None else None
    if parsed is None or parsed.data != expected or (after is not None and after - before):
        raise YamlEditError(
            "this edit cannot be made without reformatting lines around it (the file's layout is "
            "unusual here, or the value is shared through an anchor & and alias *); nothing was changed — "
            "edit the file by hand"
        )


def decode_text(raw: bytes) -> str:
    """The file's text with its BOM kept (``apply`` puts it back), or YamlEditError for bad bytes."""
    text, err = decode(raw)
    if err is not None or text is None:
        raise YamlEditError(err.message if err else "the file is not UTF-8 text")
    return raw.decode("utf-8")


def new_list(first: Value) -> Value:
    """A block list holding one entry, for a list the file does not have yet (``add faq …``)."""
    entry = copy.deepcopy(first.rt)
    _set_flow(entry, False, deep=False)
    seq = CommentedSeq([entry])
    seq.fa.set_block_style()
    return Value(seq, [copy.deepcopy(first.plain)])
