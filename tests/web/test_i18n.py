"""The UI in Chinese by default and in English on request, from a complete catalogue."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from engine.base import i18n, wording
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
PO = REPO / "engine" / "locale" / "en" / "LC_MESSAGES" / "messages.po"


def marked_in_code() -> set[str]:
    """Every string the code and templates mark for translation, as ``make messages`` finds them."""
    # as babel.cfg: the patterns are relative to engine/ (a bare "templates/**.html" matched no template)
    method_map = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
    options = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = extract_from_dir(
        str(REPO / "engine"), method_map, options, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    )
    return {msg if isinstance(msg, str) else msg[0] for _, _, msg, _, _ in found}


def test_no_marked_string_hides_in_an_f_string() -> None:
    """``make messages`` (babel) does not look inside an f-string's braces: a gettext("…") there is
    never extracted, so it would show Chinese on every English page without failing the test below."""
    hidden = []
    for path in sorted((REPO / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
                    name = getattr(call.func, "id", getattr(call.func, "attr", ""))
                    if (
                        name in ("_", "gettext", "ngettext", "N_")
                        and call.args
                        and isinstance(call.args[0], ast.Constant)
                    ):
                        hidden.append(f"{path.relative_to(REPO)}:{call.lineno}")
    assert not hidden, f"compute the text before the f-string: {hidden}"


#: files that may hold "中文 / English" text: data read in an editor, not UI (engine.base.i18n) …
BILINGUAL_DATA = {
    "engine/catalogue/override_schema.py": "descriptions of schema/override.schema.json, as in item.schema.json",
    "engine/authoring/override_edit.py": "the comment heading a new override file",
}
#: … and files whose owners convert their messages to the catalogue (issue 17): take a file off once it has none
BILINGUAL_PENDING: set[str] = set()
_BILINGUAL = re.compile(r"[\u4e00-\u9fff][^/]*\s?/ [A-Za-z]")


def test_messages_are_not_written_in_both_languages() -> None:
    """A message a person reads is one msgid through the catalogue, never a "中文 / English" literal
    (pages showed the Chinese half to English readers; the API sent both)."""
    found = []
    for path in sorted((REPO / "engine").rglob("*.py")):
        rel = str(path.relative_to(REPO))
        if rel in BILINGUAL_DATA or rel in BILINGUAL_PENDING:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        found += [
            f"{rel}:{node.lineno}: {node.value[:60]!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            if _BILINGUAL.search(node.value)
        ]
    assert not found, "\n".join(found)


def test_every_marked_string_has_an_english_translation() -> None:
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    # a plural entry (ngettext) is keyed by its singular and translated when every form is
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id}
    done = {k for k, v in translated.items() if (v if isinstance(v, str) else v and all(v))}
    missing = sorted(marked_in_code() - done)
    assert not missing, f"run `make messages` and translate in {PO.relative_to(REPO)}: {missing[:10]}"


def test_language_choice_query_cookie_and_browser(tmp_path: Path, reference: Any) -> None:
    app = create_app(REPO, tmp_path / "i18n.db", reference.catalogue, sweep_seconds=0)
    with TestClient(app) as client:
        chinese = client.get("/")
        assert '<html lang="zh-CN">' in chinese.text and "办事指南" in chinese.text
        english = client.get("/?lang=en")
        assert '<html lang="en">' in english.text and "办事指南" not in english.text
        assert "yg_lang=en" in english.headers["set-cookie"] and english.headers["content-language"] == "en"
        assert '<html lang="en">' in client.get("/items/QQ-PSB-BA-001").text  # remembered by the cookie
        assert '<html lang="zh-CN">' in client.get("/?lang=zh_CN").text
    with TestClient(app) as browser:
        assert '<html lang="en">' in browser.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
        assert '<html lang="zh-CN">' in browser.get("/", headers={"Accept-Language": "zh-CN,en;q=0.5"}).text


def test_engine_words_follow_the_language() -> None:
    token = i18n.activate("en")
    try:
        english = wording.state("submitted")
    finally:
        i18n.activate("zh_CN")
    assert english != "待受理" and english.isascii()
    assert wording.state("submitted") == "待受理"
    del token
