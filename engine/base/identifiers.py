"""Checks for the identifiers an application carries (pure functions, no I/O).

- Resident ID number, GB 11643-1999: 17 digits + a check character (``X`` for 10).
- Unified social credit code, GB 32100-2015: 18 characters, mod-31 check character.
- Phone numbers: mainland mobile, landline with area code, service hotlines.
- Administrative division codes, GB/T 2260: 6 digits.
- E-mail addresses (the practical subset, no quoted local parts).

Every function takes the text as submitted (already stripped by the caller) and
returns a bool; none raises, whatever it is given.
"""

from __future__ import annotations

import datetime as dt
import re

ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CARD_CHECK = "10X98765432"

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

#: first two digits of a division code: provinces, autonomous regions, municipalities, HK, Macao, Taiwan
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
#: earliest birth year accepted in an ID number
EARLIEST_BIRTH_YEAR = 1850

_DIGITS17 = re.compile(r"[0-9]{17}")
_MOBILE = re.compile(r"(?:\+?86)?1[3-9][0-9]{9}")
# area code 010 / 02x (3 digits) or 0xxx (4 digits); local number 7-8 digits not starting with 0; extension
_LANDLINE = re.compile(r"(?:0[12][0-9]|0[3-9][0-9]{2})-?[1-9][0-9]{6,7}(?:-[0-9]{1,6})?")
_LANDLINE_PAREN = re.compile(r"\((?:0[12][0-9]|0[3-9][0-9]{2})\)[1-9][0-9]{6,7}(?:-[0-9]{1,6})?")
# government hotlines 12xxx (12345, 12315, 12366 ...), 95xxx bank/utility numbers, 400/800 numbers
_SERVICE = re.compile(r"12[0-9]{3}|95[0-9]{3,6}|[48]00-?[0-9]{3}-?[0-9]{4}")
_AREA = re.compile(r"[0-9]{6}")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_EMAIL_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_EMAIL_TLD = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")


def id_card_check_char(first17: str) -> str:
    """The GB 11643 check character for 17 digits (raises ValueError for anything else)."""
    if not _DIGITS17.fullmatch(first17):
        raise ValueError("an ID number's check character is computed from 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, ID_CARD_WEIGHTS, strict=True))
    return ID_CARD_CHECK[total % 11]


def id_card_birth_date(text: str) -> dt.date | None:
    """The birth date written in positions 7-14 of an ID number, or None when it is not a real date."""
    digits = text[6:14]
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return None
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    if born.year < EARLIEST_BIRTH_YEAR or born > dt.date.today():
        return None
    return born


def valid_id_card(text: object) -> bool:
    """True for an 18-character resident ID number with a correct check character and birth date."""
    if not isinstance(text, str) or len(text) != 18:
        return False
    body, check = text[:17], text[17].upper()
    if not _DIGITS17.fullmatch(body) or id_card_check_char(body) != check:
        return False
    return id_card_birth_date(text) is not None


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for 17 characters of the code alphabet (raises ValueError otherwise)."""
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError(f"a credit code's check character is computed from 17 characters of {USCC_ALPHABET}")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    index = 31 - total % 31
    return USCC_ALPHABET[0 if index == 31 else index]


def valid_uscc(text: object) -> bool:
    """True for an 18-character unified social credit code with a correct check character.

    Upper case only, as issued; callers that accept lower case upper-case it first.
    """
    if not isinstance(text, str) or len(text) != 18 or any(c not in USCC_ALPHABET for c in text):
        return False
    return uscc_check_char(text[:17]) == text[17]


def valid_phone(text: object) -> bool:
    """True for a mainland mobile number, a landline with its area code, or a service hotline.

    Spaces are ignored (``138 0000 0000``); landlines may be written ``0452-1234567``,
    ``04521234567`` or ``(0452)1234567``, optionally with an extension ``-801``.
    """
    if not isinstance(text, str):
        return False
    compact = text.replace(" ", "")
    if not compact.isascii():
        return False
    return any(p.fullmatch(compact) for p in (_MOBILE, _LANDLINE, _LANDLINE_PAREN, _SERVICE))


def valid_area(text: object) -> bool:
    """True for a 6-digit administrative division code under a real province (e.g. 230202)."""
    if not isinstance(text, str) or not _AREA.fullmatch(text):
        return False
    return text[:2] in PROVINCES


def valid_email(text: object) -> bool:
    """True for an address like ``name@example.com`` (ASCII, one @, a dotted domain with a real TLD)."""
    if not isinstance(text, str) or len(text) > 254 or text.count("@") != 1:
        return False
    local, domain = text.split("@")
    if len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not _EMAIL_TLD.fullmatch(labels[-1]):
        return False
    return all(_EMAIL_LABEL.fullmatch(label) for label in labels[:-1])
