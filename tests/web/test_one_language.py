"""Every kind of page the browser layout test visits (tests/browser/test_layout.py), rendered in
Chinese and in English through the real app: a Chinese page has no English words and an English
page no Chinese (nor Chinese punctuation), apart from what the rule below allows.

The rule — what a page may show in the other language:

* on a Chinese page, Latin letters only in tokens that are not words of a language: codes of
  capitals and digits (item codes, case numbers, query codes, ID numbers, window numbers, A4),
  a single capital (the X of an ID number), units and file formats (MB, KB, PDF, CSV …), the
  language switch (``English``), e-mail addresses, URLs and paths, the catalogue version
  (hexadecimal), a command line to run (``<pre class="command">``: the what-if page's
  ``yangguang edit``, a command's words are no language's), and what people wrote: catalogue
  data, the applicant's answers and file names, staff usernames;
* on an English page, Chinese only in what people wrote, which has no translation: catalogue
  data (every text a center writes in its YAML — center.yaml, items, forms, fees, chains,
  calendars: names of the center, departments, items, materials, fields, stages, bases …), the
  applicant's answers (and the names of the regions they chose, a masked name such as 测*), the
  words searched for (the search box's example is one), a citation of Chinese law (its title in
  《》 and its articles, 第四十二条第一款: the engine cites Art. 42 itself), an official document's
  number (〔2026〕受字第 … 号: a statutory notice is issued in Chinese; a page names its kind in
  the page's language), and the language switch (``简体中文``).

Catalogue data and answers are found by value: each is taken out of the page's text, longest
first, before the page is searched, so the engine's own words around them must be the page's
language. (So an engine word that is also written somewhere in the catalogue goes unseen: the
test errs towards passing, never towards a false alarm.) The catalogue checker's messages on the
admin page are English in both languages, as the command line prints them; this catalogue has
none, so they are not on these pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support.desk import PASSWORD, browser
from support.pages import APPEAL, BIGGEST, LONGEST, SMALL, clerk_pages, file_appeal, public_pages, staff_pages
from support.portal import csrf, fill_sections, upload_everything

from engine.base import regions
from engine.base.dates import TZ
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service import auth
from engine.service.accounts import add_user
from engine.service.samples import sample_application
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
ADMIN = "admin.words"
CLERK = "window.realestate.words"

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")  # with Chinese punctuation （）：，、。
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
FORMATS = r"PDF|OFD|JPE?G|PNG|DOCX?|XLSX?|DWG|ZIP|CSV|JSON|SQLite|MB|KB|GB"
#: Latin tokens a Chinese page may show: not words of a language
ALLOWED_LATIN = re.compile(
    rf"""(?<![\w.])(?:[A-Z0-9]+(?:-[A-Z0-9]+)+|(?=[A-Z]*[0-9])[A-Z0-9]+)(?![\w])  # codes: capitals, digits
      | (?<![A-Za-z])[A-Z](?![A-Za-z])                   # a single capital (the X of an ID number)
      | (?<![A-Za-z])(?i:{FORMATS})(?![A-Za-z])          # units and file formats
      | [\w.+-]+@[\w-]+(?:\.[\w-]+)+                      # e-mail addresses
      | https?://\S+ | (?:/[\w.-]+)+                     # URLs and paths
      | [\w.-]+\.(?i:{FORMATS})\b                        # file names
      | \b[0-9a-f]{{16}}\b                                 # the catalogue version
      | \bEnglish\b                                       # the language switch""",
    re.X,
)
#: Chinese an English page may show beside catalogue data and answers (see the module's docstring)
ALLOWED_CJK = re.compile(
    r"〔\d{4}〕\S*字第 \S+ 号"  # an official document's number
    r"|《[^《》]*》(?:第[〇零一二三四五六七八九十百千]+[条款项]|全文|、)+"  # a citation: a law and its articles
    r"|《\s*》"  # the brackets of a law whose title (catalogue data) is taken out
    r"|[\u4e00-\u9fff]\*+"  # a masked name
    r"|简体中文"  # the language switch
)
SEARCHED = ("施工", "没有这个词")


