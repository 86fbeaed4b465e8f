#!/usr/bin/env python3
"""Build the human-speech test fixture from the Asterisk core sounds (Allison voice).

Writes ``tests/data/speech_turns.wav`` (16 kHz mono 16-bit) and ``tests/data/speech_turns.json``
(the manifest: each clip's transcript and its speech start/end in seconds, and the expected
turns). Needs the Debian package ``asterisk-core-sounds-en-g722`` and the ``G722`` Python
package; the tests only need the generated files.

Each clip is trimmed to its speech (first to last 10 ms window above -50 dBFS) so the pauses
placed between clips are exactly known. A faint seeded noise floor (-72 dBFS) fills the whole
file so the pauses are not digital silence; the output is byte-for-byte reproducible.

    python scripts/make_speech_fixture.py [--out-dir tests/data]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import wave
from pathlib import Path

import numpy as np

SOUNDS = Path("/usr/share/asterisk/sounds/en")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
RATE = 16000
TRIM_DBFS = -50.0
NOISE_DBFS = -72.0
LEAD_S = 0.8
TAIL_S = 0.5

# (clip name, pause in seconds after it). A pause >= 1.5 s ends the turn; the 0.3 s pause is
# inside turn 2 and should give turn.eager_end then turn.resume. The clips were chosen because
# pocketsphinx's default English model transcribes each of them without error on its own.
PLAN: list[tuple[str, float]] = [
    ("all-circuits-busy-now", 1.6),
    ("pls-hold-while-try", 0.3),
    ("cannot-complete-as-dialed", 1.6),
    ("demo-echodone", 0.0),
]
TURN_PAUSE_S = 1.5


def load_transcripts() -> dict[str, str]:
    """Clip name -> transcript text, from the package's transcript list."""
    out: dict[str, str] = {}
    with gzip.open(TRANSCRIPTS, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            out[name.strip()] = text.strip()
    return out


def normalise(text: str) -> str:
    """Lowercase words separated by single spaces, punctuation dropped (hyphens split words)."""
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower().replace("-", " ")).split())


def load_clip(name: str) -> np.ndarray:
    """Decode one G.722 clip to float32 samples at 16 kHz."""
    import G722

    pcm = G722.G722(RATE, 64000).decode((SOUNDS / f"{name}.g722").read_bytes())
    return np.asarray(pcm, dtype=np.int16).astype(np.float32) / 32768.0


def trim(samples: np.ndarray) -> np.ndarray:
    """Cut leading and trailing silence (10 ms windows below ``TRIM_DBFS``)."""
    win = RATE // 100
    n = len(samples) // win
    rms = np.sqrt(np.mean(samples[: n * win].reshape(n, win) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms) > TRIM_DBFS)
    if len(loud) == 0:
        raise SystemExit("clip has no speech above the trim threshold")
    return samples[loud[0] * win : (loud[-1] + 1) * win]


def build(out_dir: Path) -> None:
    """Write the WAV and the manifest into ``out_dir``."""
    transcripts = load_transcripts()
    parts: list[np.ndarray] = [np.zeros(round(LEAD_S * RATE), dtype=np.float32)]
    segments: list[dict[str, object]] = []
    turns: list[dict[str, object]] = []
    pos = len(parts[0])
    turn_segments: list[int] = []
    for name, pause in PLAN:
        clip = trim(load_clip(name))
        segments.append(
            {
                "clip": name,
                "text": normalise(transcripts[name]),
                "start_s": round(pos / RATE, 4),
                "end_s": round((pos + len(clip)) / RATE, 4),
                "pause_after_s": pause,
            }
        )
        turn_segments.append(len(segments) - 1)
        parts.append(clip)
        pos += len(clip)
        if pause >= TURN_PAUSE_S or name == PLAN[-1][0]:
            first, last = segments[turn_segments[0]], segments[turn_segments[-1]]
            turns.append(
                {
                    "segments": turn_segments,
                    "text": " ".join(str(segments[i]["text"]) for i in turn_segments),
                    "speech_start_s": first["start_s"],
                    "speech_end_s": last["end_s"],
                    "short_pauses": len(turn_segments) - 1,
                }
            )
            turn_segments = []
        gap = pause if pause > 0 else TAIL_S
        parts.append(np.zeros(round(gap * RATE), dtype=np.float32))
        pos += round(gap * RATE)

    audio = np.concatenate(parts)
    rng = np.random.default_rng(20240611)
    audio = audio + rng.standard_normal(len(audio)).astype(np.float32) * np.float32(
        10 ** (NOISE_DBFS / 20)
    )
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2")

    out_dir.mkdir(parents=True, exist_ok=True)
    wav_path = out_dir / "speech_turns.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())
    manifest = {
        "wav": wav_path.name,
        "sample_rate": RATE,
        "duration_s": round(len(pcm) / RATE, 4),
        "source": "Asterisk core sounds (en, Allison voice), Digium/Sangoma, CC-BY-SA 3.0",
        "segments": segments,
        "turns": turns,
    }
    (out_dir / "speech_turns.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {wav_path} ({len(pcm) / RATE:.2f} s) and speech_turns.json", file=sys.stderr)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parents[1] / "tests" / "data")
    args = parser.parse_args()
    if not SOUNDS.is_dir() or not TRANSCRIPTS.is_file():
        raise SystemExit("install the Debian package asterisk-core-sounds-en-g722 first")
    build(args.out_dir)


if __name__ == "__main__":
    main()
