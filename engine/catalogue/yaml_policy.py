"""The one place that decides how catalogue YAML is read.

Policy (why each rule exists):
- Parse with libyaml (C) into nodes, then build Python values ourselves: composing
  is about half the cost of a full load and keeps every node's line/column.
- Scalars resolve by YAML 1.2 core rules, so ``no`` cannot silently become False.
  Plain scalars that YAML 1.1 tools (PyYAML's default loader, many editors) read
  differently are errors: ``yes/no/on/off/y/n``, ``010`` (octal), ``1_000``,
  ``1:30`` (base 60). Date-like plain scalars stay text; the checker flags them
  where the schema does not expect a date.
- Duplicate keys are errors at the duplicate (YAML loaders silently keep the last).
- Tabs in indentation, non-UTF-8 bytes, empty files, multi-document files, custom
  tags, merge keys (``<<``), oversized files and alias expansion bombs are errors
  with a location, never a traceback or a hang.

Library code: nothing here prints or exits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.base.result import Path

MAX_FILE_BYTES = 1024 * 1024
MAX_VALUES = 200_000  # scalars+collections after alias expansion

try:
    from yaml._yaml import CParser as _Loader
except ImportError as exc:  # pragma: no cover - libyaml is a hard requirement
    raise ImportError("PyYAML was built without libyaml; reinstall PyYAML with its C extension") from exc

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_PLAIN = "?plain"  # our marker for an untagged plain scalar, resolved in _Build.scalar


class _Resolver(yaml.resolver.BaseResolver):
    """Skip PyYAML's regex resolution: we resolve plain scalars ourselves in ``_scalar``."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is SequenceNode else _MAP

    # PyYAML's path resolvers are unused here; skip their bookkeeping on every node.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


class _Composer(_Loader, _Resolver):  # type: ignore[misc, valid-type]
    def __init__(self, stream: str) -> None:
        _Loader.__init__(self, stream)
        _Resolver.__init__(self)


@dataclass(slots=True)
class YamlError:
    """A problem found while reading one file; 1-based line and column."""

    line: int
    column: int
    kind: str
    message: str


@dataclass(slots=True)
class Parsed:
    data: Any = None
    errors: list[YamlError] = field(default_factory=list)
    #: paths of plain scalars that look like dates (YAML 1.1 would read a date)
    date_paths: list[Path] = field(default_factory=list)
    modeline: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_YAML11_BOOLS = frozenset(
    w for base in ("yes", "no", "on", "off", "y", "n") for w in (base, base.capitalize(), base.upper())
)
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT = frozenset({".inf", ".Inf", ".INF", "+.inf", "-.inf", "-.Inf", ".nan", ".NaN", ".NAN"})
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+\Z")
_ODD_INT = re.compile(r"[-+]?(0[xob][0-9a-fA-F_]+|[0-9][0-9_]*_[0-9_]*)\Z")
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ]|\Z)")
_MODELINE = re.compile(r"#\s*yaml-language-server:\s*\$schema=(\S+)")


class _Budget(Exception):
    pass


