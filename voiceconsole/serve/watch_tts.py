"""Watching a TTS socket: requests and cancels from the client, audio and timings back.

Each ``context_id`` is one reply in the console's vocabulary: the first request queues it
(``tts.queued`` + ``tts.request_sent``), its first chunk is ``tts.first_audio`` and starts the
speaker side (``playback.start``: here, audio returned to the agent), ``done`` finishes it, a
cancel cuts it (``tts.cancelled`` + ``playback.interrupt``) and an error with its context fails it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voiceconsole.audio.levels import LevelWindow, block_stats
from voiceconsole.engines.cartesia.audio_format import STT_ENCODINGS
from voiceconsole.engines.cartesia.errors import ProtocolError
from voiceconsole.engines.cartesia.messages import (
    AudioChunk,
    Done,
    ErrorMessage,
    Timestamps,
)
from voiceconsole.engines.cartesia.tts_messages import decode_tts_message
from voiceconsole.events import (
    AudioLevel,
    EngineError,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    TtsCancelled,
    TtsDone,
    TtsFailed,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TtsWordTimings,
    WordTiming,
)
from voiceconsole.serve.wire_audio import WireAudio

SPEAKER_RATE = 16000
"""Rate of the speaker side of a watched session (levels and ``speaker.wav``)."""


@dataclass
class _Context:
    reply: int
    text: str
    request_t: float
    wire: WireAudio | None = None
    samples: int = 0
    first_audio: bool = False
    finished: bool = False


class TtsWatch:
    """The TTS half of a watched session; ``emit`` stamps and publishes, ``speaker`` taps audio."""

    def __init__(
        self,
        emit: Callable[..., Any],
        now: Callable[[], float],
        speaker: Callable[[np.ndarray], None],
        warn: Callable[[str], None],
    ) -> None:
        self._emit = emit
        self._now = now
        self._speaker = speaker
        self._warn = warn
        self._contexts: dict[str, _Context] = {}
        self._levels = LevelWindow(SPEAKER_RATE)
        self.replies = 0

    def client_frame(self, message: str | bytes) -> None:
        """A request or cancel the agent sent."""
        if isinstance(message, bytes):
            return
        try:
            data = json.loads(message)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        ctx_id = str(data.get("context_id") or "")
        ctx = self._contexts.get(ctx_id)
        if data.get("cancel"):
            if ctx is not None and not ctx.finished:
                ctx.finished = True
                self._emit(TtsCancelled, reply=ctx.reply)
                if ctx.first_audio:
                    self._emit(
                        PlaybackInterrupted,
                        reply=ctx.reply,
                        samples_played=ctx.samples,
                        sample_rate=SPEAKER_RATE,
                    )
            return
        transcript = data.get("transcript")
        if not isinstance(transcript, str):
            return
        if ctx is None or ctx.finished:
            self.replies += 1
            ctx = self._contexts[ctx_id] = _Context(
                self.replies, transcript, self._now()
            )
            ctx.wire = _wire_for(data.get("output_format"))
            self._emit(TtsQueued, reply=ctx.reply, text=transcript, origin="agent")
            self._emit(TtsRequestSent, reply=ctx.reply)
        else:
            ctx.text += transcript

    def server_frame(self, message: str | bytes) -> None:
        """A chunk, timestamps, done or error the service sent back."""
        try:
            decoded = decode_tts_message(message)
        except ProtocolError as exc:
            self._warn(f"TTS message not understood: {exc}")
            return
        if isinstance(decoded, ErrorMessage):
            ctx = self._contexts.get(decoded.context_id or "")
            if ctx is not None and not ctx.finished:
                ctx.finished = True
                self._emit(TtsFailed, reply=ctx.reply, message=decoded.message)
            else:
                self._emit(
                    EngineError,
                    role="tts",
                    engine="cartesia",
                    message=decoded.message,
                    code=decoded.code,
                    fatal=False,
                )
            return
        ctx = self._contexts.get(getattr(decoded, "context_id", None) or "")
        if ctx is None or (ctx.finished and not isinstance(decoded, Done)):
            return
        if isinstance(decoded, AudioChunk):
            self._audio(ctx, decoded.data)
        elif isinstance(decoded, Timestamps):
            self._emit(
                TtsWordTimings,
                reply=ctx.reply,
                words=tuple(WordTiming(w.word, w.start, w.end) for w in decoded.words),
            )
        elif isinstance(decoded, Done) and not ctx.finished:
            ctx.finished = True
            self._emit(TtsDone, reply=ctx.reply, duration_s=ctx.samples / SPEAKER_RATE)
            if ctx.first_audio:
                self._emit(
                    PlaybackFinished,
                    reply=ctx.reply,
                    samples_played=ctx.samples,
                    sample_rate=SPEAKER_RATE,
                )

    def _audio(self, ctx: _Context, data: bytes) -> None:
        if not ctx.first_audio:
            ctx.first_audio = True
            self._emit(
                TtsFirstAudio,
                reply=ctx.reply,
                latency_s=max(0.0, self._now() - ctx.request_t),
            )
            self._emit(PlaybackStarted, reply=ctx.reply)
        if ctx.wire is None:
            return
        samples = ctx.wire.feed(data)
        if not samples.size:
            return
        ctx.samples += samples.size
        self._speaker(samples)
        level = self._levels.add_stats(*block_stats(samples), samples.size)
        if level is not None:
            self._emit(
                AudioLevel, source="speaker", rms_dbfs=level[0], peak_dbfs=level[1]
            )


def _wire_for(output_format: object) -> WireAudio | None:
    """A decoder for a context's ``output_format`` (raw PCM only; other containers are not metered)."""
    if not isinstance(output_format, dict):
        return None
    encoding = output_format.get("encoding", "pcm_s16le")
    rate = output_format.get("sample_rate")
    if output_format.get("container", "raw") != "raw" or encoding not in STT_ENCODINGS:
        return None
    if (
        not isinstance(rate, int)
        or isinstance(rate, bool)
        or not 1000 <= rate <= 192000
    ):
        return None
    return WireAudio(encoding, rate, SPEAKER_RATE)
