"""Replies: the responder answers finished turns, the TTS engine speaks queued lines.

Two stages on two queues: ended turns -> responder -> reply text, and reply text -> TTS ->
playback buffer. A reply is pending from ``tts.queued`` until it has played out (or was
cancelled, failed with no audio, or produced none).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import numpy as np

from voiceconsole.audio.playback import PlaybackBuffer
from voiceconsole.audio.resample import StreamResampler
from voiceconsole.clock import Clock
from voiceconsole.engines.base import Emit, TtsEngine, TtsError
from voiceconsole.errors import UserError
from voiceconsole.events import (
    EngineError,
    TtsCancelled,
    TtsDone,
    TtsFailed,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TtsWordTimings,
    TurnEnd,
)
from voiceconsole.session.responder import Responder

log = logging.getLogger(__name__)


class ReplyStages:
    """The responder and TTS stages and the bookkeeping of replies they share."""

    def __init__(
        self,
        *,
        responder: Responder,
        tts: TtsEngine,
        playback: PlaybackBuffer,
        sink_rate: int,
        clock: Clock,
        emit: Emit,
        stopping: Callable[[], bool],
    ) -> None:
        self.responder = responder
        self.tts = tts
        self.playback = playback
        self.sink_rate = sink_rate
        self.clock = clock
        self.emit = emit
        self.stopping = stopping
        self._respond_q: asyncio.Queue[TurnEnd] = asyncio.Queue()
        self._tts_q: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self._next_reply = 0
        self._pending: set[int] = set()  # queued, synthesizing or playing
        self._cancelled: set[int] = set()
        self._synth_reply: int | None = None

    @property
    def pending(self) -> bool:
        """Whether a reply is queued, being synthesized or playing."""
        return bool(self._pending)

    # --- inputs -------------------------------------------------------------------------------

    def answer(self, turn_end: TurnEnd) -> None:
        """Hand an ended turn to the responder."""
        self._respond_q.put_nowait(turn_end)

    def queue(self, text: str, origin: str, turn: int | None) -> int:
        """Queue a line to speak; returns its reply number."""
        self._next_reply += 1
        reply = self._next_reply
        self._pending.add(reply)
        self.emit(TtsQueued, reply=reply, text=text, origin=origin, turn=turn)
        self._tts_q.put_nowait((reply, text))
        return reply

    def cancel_all(self) -> int | None:
        """Cancel every pending reply; returns the one being synthesized, if any, for the caller
        to cancel in the engine."""
        for reply in sorted(self._pending):
            self._cancelled.add(reply)
            self.emit(TtsCancelled, reply=reply)
        self._pending.clear()
        return self._synth_reply

    def played_out(self, reply: int) -> None:
        """The speaker finished playing ``reply``."""
        self._pending.discard(reply)

    async def settle(self) -> None:
        """Wait until both queues are idle (the responder may queue a reply after the TTS
        queue looked idle, hence the second round)."""
        await self._respond_q.join()
        await self._tts_q.join()
        await self._respond_q.join()
        await self._tts_q.join()

    # --- the responder stage ------------------------------------------------------------------

    async def run_responder(self) -> None:
        """The responder stage's task: runs until cancelled."""
        while True:
            turn_end = await self._respond_q.get()
            try:
                text = await self.responder.reply(turn_end.turn, turn_end.transcript)
                if text and not self.stopping():
                    self.queue(text, origin="responder", turn=turn_end.turn)
            except Exception as exc:
                log.exception("responder failed")
                self.emit(EngineError, role="responder", engine=self.responder.name, message=f"{exc}")
            finally:
                self._respond_q.task_done()

    # --- the TTS stage ------------------------------------------------------------------------

    async def run_tts(self) -> None:
        """The TTS stage's task: runs until cancelled."""
        while True:
            reply, text = await self._tts_q.get()
            try:
                if reply not in self._cancelled:
                    await self._synthesize(reply, text)
            finally:
                self._tts_q.task_done()

    async def _synthesize(self, reply: int, text: str) -> None:
        self._synth_reply = reply
        resampler = StreamResampler(self.tts.sample_rate, self.sink_rate)
        produced = 0
        self.emit(TtsRequestSent, reply=reply)
        requested = self.clock.now()
        try:
            async with contextlib.aclosing(self.tts.synthesize(reply, text)) as chunks:
                async for chunk in chunks:
                    if reply in self._cancelled:
                        break
                    if produced == 0:
                        self.emit(TtsFirstAudio, reply=reply, latency_s=self.clock.now() - requested)
                    if chunk.words:
                        self.emit(TtsWordTimings, reply=reply, words=tuple(chunk.words))
                    produced += chunk.samples.shape[0]
                    self.playback.push(reply, resampler.process(chunk.samples))
        except (TtsError, UserError) as exc:
            self._fail(reply, str(exc))
            return
        except Exception as exc:
            log.exception("TTS engine failed")
            self._fail(reply, f"{type(exc).__name__}: {exc}")
            return
        finally:
            self._synth_reply = None
        if reply in self._cancelled:
            return
        self.playback.push(reply, resampler.process(np.zeros(0, dtype=np.float32), last=True))
        self.playback.end_reply(reply)
        self.emit(TtsDone, reply=reply, duration_s=produced / self.tts.sample_rate)
        if produced == 0:
            self._pending.discard(reply)

    def _fail(self, reply: int, message: str) -> None:
        # Audio that did arrive still plays; the reply is marked failed.
        self.playback.end_reply(reply)
        if self.playback.queued_samples() == 0 and self.playback.playing != reply:
            self._pending.discard(reply)
        self.emit(TtsFailed, reply=reply, message=message)
