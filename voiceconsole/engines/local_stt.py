"""The offline STT engine: Silero VAD turn detection plus pocketsphinx transcription.

It speaks Cartesia's Ink-2 turn vocabulary (``turn.start``, ``turn.update``,
``turn.eager_end``, ``turn.resume``, ``turn.end``) so the rest of the console cannot tell it
from the cloud engine, and also publishes what its turn rule rests on: the VAD's speech
probabilities and the rule's counters, as ``vad.signal`` events about every 100 ms of audio.
With ``turn_detector="smart-turn"`` Smart Turn v3.2 (:mod:`voiceconsole.engines.smart_turn`)
runs at each pause the rule hears (its eager-end silence) and ends the turn when it judges it
complete; its probability rides on that frame's ``vad.signal``. All model work runs in one
worker thread (so chunks stay in order);
events are emitted afterwards on the event loop, so each is stamped with the audio that
caused it.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, NamedTuple

import numpy as np

from voiceconsole.audio.vad import VAD_SAMPLE_RATE, SileroFrameVad
from voiceconsole.engines.base import Emit, TurnSettings
from voiceconsole.engines.smart_turn import SmartTurnGate, SmartTurnResult
from voiceconsole.engines.turns import TurnSequencer
from voiceconsole.engines.vad_turns import VadTurnTracker
from voiceconsole.errors import UserError
from voiceconsole.events import SIGNAL_SCALE, EngineState, SignalPhase, VadSignalBatch

SignalKind = Literal["start", "update", "eager_end", "resume", "end"]

_NOT_WORD = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
_ALT_PRON = re.compile(r"\(\d+\)$")


class TurnSignal(NamedTuple):
    """A raw turn signal from the worker, replayed on the event loop through a TurnSequencer."""

    kind: SignalKind
    text: str | None = None


class SignalBatch(NamedTuple):
    """VAD frames and the turn rule's state after them; emitted as a :class:`VadSignalBatch`
    (the fields are the event's)."""

    frames_audio_t: float
    frame_ms: float
    probs: tuple[int, ...]
    threshold: float
    phase: SignalPhase
    speech_ms: int
    silence_ms: int
    start_ms: int
    eager_ms: int
    end_ms: int
    smart_turn_threshold: float | None = None
    smart_turn_p: float | None = None
    smart_turn_ms: float | None = None


WorkerOutput = TurnSignal | SignalBatch
"""What :meth:`LocalTurnProcessor.process` returns, in the order it happened."""

SIGNAL_BATCH_MS = 100
"""Audio per ``vad.signal`` event: one event (not one per 32 ms frame) keeps the log and the
bus light, and 100 ms is finer than anyone reads a timeline live."""


def clean_hypothesis(hypstr: str | None) -> str:
    """Pocketsphinx hypothesis as lowercase words and single spaces (fillers dropped)."""
    if not hypstr:
        return ""
    words = (_ALT_PRON.sub("", w).lower() for w in hypstr.split())
    return " ".join(w for w in words if w and not _NOT_WORD.match(w))


def _load_decoder() -> Any:
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise UserError(
            "the local STT engine needs pocketsphinx: pip install pocketsphinx"
        ) from None
    try:
        return Decoder(loglevel="FATAL")
    except (RuntimeError, ValueError, OSError) as exc:
        raise UserError(
            f"cannot load pocketsphinx's English model ({exc}): reinstall pocketsphinx"
        ) from None


class LocalTurnProcessor:
    """Synchronous turn detection and transcription over a 16 kHz float32 stream.

    Used from one thread at a time (the engine's worker). :meth:`process` returns the turn
    signals each chunk produced; nothing here touches the event loop.
    """

    def __init__(
        self,
        settings: TurnSettings,
        *,
        preroll_ms: int = 300,
        update_interval_ms: int = 400,
        signal_batch_ms: int = SIGNAL_BATCH_MS,
    ) -> None:
        self._vad = SileroFrameVad(VAD_SAMPLE_RATE)
        self._decoder = _load_decoder()
        self._rate = VAD_SAMPLE_RATE
        self._frame = self._vad.frame_samples
        self._preroll = round(preroll_ms * self._rate / 1000)
        self._update_interval = round(update_interval_ms * self._rate / 1000)
        self._turns = VadTurnTracker(
            settings, frame_samples=self._frame, sample_rate=self._rate
        )
        self._smart: SmartTurnGate | None = None
        self._load_detector(settings)
        self._signal_frames = max(1, round(signal_batch_ms / self._turns.frame_ms))
        self._signal_probs: list[int] = []
        self._signal_start = 0  # sample where the first pending frame begins
        # Recent audio as int16, indexed by absolute sample position (_hist_start is hist[0]).
        self._hist = np.zeros(0, dtype=np.int16)
        self._hist_start = 0
        self._asr_pos = 0
        self._asr_floor = 0
        self._last_update = 0
        self._text = ""

    @property
    def settings(self) -> TurnSettings:
        """The turn settings in force."""
        return self._turns.settings

    @property
    def in_turn(self) -> bool:
        """Whether a turn is in progress."""
        return self._turns.in_turn

    def set_settings(self, settings: TurnSettings) -> None:
        """Apply new tuning from the next frame on (a turn in progress keeps going)."""
        self._load_detector(settings)
        self._turns.set_settings(settings)

    def _load_detector(self, settings: TurnSettings) -> None:
        if settings.turn_detector == "smart-turn" and self._smart is None:
            self._smart = SmartTurnGate()

    def process(self, samples: np.ndarray) -> list[WorkerOutput]:
        """Feed float32 mono 16 kHz samples; return the turn signals and signal batches they
        produced, in order (a batch comes before the turn signal its last frame caused)."""
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        pcm = (np.clip(data, -1.0, 1.0) * 32767.0).astype(np.int16)
        self._hist = np.concatenate((self._hist, pcm))
        if self._smart is not None:
            self._smart.push(data)
        signals: list[WorkerOutput] = []
        for frame in self._vad.process(data):
            end = frame[0]
            edges = self._turns.process((frame,))
            if not self._signal_probs:
                self._signal_start = end - self._frame
            self._signal_probs.append(
                min(SIGNAL_SCALE, max(0, round(frame[1] * SIGNAL_SCALE)))
            )
            judged = self._judge(edges, end)
            if edges or len(self._signal_probs) >= self._signal_frames:
                self._flush_signal(signals, judged)
            for edge in edges:
                if edge == "start":
                    self._open_turn(end, signals)
                elif edge == "resume":
                    signals.append(TurnSignal("resume"))
                elif edge == "eager_end":
                    signals.append(TurnSignal("eager_end", self._partial(end)))
                else:
                    self._close_turn(end, signals)
            if (
                judged is not None
                and judged.probability >= self.settings.smart_turn_threshold
                and self._turns.end_turn()
            ):
                self._close_turn(end, signals)
            turns = self._turns
            if (
                turns.in_turn
                and not turns.eager
                and "start" not in edges
                and end - self._last_update >= self._update_interval
            ):
                self._last_update = end
                text = self._partial(end)
                if text != self._text:
                    self._text = text
                    signals.append(TurnSignal("update", text))
        if self.in_turn:
            self._feed_to(self._vad.samples_processed)
        self._trim_history()
        return signals

    def finish(self) -> list[WorkerOutput]:
        """End a turn left open (end of stream) so its transcript is not lost."""
        signals: list[WorkerOutput] = []
        self._flush_signal(signals)
        if self._turns.finish():
            self._close_turn(self._hist_start + len(self._hist), signals)
        return signals

    def _judge(self, edges: list[str], end: int) -> SmartTurnResult | None:
        """Smart Turn's verdict on the turn so far when the rule has just heard a pause (as
        Pipecat runs it when its VAD reports the user stopped); else ``None``."""
        if (
            self._smart is None
            or self.settings.turn_detector != "smart-turn"
            or "eager_end" not in edges
        ):
            return None
        return self._smart.run(self._turns.turn_start, end)

    def _flush_signal(
        self, out: list[WorkerOutput], judged: SmartTurnResult | None = None
    ) -> None:
        """The pending frames as one batch, with the rule's state after the last of them (and
        Smart Turn's verdict when it ran on the last frame)."""
        if not self._signal_probs:
            return
        turns, settings = self._turns, self._turns.settings
        smart = settings.turn_detector == "smart-turn"
        out.append(
            SignalBatch(
                frames_audio_t=self._signal_start / self._rate,
                frame_ms=turns.frame_ms,
                probs=tuple(self._signal_probs),
                threshold=settings.vad_threshold,
                phase=turns.phase,
                speech_ms=turns.speech_ms,
                silence_ms=turns.silence_ms,
                start_ms=settings.start_speech_ms,
                eager_ms=settings.eager_end_silence_ms,
                end_ms=settings.end_silence_ms,
                smart_turn_threshold=settings.smart_turn_threshold if smart else None,
                smart_turn_p=round(judged.probability, 4)
                if judged is not None
                else None,
                smart_turn_ms=round(judged.inference_ms, 1)
                if judged is not None
                else None,
            )
        )
        self._signal_probs = []

    def _open_turn(self, end: int, signals: list[WorkerOutput]) -> None:
        self._text = ""
        self._last_update = end
        # Pre-roll so the first word is not clipped, but never re-decode the previous turn.
        self._asr_pos = max(
            self._turns.turn_start - self._preroll, self._asr_floor, self._hist_start
        )
        self._decoder.start_utt()
        signals.append(TurnSignal("start"))
        self._feed_to(end)

    def _close_turn(self, end: int, signals: list[WorkerOutput]) -> None:
        self._feed_to(end)
        self._decoder.end_utt()
        final = clean_hypothesis(self._hyp())
        signals.append(TurnSignal("end", final or self._text))
        self._asr_floor = self._asr_pos

    def _partial(self, end: int) -> str:
        self._feed_to(end)
        return clean_hypothesis(self._hyp())

    def _hyp(self) -> str | None:
        hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else None

    def _feed_to(self, pos: int) -> None:
        lo = self._asr_pos - self._hist_start
        hi = pos - self._hist_start
        if hi > lo:
            self._decoder.process_raw(self._hist[lo:hi].tobytes(), False, False)
            self._asr_pos = pos

    def _trim_history(self) -> None:
        # Keep what a turn start may need as pre-roll; in a turn, ASR is fed up to the VAD.
        keep_from = (
            self._vad.samples_processed
            - self._preroll
            - (self._turns.start_frames + 2) * self._frame
        )
        drop = keep_from - self._hist_start
        if drop > 0:
            self._hist = self._hist[drop:].copy()
            self._hist_start += drop


class LocalSttEngine:
    """Offline STT engine (``--stt local``): Silero VAD turns and pocketsphinx transcripts.

    ``settings`` tunes turn detection (the duration fields and ``vad_threshold``);
    ``preroll_ms`` of audio before the detected speech start is decoded too;
    ``update_interval_ms`` is how much audio passes between ``turn.update`` checks.
    Besides turn events it emits a ``vad.signal`` (:class:`VadSignalBatch`) for about every
    100 ms of audio: the frames' speech probabilities and the turn rule's counters.
    ``settings.turn_detector == "smart-turn"`` adds Smart Turn v3.2 at each pause (its model
    and onnxruntime are loaded by :meth:`start`, in the worker thread).
    """

    name = "local"
    sample_rate = VAD_SAMPLE_RATE

    def __init__(
        self,
        settings: TurnSettings | None = None,
        *,
        preroll_ms: int = 300,
        update_interval_ms: int = 400,
    ) -> None:
        self._settings = settings if settings is not None else TurnSettings()
        self._settings.validate()
        self._preroll_ms = preroll_ms
        self._update_interval_ms = update_interval_ms
        self._emit: Emit | None = None
        self._sequencer: TurnSequencer | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._processor: LocalTurnProcessor | None = None

    @property
    def settings(self) -> TurnSettings:
        """The turn settings in force."""
        return self._settings

    async def start(self, emit: Emit) -> None:
        """Load the models in the worker thread, then report ``connected``."""
        self._emit = emit
        self._sequencer = TurnSequencer(emit)
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="local-stt"
        )
        loop = asyncio.get_running_loop()
        try:
            self._processor = await loop.run_in_executor(
                self._executor,
                lambda: LocalTurnProcessor(
                    self._settings,
                    preroll_ms=self._preroll_ms,
                    update_interval_ms=self._update_interval_ms,
                ),
            )
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        detail = "pocketsphinx en-us, silero vad" + (
            ", smart turn v3.2" if self._settings.turn_detector == "smart-turn" else ""
        )
        emit(
            EngineState, role="stt", engine=self.name, state="connected", detail=detail
        )

    async def send_audio(self, samples: np.ndarray) -> None:
        """Process the chunk in the worker thread, then emit the turn events it caused."""
        processor, executor = self._require_started()
        # Copy: the caller may reuse its buffer while the worker reads this one.
        data = np.array(samples, dtype=np.float32, copy=True).reshape(-1)
        signals = await asyncio.get_running_loop().run_in_executor(
            executor, processor.process, data
        )
        self._replay(signals)

    async def update_turn_settings(self, settings: TurnSettings) -> None:
        """Retune turn detection; takes effect after the audio already handed over."""
        settings.validate()
        self._settings = settings
        if self._processor is not None and self._executor is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._executor, self._processor.set_settings, settings
            )

    async def close(self) -> None:
        """End a turn left open (keeping its transcript), report ``closed``, free the worker."""
        if self._executor is None or self._processor is None:
            return
        executor, processor = self._executor, self._processor
        signals = await asyncio.get_running_loop().run_in_executor(
            executor, processor.finish
        )
        self._replay(signals)
        self._executor = None
        self._processor = None
        executor.shutdown(wait=False)
        assert self._emit is not None
        self._emit(EngineState, role="stt", engine=self.name, state="closed")

    def _require_started(self) -> tuple[LocalTurnProcessor, ThreadPoolExecutor]:
        if self._processor is None or self._executor is None:
            raise RuntimeError(
                "LocalSttEngine.start() must be awaited before sending audio"
            )
        return self._processor, self._executor

    def _replay(self, signals: list[WorkerOutput]) -> None:
        seq, emit = self._sequencer, self._emit
        assert seq is not None and emit is not None
        for signal in signals:
            if isinstance(signal, SignalBatch):
                emit(VadSignalBatch, **signal._asdict())
                continue
            kind, text = signal
            if kind == "start":
                seq.start()
            elif kind == "update":
                seq.update(text or "")
            elif kind == "eager_end":
                seq.eager_end(text)
            elif kind == "resume":
                seq.resume()
            else:
                seq.end(text)
