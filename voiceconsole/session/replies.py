"""Replies: the responder answers finished turns, the TTS engine speaks queued lines.

Two stages on two queues: ended turns -> responder -> reply text, and reply text -> TTS ->
playback buffer. A reply is pending from ``tts.queued`` until it has played out (or was
cancelled, failed with no audio, or produced none).

A reply may also be a :class:`TextStream` (the LLM responder's): its pieces are spoken as they
arrive, sentence by sentence, word timings shifted to the reply's start. A *held* reply (a
speculative one) is synthesized but kept off the speaker until :meth:`ReplyStages.release`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import numpy as np

from voiceconsole.audio.playback import PlaybackBuffer
from voiceconsole.audio.resample import StreamResampler
from voiceconsole.clock import Clock
from voiceconsole.engines.base import Emit, TtsChunk, TtsEngine, TtsError
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
    WordTiming,
)
from voiceconsole.session.responder import Responder

log = logging.getLogger(__name__)


class TextStream:
    """Pieces of one reply's text as a producer (the LLM) writes them; read once, in order."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.closed = False
        self._changed = asyncio.Event()

    @property
    def text(self) -> str:
        """Everything written so far."""
        return "".join(self.pieces)

    def push(self, piece: str) -> None:
        """Add a piece to speak."""
        if not self.closed:
            self.pieces.append(piece)
            self._changed.set()

    def close(self) -> None:
        """No more pieces (also on cancel or failure: the reader stops after what it has)."""
        self.closed = True
        self._changed.set()

    async def read(self) -> AsyncIterator[str]:
        """The pieces, waiting for each, until closed."""
        i = 0
        while True:
            while i < len(self.pieces):
                i += 1
                yield self.pieces[i - 1]
            if self.closed:
                return
            self._changed.clear()
            await self._changed.wait()


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
        self._tts_q: asyncio.Queue[tuple[int, str | TextStream]] = asyncio.Queue()
        self._next_reply = 0
        self._pending: set[int] = set()  # queued, synthesizing or playing
        self._cancelled: set[int] = set()
        self._synth_reply: int | None = None
        self._streams: dict[int, TextStream] = {}
        self._held: dict[int, list[np.ndarray]] = {}  # held reply -> its audio so far
        self._held_ended: set[int] = set()

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

    def queue_stream(
        self, stream: TextStream, origin: str, turn: int | None, *, held: bool = False
    ) -> int:
        """Queue a reply whose text is still being written; ``held`` keeps its audio off the
        speaker until :meth:`release`. Returns its reply number."""
        self._next_reply += 1
        reply = self._next_reply
        self._pending.add(reply)
        self._streams[reply] = stream
        if held:
            self._held[reply] = []
        self.emit(TtsQueued, reply=reply, text=stream.text, origin=origin, turn=turn)
        self._tts_q.put_nowait((reply, stream))
        return reply

    def release(self, reply: int) -> None:
        """A held reply may play: its audio so far goes to the speaker, the rest as it comes."""
        chunks = self._held.pop(reply, None)
        if chunks is None:
            return
        for samples in chunks:
            self.playback.push(reply, samples)
        if reply in self._held_ended:
            self._held_ended.discard(reply)
            self.playback.end_reply(reply)

    def cancel(self, reply: int) -> bool:
        """Cancel one pending reply; returns whether the engine is synthesizing it (the caller
        then cancels it in the engine)."""
        if reply not in self._pending:
            return False
        self._pending.discard(reply)
        self._cancelled.add(reply)
        self._forget_stream(reply)
        self.emit(TtsCancelled, reply=reply)
        return self._synth_reply == reply

    def cancel_all(self) -> int | None:
        """Cancel every pending reply; returns the one being synthesized, if any, for the caller
        to cancel in the engine."""
        for reply in sorted(self._pending):
            self._cancelled.add(reply)
            self._forget_stream(reply)
            self.emit(TtsCancelled, reply=reply)
        self._pending.clear()
        return self._synth_reply

    def _forget_stream(self, reply: int) -> None:
        stream = self._streams.pop(reply, None)
        if stream is not None:
            stream.close()
        self._held.pop(reply, None)
        self._held_ended.discard(reply)

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
                self.emit(
                    EngineError,
                    role="responder",
                    engine=self.responder.name,
                    message=f"{exc}",
                )
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

    async def _synthesize(self, reply: int, text: str | TextStream) -> None:
        self._synth_reply = reply
        resampler = StreamResampler(self.tts.sample_rate, self.sink_rate)
        produced = 0
        self.emit(TtsRequestSent, reply=reply)
        requested = self.clock.now()
        try:
            if isinstance(text, str):
                source = self.tts.synthesize(reply, text)
            elif (
                self.tts.streams_text
            ):  # one context for the whole reply (Cartesia sonic)
                source = self.tts.synthesize(reply, text.read())  # type: ignore[arg-type]
            else:
                source = self._pieces(reply, text)
            async with contextlib.aclosing(source) as chunks:
                async for chunk in chunks:
                    if reply in self._cancelled:
                        break
                    if not chunk.samples.size and not chunk.words:
                        continue
                    if produced == 0 and chunk.samples.size:
                        self.emit(
                            TtsFirstAudio,
                            reply=reply,
                            latency_s=self.clock.now() - requested,
                        )
                    if chunk.words:
                        self.emit(TtsWordTimings, reply=reply, words=tuple(chunk.words))
                    produced += chunk.samples.shape[0]
                    self._output(reply, resampler.process(chunk.samples))
        except (TtsError, UserError) as exc:
            self._fail(reply, str(exc))
            return
        except Exception as exc:
            log.exception("TTS engine failed")
            self._fail(reply, f"{type(exc).__name__}: {exc}")
            return
        finally:
            self._synth_reply = None
            self._streams.pop(reply, None)
        if reply in self._cancelled:
            return
        self._output(reply, resampler.process(np.zeros(0, dtype=np.float32), last=True))
        self._end(reply)
        self.emit(TtsDone, reply=reply, duration_s=produced / self.tts.sample_rate)
        if produced == 0:
            self._pending.discard(reply)
            self._held.pop(reply, None)
            self._held_ended.discard(reply)

    async def _pieces(self, reply: int, stream: TextStream) -> AsyncIterator[TtsChunk]:
        """A streamed reply spoken piece by piece as one reply: word timings are shifted by the
        audio of the pieces before."""
        offset = 0
        try:
            async for piece in stream.read():
                if reply in self._cancelled:
                    return
                if not piece.strip():
                    continue
                shift = (
                    offset / self.tts.sample_rate
                )  # the piece's words count from its start
                async with contextlib.aclosing(
                    self.tts.synthesize(reply, piece)
                ) as chunks:
                    async for chunk in chunks:
                        words = tuple(
                            WordTiming(w.word, w.start + shift, w.end + shift)
                            for w in chunk.words
                        )
                        offset += chunk.samples.shape[0]
                        yield TtsChunk(chunk.samples, words)
        finally:
            self._streams.pop(reply, None)

    def _output(self, reply: int, samples: np.ndarray) -> None:
        held = self._held.get(reply)
        if held is None:
            self.playback.push(reply, samples)
        elif samples.size:
            held.append(samples)

    def _end(self, reply: int) -> None:
        if reply in self._held:
            self._held_ended.add(reply)
        else:
            self.playback.end_reply(reply)

    def _fail(self, reply: int, message: str) -> None:
        # Audio that did arrive still plays; the reply is marked failed.
        self._end(reply)
        if self.playback.queued_samples() == 0 and self.playback.playing != reply:
            self._pending.discard(reply)
        self.emit(TtsFailed, reply=reply, message=message)
