#!/usr/bin/env python3
"""Label the true speech edges of the bundled human speech, and build a second edge fixture.

Writes ``tests/data/speech_edges.wav`` (eight more Asterisk prompts, whole, with their soft
onsets and decays) and ``tests/data/speech_edges.json``: for every clip in that file and in
``speech_turns.wav``, where its speech really starts and stops, in seconds of the file.

The labels do not come from the edge refinement under test (voiceconsole/audio/edges.py),
nor from any VAD. They come from how each fixture is assembled plus the clean source clip:

- every clip is placed at a known sample offset, so its position in the file is exact;
- the edge inside the clip is read off the clean clip (before the fixture's noise floor is
  added): its envelope (RMS over 5 ms, every 1 ms) rises out of the codec's silence (about
  -80 dBFS) to ``LABEL_DBFS`` (20 dB above it) at the start, and falls back under it at the
  stop; a crossing counts only if the envelope reaches ``SPEECH_DBFS`` within 150 ms of it
  (speech, not a click).

Every label was then checked by eye: ``--show`` prints the clean and the noisy envelope around
each edge with the label marked (see tests/data/README.md).

Needs the Debian package ``asterisk-core-sounds-en-g722`` (and ``asterisk-core-sounds-en`` for
the ``en`` path) and the ``G722`` Python package; the tests only need the generated files.

    python scripts/make_speech_edges.py [--out-dir tests/data] [--show]
"""

from __future__ import annotations

import argparse
import json
import sys
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_speech_fixture as turns

RATE = turns.RATE
LABEL_DBFS = -60.0
SPEECH_DBFS = -40.0
SPEECH_WITHIN_S = 0.15
ENV_WIN = RATE // 200  # 5 ms
ENV_HOP = RATE // 1000  # 1 ms
GAP_S = 0.7
LEAD_S = 0.6
NOISE_SEED = 20261203

# Chosen for their edges: fricative and breathy onsets (s, f, th, h), stops and fricatives at
# the end (t, s, l, n), and a released final t after a quiet closure (reached).
EDGE_CLIPS = [
    "something-terribly-wrong",
    "sorry-youre-having-problems",
    "queue-thankyou",
    "conf-full",
    "from-unknown-caller",
    "feature-not-avail-line",
    "conf-locked",
    "simul-call-limit-reached",
]

METHOD = (
    "sample offset of the clip in the assembled file + the clean source clip's 5 ms RMS envelope "
    f"(1 ms hop) crossing {LABEL_DBFS:g} dBFS (20 dB over the codec silence), counted only when "
    f"it reaches {SPEECH_DBFS:g} dBFS within {SPEECH_WITHIN_S * 1000:g} ms; checked by eye "
    "(scripts/make_speech_edges.py --show)"
)


def envelope_db(clean: np.ndarray) -> np.ndarray:
    """RMS in dBFS of the 5 ms window starting at every 1 ms step."""
    starts = np.arange(0, max(1, len(clean) - ENV_WIN + 1), ENV_HOP)
    sq = np.concatenate([[0.0], np.cumsum(clean.astype(np.float64) ** 2)])
    power = (sq[starts + ENV_WIN] - sq[starts]) / ENV_WIN
    return 10 * np.log10(power + 1e-14)


def clip_edges(clean: np.ndarray) -> tuple[int, int]:
    """Speech start and stop in samples of the clean clip (see the module docstring)."""
    env = envelope_db(clean)
    within = round(SPEECH_WITHIN_S * 1000)
    above = env >= LABEL_DBFS
    # Rising crossings of the label level whose next 150 ms reach speech level.
    start = next(
        i
        for i in range(len(env))
        if above[i]
        and (i == 0 or not above[i - 1])
        and env[i : i + within].max() >= SPEECH_DBFS
    )
    stop = next(
        i
        for i in range(len(env) - 1, -1, -1)
        if above[i]
        and (i == len(env) - 1 or not above[i + 1])
        and env[max(0, i - within) : i + 1].max() >= SPEECH_DBFS
    )
    return start * ENV_HOP, stop * ENV_HOP + ENV_WIN


