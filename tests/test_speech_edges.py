"""Refined speech edges: the reference VAD's edges against independently labelled speech,
a synthetic tone burst with known edges, the search window, and noise without speech."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import median

import numpy as np
import pytest

from voiceconsole.audio.edges import START_WINDOW_S, STOP_WINDOW_S, EdgeRefiner
from voiceconsole.audio.vad import ReferenceVad
from voiceconsole.audio.wavio import read_wav

DATA = Path(__file__).parent / "data"
RATE = 16000
TARGET_MEDIAN_MS = 20.0
TARGET_MAX_MS = 40.0


def labelled_files() -> dict[str, list[dict]]:
    """Labels (tests/data/speech_edges.json) grouped by the file they are in."""
    doc = json.loads((DATA / "speech_edges.json").read_text())
    out: dict[str, list[dict]] = {}
    for row in doc["edges"]:
        out.setdefault(row["file"], []).append(row)
    return out


def run_vad(audio: np.ndarray, chunk: int = 320, **kwargs) -> list:
    """Every edge the reference VAD reports on ``audio`` fed in ``chunk``-sample blocks."""
    ref = ReferenceVad(**kwargs)
    edges = []
    for i in range(0, len(audio), chunk):
        edges.extend(ref.process(audio[i : i + chunk]))
    edges.extend(ref.process(np.zeros(RATE, dtype=np.float32)))
    return edges


@pytest.fixture(scope="module")
def labelled() -> list[tuple[dict, list]]:
    """(labels, refined edges) per labelled file."""
    out = []
    for name, rows in labelled_files().items():
        audio = read_wav(str(DATA / name))[0].reshape(-1)
        out.append((rows, run_vad(audio)))
    return out


def test_labels_cover_both_speech_fixtures() -> None:
    files = labelled_files()
    assert set(files) == {"speech_turns.wav", "speech_edges.wav"}
    turns = json.loads((DATA / "speech_turns.json").read_text())
    assert [r["clip"] for r in files["speech_turns.wav"]] == [
        s["clip"] for s in turns["segments"]
    ]
    for rows in files.values():
        for row in rows:
            assert row["start_s"] < row["stop_s"]


def test_refined_edges_meet_the_target_on_labelled_speech(labelled) -> None:
    errors: dict[str, list[float]] = {"start": [], "stop": []}
    for rows, edges in labelled:
        assert [e.kind for e in edges] == ["start", "stop"] * len(rows)
        for row, start, stop in zip(rows, edges[::2], edges[1::2]):
            errors["start"].append(abs(start.speech_audio_t - row["start_s"]) * 1000)
            errors["stop"].append(abs(stop.speech_audio_t - row["stop_s"]) * 1000)
    for kind, errs in errors.items():
        assert len(errs) == 12
        assert median(errs) <= TARGET_MEDIAN_MS, (kind, errs)
        assert max(errs) <= TARGET_MAX_MS, (kind, errs)


def test_refining_moves_audio_times_only(labelled) -> None:
    # The same edges, reported at the same moments: only speech_audio_t moves.
    rows, refined = labelled[0]
    audio = read_wav(str(DATA / rows[0]["file"]))[0].reshape(-1)
    raw = run_vad(audio, refine=False)
    assert [(e.kind, e.detected_audio_t) for e in raw] == [
        (e.kind, e.detected_audio_t) for e in refined
    ]
    assert [e.speech_audio_t for e in raw] != [e.speech_audio_t for e in refined]
    for e in refined:
        assert e.speech_audio_t < e.detected_audio_t


def test_edges_do_not_depend_on_block_size(labelled) -> None:
    rows, refined = labelled[1]
    audio = read_wav(str(DATA / rows[0]["file"]))[0].reshape(-1)
    # One call with the whole file: the VAD works through it in pieces the ring can hold.
    whole = run_vad(audio, chunk=len(audio))
    assert [(e.kind, e.speech_audio_t) for e in whole] == [
        (e.kind, e.speech_audio_t) for e in refined
    ]


def tone_burst(
    start_s: float, stop_s: float, total_s: float = 3.0, seed: int = 1
) -> np.ndarray:
    """A 220 Hz tone with harmonics at about -20 dBFS between the two times, over -70 dBFS noise."""
    rng = np.random.default_rng(seed)
    audio = rng.standard_normal(round(total_s * RATE)).astype(np.float32) * np.float32(
        10 ** (-70 / 20)
    )
    a, b = round(start_s * RATE), round(stop_s * RATE)
    t = np.arange(b - a) / RATE
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in (1, 2, 3))
    audio[a:b] += (0.1 * tone).astype(np.float32)
    return audio


def refiner_with(audio: np.ndarray) -> EdgeRefiner:
    refiner = EdgeRefiner(RATE)
    for i in range(0, len(audio), 320):
        refiner.push(audio[i : i + 320])
    return refiner


@pytest.mark.parametrize(
    ("vad_start_ms", "vad_stop_ms"), [(64, -40), (-30, 60), (0, 0), (150, -90)]
)
def test_tone_burst_edges_are_found_to_the_millisecond(
    vad_start_ms: int, vad_stop_ms: int
) -> None:
    # A VAD that dates the burst late or early, within the search windows: the refiner finds
    # the true edges, 1.000 s and 1.800 s, within its 1 ms step.
    start, stop = 1.0, 1.8
    audio = tone_burst(start, stop)
    # Each edge is refined once the VAD would report it: with the samples up to then.
    at_start = round((start + vad_start_ms / 1000) * RATE)
    refiner = refiner_with(audio[: at_start + round(0.2 * RATE)])
    assert refiner.refine_start(at_start) / RATE == pytest.approx(start, abs=0.0011)
    at_stop = round((stop + vad_stop_ms / 1000) * RATE)
    refiner = refiner_with(audio[: at_stop + round(0.3 * RATE)])
    found = refiner.refine_stop(at_stop, at_stop + 256)
    assert found / RATE == pytest.approx(stop, abs=0.0011)


@pytest.mark.parametrize("offset_ms", [-600, -400, -250, 120, 300, 500])
def test_refinement_never_leaves_its_window(offset_ms: int) -> None:
    # The VAD's edge is far from the burst's (farther than the window reaches): the refined
    # edge stays inside the window, whatever the energy does outside it.
    start, stop = 1.5, 2.3
    audio = tone_burst(start, stop, total_s=4.0)
    at = round((start + offset_ms / 1000) * RATE)
    refiner = refiner_with(audio[: at + round(0.2 * RATE)])
    lo, hi = refiner.window("start", at)
    assert (lo, hi) == (
        at + round(START_WINDOW_S[0] * RATE),
        at + round(START_WINDOW_S[1] * RATE),
    )
    assert lo <= refiner.refine_start(at) <= hi
    at = round((stop + offset_ms / 1000) * RATE)
    refiner = refiner_with(audio[: at + round(0.3 * RATE)])
    lo, hi = refiner.window("stop", at)
    assert (lo, hi) == (
        at + round(STOP_WINDOW_S[0] * RATE),
        at + round(STOP_WINDOW_S[1] * RATE),
    )
    assert lo <= refiner.refine_stop(at, at + 256) <= hi


def test_no_clear_energy_edge_keeps_the_vad_edge() -> None:
    # Noise only (no anchor above it) and digital silence: the VAD's own edge is kept.
    noise = np.random.default_rng(3).standard_normal(2 * RATE).astype(
        np.float32
    ) * np.float32(0.01)
    for audio in (noise, np.zeros(2 * RATE, dtype=np.float32)):
        refiner = refiner_with(audio)
        assert refiner.refine_start(RATE) == RATE
        assert refiner.refine_stop(RATE, RATE + 256) == RATE


@pytest.mark.parametrize("level_dbfs", [-60.0, -30.0])
def test_noise_only_audio_has_no_speech_edge(level_dbfs: float) -> None:
    rng = np.random.default_rng(11)
    white = rng.standard_normal(8 * RATE)
    brown = np.cumsum(rng.standard_normal(8 * RATE))
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")  # no DC drift
    for noise in (white, brown):
        audio = (noise / np.sqrt(np.mean(noise**2)) * 10 ** (level_dbfs / 20)).astype(
            np.float32
        )
        assert run_vad(audio) == []


def test_speech_right_at_the_start_of_the_stream() -> None:
    # Less silence before the onset than the noise stretch wants: the floor comes from what
    # there is, and the onset is still found.
    audio = tone_burst(0.1, 0.9, total_s=1.5)
    at = round(0.15 * RATE)
    refiner = refiner_with(audio[: at + round(0.2 * RATE)])
    assert refiner.refine_start(at) / RATE == pytest.approx(0.1, abs=0.0011)