class _Text(HTMLParser):
    """What a person reads or hears, one block at a time (a paragraph, a cell, a list item, an SVG
    text: inline tags such as a search hit's <mark> do not cut a text apart): text outside scripts
    and styles, the page title, and the attributes a screen reader says or a form shows (alt,
    title, aria-label, placeholder, a button's value)."""

    SAID = ("alt", "title", "aria-label", "placeholder")
    INLINE = frozenset({"a", "abbr", "b", "code", "em", "i", "mark", "small", "span", "strong", "sub", "sup", "time",
                        "tspan", "kbd", "label", "q", "s", "u", "wbr"})  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._block: list[str] = []
        self._skip = 0

    def flush(self) -> None:
        text = " ".join("".join(self._block).split())
        if text:
            self.parts.append(text)
        self._block = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.INLINE:
            self.flush()
        found = dict(attrs)
        if tag in ("script", "style") or (tag == "pre" and found.get("class") == "command"):
            self._skip += 1
        self.parts += [str(found[a]) for a in self.SAID if found.get(a)]
        if tag == "input" and found.get("type") in ("submit", "button") and found.get("value"):
            self.parts.append(str(found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.INLINE:
            self.flush()
        if tag in ("script", "style", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._block.append(data)


def read(page: str) -> list[str]:
    parser = _Text()
    parser.feed(page)
    parser.close()
    parser.flush()
    return parser.parts


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def people_words(cat: Any, typed: list[dict[str, Any]]) -> list[str]:
    """Every text of the catalogue and of the applicant's answers (with the names of the regions
    they chose), the words searched for and the staff's usernames, longest first (a name inside
    another is not cut out of it), each line of a multi-line text also on its own."""
    docs = [cat.center, *(d.data for group in (cat.items, cat.forms, cat.fees, cat.chains, cat.calendars)
                          for d in group.values()), cat.appointments or {},
            cat.appeals.data if cat.appeals else {}, *typed]  # fmt: skip
    texts = [s for doc in docs for s in _strings(doc)]
    texts += [regions.regions().name(t) for t in texts if regions.regions().by_code.get(t)]
    words = {*SEARCHED, ADMIN, CLERK}
    for text in texts:
        for line in [text, *text.splitlines()]:
            words.add(" ".join(line.split()))
    # a number or a letter alone would be cut out of codes and words (the 1 of A01): only words
    return sorted((w for w in words if CJK.search(w) or re.search(r"[A-Za-z].*[A-Za-z]", w)), key=len, reverse=True)


def leftover(text: str, words: list[str]) -> str:
    for word in words:
        if word in text:
            text = text.replace(word, " ")
    return text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, reference: Any) -> Iterator[dict[str, Any]]:
    """The app with the layout test's applications: the biggest item filled in up to its check
    page (not submitted), the small one submitted and accepted; an administrator signed in."""
    from argon2 import PasswordHasher, profiles

    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    db = tmp_path_factory.mktemp("words") / "words.db"
    app = create_app(REPO, db, reference.catalogue, clock=clk, sweep_seconds=0)
    svc = app.state.service
    with pytest.MonkeyPatch.context() as mp, TestClient(app, follow_redirects=False):
        mp.setattr(auth, "HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))  # as conftest's cheap_hashes
        for name, role, dept in ((ADMIN, "admin", None), (CLERK, "window", "realestate")):
            add_user(svc.db, name, role, dept, PASSWORD)
        applicant = TestClient(app, follow_redirects=False)
        draft = fill_sections(applicant, svc, BIGGEST)
        upload_everything(applicant, svc, draft, BIGGEST)
        number, done = _submitted(applicant, svc)
        svc.act(number, "accept", Actor(CLERK, "window", "realestate"), {}, 1)
        typed = [sample_application(svc.catalogue, svc.catalogue.items[c], {})[0] for c in (BIGGEST, SMALL)]
        typed.append(APPEAL)  # what support.pages.file_appeal types
        yield {
            "applicant": applicant,
            "admin": browser(app, ADMIN),
            "clerk": browser(app, CLERK),
            "number": number,
            "first_form": f"/apply/{BIGGEST}/applicant?draft={draft}",
            "materials": f"/apply/{BIGGEST}/materials?draft={draft}",
            "check": f"/apply/{BIGGEST}/check?draft={draft}",
            "done": done,
            "appeal": file_appeal(TestClient(app, follow_redirects=False)),
            "words": people_words(svc.catalogue, typed),
        }


def _submitted(applicant: TestClient, svc: Any) -> tuple[str, str]:
    """The small item applied for and submitted, then found with its query code (whose cookie
    opens its progress page): its number and the done page's address."""
    draft = fill_sections(applicant, svc, SMALL, {"realestate.certificate_copies": 2})
    upload_everything(applicant, svc, draft, SMALL)
    check = applicant.get(f"/apply/{SMALL}/check?draft={draft}")
    done = applicant.post(f"/apply/{SMALL}/submit", data={"csrf": csrf(check.text), "draft": draft})
    page = applicant.get(done.headers["location"]).text
    number = re.search(r'id="case-number">([A-Z0-9]+)<', page).group(1)  # type: ignore[union-attr]
    query_code = re.search(r'id="query-code">([0-9A-Z-]+)<', page).group(1)  # type: ignore[union-attr]
    find = applicant.get(f"/progress?number={number}")
    applicant.post("/progress", data={"csrf": csrf(find.text), "number": number, "query_code": query_code})
    return number, done.headers["location"]


def pages(s: dict[str, Any], lang: str) -> Iterator[tuple[str, str]]:
    """(name, html) of every page kind in ``lang``; the first page's ?lang= is remembered in the cookie."""
    visits = ((s["applicant"], public_pages(s)), (s["admin"], staff_pages(s)), (s["clerk"], clerk_pages(s)))
    for client, listed in visits:
        client.get(f"/?lang={lang}")
        for name, path in listed:
            r = client.get(path, follow_redirects=True)
            assert r.status_code in (200, 404), (name, r.status_code)
            yield name, r.text
        yield from _form_errors(client, lang) if client is s["applicant"] else ()


def _form_errors(client: TestClient, lang: str) -> Iterator[tuple[str, str]]:
    """The first page of the longest item sent empty: the error summary."""
    first = client.get(f"/apply/{LONGEST}")
    url = first.headers["location"].split("?")[0]
    page = client.get(first.headers["location"]).text
    r = client.post(url, data={"csrf": csrf(page)})
    assert r.status_code == 422
    yield "form-errors", r.text


#: texts other modules still say in both languages or in Chinese, each converted by the helper that
#: owns its file (issue 17); a text that no longer shows must be taken off this list
PENDING: dict[tuple[str, str], str] = {}  # (page, text) -> the file that still says it


def _found(site: dict[str, Any], lang: str, leftover_of: Any, seen: set[tuple[str, str]]) -> list[str]:
    found = []
    for name, page in pages(site, lang):
        for text in read(page):
            if (name, text) in PENDING:
                seen.add((name, text))
            elif leftover_of(text):
                found.append(f"{name}: {text!r}")
    return found


def test_chinese_pages_have_no_english_words(site: dict[str, Any]) -> None:
    seen: set[tuple[str, str]] = set()

    def english(text: str) -> bool:
        return bool(LATIN_WORD.search(leftover(ALLOWED_LATIN.sub(" ", text), site["words"])))

    found = _found(site, "zh_CN", english, seen)
    assert not found, "\n".join(found)
    assert seen == set(PENDING), f"fixed, take off PENDING: {set(PENDING) - seen}"


def test_english_pages_have_no_chinese_words(site: dict[str, Any]) -> None:
    seen: set[tuple[str, str]] = set()

    def chinese(text: str) -> bool:
        # before the catalogue's words (a citation whole) and after (a name in 《》 that is catalogue data)
        return bool(CJK.search(ALLOWED_CJK.sub(" ", leftover(ALLOWED_CJK.sub(" ", text), site["words"]))))

    found = _found(site, "en", chinese, seen)
    assert not found, "\n".join(found)
    assert seen == set(PENDING), f"fixed, take off PENDING: {set(PENDING) - seen}"
