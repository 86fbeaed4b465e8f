"""Turn-timing metrics: pure functions over a list of events.

Used by the console's metrics table, the recording report and benchmarks. Nothing here does
I/O or keeps global state; :class:`MetricsBuilder` takes events one at a time (the console
feeds it live), :func:`compute_metrics` runs it over a list.

Which clock each gap uses
-------------------------
* Gaps measured against the reference VAD use **audio time**: the VAD reports where speech
  really stopped as ``speech_audio_t`` (seconds of mic audio), and a turn event's ``audio_t`` is
  how much mic audio the STT engine had been handed when the event arrived. Their difference is
  what the user experiences as "I stopped talking ... the engine noticed".
* Gaps between two things the console did (reply queued, first audio, interrupt) use the
  session clock ``t``.

The metrics (names follow what Pipecat and LiveKit users know)
--------------------------------------------------------------
``eager_end_delay``       speech stop -> ``turn.eager_end`` (the eager end that stood, i.e. the
                          last one not followed by ``turn.resume``); may be negative when the
                          engine ended the turn before the VAD heard the end of speech.
``end_of_turn_delay``     speech stop -> ``turn.end`` (LiveKit's end-of-utterance delay).
``eager_to_end``          the standing ``turn.eager_end`` -> ``turn.end``: the head start an agent
                          gets by starting its reply on eager end.
``resumes``               how many ``turn.resume`` the turn had (each one an eager end that was
                          wrong).
``responder_latency``     ``turn.end`` -> ``tts.queued`` of the turn's reply (LLM time).
``response_latency``      ``turn.end`` -> ``playback.start`` of the turn's reply: the first reply
                          sample sent to the speaker, i.e. what the user hears (Pipecat's
                          user-to-bot latency). ``tts.first_audio`` is not used here because
                          audio that arrived is not audio heard: there may be a reply ahead of it.
``tts_ttfa``              ``tts.request_sent`` -> ``tts.first_audio`` of the turn's reply: the TTS
                          engine's time to first audio (LiveKit's TTS TTFB).
``barge_in_latency``      ``command.interrupt`` -> ``playback.interrupt``: how fast the speaker
                          went silent. Attributed to the turn in progress (or last started) when
                          the interrupt was made; an interrupt while nothing played has none.

Latency segments (the waterfall; milliseconds, ``None`` when a segment's events are missing)
----------------------------------------------------------------------------------------------
One stacked bar per turn, from the user's last word to the first reply sample played. The four
segments join end to end, so when all are there they add up to ``voice_to_voice_ms`` (``llm_ms``
counted from zero when negative). LLM metrics (TTFT, speculation) are in :mod:`.llm_metrics`:

``endpointing_ms``        reference-VAD speech stop -> ``turn.end`` (audio time; the same gap as
                          ``end_of_turn_delay``).
``llm_ms``                ``turn.end`` -> the first token of the LLM request that answered the
                          turn (``--responder llm``); negative when a speculative request had
                          its first token before the turn ended (drawn as zero width).
``responder_ms``          ``turn.end`` (or that first token, if later) -> ``tts.queued`` of the
                          turn's reply: the reply text is ready (``responder_latency`` without
                          an LLM).
``tts_first_audio_ms``    ``tts.queued`` -> ``tts.first_audio`` of that reply: any wait in the TTS
                          queue, then the engine's time to first audio (``tts.request_sent`` ->
                          ``tts.first_audio`` alone is ``tts_ttfa``).
``playout_ms``            ``tts.first_audio`` -> ``playback.start``: the first sample handed to the
                          speaker (includes waiting for a reply that was still playing).
``voice_to_voice_ms``     speech stop -> ``playback.start``: ``endpointing_ms`` plus
                          ``turn.end`` -> ``playback.start`` on the session clock (``turn.end``
                          joins the audio-time and session-clock halves). Present whenever both
                          ends are, even if a segment in between is missing.

"Speech stop" is the latest reference-VAD ``vad.speech_stop`` whose ``speech_audio_t`` lies
after the previous turn's end and at or before this turn's end (both in audio time). A turn
with no such stop (noise, or a turn cut at its maximum length) has no VAD-based delays.

Summaries use linear interpolation between closest ranks for percentiles (numpy's default),
over the turns that have the metric.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice

from voiceconsole.events import (
    Event,
    InterruptCommand,
    LlmCancelled,
    LlmCommitted,
    LlmDone,
    LlmFailed,
    LlmFirstToken,
    LlmRequest,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    SessionStarted,
    SpeechStopped,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TurnEagerEnd,
    TurnEnd,
    TurnResume,
    TurnStart,
)
from voiceconsole.session.llm_metrics import LlmMetricsBuilder, LlmStats
from voiceconsole.session.summary import (
    LLM_METRIC_KEYS,
    LLM_METRICS,
    METRIC_KEYS,
    METRICS,
    SEGMENT_KEYS,
    SEGMENTS,
    STACKED_SEGMENT_KEYS,
    MetricInfo,
    MetricSummary,
    format_ms,
    percentile,
    summarize_values,
)
from voiceconsole.session.turn_metrics import TurnMetrics


@dataclass(frozen=True)
class Interruption:
    """One interrupt command and what it silenced."""

    t: float
    reason: str
    turn: int | None
    reply: int | None = None
    """The reply that was cut (``None``: nothing was playing)."""
    latency: float | None = None
    """``command.interrupt`` -> ``playback.interrupt`` in seconds."""


@dataclass
class SessionMetrics:
    """Everything :func:`compute_metrics` finds."""

    turns: list[TurnMetrics] = field(default_factory=list)
    interruptions: list[Interruption] = field(default_factory=list)
    summary: dict[str, MetricSummary] = field(default_factory=dict)
    segment_summary: dict[str, MetricSummary] = field(default_factory=dict)
    """p50/p95/max/mean of each latency segment (:data:`SEGMENT_KEYS`, in ms)."""
    llm: LlmStats = field(default_factory=LlmStats)
    """The LLM responder's totals (all zero without one)."""


