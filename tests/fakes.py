"""Scripted engines for session tests: deterministic, no models, no network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from voiceconsole.engines.base import Emit, TtsChunk, TtsError, TurnSettings
from voiceconsole.engines.turns import TurnSequencer
from voiceconsole.events import EngineState


class ScriptedStt:
    """Emits turn events when the audio handed over reaches scripted times.

    ``script`` is a list of ``(audio_seconds, kind, transcript)`` with kind one of
    start/update/eager_end/resume/end.
    """

    name = "scripted"
    sample_rate = 16000

    def __init__(self, script: list[tuple[float, str, str]]) -> None:
        self.script = sorted(script, key=lambda s: s[0])
        self.received = 0
        self.chunks: list[np.ndarray] = []
        self.closed = False
        self.settings_updates: list[TurnSettings] = []
        self._emit: Emit | None = None
        self._turns: TurnSequencer | None = None

    async def start(self, emit: Emit) -> None:
        self._emit = emit
        self._turns = TurnSequencer(emit)
        emit(EngineState, role="stt", engine=self.name, state="connected")

    async def send_audio(self, samples: np.ndarray) -> None:
        assert self._turns is not None
        self.chunks.append(samples.copy())
        self.received += samples.shape[0]
        now = self.received / self.sample_rate
        while self.script and self.script[0][0] <= now:
            _, kind, text = self.script.pop(0)
            if kind == "start":
                self._turns.start()
            elif kind == "update":
                self._turns.update(text)
            elif kind == "eager_end":
                self._turns.eager_end(text)
            elif kind == "resume":
                self._turns.resume()
            else:
                self._turns.end(text)

    async def update_turn_settings(self, settings: TurnSettings) -> None:
        self.settings_updates.append(settings)

    async def close(self) -> None:
        self.closed = True


class ToneTts:
    """Synthesizes ``seconds_per_char`` of a 440 Hz tone per character, in 50 ms chunks."""

    name = "tone"
    sample_rate = 16000
    streams_text = False

    def __init__(self, seconds_per_char: float = 0.05, fail_on: str | None = None) -> None:
        self.seconds_per_char = seconds_per_char
        self.fail_on = fail_on
        self.cancelled: list[int] = []
        self.closed = False

    async def start(self, emit: Emit) -> None:
        emit(EngineState, role="tts", engine=self.name, state="connected")

    async def synthesize(self, reply: int, text: str) -> AsyncIterator[TtsChunk]:
        if self.fail_on is not None and self.fail_on in text:
            raise TtsError(f"cannot say {text!r}")
        total = int(len(text) * self.seconds_per_char * self.sample_rate)
        chunk = int(0.05 * self.sample_rate)
        t = 0
        while t < total and reply not in self.cancelled:
            n = min(chunk, total - t)
            samples = (0.3 * np.sin(2 * np.pi * 440 * (np.arange(t, t + n) / self.sample_rate))).astype(np.float32)
            t += n
            await asyncio.sleep(0)
            yield TtsChunk(samples)

    async def cancel(self, reply: int) -> None:
        self.cancelled.append(reply)

    async def close(self) -> None:
        self.closed = True


class EdgeVad:
    """Reference VAD stand-in: reports speech edges at scripted audio times."""

    def __init__(self, edges: list[tuple[float, str]] | None = None, sample_rate: int = 16000) -> None:
        self.edges = sorted(edges or [])
        self.sample_rate = sample_rate
        self.received = 0

    def process(self, samples: np.ndarray) -> list[object]:
        from voiceconsole.audio.vad import SpeechEdge

        self.received += samples.shape[0]
        now = self.received / self.sample_rate
        out = []
        while self.edges and self.edges[0][0] <= now:
            t, kind = self.edges.pop(0)
            out.append(SpeechEdge(kind, t, now))  # type: ignore[arg-type]
        return out
