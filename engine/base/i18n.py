"""The UI's languages: Chinese (the source text, 简体中文) and English, from gettext catalogues.

Templates mark text with ``_("…")`` (Jinja's i18n extension); Python code that produces UI
words does the same with :func:`gettext` (or :func:`ngettext`), and marks with :func:`N_` a
text it keeps to translate later (a table of labels). The catalogue sources are the ``.po``
files under engine/locale/<lang>/LC_MESSAGES/messages.po, compiled in memory at start-up (no
build step, no binary files in the repository); ``make messages`` re-extracts the template of
every marked string (engine/locale/messages.pot) and merges it into each ``.po``.

Per request, engine.web.middleware.LocaleMiddleware picks the language with :func:`choose` —
``?lang=en`` (remembered in a cookie), the cookie, the browser's Accept-Language, else Chinese —
and serves the request inside :func:`speaking`, which keeps its translations in a context
variable, so templates and code running for that request (even in worker threads, which copy
the context) translate without passing anything around. So an exception raised while serving a
request says its message in that request's language (pages and the JSON API alike). This module
knows nothing of HTTP: what it is given is text.

Who reads a message decides its language:
* a web page or an API answer: the request's language, as above;
* the command line (the catalogue author's and the administrator's tool): no request, so no
  language is active and :func:`gettext` gives the Chinese source — the one-time notice and
  fee assessments it prints read as the center publishes them; the CLI's own messages
  (engine.cli) are English, and a message about an account it relays from the engine is
  printed in both languages, "中文 / English" line by line, by :func:`in_both`;
* catalogue files and schemas (schema/*.json descriptions, comments written into YAML):
  bilingual "中文 / English" text in the files themselves, read in an editor — data, not UI.
"""

from __future__ import annotations

import contextvars
import gettext as _gettext
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

# package data (pyproject's package-data ships the .po files), so an installed wheel translates too
LOCALE_DIR = Path(str(files("engine") / "locale"))
DEFAULT = "zh_CN"
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
COOKIE = "yg_lang"

_NULL = _gettext.NullTranslations()
_current: contextvars.ContextVar[_gettext.NullTranslations] = contextvars.ContextVar("yangguang_i18n", default=_NULL)
_language: contextvars.ContextVar[str] = contextvars.ContextVar("yangguang_language", default=DEFAULT)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``language`` (Chinese needs none: it is the source text)."""
    if language == DEFAULT or language not in LANGUAGES:
        return _NULL
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def N_(message: str) -> str:
    """Mark a string for the translation catalogue; it is translated where it is shown."""
    return message


def gettext(message: str) -> str:
    return _current.get().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get().ngettext(singular, plural, n)


def language() -> str:
    """The language of the request being served (``zh_CN`` outside a request)."""
    return _language.get()


def activate(language_: str) -> contextvars.Token[_gettext.NullTranslations]:
    """Use ``language_`` in this context from now on (tests); returns a reset token."""
    lang = language_ if language_ in LANGUAGES else DEFAULT
    _language.set(lang)
    return _current.set(translations(lang))


@contextmanager
def speaking(language_: str) -> Iterator[None]:
    """Translate in ``language_`` inside the block, then as before (a web request, the command line's
    second language)."""
    lang = language_ if language_ in LANGUAGES else DEFAULT
    token, lang_token = _current.set(translations(lang)), _language.set(lang)
    try:
        yield
    finally:
        _language.reset(lang_token)
        _current.reset(token)


def in_both(make: Callable[[], str]) -> str:
    """``make()`` said in Chinese and in English, line by line as "中文 / English": for a reader
    with no request language (the command line's operator, who may read either). The two
    wordings must have the same lines; an English line's indent is dropped after the " / "."""
    with speaking(DEFAULT):
        chinese = make().splitlines()
    with speaking("en"):
        english = make().splitlines()
    return "\n".join(f"{zh} / {en.lstrip()}" for zh, en in zip(chinese, english, strict=True))


def choose(query: str, cookie_header: str, accept_language: str) -> tuple[str, bool]:
    """(language, whether to remember it in the :data:`COOKIE`) for one request, from its query string,
    its Cookie header and its Accept-Language header."""
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "lang" and value in LANGUAGES:
            return value, True
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == COOKIE and value in LANGUAGES:
            return value, False
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return DEFAULT, False
        if tag.startswith("en"):
            return "en", False
    return DEFAULT, False
