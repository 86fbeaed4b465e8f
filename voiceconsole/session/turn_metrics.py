"""One turn's timings (:class:`TurnMetrics`) and its latency segments in ms; filled in by
:class:`~voiceconsole.session.metrics.MetricsBuilder`, whose docstring defines every field."""

from __future__ import annotations

from dataclasses import dataclass

from voiceconsole.session.summary import SEGMENT_KEYS


def _gap_ms(start: float | None, end: float | None) -> float | None:
    """``end - start`` in milliseconds (to the microsecond, so float noise does not show)."""
    if start is None or end is None:
        return None
    return round((end - start) * 1000.0, 3)


@dataclass
class TurnMetrics:
    """Timings of one user turn and its reply. ``None`` where the turn has no such thing."""

    turn: int
    transcript: str = ""
    ended: bool = False
    start_t: float | None = None
    start_audio_t: float | None = None
    end_t: float | None = None
    end_audio_t: float | None = None
    speech_stop_audio_t: float | None = None
    eager_end_audio_t: float | None = None
    """Audio time of the eager end that stood (``None`` if the last one was resumed)."""
    eager_ends: int = 0
    resumes: int = 0
    reply: int | None = None
    eager_end_delay: float | None = None
    end_of_turn_delay: float | None = None
    eager_to_end: float | None = None
    responder_latency: float | None = None
    response_latency: float | None = None
    tts_ttfa: float | None = None
    barge_in_latency: float | None = None
    reply_queued_t: float | None = None
    """Session time the turn's reply was queued (``tts.queued``)."""
    first_audio_t: float | None = None
    """Session time the turn's reply had its first TTS audio (``tts.first_audio``)."""
    playback_start_t: float | None = None
    """Session time the turn's reply started playing (``playback.start``)."""
    llm_ttft: float | None = None
    llm_saved: float | None = None
    llm_first_token_t: float | None = None
    """LLM time to first token, speculation's head start, and the first token's session time
    (see :mod:`voiceconsole.session.llm_metrics`)."""

    def value(self, key: str) -> float | None:
        """A metric by key (``resumes`` only once the turn has ended)."""
        if key == "resumes":
            return float(self.resumes) if self.ended else None
        return getattr(self, key)

    # --- latency segments (ms; see the module docstring) ------------------------------------

    @property
    def endpointing_ms(self) -> float | None:
        """Reference-VAD speech stop -> ``turn.end`` in ms (audio time)."""
        return _gap_ms(
            self.speech_stop_audio_t,
            self.end_audio_t if self.end_of_turn_delay is not None else None,
        )

    @property
    def llm_ms(self) -> float | None:
        """``turn.end`` -> the answering LLM request's first token in ms (negative: ahead)."""
        return _gap_ms(self.end_t, self.llm_first_token_t)

    @property
    def responder_ms(self) -> float | None:
        """``turn.end`` (or the LLM's first token, if later) -> ``tts.queued`` in ms."""
        start = self.end_t
        if start is not None and self.llm_first_token_t is not None:
            start = max(start, self.llm_first_token_t)
        return _gap_ms(start, self.reply_queued_t)

    @property
    def tts_first_audio_ms(self) -> float | None:
        """``tts.queued`` -> ``tts.first_audio`` of the turn's reply in ms."""
        return _gap_ms(self.reply_queued_t, self.first_audio_t)

    @property
    def playout_ms(self) -> float | None:
        """``tts.first_audio`` -> ``playback.start`` of the turn's reply in ms."""
        return _gap_ms(self.first_audio_t, self.playback_start_t)

    @property
    def voice_to_voice_ms(self) -> float | None:
        """Speech stop -> ``playback.start`` in ms: endpointing plus ``turn.end`` -> playback start."""
        endpointing = self.endpointing_ms
        rest = _gap_ms(self.end_t, self.playback_start_t)
        return (
            None
            if endpointing is None or rest is None
            else round(endpointing + rest, 3)
        )

    def segments(self) -> dict[str, float | None]:
        """The five latency segments by key (:data:`SEGMENT_KEYS`), in ms or ``None``."""
        return {key: getattr(self, key) for key in SEGMENT_KEYS}


__all__ = ["TurnMetrics"]
