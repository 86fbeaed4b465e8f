"""Speech edges of the reference VAD against independently labelled human speech.

The labels (tests/data/speech_edges.json, made by scripts/make_speech_edges.py from each clip's
offset in its file and the clean source clip, checked by eye) give where speech really starts
and stops in the 12 clips of speech_turns.wav and speech_edges.wav. The reference VAD runs
over both files in 20 ms blocks, as in a session, before (``refine=False``: the edges dated
from Silero's 32 ms frames) and after refinement (the default). Figures: |error| in ms of
starts and of stops; the refined ones against the issue's targets (median <= 20 ms,
max <= 40 ms). For information: the same after raising the noise floor from -72 to -60 dBFS
(soft onsets and tails then sink under the noise: the labels stay where the clean speech
is), and what refining costs per edge.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from statistics import median

import numpy as np

from benchmarks.common import Figure, distribution, repo_root, single

BLOCK = 320  # 20 ms at 16 kHz, the session's block
MEDIAN_TARGET_MS = 20.0
MAX_TARGET_MS = 40.0


def _labelled() -> list[tuple[np.ndarray, list[dict]]]:
    from voiceconsole.audio.wavio import read_wav

    data = Path(repo_root()) / "tests" / "data"
    doc = json.loads((data / "speech_edges.json").read_text())
    files: dict[str, list[dict]] = {}
    for row in doc["edges"]:
        files.setdefault(row["file"], []).append(row)
    return [
        (read_wav(str(data / name))[0].reshape(-1), rows)
        for name, rows in files.items()
    ]


def _edges(audio: np.ndarray, refine: bool) -> tuple[list, float]:
    """The VAD's edges over ``audio`` (then a second of silence), and the CPU seconds it took."""
    from voiceconsole.audio.vad import ReferenceVad

    ref = ReferenceVad(refine=refine)
    edges = []
    t0 = time.process_time()
    for i in range(0, len(audio), BLOCK):
        edges.extend(ref.process(audio[i : i + BLOCK]))
    edges.extend(ref.process(np.zeros(16000, dtype=np.float32)))
    return edges, time.process_time() - t0


def _errors(
    files: list[tuple[np.ndarray, list[dict]]], refine: bool
) -> tuple[dict[str, list[float]], float, int]:
    """Signed errors in ms per kind, CPU seconds, edges found."""
    errors: dict[str, list[float]] = {"start": [], "stop": []}
    cpu = 0.0
    found = 0
    for audio, rows in files:
        edges, took = _edges(audio, refine)
        cpu += took
        found += len(edges)
        if [e.kind for e in edges] != ["start", "stop"] * len(rows):
            raise RuntimeError(
                f"expected {len(rows)} start/stop pairs, got {[e.kind for e in edges]}"
            )
        for row, start, stop in zip(rows, edges[::2], edges[1::2]):
            errors["start"].append((start.speech_audio_t - row["start_s"]) * 1000)
            errors["stop"].append((stop.speech_audio_t - row["stop_s"]) * 1000)
    return errors, cpu, found


def _figure(name: str, signed: list[float], **kwargs) -> Figure:
    fig = distribution(name, "ms", [abs(e) for e in signed], **kwargs)
    fig.extra = {
        "signed_median_ms": round(median(signed), 2),
        "signed_ms": [round(e, 1) for e in signed],
    }
    return fig


def run(quick: bool) -> list[Figure]:
    files = _labelled()
    repeats = 1 if quick else 3
    vad_cpu = float("inf")
    for _ in range(repeats):
        before, cpu, _ = _errors(files, refine=False)
        vad_cpu = min(vad_cpu, cpu)
    after, _, _ = _errors(files, refine=True)
    rng = np.random.default_rng(7)
    noisy = [
        (
            audio
            + rng.standard_normal(len(audio)).astype(np.float32)
            * np.float32(10 ** (-60 / 20)),
            rows,
        )
        for audio, rows in files
    ]
    loud_noise, _, _ = _errors(noisy, refine=True)

    figures: list[Figure] = []
    for kind in ("start", "stop"):
        figures.append(
            _figure(
                f"edges: {kind} |error| before (VAD frames)",
                before[kind],
                note="refine=False",
            )
        )
        figures.append(
            _figure(
                f"edges: {kind} |error| refined",
                after[kind],
                target=MEDIAN_TARGET_MS,
                target_stat="median",
            )
        )
        figures.append(
            _figure(
                f"edges: {kind} |error| refined, worst",
                after[kind],
                target=MAX_TARGET_MS,
                target_stat="max",
            )
        )
    for kind in ("start", "stop"):
        figures.append(
            _figure(
                f"edges: {kind} |error| refined, noise at -60 dBFS",
                loud_noise[kind],
                note="labels unchanged",
            )
        )
    edge_us, push_us = _cost(files, repeats=20 if quick else 100)
    figures.append(
        distribution(
            "edges: CPU per edge refined",
            "us",
            edge_us,
            note="live, at the VAD's decision",
        )
    )
    figures.append(single("edges: CPU per 20 ms block kept in the ring", "us", push_us))
    blocks = sum(-(-len(audio) // BLOCK) for audio, _ in files)
    share = (sum(edge_us) + push_us * blocks) / (vad_cpu * 1e6) * 100
    figures.append(
        single("edges: refining's CPU, share of the reference VAD's", "%", share)
    )
    return figures


def _cost(
    files: list[tuple[np.ndarray, list[dict]]], repeats: int
) -> tuple[list[float], float]:
    """CPU microseconds of each refinement (at every raw VAD edge, with the samples fed by the
    time the VAD reports it), and of pushing one 20 ms block into the ring."""
    from voiceconsole.audio.edges import EdgeRefiner

    edge_us: list[float] = []
    for audio, _rows in files:
        raw, _ = _edges(audio, refine=False)
        for edge in raw:
            now = round(edge.detected_audio_t * 16000)
            at = round(edge.speech_audio_t * 16000)
            refiner = EdgeRefiner(16000)
            refiner.push(audio[max(0, now - 16000) : now])
            refiner.reset()
            refiner.push(audio[:now])
            t0 = time.process_time()
            for _ in range(repeats):
                if edge.kind == "start":
                    refiner.refine_start(at)
                else:
                    refiner.refine_stop(at, at + 256)
            edge_us.append((time.process_time() - t0) / repeats * 1e6)
    refiner = EdgeRefiner(16000)
    blocks = [
        files[0][0][i : i + BLOCK] for i in range(0, len(files[0][0]) - BLOCK, BLOCK)
    ]
    t0 = time.process_time()
    for block in blocks:
        refiner.push(block)
    return edge_us, (time.process_time() - t0) / len(blocks) * 1e6