def add_noise(audio: np.ndarray, seed: int) -> np.ndarray:
    """The fixtures' seeded noise floor, quantised to 16-bit PCM."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(audio)).astype(np.float32) * np.float32(
        10 ** (turns.NOISE_DBFS / 20)
    )
    return np.clip(np.round((audio + noise) * 32767.0), -32768, 32767).astype("<i2")


def turns_layout() -> list[tuple[str, int, np.ndarray]]:
    """(clip, sample offset, clean clip) of speech_turns.wav, laid out as its script does."""
    pos = round(turns.LEAD_S * RATE)
    out = []
    for name, pause in turns.PLAN:
        clip = turns.trim(turns.load_clip(name))
        out.append((name, pos, clip))
        pos += len(clip) + round((pause if pause > 0 else turns.TAIL_S) * RATE)
    return out


def edges_layout() -> tuple[list[tuple[str, int, np.ndarray]], int]:
    """(clip, sample offset, clean clip) of speech_edges.wav (whole clips), and its length."""
    pos = round(LEAD_S * RATE)
    out = []
    for name in EDGE_CLIPS:
        clip = turns.load_clip(name)
        out.append((name, pos, clip))
        pos += len(clip) + round(GAP_S * RATE)
    return out, pos


def labels(
    file: str, layout: list[tuple[str, int, np.ndarray]]
) -> list[dict[str, object]]:
    """One label per clip: its speech start and stop in seconds of ``file``."""
    rows = []
    for name, pos, clip in layout:
        start, stop = clip_edges(clip)
        rows.append(
            {
                "file": file,
                "clip": name,
                "start_s": round((pos + start) / RATE, 4),
                "stop_s": round((pos + stop) / RATE, 4),
            }
        )
    return rows


def show(
    rows: list[dict[str, object]],
    out_dir: Path,
    layout: dict[str, tuple[int, np.ndarray]],
) -> None:
    """Print the clean and the noisy 5 ms envelope around every label, the label marked '|'."""
    for row in rows:
        with wave.open(str(out_dir / str(row["file"])), "rb") as wav:
            noisy = (
                np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(
                    np.float32
                )
                / 32768.0
            )
        pos, clip = layout[str(row["clip"])]
        clean = np.zeros_like(noisy)
        clean[pos : pos + len(clip)] = clip
        for kind in ("start_s", "stop_s"):
            at = round(float(row[kind]) * RATE)  # type: ignore[arg-type]
            print(
                f"{row['file']} {row['clip']} {kind[:-2]} {row[kind]} s  (5 ms steps, -50..+45 ms)"
            )
            for label, sig in (("clean", clean), ("noisy", noisy)):
                cells = []
                for k in range(-10, 10):
                    a = at + k * ENV_WIN
                    db = 10 * np.log10(
                        np.mean(sig[a : a + ENV_WIN].astype(np.float64) ** 2) + 1e-14
                    )
                    cells.append(("|" if k == 0 else " ") + f"{db:4.0f}")
                print(f"  {label} " + "".join(cells))


def build(out_dir: Path, show_labels: bool) -> None:
    """Write speech_edges.wav and speech_edges.json into ``out_dir``."""
    layout, length = edges_layout()
    audio = np.zeros(length + round(LEAD_S * RATE), dtype=np.float32)
    for _, pos, clip in layout:
        audio[pos : pos + len(clip)] = clip
    pcm = add_noise(audio, NOISE_SEED)
    out_dir.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out_dir / "speech_edges.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())
    turns_rows = turns_layout()
    rows = labels("speech_turns.wav", turns_rows) + labels("speech_edges.wav", layout)
    doc = {
        "source": "Asterisk core sounds (en, Allison voice), Digium/Sangoma, CC-BY-SA 3.0",
        "licence": "CC-BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/)",
        "sample_rate": RATE,
        "method": METHOD,
        "edges": rows,
    }
    (out_dir / "speech_edges.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(
        f"wrote speech_edges.wav ({len(pcm) / RATE:.2f} s) and speech_edges.json ({len(rows)} clips)",
        file=sys.stderr,
    )
    if show_labels:
        show(
            rows,
            out_dir,
            {name: (pos, clip) for name, pos, clip in turns_rows + layout},
        )


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "tests" / "data",
    )
    parser.add_argument(
        "--show", action="store_true", help="print the envelope around every label"
    )
    args = parser.parse_args()
    if not turns.SOUNDS.is_dir() or not turns.TRANSCRIPTS.is_file():
        raise SystemExit(
            "install the Debian packages asterisk-core-sounds-en-g722 and asterisk-core-sounds-en first"
        )
    build(args.out_dir, args.show)


if __name__ == "__main__":
    main()
