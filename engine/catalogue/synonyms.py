"""The center's search synonyms (search/synonyms.yaml): groups of words that stand for each other.

People search for 房产证 when the register says 不动产权证书, for 建设工程 when the item says
建筑工程. An everyday name of one item goes into that item's ``keywords``; a word that many items
and chains share an official and an everyday form of goes here, once for the whole center. A
lower-level catalogue may keep its own file: its groups join its parent's (``Expander`` merges
groups that share a word), so a county adds local words without copying the city's list.

The file is parsed by engine.catalogue.yaml_policy and validated against schema/synonyms.schema.json like
every catalogue file; ``check`` adds what a schema cannot say (a word twice in a group, or in two
groups), so ``yangguang check`` reports it with its line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from engine.base.result import Finding

__all__ = ["Expander", "check", "fold"]


# as engine.supervision.search: letters, digits and CJK are what a search matches; the rest separates words
_WORD = re.compile(r"[^\W_]+")
#: a query word yields at most this many rewritten forms (a word holding several synonyms)
MAX_VARIANTS = 12


def fold(term: str) -> str:
    """A synonym as the search compares it: NFKC, case-folded, without spaces or punctuation."""
    return "".join(_WORD.findall(unicodedata.normalize("NFKC", term).casefold()))


def check(file: str, data: dict[str, Any]) -> list[Finding]:
    """Problems a schema cannot see: a word with nothing to search for, repeated in its group, or in two groups."""
    out: list[Finding] = []
    seen: dict[str, tuple[int, int]] = {}  # folded word -> (group, index) where it first appears
    for g, group in enumerate(data.get("groups", [])):
        for i, term in enumerate(group.get("terms", [])):
            path = ("groups", g, "terms", i)
            key = fold(term)
            if not key:
                why = f"{term!r} has no letters or characters a search could match; write the word itself"
                out.append(Finding(file, path, "synonym", why))
                continue
            if key in seen:
                first_g, first_i = seen[key]
                where = "this group" if first_g == g else f"group {first_g + 1}"
                what = "remove one of them" if first_g == g else "merge the two groups into one, or remove it from one"
                out.append(
                    Finding(
                        file,
                        path,
                        "synonym",
                        f"{term!r} is already in {where} (terms[{first_i}]); {what}",
                        related=((file, ("groups", first_g, "terms", first_i), "first"),),
                    )
                )
                continue
            seen[key] = (g, i)
    return out


class Expander:
    """Rewrites a query word with the other words of each synonym group it contains."""

    def __init__(self, groups: Iterable[Iterable[str]]) -> None:
        parent: dict[str, str] = {}

        def root(t: str) -> str:
            while parent[t] != t:
                parent[t] = parent[parent[t]]
                t = parent[t]
            return t

        for group in groups:  # union-find: a county's group sharing a word with the city's joins it
            terms = [k for k in map(fold, group) if k]
            for t in terms:
                parent.setdefault(t, t)
            for t in terms[1:]:
                parent[root(t)] = root(terms[0])
        members: dict[str, list[str]] = {}
        for t in parent:
            members.setdefault(root(t), []).append(t)
        #: folded word -> the other words of its group; longest words first, so 不动产权证书 is
        #: tried before a shorter word inside it
        self.alternatives: dict[str, list[str]] = {
            t: sorted((u for u in members[root(t)] if u != t), key=lambda u: (-len(u), u)) for t in parent
        }
        self._by_length = sorted(self.alternatives, key=lambda t: (-len(t), t))

    def __bool__(self) -> bool:
        return bool(self.alternatives)

    def variants(self, word: str) -> list[str]:
        """``word`` (folded) with a synonym inside it replaced by each other word of its group."""
        out: list[str] = []
        taken: list[tuple[int, int]] = []  # spans already rewritten by a longer synonym
        for term in self._by_length:
            at = word.find(term)
            if at < 0 or any(a < at + len(term) and at < b for a, b in taken):
                continue
            taken.append((at, at + len(term)))
            for alt in self.alternatives[term]:
                form = word[:at] + alt + word[at + len(term) :]
                if form != word and form not in out:
                    out.append(form)
                if len(out) >= MAX_VARIANTS:
                    return out
        return out
