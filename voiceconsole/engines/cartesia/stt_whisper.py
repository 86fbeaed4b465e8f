"""Cartesia ink-whisper STT (``--stt cartesia-whisper``): ``/stt/websocket`` plus a local VAD.

ink-whisper has no turn events, so a Silero VAD runs here on the audio this engine receives
(in a worker thread) and decides the turns with the offline engine's rules
(:class:`VadTurnTracker`): ``turn.start`` at speech start, ``turn.eager_end`` / ``turn.resume``
on short pauses, and after ``end_silence_ms`` of silence the engine sends ``finalize``; the
turn ends (``turn.end``) when the server answers ``flush_done``, with the verbatim
concatenation of the turn's final transcripts. Interim and final transcripts are also emitted
as ``transcript.interim`` / ``transcript.final`` with their word timings.

Faults: a drop closes the open turn with what was heard so far (finals plus the last interim);
audio captured during the outage is dropped with a warning, as for Ink-2.
"""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection

from voiceconsole.audio.resample import StreamResampler
from voiceconsole.audio.vad import VAD_SAMPLE_RATE, SileroFrameVad
from voiceconsole.engines.base import Emit, TurnSettings
from voiceconsole.engines.cartesia.errors import CartesiaError, ProtocolError
from voiceconsole.engines.cartesia.protocol import (
    WHISPER_CLOSE,
    WHISPER_FINALIZE,
    WHISPER_PATH,
    Done,
    ErrorMessage,
    FlushDone,
    RetryPolicy,
    Transcript,
    Unknown,
    decode_whisper_message,
    whisper_query,
)
from voiceconsole.engines.cartesia.socket import AUTH_HINT, Timeouts
from voiceconsole.engines.cartesia.stt_base import CartesiaSttBase
from voiceconsole.engines.turns import TurnSequencer
from voiceconsole.engines.vad_turns import VadSignal, VadTurnTracker
from voiceconsole.events import TranscriptFinal, TranscriptInterim


class _VadWorker:
    """Resampling to 16 kHz, Silero VAD and the turn tracker; used from one worker thread."""

    def __init__(self, rate: int, settings: TurnSettings) -> None:
        self.resampler = StreamResampler(rate, VAD_SAMPLE_RATE)
        self.vad = SileroFrameVad(VAD_SAMPLE_RATE)
        self.tracker = VadTurnTracker(settings, frame_samples=self.vad.frame_samples, sample_rate=VAD_SAMPLE_RATE)

    def process(self, samples: np.ndarray) -> list[VadSignal]:
        return self.tracker.process(self.vad.process(self.resampler.process(samples)))


