"""Full-text search over the catalogue's items (the home page search box).

``ItemIndex(catalogue)`` builds an SQLite FTS5 index in memory; ``search(query)``
returns ranked ``Hit``s. The catalogue is read-only configuration, so the index is
built once per loaded catalogue version and never updated in place.

Why bigrams and not the trigram tokenizer
-----------------------------------------
Chinese has no spaces, so a word tokenizer sees "建筑工程施工许可证核发" as one token
and "施工" could never match it. FTS5's trigram tokenizer fixes that for queries of
three or more characters, but most Chinese queries are one or two characters
(施工, 户口, 消防, 税): trigram MATCH finds nothing for them, and its LIKE/GLOB
fallback for short patterns is a scan of every row without bm25 ranking.

So we break words ourselves (in Python, once per build) into overlapping CJK bigrams
plus the last character of each run, "施工许可" -> ``施工 工许 许可 可``, and let
FTS5's ``ascii`` tokenizer merely split on those spaces (it treats every non-ASCII
character as part of a token, so it never re-splits our tokens). Every query is then
a plain, ranked MATCH:

- two or more characters -> the phrase of their bigrams, ``"施工 工许"``: consecutive
  bigrams exist only where the exact substring occurs, so this is substring search;
- one character -> the prefix query ``"税"*``: each occurrence of a character starts
  exactly one token (a bigram, or the run's final character), and ``prefix='1'``
  keeps that a direct index lookup.

Letters and digits (codes such as QQ-HOUSING-XK-003, "KTV") are word tokens; the last
one of a query word is a prefix, so results appear while the user types. Text is
NFKC-normalised and case-folded on both sides (full-width ＱＱ finds QQ). Query words
are separated by spaces or punctuation and ANDed. The user's text never reaches the
MATCH syntax: only our alphanumeric/CJK tokens are sent, each phrase double-quoted.

Ranking is bm25 with column weights (name first), ties broken by item code.
"""

from __future__ import annotations

import html
import operator
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from engine import stated
from engine.catalogue import Catalogue

#: longest query we look at; the rest is ignored (the home page caps input the same way)
MAX_QUERY = 100

#: (column, bm25 weight): a hit in the name outranks one in a keyword, theme or department
COLUMNS: tuple[tuple[str, float], ...] = (
    ("name", 10.0),
    ("short_name", 6.0),
    ("code", 5.0),
    ("keywords", 3.0),
    ("themes", 2.0),
    ("department", 2.0),
    # The result's name (结婚证, 不动产权证书): what people often search for. Material names are
    # left out on purpose: nearly every item asks for 身份证 or 营业执照, so indexing them makes
    # the commonest short queries match the whole catalogue.
    ("result", 1.0),
)

# Han ideographs (incl. extensions and compatibility forms), 々〇, kana and hangul:
# scripts written without spaces, so indexed as bigrams.
_CJK = "\u3005\u3007\u3021-\u3029\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff"
#: a query/text word: letters, digits and CJK, without underscore (unicode61-like word breaks)
_WORD = re.compile(rf"(?:[{_CJK}]|[^\W_])+")
#: a word's pieces: a CJK run (group 1) or a run of other letters/digits (group 2)
_PIECE = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")


@dataclass(frozen=True, slots=True)
class Hit:
    code: str
    #: FTS5 bm25 score; lower is better (negative numbers, as SQLite reports them)
    rank: float
    #: the item name, HTML-escaped, with matched text wrapped in <mark>…</mark>
    snippet: Markup


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _index_tokens(text: str) -> str:
    """Text as the space-separated tokens stored in the index."""
    out: list[str] = []
    for word in _WORD.findall(_fold(text)):
        for cjk, other in _PIECE.findall(word):
            if cjk:
                out.extend(map(operator.add, cjk, cjk[1:]))  # bigrams, at C speed
                out.append(cjk[-1])
            else:
                out.append(other)
    return " ".join(out)


def _phrase(word: str) -> str:
    """One query word (already folded) as a quoted FTS5 phrase, maybe a prefix query."""
    tokens: list[str] = []
    pieces = _PIECE.findall(word)
    prefix = False
    for i, (cjk, other) in enumerate(pieces):
        last = i == len(pieces) - 1
        if cjk:
            tokens.extend(map(operator.add, cjk, cjk[1:]))
            # In the index a run ends with its last character as a token. Inside the query
            # word the run's end is known (letters follow), so that token must be there too;
            # at the end of the word the text may go on, so the bigrams alone are the match.
            if not last or len(cjk) == 1:
                tokens.append(cjk[-1])
            prefix = last and len(cjk) == 1
        else:
            tokens.append(other)
            prefix = last
    # tokens are letters, digits and CJK only: nothing in them can be FTS5 syntax
    return '"' + " ".join(tokens) + '"' + ("*" if prefix else "")


