"""The case state machine (being split into modules; this re-export lasts one commit)."""

from engine.rules.cases.actions import *  # noqa: F403
from engine.rules.cases.actions import _groups, _may_act  # noqa: F401