class CartesiaWhisperStt(CartesiaSttBase):
    """ink-whisper STT with turns decided by a local VAD."""

    name = "cartesia-whisper"
    path = WHISPER_PATH

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "wss://api.cartesia.ai",
        model: str = "ink-whisper",
        language: str = "en",
        encoding: str = "pcm_s16le",
        sample_rate: int = 16000,
        turn_settings: TurnSettings | None = None,
        policy: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        outage_buffer_s: float = 5.0,
        idle_after_s: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.language = language
        super().__init__(
            api_key=api_key, base_url=base_url, model=model, encoding=encoding, sample_rate=sample_rate,
            turn_settings=turn_settings, policy=policy, timeouts=timeouts,
            outage_buffer_s=outage_buffer_s, idle_after_s=idle_after_s, rng=rng,
        )
        self._executor: ThreadPoolExecutor | None = None
        self._worker: _VadWorker | None = None
        self._finals = ""  # verbatim concatenation of the open (or next) turn's finals
        self._interim = ""
        self._pending_flushes = 0
        self._start_deferred = False
        self.finalizes_sent = 0
        self.min_volume: float | None = None
        self.max_silence_duration_secs: float | None = None

    def _query(self) -> list[tuple[str, Any]]:
        return whisper_query(
            self.model, self.encoding, self.sample_rate, self.language, keyterms=self.keyterms,
            min_volume=self.min_volume, max_silence_duration_secs=self.max_silence_duration_secs,
        )

    # --- SttEngine ------------------------------------------------------------------------------

    async def start(self, emit: Emit) -> None:
        """Load the VAD, then connect; a refused key raises :class:`EngineUnavailable`."""
        self._emit = emit
        self._turns = TurnSequencer(emit)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper-vad")
        loop = asyncio.get_running_loop()
        try:
            self._worker = await loop.run_in_executor(self._executor, _VadWorker, self.sample_rate, self._turn)
            await self.socket.open(emit)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self.streamer.start_watchdog()

    async def send_audio(self, samples: np.ndarray) -> None:
        """Send the block, run the VAD on it, and act on the turn signals it gives."""
        worker, executor = self._worker, self._executor
        if worker is None or executor is None:
            raise RuntimeError("CartesiaWhisperStt.start() must be awaited before sending audio")
        data = np.array(samples, dtype=np.float32, copy=True).reshape(-1)
        await self.streamer.send(data)
        signals = await asyncio.get_running_loop().run_in_executor(executor, worker.process, data)
        for signal in signals:
            await self._on_vad(signal)

    async def update_turn_settings(self, settings: TurnSettings) -> None:
        """Retune the local VAD turn rules (ink-whisper itself has no turn settings)."""
        settings.validate()
        self._turn = settings
        if self._worker is not None and self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._worker.tracker.set_settings, settings)

    async def close(self) -> None:
        """Finalize a turn in progress, send ``close``, drain the last transcripts, free the VAD."""
        await self.streamer.stop_watchdog()
        if self.socket.connected:
            await self.streamer.replay()
        else:
            self.streamer.discard()
        if self._worker is not None and self._worker.tracker.finish():
            await self._finalize()
        await self.socket.close(WHISPER_CLOSE)
        turns = self._turns
        if turns is not None and turns.open:
            turns.end(self._finals + self._interim)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    # --- turn logic ------------------------------------------------------------------------------

    async def _on_vad(self, signal: VadSignal) -> None:
        turns = self._turns
        assert turns is not None
        if signal == "start":
            if self._pending_flushes:
                self._start_deferred = True  # the previous turn ends at its flush_done first
            else:
                turns.start()
        elif signal == "eager_end":
            if turns.open and not self._pending_flushes:
                turns.eager_end(self._finals + self._interim)
        elif signal == "resume":
            if not self._pending_flushes:
                turns.resume()
        else:
            await self._finalize()

    async def _finalize(self) -> None:
        if await self.socket.send(WHISPER_FINALIZE):
            self._pending_flushes += 1
            self.finalizes_sent += 1
        elif self._turns is not None and self._turns.open:
            # No connection to flush through: end the turn with what was heard.
            self._end_turn()

    def _end_turn(self) -> None:
        turns = self._turns
        assert turns is not None
        text = self._finals + self._interim
        self._finals = ""
        self._interim = ""
        if turns.open:
            turns.end(text)
        elif text:
            turns.start()
            turns.end(text)

    # --- SocketHooks ----------------------------------------------------------------------------

    async def on_open(self, ws: ClientConnection) -> None:
        """ink-whisper sends nothing on connect: ready once the handshake is done."""

    def on_message(self, message: str | bytes) -> None:
        """Dispatch one server message."""
        assert self._emit is not None and self._turns is not None
        try:
            decoded = decode_whisper_message(message)
        except ProtocolError as exc:
            self.socket.warn(f"ignored a server message: {exc}")
            return
        turns = self._turns
        if isinstance(decoded, Transcript):
            if decoded.words_problem:
                self.socket.warn(f"word timings ignored, text kept: {decoded.words_problem}")
            if decoded.is_final:
                self._finals += decoded.text
                self._interim = ""
                self._emit(TranscriptFinal, text=decoded.text, words=decoded.words, language=decoded.language,
                           request_id=decoded.request_id)
            else:
                self._interim = decoded.text
                self._emit(TranscriptInterim, text=decoded.text, words=decoded.words, language=decoded.language,
                           request_id=decoded.request_id)
            if turns.open and not turns.eager:
                turns.update(self._finals + self._interim)
        elif isinstance(decoded, FlushDone):
            if self._pending_flushes:
                self._pending_flushes -= 1
                if not self._pending_flushes:
                    self._end_turn()
                    if self._start_deferred:
                        self._start_deferred = False
                        turns.start()
            else:
                self.socket.warn("flush_done without a finalize ignored")
        elif isinstance(decoded, Done):
            pass  # the answer to close; the server closes the socket next
        elif isinstance(decoded, ErrorMessage):
            fatal = decoded.status in (401, 403)
            hint = AUTH_HINT if fatal else "check --stt-model, --language, --stt-encoding and --stt-sample-rate"
            self.socket.error(decoded.message, hint, fatal=fatal, code=decoded.code or str(decoded.status or ""))
        elif isinstance(decoded, Unknown):
            self.socket.warn(f"unknown message type {decoded.type!r} ignored")
        else:
            self.socket.warn(f"unexpected {type(decoded).__name__} message ignored")

    def on_lost(self, error: CartesiaError) -> None:
        """Close a turn in flight with what was heard (finals and the last interim)."""
        self._pending_flushes = 0
        deferred, self._start_deferred = self._start_deferred, False
        if self._turns is not None and (self._turns.open or self._finals or self._interim):
            self._end_turn()
        if deferred and self._turns is not None:
            self._turns.start()

    async def on_restored(self) -> None:
        """Drop the audio captured during the outage (with a warning saying how much)."""
        await self.streamer.replay()


__all__ = ["CartesiaWhisperStt"]
