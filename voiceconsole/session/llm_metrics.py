"""LLM metrics: time to first token, speculation hits and misses, what speculation saved and
what it wasted. Pure bookkeeping over events (fed by :class:`~voiceconsole.session.metrics.MetricsBuilder`).

Per turn (on :class:`~voiceconsole.session.metrics.TurnMetrics`):

``llm_ttft``        ``llm.request`` -> ``llm.first_token`` of the request that answered the turn
                    (the committed one), in seconds.
``llm_saved``       for a committed speculative request: how much of the LLM's wait was over at
                    ``turn.end``: ``min(turn.end, first token) - request`` (seconds). Without
                    speculation the reply's first token would have come that much later.
``llm_first_token_t``  session time of that first token (the waterfall's LLM anchor).

Per session (:class:`LlmStats`): requests, speculative requests, hits (speculative requests
committed on ``turn.end``), wasted calls (speculative requests thrown away: resume, a changed
transcript, an interrupt) and their tokens, failures; hit rate = hits / speculative; the
p50 of ``llm_saved`` over the hits; and the console's own overhead from a committed reply's
first token (or its commit, whichever is later) to its ``tts.request_sent``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voiceconsole.events import (
    Event,
    LlmCancelled,
    LlmCommitted,
    LlmDone,
    LlmFailed,
    LlmFirstToken,
    LlmRequest,
    TtsQueued,
    TtsRequestSent,
)
from voiceconsole.session.summary import percentile

if TYPE_CHECKING:
    from voiceconsole.session.metrics import TurnMetrics


@dataclass
class LlmStats:
    """Session totals of the LLM responder."""

    requests: int = 0
    speculative: int = 0
    hits: int = 0
    wasted_calls: int = 0
    wasted_tokens: int = 0
    failed: int = 0
    tokens: int = 0
    saved_ms: list[float] = field(default_factory=list)
    """``llm_saved`` of each hit, in ms, in turn order."""
    overhead_ms: list[float] = field(default_factory=list)
    """First token (or commit) -> ``tts.request_sent`` of each committed reply, in ms."""

    @property
    def hit_rate(self) -> float | None:
        """Hits per speculative request (``None`` without speculation)."""
        return self.hits / self.speculative if self.speculative else None

    @property
    def saved_p50_ms(self) -> float | None:
        """Median ms saved per committed speculation."""
        return percentile(self.saved_ms, 50) if self.saved_ms else None

    @property
    def overhead_p95_ms(self) -> float | None:
        """p95 of the console's first token -> TTS request overhead."""
        return percentile(self.overhead_ms, 95) if self.overhead_ms else None

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain numbers for reports (ms rounded to 0.1)."""

        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        return {
            "requests": self.requests,
            "speculative": self.speculative,
            "hits": self.hits,
            "hit_rate": None if self.hit_rate is None else round(self.hit_rate, 3),
            "saved_p50_ms": r(self.saved_p50_ms),
            "wasted_calls": self.wasted_calls,
            "wasted_tokens": self.wasted_tokens,
            "failed": self.failed,
            "tokens": self.tokens,
            "overhead_p95_ms": r(self.overhead_p95_ms),
        }


@dataclass(slots=True)
class _Request:
    turn: int | None
    t: float
    speculative: bool
    first_token_t: float | None = None
    committed_t: float | None = None
    reply: int | None = None


class LlmMetricsBuilder:
    """Takes the LLM events (and the TTS events that tie a request to its reply) in order."""

    def __init__(self) -> None:
        self.stats = LlmStats()
        self._requests: dict[int, _Request] = {}
        self._by_reply: dict[int, int] = {}
        self._ready_t: dict[
            int, float
        ] = {}  # reply -> when its text could first go to TTS

    def add(self, event: Event, turn_of: dict[int, TurnMetrics]) -> bool:
        """Take one event; ``turn_of`` holds the turns' metrics by number. Returns whether
        anything changed."""
        s = self.stats
        if isinstance(event, LlmRequest):
            self._requests[event.request] = _Request(
                event.turn, event.t, event.speculative
            )
            s.requests += 1
            s.speculative += int(event.speculative)
            if not event.speculative:
                self._answer(event.request, turn_of, committed_t=event.t)
        elif isinstance(event, LlmFirstToken):
            req = self._requests.get(event.request)
            if req is not None:
                req.first_token_t = event.t
                if req.committed_t is not None:
                    self._answer(event.request, turn_of, committed_t=req.committed_t)
        elif isinstance(event, LlmCommitted):
            req = self._requests.get(event.request)
            if req is not None:
                s.hits += 1
                self._answer(event.request, turn_of, committed_t=event.t)
        elif isinstance(event, LlmCancelled):
            req = self._requests.get(event.request)
            if req is not None and req.speculative and req.committed_t is None:
                s.wasted_calls += 1
                s.wasted_tokens += event.tokens
        elif isinstance(event, LlmDone):
            s.tokens += event.tokens
        elif isinstance(event, LlmFailed):
            s.failed += int(event.request > 0)
        elif isinstance(event, TtsQueued):
            self._on_queued(event)
        elif isinstance(event, TtsRequestSent):
            ready = self._ready_t.pop(event.reply, None)
            if ready is None:
                return False
            s.overhead_ms.append(round(max(0.0, event.t - ready) * 1000.0, 3))
        else:
            return False
        return True

    def _answer(
        self, request: int, turn_of: dict[int, TurnMetrics], committed_t: float
    ) -> None:
        req = self._requests[request]
        req.committed_t = committed_t
        tm = turn_of.get(req.turn) if req.turn is not None else None
        if tm is None or req.first_token_t is None:
            return
        tm.llm_ttft = req.first_token_t - req.t
        tm.llm_first_token_t = req.first_token_t
        if req.speculative and tm.end_t is not None and tm.llm_saved is None:
            tm.llm_saved = min(tm.end_t, req.first_token_t) - req.t
            self.stats.saved_ms.append(round(tm.llm_saved * 1000.0, 3))

    def _on_queued(self, e: TtsQueued) -> None:
        # The turn's committed request whose reply this is: text is ready at its first token or
        # its commit, whichever came later.
        for number in sorted(self._requests, reverse=True):
            req = self._requests[number]
            if req.turn == e.turn and req.committed_t is not None and req.reply is None:
                req.reply = e.reply
                if req.first_token_t is not None:
                    self._ready_t[e.reply] = max(req.first_token_t, req.committed_t)
                return


__all__ = ["LlmMetricsBuilder", "LlmStats"]
