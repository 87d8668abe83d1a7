"""Data-quality rules: warnings about an item that is valid but probably not what the law or the
guide says (``engine.base.result.WARNING_KINDS``; ``yangguang check --strict`` makes them errors).

- ``licence-decider``: an item whose outcome is an authority's decision — a licence (行政许可法第三十七、
  三十八条: the authority decides in writing, and a refusal gives its reasons), a ruling (行政裁决) or a
  payment of public money (行政给付) — with custom steps of which none has the role ``decider``. The
  engine records the decision (``decide``: approve or deny) at the decider's step (engine.rules.cases); without
  one a case can be completed with no decision recorded. A ``head`` step does not count: the head
  approves extensions (Art. 42), the decision is the decider's. Confirmations are left out (a registrar
  often examines and registers on the spot: 婚姻登记条例第七条), as are filings and public services.
- ``step-role``: a step whose kind of work — known from its id or name (受理, 承办, 审核, 批准, 办结,
  发证, 核查…) — is none its role does: a ``review`` given to the undertaker who did the work under
  review, a decision given to a reviewer. A step whose kind is not known is not judged.
- ``natural-days``: a licence limit in natural days with no ``time_limit.legal_basis`` naming a law
  other than the Licensing Law, which counts its own limits in working days (第八十二条). A limit a
  regulation sets in 日 is counted as it says, and the basis shows which.
- ``note-contradiction``: a note that says the opposite of the field beside it: a special procedure
  whose note says it is not counted (不计入…时限) while ``counts_toward_limit`` is true, or counted while
  false; a material whose note begins 无需原件 (复印件, 纸质) while it asks for originals (copies, paper);
  a limit whose note says it counts in 自然日 while its unit is working days, or the reverse.

Pure: one item's data in, findings out (engine.check.crossref runs it with each item's cross-references,
so the check cache keeps its findings with theirs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from engine.base import stated
from engine.base.result import Finding, Path

#: item types whose outcome is a decision someone must record (see the module's docstring)
DECISION_TYPES = {"license": "licence (行政许可)", "ruling": "ruling (行政裁决)", "payment": "payment (行政给付)"}

#: kind of work -> (what it is called, the roles that may do it, the role whose work it is first). A
#: higher role may review or decide; nobody reviews their own undertaking; acceptance is the window's
#: (or a department's undertaker's).
WORK: dict[str, tuple[str, tuple[str, ...]]] = {
    "accept": ("acceptance (受理)", ("window", "undertaker")),
    "undertake": ("undertaking (承办)", ("undertaker", "window")),
    "review": ("a review (审核)", ("reviewer", "decider", "head")),
    "decide": ("a decision (批准)", ("decider", "head")),
    "inspect": ("an inspection (现场核查)", ("inspector", "undertaker", "reviewer")),
    "issue": ("issuing the result (发证)", ("issuer", "window")),
    "complete": ("completion (办结)", ("window", "issuer", "undertaker")),
}

#: words of a step id (split at _ and -) that name its kind of work
ID_WORDS = {
    "accept": "accept",
    "undertake": "undertake",
    "review": "review",
    "decide": "decide",
    "approve": "decide",
    "inspect": "inspect",
    "investigate": "inspect",
    "survey": "inspect",
    "issue": "issue",
    "deliver": "issue",
    "complete": "complete",
}
#: words in a step name that name its kind of work (审查 and 确认 are left out: either may be an
#: undertaker's examination or a decision)
NAME_WORDS: dict[str, tuple[str, ...]] = {
    "accept": ("受理", "收件", "接件"),
    "undertake": ("承办",),
    "review": ("审核", "复核"),
    "decide": ("批准", "决定", "审批", "核准", "准予"),
    "inspect": ("核查", "勘查", "踏勘", "查勘", "勘验", "实地", "入户", "现场检查", "现场审核", "现场评定", "现场查验"),
    "issue": ("发证", "核发", "颁发", "制发", "送达", "出具", "发放"),
    "complete": ("办结",),
}

_WORD_KIND = {word: kind for kind, words in NAME_WORDS.items() for word in words}
_NAME_WORD = re.compile("|".join(sorted(_WORD_KIND, key=len, reverse=True)))  # 现场审核 before 审核
_ID_SPLIT = re.compile(r"[_\-0-9]+")

LICENSING_LAW = "行政许可法"

# a special procedure's note: not counted toward the limit / counted. 是否计入 asks, it does not say.
_NOT_COUNTED = re.compile(r"不(?:计入|计算在|计算于|占用|计时)|(?<!不)(?:暂停|中止|停止)(?:本事项)?计时")
_COUNTED = re.compile(
    r"(?<![不否])计入|(?<![不否])计算在[^，,。；;]*时限内|不(?:暂停|中止)(?:本事项)?计时|(?<!不)包含在[^，,。；;]*时限内"
)
# a material's note that begins a sentence by saying the thing is not needed (…的免交原件 is a condition)
_NO_NEED = r"(?:无需|无须|不需|不需要|免交|免于提交|无需提交|无需提供)"
_MATERIAL_SAYS = (
    ("originals", re.compile(_NO_NEED + r"(?:提交|提供)?原件"), "originals: 0", "no originals are"),
    ("copies", re.compile(_NO_NEED + r"(?:提交|提供)?复印件"), "copies: 0", "no copies are"),
    ("paper", re.compile(_NO_NEED + r"(?:提交|提供)?纸质"), "paper: false", "no paper copy is"),
)
_SENTENCE = re.compile(r"[。；;！!？?\n]")
# a limit's note that says how it counts: 按自然日计, 以工作日计, 按自然日从严计
_COUNTS_IN = re.compile(r"[按以](自然日|工作日)(?:从严)?计")


def item(file: str, data: Mapping[str, Any]) -> list[Finding]:
    """Every data-quality warning of one schema-valid item."""
    return list(_item(file, data))


def _item(file: str, data: Mapping[str, Any]) -> Iterator[Finding]:
    steps = data.get("steps", "standard")
    if steps != "standard":
        yield from _decider(file, data, steps)
        for i, step in enumerate(steps):
            yield from _step_role(file, i, step)
    yield from _natural_days(file, data)
    yield from _notes(file, data)


def _decider(file: str, data: Mapping[str, Any], steps: list[dict[str, Any]]) -> Iterator[Finding]:
    what = DECISION_TYPES.get(data["type"])
    if what is None or any(step["role"] == "decider" for step in steps):
        return
    law = " (行政许可法第三十七、三十八条)" if data["type"] == "license" else ""
    head = (
        " (a step of the head does not count: the engine records the decision at the decider's step, "
        "the head approves extensions)"
        if any(step["role"] == "head" for step in steps)
        else ""
    )
    yield Finding(
        file,
        ("steps",),
        "licence-decider",
        f"this {what} item has no deciding step: no step has the role decider{head}, so a case can be "
        f"completed without a decision to grant or refuse being recorded{law}; add one, e.g. "
        "{id: decide, name: 批准, role: decider, limit: …}, keeping the steps within the promised limit",
        on_key=True,
    )


def work_of(step: Mapping[str, Any]) -> set[str]:
    """The kinds of work a step's id and name say it is (empty when they say none)."""
    kinds = {ID_WORDS[w] for w in _ID_SPLIT.split(str(step["id"])) if w in ID_WORDS}
    kinds.update(_WORD_KIND[m.group()] for m in _NAME_WORD.finditer(str(step["name"])))
    return kinds


