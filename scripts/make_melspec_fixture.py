#!/usr/bin/env python3
"""Reference Whisper log-mel features for tests/test_smart_turn.py, from Hugging Face
transformers' ``WhisperFeatureExtractor`` (the extractor Smart Turn v3 was trained with).

Run it in a throwaway virtual environment, not in the project's (transformers is not a
dependency of voiceconsole)::

    python3 -m venv /tmp/melref && /tmp/melref/bin/pip install transformers numpy
    /tmp/melref/bin/python scripts/make_melspec_fixture.py

Writes ``tests/data/melspec_reference.npz``: for each case (a span of
``tests/data/speech_turns.wav``), every ``STEP``-th frame of the ``[80, 800]`` features, as
Smart Turn's inference computes them: the last 8 s of the span, zero-padded at the start when
shorter, then ``WhisperFeatureExtractor(chunk_length=8)`` with ``do_normalize=True``.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import transformers
from transformers import WhisperFeatureExtractor

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
RATE = 16000
WINDOW = 8 * RATE
STEP = 8
CASES = {
    # name: (start s, end s) of speech_turns.wav
    "turn2": (3.6, 9.4),  # 5.8 s: padded at the start
    "short": (0.6, 1.6),  # 1 s: mostly padding
    "whole": (0.0, 13.46),  # longer than 8 s: the last 8 s
}


def main() -> None:
    with wave.open(str(DATA / "speech_turns.wav"), "rb") as w:
        audio = (
            np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(
                np.float32
            )
            / 32768.0
        )
    extractor = WhisperFeatureExtractor(chunk_length=8)
    out: dict[str, np.ndarray] = {
        "step": np.array(STEP),
        "transformers_version": np.array(transformers.__version__),
    }
    for name, (start, end) in CASES.items():
        span = audio[round(start * RATE) : round(end * RATE)]
        window = (
            span[-WINDOW:]
            if span.size >= WINDOW
            else np.pad(span, (WINDOW - span.size, 0))
        )
        features = extractor(
            window,
            sampling_rate=RATE,
            return_tensors="np",
            padding="max_length",
            max_length=WINDOW,
            truncation=True,
            do_normalize=True,
        ).input_features
        assert features.shape == (1, 80, 800), features.shape
        out[name] = features[0, :, ::STEP].astype(np.float32)
        out[f"{name}_span"] = np.array([start, end])
    np.savez_compressed(DATA / "melspec_reference.npz", **out)
    print(
        f"wrote {DATA / 'melspec_reference.npz'} (transformers {transformers.__version__})"
    )


if __name__ == "__main__":
    main()