def _words(query: str) -> list[str]:
    return _WORD.findall(_fold(query[:MAX_QUERY]))


def highlight(name: str, words: Iterable[str]) -> Markup:
    """``name`` HTML-escaped, with each occurrence of the folded ``words`` in <mark>."""
    # Fold character by character so every folded position maps back to its source
    # character (NFKC and case folding may change lengths: ＱＱ, ß).
    folded: list[str] = []
    source: list[int] = []
    for i, ch in enumerate(name):
        f = _fold(ch)
        folded.append(f)
        source.extend([i] * len(f))
    hay = "".join(folded)
    marked = [False] * len(name)
    for word in words:
        start = hay.find(word)
        while start != -1 and word:
            for j in range(start, start + len(word)):
                marked[source[j]] = True
            start = hay.find(word, start + 1)
    parts: list[str] = []
    i = 0
    while i < len(name):
        j = i
        while j < len(name) and marked[j] == marked[i]:
            j += 1
        text = html.escape(name[i:j])
        parts.append(f"<mark>{text}</mark>" if marked[i] else text)
        i = j
    return Markup("".join(parts))


class ItemIndex:
    """A full-text index of one catalogue version's items, held in an in-memory SQLite database."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.version = catalogue.version
        depts: dict[str, str] = {}
        for dept in (catalogue.center or {}).get("departments", []):
            depts[dept["id"]] = f"{dept.get('name', '')} {dept.get('short_name', '')}"
        items = [d for d in (catalogue.data(doc) for doc in catalogue.items.values()) if isinstance(d, dict)]
        items.sort(key=lambda d: str(d["code"]))
        # rowid i+1 is self._items[i]; rows are inserted in code order, so ORDER BY rowid
        # after the score is the tie-break by code without storing the code again.
        self._items: list[tuple[str, str]] = [(str(d["code"]), str(d["name"])) for d in items]
        # Department names, material names and themes repeat across items: tokenise each once.
        memo: dict[str, str] = {}

        def tok(*texts: Any) -> str:
            out = []
            for t in texts:
                if isinstance(t, str) and t:
                    v = memo.get(t)
                    if v is None:
                        v = memo[t] = _index_tokens(t)
                    out.append(v)
            return " ".join(out)

        rows = [
            (
                n,
                tok(d["name"]),
                tok(d.get("short_name")),
                tok(d["code"]),
                tok(*d.get("keywords", ())),
                tok(*d.get("themes", ())),
                tok(depts.get(d["department"], "")),
                tok(stated.section(d, "result").get("name")),
            )
            for n, d in enumerate(items, start=1)
        ]
        names = ", ".join(c for c, _ in COLUMNS)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()  # one connection shared by the server's threads
        # content='': we never read the text back (snippets are made in Python), so don't store it.
        self._db.execute(f"CREATE VIRTUAL TABLE item_fts USING fts5({names}, content='', tokenize='ascii', prefix='1')")
        with self._db:
            self._db.executemany(f"INSERT INTO item_fts(rowid, {names}) VALUES (?{', ?' * len(COLUMNS)})", rows)
        weights = ", ".join(str(w) for _, w in COLUMNS)
        self._sql = (
            f"SELECT rowid, bm25(item_fts, {weights}) AS score FROM item_fts "
            "WHERE item_fts MATCH ? ORDER BY score, rowid LIMIT ?"
        )

    def __len__(self) -> int:
        return len(self._items)

    def search(self, query: str, limit: int = 50) -> list[Hit]:
        """Items matching every word of ``query``, best first; [] for a blank query or no match."""
        words = _words(query)
        if not words or limit <= 0:
            return []
        expr = " AND ".join(_phrase(w) for w in words)
        with self._lock:
            rows = self._db.execute(self._sql, (expr, limit)).fetchall()
        hits = []
        for rowid, score in rows:
            code, name = self._items[rowid - 1]
            hits.append(Hit(code, float(score), highlight(name, words)))
        return hits

    def close(self) -> None:
        self._db.close()