class _Build:
    """Turn a composed node tree into plain Python values, collecting policy errors."""

    def __init__(self, parsed: Parsed) -> None:
        self.parsed = parsed
        self.count = 0

    def error(self, node: Node, kind: str, message: str) -> None:
        m = node.start_mark
        self.parsed.errors.append(YamlError(m.line + 1, m.column + 1, kind, message))

    def value(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _Budget
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if node.tag not in (_SEQ, _MAP):
            self.error(node, "yaml-tag", f"tag {node.tag!r} is not allowed; remove it")
        if isinstance(node, SequenceNode):
            return [self.value(child, (*path, i)) for i, child in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        out: dict[str, Any] = {}
        first: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.error(key_node, "yaml-key", "a mapping key must be plain text, not a list or mapping")
                continue
            key = key_node.value
            if key_node.tag == _PLAIN and key in _YAML11_BOOLS:
                self.error(key_node, "yaml-1.1", f'plain key {key!r} is a boolean in YAML 1.1; quote it as "{key}"')
            if key == "<<" and key_node.tag == _PLAIN:
                self.error(key_node, "yaml-merge", "merge keys (<<) are not allowed; write the keys out")
                continue
            if key in first:
                prev = first[key].start_mark
                self.error(
                    key_node,
                    "duplicate-key",
                    f"key {key!r} appears twice in this mapping (first at line {prev.line + 1}); "
                    "YAML would silently keep only the last one — remove or rename one of them",
                )
                continue
            first[key] = key_node
            out[key] = self.value(value_node, (*path, key))
        return out

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        text = node.value
        if node.tag != _PLAIN:  # quoted, block or explicitly tagged: text
            if node.tag not in (_STR, "!"):
                self.error(node, "yaml-tag", f"tag {node.tag!r} is not allowed; quote the value instead")
            return text
        if text in _NULLS:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        first = text[0]
        if first in _YAML11_FIRST and text in _YAML11_BOOLS:
            word = "true" if text.lower() in ("yes", "on", "y") else "false"
            self.error(
                node,
                "yaml-1.1",
                f"plain {text!r} means {word} in YAML 1.1 but text in YAML 1.2; "
                f'write {word} for a yes/no value, or quote it as "{text}" for text',
            )
            return text
        if first.isdigit() or first in "+-.":
            if _INT.match(text):
                return int(text)
            if _LEADING_ZERO.match(text) or _ODD_INT.match(text):
                self.error(
                    node,
                    "yaml-1.1",
                    f"plain {text!r} is a number that YAML 1.1 tools read differently (octal, hex or with _); "
                    f'quote it as "{text}" if it is a code, or write a plain decimal number',
                )
                return text
            if _FLOAT.match(text) or text in _SPECIAL_FLOAT:
                return float(text)
            if _DATE.match(text):
                self.parsed.date_paths.append(path)
                return text
            if _SEXAGESIMAL.match(text):
                self.error(
                    node,
                    "yaml-1.1",
                    f'plain {text!r} is a base-60 number in YAML 1.1; quote it as "{text}"',
                )
                return text
        return text


_YAML11_FIRST = frozenset("yYnNoO")


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    start = text.rfind("\n", 0, index) + 1
    return line, index - start + 1


def decode(raw: bytes) -> tuple[str | None, YamlError | None]:
    """Decode UTF-8 (a BOM is allowed); report the first bad byte's location."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = raw[: exc.start].decode("utf-8", errors="replace")
        line, col = _line_col(good, len(good))
        return None, YamlError(
            line,
            col,
            "encoding",
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8 "
            "(GBK/GB2312 files must be converted)",
        )
    return text.removeprefix("\ufeff"), None


def compose(text: str) -> Node | None:
    """Compose one document into nodes (raises yaml.YAMLError on syntax errors)."""
    loader = _Composer(text)
    try:
        return loader.get_single_node()  # type: ignore[no-any-return]
    finally:
        loader.dispose()


def parse(raw: bytes) -> Parsed:
    """Read one catalogue file under the policy above. Never raises for bad input."""
    parsed = Parsed()
    if len(raw) > MAX_FILE_BYTES:
        parsed.errors.append(
            YamlError(
                1,
                1,
                "too-large",
                f"file is {len(raw) / 1048576:.1f} MiB; the limit is "
                f"{MAX_FILE_BYTES // 1048576} MiB per file — split it into smaller files",
            )
        )
        return parsed
    text, err = decode(raw)
    if err is not None or text is None:
        parsed.errors.append(err or YamlError(1, 1, "encoding", "unreadable file"))
        return parsed
    first_line = text.split("\n", 1)[0]
    mode = _MODELINE.search(first_line)
    if mode:
        parsed.modeline = mode.group(1)
    tab_errors = list(_tab_errors(text))
    if tab_errors:
        parsed.errors.extend(tab_errors)
        return parsed
    try:
        node = compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        fix = "fix the line"
        if "mapping values are not allowed" in what:  # 材料要求: 原件1份 as a value: the second colon
            fix = (
                "a colon followed by a space inside a value starts a key in YAML; put the whole text in quotes "
                "or write the colon as '：'"
            )
        parsed.errors.append(YamlError(line, col, "yaml-syntax", f"YAML syntax error: {what}; {fix}"))
        return parsed
    except yaml.YAMLError as exc:
        parsed.errors.append(YamlError(1, 1, "yaml-syntax", f"YAML syntax error: {exc}"))
        return parsed
    if node is None:
        parsed.errors.append(YamlError(1, 1, "empty-file", "the file is empty; write its content or delete it"))
        return parsed
    build = _Build(parsed)
    try:
        parsed.data = build.value(node, ())
    except _Budget:
        m = node.start_mark
        parsed.errors.append(
            YamlError(
                m.line + 1,
                m.column + 1,
                "alias-bomb",
                f"anchors and aliases expand to more than {MAX_VALUES} values; remove the aliases",
            )
        )
        parsed.data = None
    except RecursionError:
        parsed.errors.append(YamlError(1, 1, "yaml-syntax", "nesting is too deep; flatten the file"))
        parsed.data = None
    return parsed


def _tab_errors(text: str) -> Iterator[YamlError]:
    if "\t" not in text:
        return
    for n, line in enumerate(text.split("\n"), 1):
        indent = len(line) - len(line.lstrip(" \t"))
        pos = line.find("\t", 0, indent)
        if pos >= 0 and line.strip():
            yield YamlError(n, pos + 1, "tab", "tab character in indentation; YAML indents with spaces only")


def locate(text: str, path: Path, on_key: bool = False) -> tuple[int, int]:
    """Line and column (1-based) of the value at ``path`` (or its key), as near as the path allows."""
    try:
        node = compose(text)
    except yaml.YAMLError:
        return 1, 1
    if node is None:
        return 1, 1
    key_node: Node | None = None
    for part in path:
        if isinstance(node, MappingNode) and isinstance(part, str):
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.value == part:
                    key_node, node = k, v
                    break
            else:
                break
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            key_node, node = None, node.value[part]
        else:
            break
    else:
        target = key_node if on_key and key_node is not None else node
        return target.start_mark.line + 1, target.start_mark.column + 1
    # The path goes deeper than the document (e.g. a missing key): point at the deepest node found.
    target = key_node if key_node is not None else node
    return target.start_mark.line + 1, target.start_mark.column + 1
