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

Chains (一件事) are indexed beside items: name, id, keywords, and their description and stage
names as body text. A hit says which it is (``Hit.kind``).

Ranking: tiers first, then items before chains, then bm25 with column weights, then code.
Every match is put in the first tier that explains it:

0. the query is the name (or short name);       1. the name starts with the query;
2. the name contains every query word;           3. name, keywords and code hold every word;
4. as 3, once a word is rewritten by a synonym;  5. pinyin or pinyin initials of the name or keywords;
6. body text (department, themes, result name, a chain's description);  7. body text, by a synonym.

Synonyms (engine.catalogue.synonyms, the center's search/synonyms.yaml) rewrite a query word holding one
word of a group with each other word of it (房产证 -> 不动产权证书); the rewritten forms are ORed.

Pinyin: an all-Latin query is also looked up in a second FTS5 table holding, for every Chinese
run of a name, short name or keyword, the pinyin from each syllable on and the initials from each
syllable on (建筑工程: ``jianzhugongcheng zhugongcheng … jzgc zgc gc c``), each cut to
``PINYIN_TOKEN`` letters. A query ``jianzhu`` or ``jzgc`` is one prefix lookup there: it matches
from the start of any syllable, never from the middle of one. Computed once, when the index is built.
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

from engine.base import pinyin, stated
from engine.catalogue.model import Catalogue
from engine.catalogue.synonyms import Expander

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
    # a chain's description and stage names (items leave it empty)
    ("body", 1.0),
)

#: the pinyin index's tokens are cut to this many letters; a longer query is cut the same way
PINYIN_TOKEN = 24
#: most matches any one lookup returns (best bm25 first) before the tiers sort them
CANDIDATES = 1000
#: a Latin query of only letters, which may be pinyin
_LATIN = re.compile(r"[a-z]+")

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
    #: the item (or chain) name, HTML-escaped, with matched text wrapped in <mark>…</mark>
    snippet: Markup
    #: "item", or "chain" for an approval chain (一件事; ``code`` is then its id)
    kind: str = "item"
    #: the ranking tier that explains the match (see the module docstring); lower is better
    tier: int = 0


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


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str
    code: str
    name: str
    #: the folded name's words, and the short name's: an exact-name query equals one of them
    exact: tuple[tuple[str, ...], ...]
    #: folded name and short name, one per line
    names: str
    #: folded name, short name, code and keywords, one per line: what tiers 3 and 4 look in
    near: str


def _pinyin_tokens(text: str) -> tuple[str, str]:
    """The pinyin index's two columns for ``text``: from-each-syllable pinyin, and initials."""
    full: list[str] = []
    initials: list[str] = []
    for cjk, _ in _PIECE.findall(_fold(text)):
        syl = pinyin.syllables(cjk) if cjk else []
        for i in range(len(syl)):
            full.append("".join(syl[i:])[:PINYIN_TOKEN])
            initials.append("".join(x[0] for x in syl[i : i + PINYIN_TOKEN]))
    return " ".join(full), " ".join(initials)


class ItemIndex:
    """A full-text index of one catalogue version's items and chains, in an in-memory SQLite database."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.version = catalogue.version
        depts: dict[str, str] = {}
        for dept in (catalogue.center or {}).get("departments", []):
            depts[dept["id"]] = f"{dept.get('name', '')} {dept.get('short_name', '')}"
        items = [d for d in (catalogue.data(doc) for doc in catalogue.items.values()) if isinstance(d, dict)]
        items.sort(key=lambda d: str(d["code"]))
        chains = [d for d in (catalogue.data(doc) for doc in catalogue.chains.values()) if isinstance(d, dict)]
        chains.sort(key=lambda d: str(d["id"]))
        self.synonyms = Expander(catalogue.synonyms)
        # rowid i+1 is self._entries[i]; rows are inserted in code order, so ORDER BY rowid
        # after the score is the tie-break by code without storing the code again.
        self._entries: list[_Entry] = []
        # Department names, material names and themes repeat across items: tokenise each once.
        memo: dict[str, str] = {}
        pinyin_memo: dict[str, tuple[str, str]] = {}

        def tok(*texts: Any) -> str:
            out = []
            for t in texts:
                if isinstance(t, str) and t:
                    v = memo.get(t)
                    if v is None:
                        v = memo[t] = _index_tokens(t)
                    out.append(v)
            return " ".join(out)

        def py(*texts: Any) -> tuple[str, str]:
            full, initials = [], []
            for t in texts:
                if isinstance(t, str) and t:
                    v = pinyin_memo.get(t)
                    if v is None:
                        v = pinyin_memo[t] = _pinyin_tokens(t)
                    full.append(v[0])
                    initials.append(v[1])
            return " ".join(full), " ".join(initials)

        rows = []
        pinyin_rows = []
        for kind, docs in (("item", items), ("chain", chains)):
            for d in docs:
                code = str(d["code"] if kind == "item" else d["id"])
                name, short = str(d["name"]), d.get("short_name")
                keywords = [k for k in d.get("keywords", ()) if isinstance(k, str)]
                short_f = _fold(short) if isinstance(short, str) else ""
                exact = (tuple(_words(name)),) + ((tuple(_words(short)),) if isinstance(short, str) else ())
                names = f"{_fold(name)}\n{short_f}"
                self._entries.append(
                    _Entry(kind, code, name, exact, names, "\n".join([names, _fold(code), *map(_fold, keywords)]))
                )
                n = len(self._entries)
                if kind == "item":
                    themes, dept = tok(*d.get("themes", ())), tok(depts.get(d["department"], ""))
                    result = tok(stated.section(d, "result").get("name"))
                    rows.append((n, tok(name), tok(short), tok(code), tok(*keywords), themes, dept, result, ""))
                else:
                    stages = [st.get("name") for st in d.get("stages", ()) if isinstance(st, dict)]
                    body = tok(d.get("description"), *stages)
                    rows.append((n, tok(name), "", tok(code), tok(*keywords), "", "", "", body))
                pinyin_rows.append((n, *py(name, short, *keywords)))
        names = ", ".join(c for c, _ in COLUMNS)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()  # one connection shared by the server's threads
        # content='': we never read the text back (snippets are made in Python), so don't store it.
        self._db.execute(f"CREATE VIRTUAL TABLE item_fts USING fts5({names}, content='', tokenize='ascii', prefix='1')")
        self._db.execute("CREATE VIRTUAL TABLE pinyin_fts USING fts5(full, initials, content='', tokenize='ascii')")
        with self._db:
            self._db.executemany(f"INSERT INTO item_fts(rowid, {names}) VALUES (?{', ?' * len(COLUMNS)})", rows)
            self._db.executemany("INSERT INTO pinyin_fts(rowid, full, initials) VALUES (?, ?, ?)", pinyin_rows)
        weights = ", ".join(str(w) for _, w in COLUMNS)
        self._sql = (
            f"SELECT rowid, bm25(item_fts, {weights}) AS score FROM item_fts "
            "WHERE item_fts MATCH ? ORDER BY score, rowid LIMIT ?"
        )
        self._pinyin_sql = (
            "SELECT rowid, bm25(pinyin_fts) AS score FROM pinyin_fts "
            "WHERE pinyin_fts MATCH ? ORDER BY score, rowid LIMIT ?"
        )

    def __len__(self) -> int:
        return len(self._entries)

    def _tier(self, entry: _Entry, words: list[str], forms: list[list[str]] | None) -> int:
        """The best tier (module docstring) for an entry the full-text index matched: by the words as
        typed (``forms`` None), or through synonyms (``forms``: each word and its rewritten forms)."""
        if forms is None:
            if tuple(words) in entry.exact:
                return 0
            if all(w in entry.names for w in words):
                return 1 if any(line.startswith(words[0]) for line in entry.names.split("\n")) else 2
            return 3 if all(w in entry.near for w in words) else 6
        return 4 if all(any(f in entry.near for f in alts) for alts in forms) else 7

    def search(self, query: str, limit: int = 50) -> list[Hit]:
        """Items and chains matching every word of ``query``, best first; [] for a blank query or no match."""
        words = _words(query)
        if not words or limit <= 0:
            return []
        marks = list(words)
        # (statement, MATCH expression, synonym forms or None; "pinyin" for the pinyin table)
        lookups: list[tuple[str, str, list[list[str]] | str | None]] = [
            (self._sql, " AND ".join(map(_phrase, words)), None)
        ]
        forms = [[w, *self.synonyms.variants(w)] for w in words] if self.synonyms else []
        if any(len(f) > 1 for f in forms):
            marks += [v for f in forms for v in f[1:]]
            expr = " AND ".join("(" + " OR ".join(map(_phrase, f)) + ")" for f in forms)
            lookups.append((self._sql, expr, forms))
        latin = "".join(words)
        if len(latin) >= 2 and all(_LATIN.fullmatch(w) for w in words):
            lookups.append((self._pinyin_sql, f'"{latin[:PINYIN_TOKEN]}"*', "pinyin"))
        with self._lock:
            results = [(self._db.execute(sql, (expr, CANDIDATES)).fetchall(), how) for sql, expr, how in lookups]
        found: dict[int, tuple[int, float]] = {}  # rowid -> (best tier, bm25 of the lookup that gave it)
        for rows, how in results:
            for rowid, score in rows:
                synonym_forms = how if isinstance(how, list) else None
                tier = 5 if how == "pinyin" else self._tier(self._entries[rowid - 1], words, synonym_forms)
                if rowid not in found or tier < found[rowid][0]:
                    found[rowid] = (tier, float(score))
        ranked = sorted(found.items(), key=lambda r: (r[1][0], self._entries[r[0] - 1].kind != "item", r[1][1], r[0]))
        hits = []
        for rowid, (tier, score) in ranked[:limit]:
            e = self._entries[rowid - 1]
            hits.append(Hit(e.code, score, highlight(e.name, marks), e.kind, tier))
        return hits

    def close(self) -> None:
        self._db.close()
