"""Human speech with mid-sentence pauses, for Smart Turn's tests and benchmark.

Built at run time from the bundled ``tests/data/speech_turns.wav`` (four Asterisk prompts, Allison
voice, CC-BY-SA 3.0): a pause of :data:`PAUSE_S` of the file's own noise floor is inserted at each
of :data:`MID_SENTENCE_CUTS`, word boundaries inside a sentence (found with pocketsphinx's word
segmentation of each clip; one per clip, where Smart Turn's P stayed below 0.3 whatever the
pause's exact length, 0.2-0.3 s, and the pre-speech, 0.4-0.6 s: at other word boundaries, e.g.
"all circuits | are busy now", it ranged from 0.06 to 0.81). The VAD rule with its default 800 ms end silence waits through such a
pause; a detector that ends a turn there has cut the speaker off.

The file's turn ends (:data:`TURN_ENDS`, from ``speech_turns.json``) stay the true ends. The
end of the first sentence of turn 2 ("... connect you", then a 0.3 s pause, then "your call ...")
is a complete sentence inside one turn: it is in neither list.
"""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
SPEECH = DATA / "speech_turns.wav"
MANIFEST = json.loads((DATA / "speech_turns.json").read_text())
RATE = 16000
PAUSE_S = 0.6
"""Inserted pause: past the 200 ms at which Smart Turn runs, short of the 800 ms end silence."""

MID_SENTENCE_CUTS: dict[float, str] = {
    1.05: "all | circuits are busy now",
    5.02: "please hold while | we try to connect you",
    8.52: "your call cannot be completed as | dialed",
    12.18: "the echo test has been | completed",
}
"""Seconds of ``speech_turns.wav`` where a pause is inserted, and the words either side."""
WORD_BOUNDARIES: dict[float, tuple[float, ...]] = {
    0.8: (1.05, 1.57, 1.66, 2.01),
    4.07: (4.43, 4.81, 5.02, 5.15, 5.39, 5.47, 5.91),
    6.57: (6.88, 7.21, 7.58, 7.71, 8.29, 8.52),
    10.71: (10.96, 11.32, 11.73, 11.97, 12.18),
}
"""Every word boundary inside each sentence (by the sentence's speech start), from pocketsphinx's
word segmentation of ``speech_turns.wav``."""
SENTENCE_ENDS: dict[float, float] = {0.8: 2.47, 4.07: 6.27, 6.57: 9.11, 10.71: 12.96}
"""Where each sentence's speech ends (by its start)."""
TURN_ENDS: tuple[float, ...] = tuple(turn["speech_end_s"] for turn in MANIFEST["turns"])
"""Where the speech of each turn ends in ``speech_turns.wav`` (2.47, 9.11, 12.96)."""


def load_speech() -> np.ndarray:
    """``speech_turns.wav`` as float32."""
    with wave.open(str(SPEECH), "rb") as w:
        return (
            np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(
                np.float32
            )
            / 32768.0
        )


@dataclass(frozen=True)
class PausedSpeech:
    """The speech with pauses inserted, and where things are in it (seconds)."""

    audio: np.ndarray
    mid_pauses: tuple[float, ...]
    """Where each inserted pause begins (the speech before it stops there)."""
    turn_ends: tuple[float, ...]
    """Where each turn's speech ends."""

    def write(self, path: Path) -> Path:
        """As a 16 kHz mono 16-bit WAV."""
        pcm = np.clip(np.round(self.audio * 32767.0), -32768, 32767).astype("<i2")
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(pcm.tobytes())
        return path


def paused_speech(pause_s: float = PAUSE_S) -> PausedSpeech:
    """``speech_turns.wav`` with a ``pause_s`` pause at every mid-sentence cut."""
    audio = load_speech()
    quiet = audio[: round(0.7 * RATE)]  # the file's lead-in: its noise floor only
    pause = np.resize(quiet, round(pause_s * RATE))
    parts: list[np.ndarray] = []
    prev = 0
    for cut in sorted(MID_SENTENCE_CUTS):
        at = round(cut * RATE)
        parts += [audio[prev:at], pause]
        prev = at
    parts.append(audio[prev:])

    def shifted(t: float) -> float:
        return t + pause_s * sum(1 for cut in MID_SENTENCE_CUTS if cut < t)

    mids = tuple(round(shifted(cut), 4) for cut in sorted(MID_SENTENCE_CUTS))
    ends = tuple(round(shifted(end), 4) for end in TURN_ENDS)
    return PausedSpeech(np.concatenate(parts), mids, ends)
