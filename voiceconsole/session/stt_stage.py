"""The STT stage: mic audio to the STT engine in order, then to the taps and the reference VAD."""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from voiceconsole.engines.base import Emit, SttEngine
from voiceconsole.errors import UserError
from voiceconsole.events import EngineError, SpeechStarted, SpeechStopped
from voiceconsole.secrets import display_text
from voiceconsole.session.options import AudioTap, SpeechDetector

log = logging.getLogger(__name__)


class SttStage:
    """Awaits the engine's ``send_audio`` for every block, one at a time, in order.

    A failed engine is reported once (``engine.error``, fatal) and then skipped: the taps and
    the reference VAD still see the audio, so speech edges and recordings go on.
    """

    def __init__(
        self, stt: SttEngine, reference_vad: SpeechDetector, taps: list[AudioTap], emit: Emit
    ) -> None:
        self.stt = stt
        self.reference_vad = reference_vad
        self.taps = taps
        self.emit = emit
        self.rate = stt.sample_rate
        self.samples_sent = 0
        """Mic samples (at the STT rate) handed to the STT engine so far."""
        self.failed = False
        self.queue: asyncio.Queue[np.ndarray] = asyncio.Queue()

    def put(self, samples: np.ndarray) -> None:
        """Queue one block of mic audio at the STT rate."""
        self.queue.put_nowait(samples)

    async def join(self) -> None:
        """Wait until every queued block has been handled."""
        await self.queue.join()

    async def run(self) -> None:
        """The stage's task: runs until cancelled."""
        while True:
            samples = await self.queue.get()
            try:
                self.samples_sent += samples.shape[0]
                if not self.failed:
                    await self._send(samples)
                self._after_send(samples)
            finally:
                self.queue.task_done()

    def _after_send(self, samples: np.ndarray) -> None:
        for tap in self.taps:
            tap("mic", samples, self.rate)
        # The reference VAD runs inline once the audio is on the wire: a Silero frame costs
        # less than a hop to a worker thread and back would.
        for edge in self.reference_vad.process(samples):
            kind = SpeechStarted if edge.kind == "start" else SpeechStopped
            self.emit(kind, speech_audio_t=edge.speech_audio_t)

    async def _send(self, samples: np.ndarray) -> None:
        try:
            await self.stt.send_audio(samples)
        except Exception as exc:
            self._report(exc)

    def _report(self, exc: Exception) -> None:
        self.failed = True
        if isinstance(exc, UserError):
            self.emit(EngineError, role="stt", engine=self.stt.name, message=display_text(str(exc)), fatal=True)
            return
        # An engine bug must not take the console down.
        log.error("STT engine failed", exc_info=exc)
        self.emit(
            EngineError,
            role="stt",
            engine=self.stt.name,
            message=f"{type(exc).__name__}: {exc}",
            hint="the STT engine stopped; restart the session",
            fatal=True,
        )
