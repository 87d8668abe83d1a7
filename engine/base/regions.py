"""Administrative divisions (行政区划) down to county level, from the shipped code list
``engine/web/static/regions.tsv`` (its header says where it comes from and how it was extracted).

A form field of type ``area`` stores the six-digit code of a county-level division (a county,
district or county-level city; a prefecture-level city without counties, such as 441900 东莞市, is
chosen itself). People read its name: ``name("230202")`` is 黑龙江省齐齐哈尔市龙沙区. A field's
``within`` (a province or city code) narrows the choice. Nothing here prints.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from engine.base.i18n import N_

# in static/ so that portal.js reads the very same file (/static/regions.tsv) for its linked selects; named
# from the top package so that reading data does not import engine.web (this module is a leaf)
DATA = Path(str(files("engine") / "web" / "static" / "regions.tsv"))
# placeholder levels of the code list that are not part of a place's name
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    parent: str  # "" for a province


@dataclass(frozen=True, slots=True)
class Regions:
    by_code: Mapping[str, Region]
    children: Mapping[str, tuple[Region, ...]]  # parent code ("" for the provinces) -> its divisions

    def level(self, code: str) -> str:
        """province, city or county ("" for an unknown code)."""
        region = self.by_code.get(code)
        if region is None:
            return ""
        if not region.parent:
            return "province"
        return "county" if self.by_code[region.parent].parent else "city"

    def selectable(self, code: str) -> bool:
        """A code an ``area`` field may hold: a county-level division, or a city that has none."""
        level = self.level(code)
        return level == "county" or (level == "city" and not self.children.get(code))

    def path(self, code: str) -> list[Region]:
        """Province first, down to ``code`` itself (empty for an unknown code)."""
        out: list[Region] = []
        region = self.by_code.get(code)
        while region is not None:
            out.insert(0, region)
            region = self.by_code.get(region.parent) if region.parent else None
        return out

    def name(self, code: str) -> str:
        """The full name a person reads (黑龙江省齐齐哈尔市龙沙区); the code itself when unknown."""
        parts = [r.name for r in self.path(code) if r.name not in _PLACEHOLDERS]
        return "".join(parts) or code

    def within(self, code: str, scope: str) -> bool:
        return any(r.code == scope for r in self.path(code))

    def province_of(self, code: str) -> str:
        path = self.path(code)
        return path[0].code if path else ""


def _load(path: Path) -> Regions:
    by_code: dict[str, Region] = {}
    children: dict[str, list[Region]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, name, parent = [*line.split("\t"), "", ""][:3]
        region = Region(code, name, parent)
        by_code[code] = region
        children.setdefault(parent, []).append(region)
    return Regions(by_code, {k: tuple(v) for k, v in children.items()})


@functools.cache
def regions() -> Regions:
    """The shipped code list, read once."""
    return _load(DATA)


SHOWN = 20
"""Characters of a typed value an error quotes back (a pasted essay is not echoed whole)."""


def _quoted(value: str) -> str:
    return value if len(value) <= SHOWN else value[:SHOWN] + "…"


def problem_words(value: str, label: str, within: str | None = None) -> tuple[str, dict[str, str]] | None:
    """Why ``value`` cannot be the answer to an ``area`` field: a catalogue msgid that says what to do and
    its parameters (pages translate it, engine.rules.forms.FieldError); None if it can."""
    data = regions()
    if data.level(value) == "":
        words = N_("%(label)s“%(value)s”不是有效的行政区划代码，请从列表中选择省、市、县（区）")
        return words, {"label": label, "value": _quoted(value)}
    if within and not data.within(value, within):
        return N_("%(label)s须在%(region)s范围内，请重新选择"), {"label": label, "region": data.name(within)}
    if not data.selectable(value):
        return N_("%(label)s已选择%(region)s，请继续选择到县（区）"), {"label": label, "region": data.name(value)}
    return None


def problem(value: str, label: str, within: str | None = None) -> str | None:
    """Why ``value`` cannot be the answer to an ``area`` field, in Chinese words that say what to do; None if it can."""
    found = problem_words(value, label, within)
    return None if found is None else found[0] % found[1]


def answer(value: object) -> dict[str, str] | None:
    """``{"code", "name"}`` of a stored answer for API readers (None when it is not a known code)."""
    if not isinstance(value, str) or not regions().level(value):
        return None
    return {"code": value, "name": regions().name(value)}