def _step_role(file: str, i: int, step: Mapping[str, Any]) -> Iterator[Finding]:
    kinds = sorted(work_of(step), key=list(WORK).index)
    role = step["role"]
    allowed = list(dict.fromkeys(r for kind in kinds for r in WORK[kind][1]))
    if not kinds or role in allowed:
        return
    work = " and ".join(WORK[kind][0] for kind in kinds)
    roles = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
    own = next((kind for kind, (_, doers) in WORK.items() if doers[0] == role), None)
    other = (
        f"if it is {WORK[own][0]}, give the step the id {own} and a name that says so"
        if own is not None
        else "if it is other work, give the step an id and a name that say what it is"
    )
    yield Finding(
        file,
        ("steps", i, "role"),
        "step-role",
        f"step {step['id']!r} ({step['name']}) is {work}, which the role {role} does not do; give it to "
        f"{roles} — or, {other}",
    )


def _other_law(basis: Any) -> bool:
    """Whether a basis names a law or regulation other than the Licensing Law (which counts working days)."""
    return isinstance(basis, list) and any(
        isinstance(ref, dict) and LICENSING_LAW not in str(ref.get("law", "")) for ref in basis
    )


def _natural_days(file: str, data: Mapping[str, Any]) -> Iterator[Finding]:
    if data["type"] != "license":
        return
    tl = data["time_limit"]
    if _other_law(tl.get("legal_basis")):
        return
    limits: list[tuple[Path, Any, str]] = [
        (("time_limit", "legal"), tl.get("legal"), "legal limit"),
        (("time_limit", "promised"), tl.get("promised"), "promised limit"),
    ]
    ext = tl.get("extension")
    if isinstance(ext, dict) and not _other_law(ext.get("basis")):
        limits.append((("time_limit", "extension", "limit"), ext.get("limit"), "extension"))
    cited = " (time_limit.legal_basis cites the Licensing Law itself)" if tl.get("legal_basis") else ""
    for path, duration, what in limits:
        if _unit(duration) == "natural_day":
            yield Finding(
                file,
                (*path, "unit"),
                "natural-days",
                f"the {what} of this licence is in natural days, but the Licensing Law counts its limits in "
                f"working days, without statutory holidays (行政许可法第八十二条){cited}; write unit: working_day "
                "— or, where another law or regulation sets this limit in days, cite it in time_limit.legal_basis",
            )


