"""A case as the state machine sees it: the case, the person acting, the events that record
what happened, the refusals, and the fixed words of the law (the standard steps, the ratings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.base.i18n import gettext

STANDARD_STEPS: tuple[dict[str, Any], ...] = (
    {"id": "accept", "name": "受理", "role": "window"},
    {"id": "undertake", "name": "承办", "role": "undertaker"},
    {"id": "review", "name": "审核", "role": "reviewer"},
    {"id": "decide", "name": "批准", "role": "decider"},
    {"id": "complete", "name": "办结", "role": "window"},
)
RATINGS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
BAD_RATINGS = ("不满意", "非常不满意")  # each opens a follow-up the department must answer
RATING_SCORE = {"非常满意": 100, "满意": 75, "基本满意": 50, "不满意": 25, "非常不满意": 0}  # for rankings
TERMINAL = ("refused", "completed")


@dataclass(frozen=True, slots=True)
class Timing:
    """The law's clocks as they stand for this case now, computed by the caller from the working-day
    calendar (this module knows no calendar): what Art. 32 and Art. 42 decisions depend on."""

    #: the end of the Art. 32 completeness period of this submission (None: unknown or not running)
    completeness: datetime | None = None
    #: the legal limit as extended and shifted by pauses (None: unknown, or suspended by a pause)
    legal: datetime | None = None


class ActionRefused(Exception):
    """An action the rules do not allow now; ``code`` maps to an HTTP status, ``message`` says why.

    ``words`` is the translation catalogue's message (Chinese, marked with ``N_`` where it is written)
    and ``params`` fill its ``%(name)s``. ``message`` — also ``str()`` — is it in the language of the
    request being served (engine.base.i18n): the rules run inside the request whose page or API answer
    shows the refusal, so each reader gets their own language; outside a request (the command line,
    the sweep, tests) it is Chinese. A message already in the reader's language passes unchanged."""

    def __init__(self, code: str, words: str, **params: object) -> None:
        self.code = code  # forbidden | invalid | conflict | not_allowed
        self.words, self.params = words, params
        self.message = gettext(words) % params if params else gettext(words)
        super().__init__(self.message)


class FeeMismatch(ActionRefused):
    """A payment that differs from the assessment: refused, and ``record`` is logged as a fee anomaly."""

    def __init__(self, words: str, record: Event, **params: object) -> None:
        super().__init__("invalid", words, **params)
        self.record = record


@dataclass(frozen=True, slots=True)
class Actor:
    username: str
    role: str  # applicant, window, undertaker, reviewer, decider, issuer, inspector, head, supervisor
    department: str | None = None
    #: AB角: the role this person stands in for (their own role otherwise)
    backup_role: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    action: str
    at: datetime
    actor: str
    role: str
    payload: dict[str, Any]


@dataclass(slots=True)
class Case:
    number: str
    item_code: str
    department: str
    state: str = "submitted"
    received_at: datetime | None = None
    accepted_at: datetime | None = None
    deemed_accepted: bool = False
    supplement_requested: bool = False  # the one-time notice was given for this submission
    missing: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[dict[str, Any]] = field(default_factory=list)  # {kind, start, end, name}
    done_steps: list[str] = field(default_factory=list)
    step_started: dict[str, datetime] = field(default_factory=dict)
    extended: bool = False
    extension: dict[str, Any] | None = None
    assessment: dict[str, Any] | None = None  # {total_fen, lines, ...}
    paid_fen: int | None = None
    decision: str | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None  # the decision (Art. 44: a granted licence is delivered within 10 days)
    ended_at: datetime | None = None  # completion or refusal
    rated_at: datetime | None = None
    chain: str | None = None  # the chain application this case was filed for
    deemed_consent: bool = False  # joint review: silent past the shared deadline (视为同意)
    evaluation: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    uploads: dict[str, list[str]] = field(default_factory=dict)
    refusal_reason: str | None = None
    fee_anomalies: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0

    @property
    def paused(self) -> bool:
        return any(p["end"] is None for p in self.pauses)
