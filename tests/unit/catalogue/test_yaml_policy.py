from __future__ import annotations

import time

import pytest

from engine.catalogue.yaml_policy import MAX_FILE_BYTES, locate, parse


def errors(text: str | bytes) -> list[tuple[int, int, str]]:
    raw = text.encode() if isinstance(text, str) else text
    return [(e.line, e.column, e.kind) for e in parse(raw).errors]


def test_scalars_follow_yaml_1_2() -> None:
    p = parse(b"a: 1\nb: 2.5\nc: true\nd: ~\ne: '010'\nf: text\ng: 2026-01-01\nh: \"no\"\n")
    assert p.data == {"a": 1, "b": 2.5, "c": True, "d": None, "e": "010", "f": "text", "g": "2026-01-01", "h": "no"}
    assert p.date_paths == [("g",)]
    assert p.ok


@pytest.mark.parametrize("word", ["no", "No", "NO", "yes", "on", "off", "y", "n", "Off"])
def test_yaml_1_1_booleans_are_errors(word: str) -> None:
    assert errors(f"a: {word}\n") == [(1, 4, "yaml-1.1")]


@pytest.mark.parametrize("value", ["010", "0777", "0x1F", "1_000", "1:30"])
def test_yaml_1_1_numbers_are_errors(value: str) -> None:
    assert errors(f"a: {value}\n") == [(1, 4, "yaml-1.1")]


def test_duplicate_key_is_reported_at_the_duplicate() -> None:
    assert errors("a: 1\nb:\n  c: 1\n  c: 2\n") == [(4, 3, "duplicate-key")]


def test_tabs_in_indentation() -> None:
    assert errors("a:\n\tb: 1\n") == [(2, 1, "tab")]
    assert parse(b'a: "x\ty"\n').data == {"a": "x\ty"}  # a tab inside text is fine


def test_non_utf8_names_the_line() -> None:
    assert errors(b"a: 1\nb: \xb2\xbb\n") == [(2, 4, "encoding")]
    assert parse("\ufeffa: 1\n".encode()).data == {"a": 1}  # a BOM is tolerated


def test_empty_and_comment_only_files() -> None:
    assert errors("") == [(1, 1, "empty-file")]
    assert errors("# nothing\n\n") == [(1, 1, "empty-file")]


def test_alias_bomb_stops_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    start = time.perf_counter()
    assert errors("\n".join(lines) + "\n") == [(1, 1, "alias-bomb")]
    assert time.perf_counter() - start < 30  # a guard against a hang, not a benchmark


def test_small_aliases_are_fine() -> None:
    assert parse(b"a: &x [1, 2]\nb: *x\n").data == {"a": [1, 2], "b": [1, 2]}


def test_too_large_file() -> None:
    raw = b"a: " + b"x" * MAX_FILE_BYTES + b"\n"
    assert errors(raw) == [(1, 1, "too-large")]


def test_custom_tags_and_merge_keys() -> None:
    assert errors("a: !!python/object:os.system x\n") == [(1, 4, "yaml-tag")]
    assert errors("base: &b {x: 1}\nc:\n  <<: *b\n") == [(3, 3, "yaml-merge")]


def test_multi_document_and_syntax_errors() -> None:
    assert errors("a: 1\n---\nb: 2\n")[0][2] == "yaml-syntax"
    assert errors("a: [1, 2\nb: 3\n") == [(2, 2, "yaml-syntax")]


def test_locate_points_at_key_or_value() -> None:
    text = "a:\n  b:\n    - x\n    - y: 1\n"
    assert locate(text, ("a", "b", 1, "y")) == (4, 10)
    assert locate(text, ("a", "b", 1, "y"), on_key=True) == (4, 7)
    assert locate(text, ("a", "missing")) == (1, 1)  # the deepest key that exists
