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

Identifiers anywhere in free text — :func:`mask_text`
------------------------------------------------------
The one masking step every public output takes (announcement pages, CSV and JSON, the
monthly rankings, the open-data file): whatever field a person typed into, an identifier
inside it is masked where it stands and the rest of the text is kept. Found, with the
boundary rule that an identifier never starts or ends inside a longer run of letters and
digits (so case numbers such as QQIQIHAR20260302000001, item codes such as
QQ-HOUSING-XK-003, dates and amounts are left alone):

- resident ID numbers, 18 characters (17 digits and a digit or X, also typed 6-8-4 with
  spaces or dashes): 110105********002X — as :func:`mask_id`, whether or not the check
  character is right; old 15-digit numbers with a birth date in place: 110105******002;
- any other run of 15 to 19 digits (bank cards, IDs with a typo): all but the last 4 hidden;
- mobile numbers, with or without +86 / 0086 / (+86), spaces or dashes: 139****5678;
- landlines with an area code (010-, 0452-, (0452)): 0452-***5678, and after a word that
  says "phone" (电话, 手机, 联系方式, 传真, tel, phone, fax) any 7 or more digits:
  ****5678. Public service numbers (12345, 95xxx, 400/800) are left as they are;
- e-mail addresses: the first character of the name and the domain stay, z*******@qq.com;
- unified social credit codes (valid under GB 32100): an organisation's code is public
  (DOMAIN.md), but only the applicant's own code is known to belong to the applicant, so a
  code is kept only when it is in ``keep_codes`` (the legal-person applicant's own code);
  any other is shown as its first 8 characters, which name the registering authority, the
  kind of organisation and the area, and the rest hidden: 91350100**********;
- passport-like numbers (E12345678, EA1234567, G12345678, home-return permits H/M + 8
  digits): the first and the last 2 characters stay, E******78.

Masked text contains ``*`` and never matches again, so masking twice changes nothing.
Full-width digits and letters (１３９…) are found as their ASCII forms and masked in place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Mapping
from typing import Any

from engine.base.identifiers import valid_id_card, valid_uscc

#: applicant types shown in full; every other value is masked
PUBLIC_TYPES = frozenset({"legal_person"})

MASK = "*"

# Han ideographs (incl. extensions and compatibility forms), 々〇, kana and hangul (as engine.supervision.search)
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
# an ID number by its shape: an area code, a birth date of 1900-2099, a sequence and a check character
_ID18_LOOSE = re.compile(r"[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]")
_ID15 = re.compile(r"[0-9]{15}")


def mask_name(name: str | None, applicant_type: str | None) -> str:
    """The applicant's name as it may be published (see the module docstring for the rules).

    >>> mask_name("欧阳小锋", "natural_person"), mask_name("张三", None), mask_name("John Smith", "natural_person")
    ('欧**锋', '张*', 'J*** S****')
    >>> mask_name("齐齐哈尔市龙沙区建筑有限公司", "legal_person")  # an organisation is published in full
    '齐齐哈尔市龙沙区建筑有限公司'
    """
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
    date, valid credit codes in full, anything else fully masked.

    >>> mask_id("11010519491231002X")
    '110105********002X'
    >>> mask_id("not an id")
    '*********'
    """
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
    """A phone number as it may be published: 138****8000, 0452-****5678, ****1234.

    >>> mask_phone("13800138000"), mask_phone("0452-23456789")
    ('138****8000', '0452-****6789')
    """
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    compact = re.sub(r"[\s\-–—._]", "", unicodedata.normalize("NFKC", text))
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


# -- identifiers inside free text ----------------------------------------------------------
# full-width forms (U+FF01..FF5E) and the ideographic space, folded one character for one, so
# positions in the folded text are positions in the original
_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


class _Fold(dict[int, int]):
    """What the patterns read, one character for one (so positions stay those of the original):
    full-width forms as ASCII (_HALF); any decimal digit (١, 𝟏, ①) as its ASCII digit; invisible
    format characters (zero-width space, soft hyphen, word joiner) and dashes as ``-``; any space
    as `` ``. Otherwise a number hidden by what a reader does not see would be published in full."""

    def __missing__(self, cp: int) -> int:
        ch = chr(cp)
        kind = unicodedata.category(ch)
        digit = unicodedata.digit(ch, None) if kind in ("Nd", "No") else None
        if digit is not None:
            folded = ord(str(digit))
        elif kind in ("Cf", "Pd") or cp == 0xAD:
            folded = ord("-")
        elif kind == "Zs" or ch == "\t":
            folded = ord(" ")
        else:
            folded = cp
        if len(self) < _FOLD_CACHE:  # a client may send any of 1.1 million code points: bounded memory
            self[cp] = folded
        return folded


_FOLD_CACHE = 20_000  # characters remembered: far more than the text of a whole catalogue uses
_FOLD = _Fold(_HALF)
_B = r"(?<![0-9A-Za-z])"  # an identifier never starts inside a longer code ...
_E = r"(?![0-9A-Za-z])"  # ... nor ends inside one
_B_NUM = r"(?<![0-9])"  # a number written beside letters is still a number
_E_NUM = r"(?![0-9])"
_USCC_CHAR = "[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]"
_AREA = r"0(?:10|2[0-9]|[3-9][0-9]{2})"  # 010, 02x, then 0 and three digits
_PHONE_WORD = r"(?:电话|手机|联系方式|传真|tel|phone|mobile|fax)"
_IN_TEXT = re.compile(
    r"(?P<email>(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
    rf"|(?P<word>{_PHONE_WORD}[:：\s]{{0,3}})(?P<number>\+?[0-9][0-9 \-]{{5,}}[0-9]){_E}"
    # numbers people write next to letters (ID110105…, 微信 wx139…, 139…号店): only digits bound them;
    # an ID number touching a letter must also pass its checksum (_masked), so a code with a
    # numeric tail is not taken for one
    rf"|{_B_NUM}(?:"
    rf"(?P<id>[0-9]{{6}}[ \-]?[0-9]{{8}}[ \-]?[0-9]{{3}}[0-9Xx]{_E_NUM})"
    rf"|(?P<mobile>(?:(?:\+|00)?86[ \-]?|\(\+?86\)[ \-]?)?1[3-9][0-9][ \-._]?[0-9]{{4}}[ \-._]?[0-9]{{4}}{_E_NUM})"
    rf"|(?P<landline>(?:\({_AREA}\)|{_AREA})[ \-]?[1-9][0-9]{{6,7}}{_E_NUM})"
    # other groupings (dots, underscores, fours): an ID number only with its shape (area, birth date)
    rf"|(?P<idsep>(?:[0-9][ .\-_]?){{17}}[0-9Xx]{_E_NUM})"
    ")"
    # codes start at a boundary of letters and digits (inside a case number they fail at once)
    rf"|{_B}(?:"
    rf"(?P<digits>[0-9]{{15,19}}{_E})"
    rf"|(?P<uscc>{_USCC_CHAR}{{2}}[0-9]{{6}}{_USCC_CHAR}{{10}}{_E})"
    rf"|(?P<passport>(?:[EGDSP][0-9]{{8}}|E[A-Z][0-9]{{7}}|[HM][0-9]{{8}}(?:[0-9]{{2}})?){_E})"
    ")",
    re.IGNORECASE,
)
# a case number: the center's id (a letter, then letters, digits, - or _), a date, a 6- or 7-digit sequence
_CASE_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])[A-Za-z][A-Za-z0-9_\-]{0,40}?(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{6,7}(?![0-9A-Za-z])"
)
_FEWEST_DIGITS = 6
_DIGIT_OR_AT = re.compile("[0-9@]")  # in the folded text: every digit and @ is ASCII there
_OLD_ID = re.compile(r"[0-9]{6}[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}")
_SERVICE_NUMBER = re.compile(r"12[0-9]{3}|95[0-9]{3,6}|[48]00[0-9]{7}")


class _EveryCode:
    """``keep_codes`` that keeps every credit code: for a writer whose caller has already decided."""

    def __contains__(self, code: object) -> bool:
        return True


#: pass as ``keep_codes`` to leave every credit code as it is (the caller masked already)
EVERY_CODE: Container[str] = _EveryCode()


def mask_text(text: object, *, keep_codes: Container[str] = ()) -> str:
    """``text`` with every identifier in it masked (see "Identifiers anywhere in free text"
    in the module docstring); credit codes in ``keep_codes`` stay. ``None`` gives ``""``.

    >>> mask_text("联系电话 13912345678，身份证 11010519491231002X，办件号 QQ20260302000001")
    '联系电话 139****5678，身份证 110105********002X，办件号 QQ20260302000001'
    """
    if text is None:
        return ""
    text = str(text)
    # every identifier above has an @ or at least 6 digits (a credit code's area code): most text
    # (names, departments, item codes) is answered without running the patterns
    folded = text.translate(_FOLD)
    marks = _DIGIT_OR_AT.findall(folded)
    if len(marks) < _FEWEST_DIGITS and "@" not in marks:
        return text
    out: list[str] = []
    end = 0
    # a case number (center id, date, sequence) is published as it is, whatever digits its id has
    kept = [(c.start(), c.end()) for c in _CASE_NUMBER.finditer(folded)]
    at = 0
    while (m := _IN_TEXT.search(folded, at)) is not None:
        inside = next((b for a, b in kept if a < m.end() and m.start() < b), None)
        if inside is not None:
            at = max(inside, m.start() + 1)
            continue
        if m.lastgroup == "idsep" and not _ID18_LOOSE.fullmatch(re.sub(r"[\s\-._]", "", m.group(0)).upper()):
            at = m.start() + 1  # a long run of grouped digits that is no ID number: look inside it again
            continue
        out.append(text[end : m.start()])
        out.append(_masked(m, text, keep_codes))
        end = at = m.end()
    out.append(text[end:])
    return "".join(out)


def _masked(m: re.Match[str], text: str, keep_codes: Container[str]) -> str:
    """The masked form of one match ``m`` of the folded text; ``text`` is the original, whose
    characters are kept wherever they stay visible."""
    kind, found = m.lastgroup, m.group(0)
    if kind == "number":  # a phone word and what follows it: the word stays as typed
        number = m.group("number")
        if _SERVICE_NUMBER.fullmatch(re.sub(r"[^0-9]", "", number)):
            return text[m.start() : m.end()]
        return text[m.start() : m.start("number")] + mask_phone(number)
    if kind == "email":
        original = text[m.start() : m.end()]
        at = found.index("@")
        return original[0] + MASK * (at - 1) + original[at:]
    compact = re.sub(r"[\s\-._]", "", found).upper()
    if kind == "uscc":
        if valid_id_card(compact):  # all digits: an ID number first
            return compact[:6] + MASK * 8 + compact[14:]
        if not valid_uscc(compact):
            return text[m.start() : m.end()]  # not a credit code: some other code, left alone
        return text[m.start() : m.end()] if compact in keep_codes else compact[:8] + MASK * 10
    if kind == "idsep":  # shaped as an ID number (mask_text looked): masked as one
        return compact[:6] + MASK * 8 + compact[14:]
    if kind == "id":
        beside_letter = _touches_letter(text, m.start(), m.end())
        if beside_letter and not valid_id_card(compact) and not _ID18_LOOSE.fullmatch(compact):
            return text[m.start() : m.end()]  # a code's numeric tail, not an ID number
        if valid_uscc(compact) and not valid_id_card(compact) and compact in keep_codes:
            return text[m.start() : m.end()]
        return compact[:6] + MASK * 8 + compact[14:]
    if kind == "digits":
        if len(compact) == 15 and _OLD_ID.fullmatch(compact):
            return compact[:6] + MASK * 6 + compact[12:]
        return _keep_last(compact, 4)
    if kind in ("mobile", "landline"):
        return mask_phone(found.replace("(+86)", "+86").replace("(86)", "+86").replace("0086", "+86", 1))
    # passport-like
    return found[0] + MASK * (len(found) - 3) + found[-2:]


def _touches_letter(text: str, start: int, end: int) -> bool:
    before = text[start - 1 : start].translate(_FOLD)
    after = text[end : end + 1].translate(_FOLD)
    return (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha())


def _keep_last(digits: str, n: int) -> str:
    return MASK * max(0, len(digits) - n) + digits[-n:]


def credit_codes_in(text: object) -> list[str]:
    """The valid unified social credit codes written in ``text`` (upper-cased): whether an
    announcement needs its applicant's own code to decide what to show."""
    if not isinstance(text, str):
        return []
    found = (re.sub(r"[\s\-]", "", m.group(0)).upper() for m in _IN_TEXT.finditer(text.translate(_FOLD)))
    return [c for c in found if valid_uscc(c) and not valid_id_card(c)]


def mask_applicant(name: object, applicant_type: str | None, credit_code: str | None = None) -> str:
    """The applicant as published: a legal person's name in full but for identifiers typed into
    it (its own ``credit_code`` may stay); a natural person's name masked (:func:`mask_name`)
    after any identifier in it was."""
    if not isinstance(name, str):
        return ""
    if applicant_type in PUBLIC_TYPES:
        own = (credit_code or "").strip().upper()
        return mask_text(name.strip(), keep_codes={own} if valid_uscc(own) else ())
    return mask_name(mask_text(name), applicant_type)


def mask_record(row: Mapping[str, Any], *, keep_codes: Container[str] = ()) -> dict[str, Any]:
    """A copy of ``row`` with every text value through :func:`mask_text` (numbers, dates and
    ``None`` as they are): the step every public row takes before it is shown or written."""
    return {k: mask_text(v, keep_codes=keep_codes) if isinstance(v, str) else v for k, v in row.items()}
