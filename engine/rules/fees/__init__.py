"""Fee schedules (being split into modules; this re-export lasts one commit)."""

from engine.rules.fees.assessment import *  # noqa: F403
from engine.rules.fees.assessment import CHOICE_TYPES, KINDS, NUMERIC_TYPES, _dec, _num_text, _span_text  # noqa: F401