def _notes(file: str, data: Mapping[str, Any]) -> Iterator[Finding]:
    for i, proc in enumerate(data.get("special_procedures", [])):
        note = proc.get("note", "")
        said_not, said = bool(_NOT_COUNTED.search(note)), bool(_COUNTED.search(note))
        counts = proc["counts_toward_limit"]
        if said_not != said and said_not == counts:
            says = "is not counted toward the time limit" if said_not else "counts toward the time limit"
            fix = "false (the clock pauses while it runs)" if said_not else "true (the clock runs on)"
            yield Finding(
                file,
                ("special_procedures", i, "counts_toward_limit"),
                "note-contradiction",
                f"the note of special procedure {proc['name']!r} says it {says}, but counts_toward_limit is "
                f"{str(counts).lower()}; set counts_toward_limit: {fix}, or reword the note",
            )
    for i, mat in enumerate(stated.materials(data)):  # none when the guide does not state them (未说明)
        note = mat.get("note")
        if not note or not ("原件" in note or "复印件" in note or "纸质" in note):
            continue  # most materials: nothing to read (a cold check reads every item)
        sentences = [s.strip() for s in _SENTENCE.split(note)]
        for key, pattern, value, noun in _MATERIAL_SAYS:
            asked = mat.get(key, 0)
            if not isinstance(asked, bool | int):  # a count the guide does not state is no count
                continue
            if asked and any(pattern.match(s) for s in sentences):
                yield Finding(
                    file,
                    ("materials", i, key),
                    "note-contradiction",
                    f"the note of material {mat['id']!r} says {noun} needed, but {key} is "
                    f"{str(asked).lower()}; write {value}, or reword the note (a condition, such as "
                    "'共享获取的免交原件', is fine)",
                )
    for path, duration in _durations(data):
        counted = {m.group(1) for m in _COUNTS_IN.finditer(duration["note"])}
        unit = {"自然日": "natural_day", "工作日": "working_day"}
        if len(counted) == 1:
            (word,) = counted
            if _unit(duration) in unit.values() and _unit(duration) != unit[word]:
                yield Finding(
                    file,
                    (*path, "unit"),
                    "note-contradiction",
                    f"the note says this limit counts in {word} ({unit[word]}), but its unit is "
                    f"{duration['unit']}; make the unit and the note agree",
                )


def _unit(duration: Any) -> Any:
    return duration.get("unit") if isinstance(duration, dict) else None


def _durations(data: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every limit of an item that carries a note."""
    tl = data["time_limit"]
    ext = tl.get("extension")
    found: list[tuple[Path, Any]] = [
        (("time_limit", "legal"), tl.get("legal")),
        (("time_limit", "promised"), tl.get("promised")),
        (("time_limit", "extension", "limit"), ext.get("limit") if isinstance(ext, dict) else None),
    ]
    steps = data.get("steps", "standard")
    found += [
        (("steps", i, "limit"), step.get("limit")) for i, step in enumerate(steps if isinstance(steps, list) else ())
    ]
    found += [
        (("special_procedures", i, "max"), p.get("max")) for i, p in enumerate(data.get("special_procedures", []))
    ]
    for path, duration in found:
        if isinstance(duration, dict) and isinstance(duration.get("note"), str):
            yield path, duration