def summarize(turns: Iterable[TurnMetrics], keys: Sequence[str] = METRIC_KEYS) -> dict[str, MetricSummary]:
    """p50/p95/max/mean of each metric over the turns that have it."""
    turns = list(turns)
    return {key: summarize_values(key, [v for v in (t.value(key) for t in turns) if v is not None]) for key in keys}


@dataclass(slots=True)
class _Reply:
    turn: int | None
    queued_t: float
    request_t: float | None = None


class MetricsBuilder:
    """Takes events in order and keeps the metrics of every turn up to date.

    Only a few event types matter (turn, VAD stop, TTS, playback, interrupt); everything else is
    ignored in O(1), so feeding it every event of an hour-long session is cheap.
    """

    def __init__(self) -> None:
        self._turns: dict[int, TurnMetrics] = {}  # by number, in the order they started
        self._stops: list[float] = []  # speech_audio_t of VAD stops, sorted
        self._replies: dict[int, _Reply] = {}
        self._playing: int | None = None
        self._pending: tuple[InterruptCommand, int | None, int] | None = None
        self.interruptions: list[Interruption] = []
        self._current_turn: int | None = None
        self.ended_turns = 0
        """How many turns have ended."""
        self.llm = LlmMetricsBuilder()
        self.virtual_time = False
        """The session ran on virtual time (``--fast``): engine timings read 0 and mean nothing."""
        self.version = 0
        """Bumped whenever a metric may have changed (the UI compares it with what it drew)."""

    # --- feeding ----------------------------------------------------------------------------

    def add(self, event: Event) -> bool:
        """Take one event; returns whether it could change a metric."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return False
        handler(self, event)
        self.version += 1
        return True

    def _on_session_start(self, e: SessionStarted) -> None:
        self.virtual_time = bool(e.settings.get("virtual_clock"))

    def extend(self, events: Iterable[Event]) -> None:
        """Take many events in order."""
        for event in events:
            self.add(event)

    def _turn(self, number: int) -> TurnMetrics:
        tm = self._turns.get(number)
        if tm is None:
            tm = self._turns[number] = TurnMetrics(number)
        return tm

    def _on_start(self, e: TurnStart) -> None:
        tm = self._turn(e.turn)
        tm.start_t, tm.start_audio_t = e.t, e.audio_t
        self._current_turn = e.turn

    def _on_eager(self, e: TurnEagerEnd) -> None:
        tm = self._turn(e.turn)
        tm.eager_ends += 1
        tm.eager_end_audio_t = e.audio_t
        tm.transcript = e.transcript or tm.transcript

    def _on_resume(self, e: TurnResume) -> None:
        tm = self._turn(e.turn)
        tm.resumes += 1
        tm.eager_end_audio_t = None

    def _on_end(self, e: TurnEnd) -> None:
        tm = self._turn(e.turn)
        if not tm.ended:
            self.ended_turns += 1
        tm.ended = True
        tm.transcript = e.transcript
        tm.end_t, tm.end_audio_t = e.t, e.audio_t
        if tm.eager_end_audio_t is not None:
            tm.eager_to_end = e.audio_t - tm.eager_end_audio_t
        self._derive_vad(tm)

    def _on_stop(self, e: SpeechStopped) -> None:
        insort(self._stops, e.speech_audio_t)
        # A stop reported after its turn ended (slow VAD) still counts for that turn.
        for tm in _last_two(self._turns):
            if tm.ended and tm.end_audio_t is not None and e.speech_audio_t <= tm.end_audio_t:
                self._derive_vad(tm)

    def _derive_vad(self, tm: TurnMetrics) -> None:
        assert tm.end_audio_t is not None
        lower = self._previous_end_audio_t(tm.turn)
        i = bisect_right(self._stops, tm.end_audio_t)
        stop = self._stops[i - 1] if i > 0 else None
        if stop is None or (lower is not None and stop <= lower):
            return
        tm.speech_stop_audio_t = stop
        tm.end_of_turn_delay = tm.end_audio_t - stop
        if tm.eager_end_audio_t is not None:
            tm.eager_end_delay = tm.eager_end_audio_t - stop

    def _previous_end_audio_t(self, number: int) -> float | None:
        seen = False
        for prev in reversed(self._turns.values()):
            if seen and prev.end_audio_t is not None:
                return prev.end_audio_t
            seen = seen or prev.turn == number
        return None

    def _on_llm(self, e: Event) -> None:
        self.llm.add(e, self._turns)

    def _on_queued(self, e: TtsQueued) -> None:
        self.llm.add(e, self._turns)
        # The same number queued again takes the new one's details.
        self._replies[e.reply] = _Reply(e.turn, e.t)
        tm = self._turns.get(e.turn) if e.turn is not None else None
        if tm is not None and tm.reply is None:
            tm.reply = e.reply
            tm.reply_queued_t = e.t
            if tm.end_t is not None:
                tm.responder_latency = e.t - tm.end_t

    def _reply_turn(self, reply: int) -> TurnMetrics | None:
        info = self._replies.get(reply)
        if info is None or info.turn is None:
            return None
        tm = self._turns.get(info.turn)
        return tm if tm is not None and tm.reply == reply else None

    def _on_request(self, e: TtsRequestSent) -> None:
        self.llm.add(e, self._turns)
        info = self._replies.get(e.reply)
        if info is not None:
            info.request_t = e.t

    def _on_first_audio(self, e: TtsFirstAudio) -> None:
        info = self._replies.get(e.reply)
        tm = self._reply_turn(e.reply)
        if tm is not None and tm.first_audio_t is None:
            tm.first_audio_t = e.t
        if info is not None and info.request_t is not None and tm is not None:
            tm.tts_ttfa = e.t - info.request_t

    def _on_playback_start(self, e: PlaybackStarted) -> None:
        self._playing = e.reply
        tm = self._reply_turn(e.reply)
        if tm is not None and tm.playback_start_t is None:
            tm.playback_start_t = e.t
        if tm is not None and tm.end_t is not None:
            tm.response_latency = e.t - tm.end_t

    def _on_interrupt(self, e: InterruptCommand) -> None:
        self.interruptions.append(Interruption(e.t, e.reason, self._current_turn))
        if self._playing is not None and self._pending is None:
            # Something is audible: the next playback.interrupt says when it went silent.
            self._pending = (e, self._current_turn, len(self.interruptions) - 1)

    def _on_playback_interrupt(self, e: PlaybackInterrupted) -> None:
        self._playing = None
        if self._pending is None:
            return
        command, turn, index = self._pending
        self._pending = None
        latency = e.t - command.t
        self.interruptions[index] = Interruption(command.t, command.reason, turn, e.reply, latency)
        tm = self._turns.get(turn) if turn is not None else None
        if tm is not None:
            tm.barge_in_latency = latency

    def _on_playback_finish(self, e: PlaybackFinished) -> None:
        # The reply being heard played out: an interrupt still pending found nothing to cut.
        if e.reply == self._playing:
            self._playing = None
            self._pending = None

    # --- reading ----------------------------------------------------------------------------

    def turns(self) -> list[TurnMetrics]:
        """Every turn seen, in the order they started."""
        return list(self._turns.values())

    def turn(self, number: int) -> TurnMetrics | None:
        """One turn's metrics."""
        return self._turns.get(number)

    def latest_ended(self) -> TurnMetrics | None:
        """The last turn that has ended."""
        for tm in reversed(self._turns.values()):
            if tm.ended:
                return tm
        return None

    def summary(self) -> dict[str, MetricSummary]:
        """p50/p95/max/mean over every turn so far."""
        return summarize(self._turns.values())

    def segment_summary(self) -> dict[str, MetricSummary]:
        """p50/p95/max/mean of each latency segment (ms) over the turns that have it."""
        return summarize(self._turns.values(), SEGMENT_KEYS)

    def llm_summary(self) -> dict[str, MetricSummary]:
        """p50/p95/max/mean of the LLM metrics (:data:`LLM_METRIC_KEYS`) over every turn."""
        return summarize(self._turns.values(), LLM_METRIC_KEYS)

    def result(self) -> SessionMetrics:
        """Turns, interruptions, summary and the latency segments' summary."""
        turns = self.turns()
        return SessionMetrics(
            turns, list(self.interruptions), summarize(turns), summarize(turns, SEGMENT_KEYS), self.llm.stats
        )


