"""engine.base.input_guard's rules on their own, without HTTP (engine.web.middleware.InputGuard applies
them to URLs and url-encoded forms; tests/web/test_input_limits.py and test_web_errors.py through the app)."""

from __future__ import annotations

from engine.base import input_guard


def test_a_path_is_text_when_it_percent_decodes_to_utf8() -> None:
    assert input_guard.decoded_text(b"/items/QQ-PSB-BA-001") and input_guard.decoded_text(b"/?q=%E6%96%BD%E5%B7%A5")
    assert not input_guard.decoded_text(b"/items/%FF")
    assert not input_guard.decoded_text(b"/items/%ED%A0%80")  # a lone surrogate, UTF-8 encoded: not text


def test_the_first_pair_that_is_not_text_is_named() -> None:
    assert input_guard.bad_pairs(b"") is None and input_guard.bad_pairs(b"q=%E6%96%BD+%E5%B7%A5&page=2") is None
    assert input_guard.bad_pairs(b"number=QQ1&query_code=%FF&x=%FE") == "query_code"
    assert input_guard.bad_pairs(b"%FF=1") == "\ufffd"  # a bad name is shown as decoded, never as raw bytes
    assert input_guard.bad_pairs(b"=%ED%A0%80") == "query"  # no name at all


def test_bad_text_names_where_a_surrogate_hides() -> None:
    assert input_guard.bad_text({"a": ["ok", {"b": "\ud800"}]}) == "a[1].b"
    assert input_guard.bad_text("\udfff") == "body" and input_guard.bad_text({"ok": 1}) is None
