"""Is a new staff password strong enough? zxcvbn's estimate, with its advice in the reader's language.

zxcvbn (Dropbox's estimator, the maintained Python port) scores a password 0-4 by the
guesses an attacker who knows common passwords, words, names, keyboard patterns, dates
and the given *user inputs* would need: 3 means at least about 10^8 guesses, 4 at least
10^10. Staff accounts need :data:`MIN_SCORE` (3); administrators and supervisors, who can
change or see everything, need :data:`STRONG_SCORE` (4) — see ``engine.service.auth`` for why this,
not locking accounts, is what stops guessing from many addresses. The username, the
person's name and the center's and departments' names count as user inputs, so
``housing2026`` is weak at a housing bureau. Nothing here prints: :func:`password_problem`
words its answer with the translation catalogue (engine.base.i18n), Chinese unless a language
is active; the command line prints it in both (``i18n.in_both``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from zxcvbn import zxcvbn

from engine.base.i18n import N_, gettext

MIN_SCORE = 3
STRONG_SCORE = 4
STRONG_ROLES = frozenset({"admin", "supervisor"})
MAX_CHECKED = 72  # zxcvbn refuses longer input; a longer password is at least as strong as its first 72 characters
_ZXCVBN = threading.Lock()  # zxcvbn keeps the user inputs of the call in a module-level dictionary
ALWAYS_KNOWN = ("yangguang", "阳光", "政务服务中心", "zhengwu")  # in every guesser's list for this system

# zxcvbn 4.5's every warning and suggestion -> its Chinese, the msgid whose English in the catalogue is
# zxcvbn's own text again (checked against zxcvbn's source in tests/web/test_accounts.py, so a new one
# in a later zxcvbn fails a test rather than showing English only)
CHINESE: dict[str, str] = {
    "Use a few words, avoid common phrases.": N_("用几个词组成，避免常见短语。"),
    "No need for symbols, digits, or uppercase letters.": N_("不必非用符号、数字或大写字母。"),
    "Add another word or two. Uncommon words are better.": N_("再加一两个词，不常见的词更好。"),
    "Straight rows of keys are easy to guess.": N_("键盘上连成一排的键很容易被猜到。"),
    "Short keyboard patterns are easy to guess.": N_("短的键盘图案很容易被猜到。"),
    "Use a longer keyboard pattern with more turns.": N_("键盘图案要更长、转折更多。"),
    'Repeats like "aaa" are easy to guess.': N_("“aaa”这样的重复很容易被猜到。"),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': N_(
        "“abcabcabc”这样的重复只比“abc”难猜一点。"
    ),
    "Avoid repeated words and characters.": N_("避免重复的词和字符。"),
    'Sequences like "abc" or "6543" are easy to guess.': N_("“abc”或“6543”这样的序列很容易被猜到。"),
    "Avoid sequences.": N_("避免序列。"),
    "Recent years are easy to guess.": N_("近年的年份很容易被猜到。"),
    "Avoid recent years.": N_("避免近年的年份。"),
    "Avoid years that are associated with you.": N_("避免与你有关的年份。"),
    "Dates are often easy to guess.": N_("日期往往很容易被猜到。"),
    "Avoid dates and years that are associated with you.": N_("避免与你有关的日期和年份。"),
    "This is a top-10 common password.": N_("这是最常见的十个密码之一。"),
    "This is a top-100 common password.": N_("这是最常见的一百个密码之一。"),
    "This is a very common password.": N_("这是非常常见的密码。"),
    "This is similar to a commonly used password.": N_("这与常用密码相似。"),
    "A word by itself is easy to guess.": N_("单个词很容易被猜到。"),
    "Names and surnames by themselves are easy to guess.": N_("单独的姓名很容易被猜到。"),
    "Common names and surnames are easy to guess.": N_("常见的姓名很容易被猜到。"),
    "Capitalization doesn't help very much.": N_("大写字母帮助不大。"),
    "All-uppercase is almost as easy to guess as all-lowercase.": N_("全大写和全小写几乎一样好猜。"),
    "Reversed words aren't much harder to guess.": N_("倒写的词并不更难猜。"),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": N_(
        "用“@”代替“a”这类可预料的替换帮助不大。"
    ),
}


def required_score(role: str) -> int:
    return STRONG_SCORE if role in STRONG_ROLES else MIN_SCORE


def password_problem(password: str, role: str, user_inputs: Iterable[str] = ()) -> str | None:
    """None when ``password`` is strong enough for ``role``; otherwise what is wrong and what to
    do, one line per point, in the active language (zxcvbn's advice too)."""
    inputs = [*ALWAYS_KNOWN, *(s for s in user_inputs if s)]
    # user inputs also match in parts: "li.housing" should make "housing" a known word
    inputs += [part for s in list(inputs) for part in s.replace("-", ".").replace("_", ".").split(".") if part]
    with _ZXCVBN:
        result = zxcvbn(password[:MAX_CHECKED], user_inputs=inputs)
    need = required_score(role)
    score = int(result["score"])
    if score >= need:
        return None
    if role in STRONG_ROLES:
        first = gettext("密码太弱（强度 %(score)s/4，管理员和效能监察账号至少 %(need)s）")
    else:
        first = gettext("密码太弱（强度 %(score)s/4，工作人员账号至少 %(need)s）")
    lines = [first % {"score": score, "need": need}]
    feedback = result["feedback"]
    advice = [feedback["warning"], *feedback["suggestions"]] if feedback["warning"] else feedback["suggestions"]
    if not advice:  # strong enough for staff but not for this role: zxcvbn has no advice at score 3
        advice = ["Add another word or two. Uncommon words are better."]
    lines += [f"  {gettext(CHINESE[a]) if a in CHINESE else a}" for a in advice]
    lines.append("  " + gettext("例如用四五个不相关的词组成一句只有你知道的话"))
    return "\n".join(lines)
