"""LLM requests of the ``llm`` responder: sent, first token, done, committed, cancelled, failed.

``request`` numbers every request of a session from 1. A request is ``speculative`` when it was
started on ``turn.eager_end`` (before the turn was final); ``llm.commit`` says a speculative
request was kept on ``turn.end`` (no second request), ``llm.cancelled`` with reason ``resume`` or
``changed`` says it was thrown away (wasted). No event ever carries the API key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from voiceconsole.events.base import Event

LlmCancelReason = Literal["resume", "changed", "interrupt", "shutdown"]


@dataclass(frozen=True)
class LlmRequest(Event):
    """A chat-completions request was sent with ``messages`` messages (the last one the user's)."""

    TYPE: ClassVar[str] = "llm.request"
    request: int = 0
    turn: int | None = None
    speculative: bool = False
    messages: int = 0
    model: str = ""


@dataclass(frozen=True)
class LlmFirstToken(Event):
    """The first token of the reply arrived; ``latency_s`` is from the request."""

    TYPE: ClassVar[str] = "llm.first_token"
    request: int = 0
    turn: int | None = None
    latency_s: float = 0.0


@dataclass(frozen=True)
class LlmDone(Event):
    """The reply streamed to its end: ``tokens`` stream chunks with content, ``text`` in full."""

    TYPE: ClassVar[str] = "llm.done"
    request: int = 0
    turn: int | None = None
    tokens: int = 0
    text: str = ""


@dataclass(frozen=True)
class LlmCommitted(Event):
    """A speculative request was kept on ``turn.end`` (same transcript); ``reply`` is its TTS
    reply number once it has one."""

    TYPE: ClassVar[str] = "llm.commit"
    request: int = 0
    turn: int | None = None


@dataclass(frozen=True)
class LlmCancelled(Event):
    """The request was stopped and its stream closed: the user resumed (``resume``), the final
    transcript differed (``changed``), a barge-in (``interrupt``) or the session ended.
    ``tokens`` had arrived; a speculative request cancelled for ``resume`` or ``changed`` is
    wasted."""

    TYPE: ClassVar[str] = "llm.cancelled"
    request: int = 0
    turn: int | None = None
    reason: LlmCancelReason = "interrupt"
    speculative: bool = False
    tokens: int = 0


@dataclass(frozen=True)
class LlmFailed(Event):
    """The request failed: ``message`` says why in one line, ``hint`` what to do; ``fatal``
    (key refused) means later turns get no request either."""

    TYPE: ClassVar[str] = "llm.failed"
    request: int = 0
    turn: int | None = None
    message: str = ""
    hint: str = ""
    fatal: bool = False
    tokens: int = 0


LLM_EVENT_TYPES: tuple[type[Event], ...] = (
    LlmRequest,
    LlmFirstToken,
    LlmDone,
    LlmCommitted,
    LlmCancelled,
    LlmFailed,
)
