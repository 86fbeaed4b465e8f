"""Smart Turn v3.2 (BSD-2, by Pipecat's team): P(the turn is complete) from the turn's audio.

The model is ``smart-turn-v3.2-cpu.onnx`` (8.7 MB), taken from the ``pipecat-ai`` wheel into
the model cache by ``voiceconsole fetch-model smart-turn`` (see
:mod:`voiceconsole.commands.fetch_model`); it is never downloaded at run time. It runs with
onnxruntime, the ``voiceconsole[smart-turn]`` extra, on the features of
:func:`voiceconsole.audio.melspec.smart_turn_features`.

:class:`SmartTurnGate` is how the offline engine uses it, as Pipecat does: the turn's audio is
kept (from half a second before its speech start, at most the last 8 s), and when the VAD rule
has heard a pause (its eager-end silence) the model is asked whether the turn is complete.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from voiceconsole.audio.melspec import SAMPLE_RATE, WINDOW_SAMPLES, smart_turn_features
from voiceconsole.config import home_directory
from voiceconsole.errors import UserError

MODEL_NAME = "smart-turn-v3.2-cpu.onnx"
MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
"""The pinned model file (as shipped in pipecat-ai 1.14.0)."""
PIPECAT_VERSION = "1.14.0"
"""The pipecat-ai release whose wheel the model is taken from."""
MODEL_IN_WHEEL = f"pipecat/audio/turn/smart_turn/data/{MODEL_NAME}"
MODEL_DIR_ENV = "VOICECONSOLE_MODEL_DIR"
FETCH_COMMAND = "voiceconsole fetch-model smart-turn"
INSTALL_COMMAND = "pip install 'voiceconsole[smart-turn]'"
PRE_SPEECH_MS = 500
"""Audio kept before the turn's speech start (Pipecat's ``pre_speech_ms``)."""


def model_dir() -> Path:
    """The model cache: ``$VOICECONSOLE_MODEL_DIR``, else ``$XDG_CACHE_HOME/voiceconsole``, else
    ``~/.cache/voiceconsole``."""
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(home_directory() / ".cache")
    return Path(base) / "voiceconsole"


def model_path() -> Path:
    """Where the Smart Turn model is (or would be) in the model cache."""
    return model_dir() / MODEL_NAME


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise UserError(
            f"--turn-detector smart-turn needs onnxruntime: {INSTALL_COMMAND}"
        ) from None
    return onnxruntime


def checked_model_path() -> Path:
    """The cached model, its SHA-256 checked; ``UserError`` saying what to run if it is missing
    or not the pinned file."""
    path = model_path()
    if not path.is_file():
        raise UserError(
            f"the Smart Turn model is not in {path.parent}: run `{FETCH_COMMAND}`"
        )
    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise UserError(
            f"cannot read {path} ({exc.strerror or exc}): run `{FETCH_COMMAND}`"
        ) from None
    if digest != MODEL_SHA256:
        raise UserError(
            f"{path} is not the pinned Smart Turn v3.2 model (sha256 differs): run `{FETCH_COMMAND}`"
        )
    return path


class SmartTurnModel:
    """The Smart Turn v3.2 ONNX model on the CPU (one thread: the VAD and ASR share the CPU)."""

    def __init__(self, path: Path | None = None, *, threads: int = 1) -> None:
        ort = _onnxruntime()
        chosen = path if path is not None else checked_model_path()
        options = ort.SessionOptions()
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(
                str(chosen), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime's error types derive from Exception only
            raise UserError(
                f"cannot load {chosen} ({exc}): run `{FETCH_COMMAND}`"
            ) from None
        self._input = self._session.get_inputs()[0].name

    def probability(self, audio: np.ndarray) -> float:
        """P(turn complete) for a turn's 16 kHz float audio (its last 8 s count)."""
        features = smart_turn_features(audio)
        out = self._session.run(None, {self._input: features})
        return float(np.asarray(out[0]).reshape(-1)[0])


class SmartTurnResult(NamedTuple):
    """One run of Smart Turn."""

    probability: float
    """P(turn complete)."""
    inference_ms: float
    """Wall-clock time of the run (features and model)."""


class SmartTurnGate:
    """Keeps the recent audio of a stream and asks Smart Turn about a turn's end.

    ``push`` every block of 16 kHz float32 audio in order; ``run(turn_start, end)`` scores the
    audio from ``PRE_SPEECH_MS`` before ``turn_start`` up to ``end`` (absolute sample positions),
    its last 8 s at most. Used from one thread at a time.
    """

    def __init__(self, model: SmartTurnModel | None = None) -> None:
        self.model = model if model is not None else SmartTurnModel()
        self._pre = PRE_SPEECH_MS * SAMPLE_RATE // 1000
        self._keep = WINDOW_SAMPLES + self._pre
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # absolute position of _buf[0]

    def push(self, samples: np.ndarray) -> None:
        """Append a block of audio (float32 mono 16 kHz)."""
        self._buf = np.concatenate(
            (self._buf, np.asarray(samples, dtype=np.float32).reshape(-1))
        )
        # Trim in steps of a second, not on every block (each trim copies the buffer).
        if self._buf.size > self._keep + SAMPLE_RATE:
            excess = self._buf.size - self._keep
            self._buf = self._buf[excess:].copy()
            self._buf_start += excess

    def segment(self, turn_start: int, end: int) -> np.ndarray:
        """The audio Smart Turn is given for a turn that began at ``turn_start``, up to ``end``."""
        lo = max(turn_start - self._pre, end - WINDOW_SAMPLES, self._buf_start)
        hi = min(end, self._buf_start + self._buf.size)
        return self._buf[lo - self._buf_start : max(lo, hi) - self._buf_start]

    def run(self, turn_start: int, end: int) -> SmartTurnResult:
        """Score the turn so far."""
        began = time.perf_counter()
        audio = self.segment(turn_start, end)
        p = self.model.probability(audio) if audio.size else 0.0
        return SmartTurnResult(p, (time.perf_counter() - began) * 1000.0)


__all__ = [
    "FETCH_COMMAND",
    "INSTALL_COMMAND",
    "MODEL_DIR_ENV",
    "MODEL_IN_WHEEL",
    "MODEL_NAME",
    "MODEL_SHA256",
    "PIPECAT_VERSION",
    "SmartTurnGate",
    "SmartTurnModel",
    "SmartTurnResult",
    "checked_model_path",
    "file_sha256",
    "model_dir",
    "model_path",
]
