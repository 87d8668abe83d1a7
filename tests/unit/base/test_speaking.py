"""engine.base.i18n: the one translation mechanism — a block in another language, and the command
line's '中文 / English' lines built from the catalogue."""

from __future__ import annotations

from engine.base import i18n
from engine.base.i18n import gettext, ngettext


def test_speaking_translates_inside_the_block_only() -> None:
    assert gettext("必需") == "必需"  # no request: the Chinese source
    with i18n.speaking("en"):
        assert gettext("必需") == "Required" and i18n.language() == "en"
        assert ngettext("%(n)s个工作日", "%(n)s个工作日", 1) % {"n": 1} == "1 working day"
        assert ngettext("%(n)s个工作日", "%(n)s个工作日", 3) % {"n": 3} == "3 working days"
        with i18n.speaking(i18n.DEFAULT):  # a statutory notice inside an English page
            assert gettext("必需") == "必需"
        assert gettext("必需") == "Required"
    assert gettext("必需") == "必需" and i18n.language() == i18n.DEFAULT


def test_in_both_pairs_the_lines_chinese_first() -> None:
    def said() -> str:
        return gettext("必需") + "\n  " + gettext("非必需")

    assert i18n.in_both(said) == "必需 / Required\n  非必需 / Optional"
    assert gettext("必需") == "必需"  # the language before is back


def test_marking_is_no_translation() -> None:
    assert i18n.N_("必需") == "必需"
    with i18n.speaking("en"):
        assert i18n.N_("必需") == "必需"  # marked to translate where shown
