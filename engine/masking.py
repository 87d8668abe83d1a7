"""Masking of personal data for public pages and open data (pure functions, no I/O).

Case announcements (办件公告) are public: they show the applicant of a legal person in
full, but never the personal data of a natural person. Every function here takes the
value as stored and returns the text that may be published; none raises, and ``None``
or blank input gives ``""``.

Names — :func:`mask_name`
-------------------------
Only ``applicant_type == "legal_person"`` (法人或其他组织, the value of ``applicant.type``
in ``forms/applicant.yaml``) is shown in full, trimmed. ``natural_person`` and *any other*
type — ``None``, a typo, a value a future form adds — is masked: a wrong guess must
publish too little, never too much.

A natural person's name is masked one ``*`` per hidden character, so the masked name
keeps the length of the original, as published 办件公示 lists do:

- Chinese names keep the first and the last character: 张三 → 张*, 张小三 → 张*三,
  欧阳小锋 → 欧**锋, 爱新觉罗溥仪 → 爱****仪. Two characters keep only the first, since
  first + last would be the whole name; a single character becomes ``*``.
- Compound surnames (欧阳, 司马, 诸葛 …) get no special treatment: 欧阳锋 → 欧*锋. Keeping
  the whole surname would need a surname list that cannot tell 欧阳 from 欧 + 阳, and it
  would show three characters of a four-character name.
- Names with a middle dot (ethnic minority and foreign names in Chinese script,
  阿卜杜·热合曼) follow the same rule over the whole name, and the dot stays:
  阿卜杜·热合曼 → 阿**·**曼. The variants people type (・ • ‧ ． and spaced dots) are
  written as ``·`` (U+00B7, the dot of the household register).
- A name with any CJK character is a Chinese-script name; whitespace inside it is
  typing noise and is dropped (张 三 → 张*).
- Latin-script names keep the initial of each word and mask the rest of it, words
  split at spaces and hyphens: John Smith → J*** S****, Jean-Luc Picard → J***-L** P*****.
  Initials are how Latin-script names are conventionally abbreviated, and the same
  one-``*``-per-letter convention as the Chinese rule keeps one shape for every name.
  Full-width letters are folded (NFKC) and runs of whitespace become one space.

Identifiers — :func:`mask_id`
-----------------------------
Resident ID numbers (GB 11643) hide the birth date, positions 7–14, as public credit
announcements (信用信息公示) do: 11010519491231002X → 110105********002X; old 15-digit
numbers hide positions 7–12 (yymmdd). A valid unified social credit code (GB 32100)
identifies an organisation and is public: shown in full. Anything else — including a
code with an ID number's shape but a wrong check character — is masked entirely.

Phones — :func:`mask_phone`
---------------------------
Mobile numbers keep the first 3 and the last 4 digits (138****8000, ``+86 `` kept when
given); landlines keep the area code and the last 4 digits (0452-****5678); any other
number keeps its last 4 digits.
"""

from __future__ import annotations

import re
import unicodedata

from engine.identifiers import valid_id_card, valid_uscc

#: applicant types shown in full; every other value is masked
PUBLIC_TYPES = frozenset({"legal_person"})

MASK = "*"

# Han ideographs (incl. extensions and compatibility forms), 々〇, kana and hangul (as engine.search)
_CJK = re.compile(
    "[\u3005\u3007\u3021-\u3029\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]"
)
# middle dots people type in Chinese-script names: · • ‧ ・ ･ and full stops (．, which NFKC makes "."),
# applied after NFKC (which also turns the Greek ano teleia into ·)
_DOTS = re.compile("\\s*[.\u00b7\u2022\u2027\u30fb\u2219\u22c5]\\s*")
_SPACE = re.compile(r"\s+")
_LATIN_SEPARATORS = frozenset(" -")

_MOBILE = re.compile(r"(\+?86)?(1[3-9][0-9])([0-9]{4})([0-9]{4})")
_LANDLINE = re.compile(r"\(?(0[12][0-9]|0[3-9][0-9]{2})\)?([1-9][0-9]{6,7})")
_ID18 = re.compile(r"[0-9]{17}[0-9X]")
_ID15 = re.compile(r"[0-9]{15}")


def mask_name(name: str | None, applicant_type: str | None) -> str:
    """The applicant's name as it may be published (see the module docstring for the rules)."""
    if not isinstance(name, str):
        return ""
    name = name.strip()
    if not name:
        return ""
    if applicant_type in PUBLIC_TYPES:
        return name
    name = unicodedata.normalize("NFKC", name)
    if _CJK.search(name):
        return _mask_chinese(name)
    return _mask_latin(name)


def _mask_chinese(name: str) -> str:
    parts = [_SPACE.sub("", part) for part in _DOTS.split(name)]
    text = "\u00b7".join(p for p in parts if p)
    letters = [i for i, ch in enumerate(text) if ch != "\u00b7"]
    if len(letters) <= 1:
        return "\u00b7".join(MASK * len(p) for p in text.split("\u00b7"))
    keep = {letters[0]} if len(letters) == 2 else {letters[0], letters[-1]}
    return "".join(ch if i in keep or ch == "\u00b7" else MASK for i, ch in enumerate(text))


def _mask_latin(name: str) -> str:
    text = _SPACE.sub(" ", name)
    out: list[str] = []
    initial = True  # the next character starts a word
    for ch in text:
        if ch in _LATIN_SEPARATORS:
            out.append(ch)
            initial = True
        elif initial:
            out.append(ch)
            initial = False
        else:
            out.append(MASK)
    return "".join(out)


def mask_id(value: object) -> str:
    """An identity document number as it may be published: ID numbers without their birth
    date, valid credit codes in full, anything else fully masked."""
    if value is None:
        return ""
    text = str(value).strip().upper()
    if not text:
        return ""
    if valid_id_card(text):
        return text[:6] + MASK * 8 + text[14:]
    if valid_uscc(text):
        return text
    if _ID18.fullmatch(text):  # an ID number with a typo is still somebody's ID number
        return text[:6] + MASK * 8 + text[14:]
    if _ID15.fullmatch(text):
        return text[:6] + MASK * 6 + text[12:]
    return MASK * len(text)


def mask_phone(value: object) -> str:
    """A phone number as it may be published: 138****8000, 0452-****5678, ****1234."""
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    compact = re.sub(r"[\s\-–—]", "", unicodedata.normalize("NFKC", text))
    m = _MOBILE.fullmatch(compact)
    if m:
        prefix = "+86 " if m.group(1) else ""
        return f"{prefix}{m.group(2)}{MASK * 4}{m.group(4)}"
    m = _LANDLINE.fullmatch(compact)
    if m:
        local = m.group(2)
        return f"{m.group(1)}-{MASK * (len(local) - 4)}{local[-4:]}"
    digits = [ch for ch in compact if ch.isdigit()]
    if len(digits) <= 4:
        return MASK * len(compact)
    return MASK * (len(digits) - 4) + "".join(digits[-4:])
