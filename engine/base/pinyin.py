"""Pinyin of Chinese text for the home search (engine.supervision.search): ``jianzhu`` and ``jzgc`` find 建筑工程….

pypinyin (the maintained converter) carries the data: every character's readings and a
dictionary of ~47,000 phrases that fixes polyphones (银行 yin hang, not yin xing). Its own
``lazy_pinyin`` costs about a millisecond for an item name, which is seconds for a county's
catalogue on every reload; the same longest-phrase-first reading done here over its two
dictionaries costs a few microseconds, so the index can afford the pinyin of every name and keyword.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any

#: pypinyin's longest phrases are ten characters, but 97% are four or fewer; longer ones only
#: fix readings a shorter phrase already fixes in catalogue names
_LONGEST = 5
#: ü with or without a tone mark is typed as v
_U_UMLAUT = str.maketrans(dict.fromkeys("üǖǘǚǜ", "v"))


@cache
def _tables() -> tuple[dict[int, str], dict[str, Any]]:
    # imported on first use: the CLI's other commands never pay the half second it takes to load
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict, phrases_dict


@cache
def _plain(syllable: str) -> str:
    """A toned syllable as typed on a keyboard: ``lǜ`` -> ``lv``, ``háng`` -> ``hang``."""
    text = unicodedata.normalize("NFD", syllable.translate(_U_UMLAUT))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def syllables(run: str) -> list[str]:
    """The toneless pinyin syllables of a run of Chinese characters, one per character.

    A character without a reading (a rare extension character) is skipped."""
    chars, phrases = _tables()
    out: list[str] = []
    i = 0
    while i < len(run):
        for n in range(min(_LONGEST, len(run) - i), 1, -1):
            phrase = phrases.get(run[i : i + n])
            if phrase is not None and len(phrase) == n:
                out.extend(_plain(p[0]) for p in phrase)
                i += n
                break
        else:
            readings = chars.get(ord(run[i]))
            if readings:
                out.append(_plain(readings.split(",", 1)[0]))
            i += 1
    return out