_HANDLERS = {
    SessionStarted: MetricsBuilder._on_session_start,
    TurnStart: MetricsBuilder._on_start,
    TurnEagerEnd: MetricsBuilder._on_eager,
    TurnResume: MetricsBuilder._on_resume,
    TurnEnd: MetricsBuilder._on_end,
    SpeechStopped: MetricsBuilder._on_stop,
    TtsQueued: MetricsBuilder._on_queued,
    TtsRequestSent: MetricsBuilder._on_request,
    TtsFirstAudio: MetricsBuilder._on_first_audio,
    PlaybackStarted: MetricsBuilder._on_playback_start,
    PlaybackInterrupted: MetricsBuilder._on_playback_interrupt,
    PlaybackFinished: MetricsBuilder._on_playback_finish,
    InterruptCommand: MetricsBuilder._on_interrupt,
    **{kind: MetricsBuilder._on_llm for kind in (LlmRequest, LlmFirstToken, LlmCommitted, LlmCancelled, LlmDone, LlmFailed)},
}


def _last_two(turns: dict[int, TurnMetrics]) -> list[TurnMetrics]:
    """The two turns started last, oldest first."""
    return list(islice(reversed(turns.values()), 2))[::-1]


def compute_metrics(events: Iterable[Event]) -> SessionMetrics:
    """Per-turn metrics, interruptions and the p50/p95/max summary of a list of events."""
    builder = MetricsBuilder()
    builder.extend(events)
    return builder.result()


def turn_metrics(events: Iterable[Event]) -> list[TurnMetrics]:
    """Per-turn metrics of a list of events, in the order the turns started."""
    return compute_metrics(events).turns


__all__ = [
    "LLM_METRICS",
    "LLM_METRIC_KEYS",
    "METRICS",
    "METRIC_KEYS",
    "SEGMENTS",
    "SEGMENT_KEYS",
    "STACKED_SEGMENT_KEYS",
    "Interruption",
    "LlmStats",
    "MetricInfo",
    "MetricSummary",
    "MetricsBuilder",
    "SessionMetrics",
    "TurnMetrics",
    "compute_metrics",
    "format_ms",
    "percentile",
    "summarize",
    "summarize_values",
    "turn_metrics",
]
