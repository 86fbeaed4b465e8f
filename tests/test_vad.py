"""Silero frame VAD and the reference VAD, on the human-speech fixture."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from voiceconsole.audio.vad import REFERENCE_BATCH, ReferenceVad, SileroFrameVad

DATA = Path(__file__).parent / "data"


def load_fixture() -> tuple[np.ndarray, dict]:
    """The fixture's samples (float32, 16 kHz) and manifest."""
    manifest = json.loads((DATA / "speech_turns.json").read_text())
    with wave.open(str(DATA / manifest["wav"]), "rb") as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, manifest


@pytest.fixture(scope="module")
def fixture_audio() -> tuple[np.ndarray, dict]:
    return load_fixture()


def run_frames(
    vad: SileroFrameVad, audio: np.ndarray, chunk: int
) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    for i in range(0, len(audio), chunk):
        out.extend(vad.process(audio[i : i + chunk]))
    return out


def test_frames_do_not_depend_on_chunk_size(fixture_audio) -> None:
    audio = fixture_audio[0][: 16000 * 3]
    vad = SileroFrameVad()
    small = run_frames(vad, audio, 317)
    vad.reset()
    large = run_frames(vad, audio, 5000)
    assert len(small) == len(audio) // 512
    assert (
        [f.end for f in small]
        == [f.end for f in large]
        == [512 * (i + 1) for i in range(len(small))]
    )
    assert [f.probability for f in small] == pytest.approx(
        [f.probability for f in large], abs=1e-6
    )
    assert vad.samples_processed == len(small) * 512


def test_batched_frames_are_the_same_frames_reported_when_the_batch_is_full(
    fixture_audio,
) -> None:
    audio = fixture_audio[0][: 16000 * 3]
    single = run_frames(SileroFrameVad(), audio, 320)
    batched_vad = SileroFrameVad(batch=REFERENCE_BATCH)
    batched = run_frames(batched_vad, audio, 320)
    assert (
        REFERENCE_BATCH > 1
        and len(batched) == len(single) // REFERENCE_BATCH * REFERENCE_BATCH
    )
    assert [f.end for f in batched] == [f.end for f in single[: len(batched)]]
    assert [f.probability for f in batched] == pytest.approx(
        [f.probability for f in single[: len(batched)]], abs=1e-6
    )
    # Frames in short of a batch: nothing yet; the last one completes the batch and all come out.
    batched_vad.reset()
    short = 512 * (REFERENCE_BATCH - 1)
    assert batched_vad.process(audio[:short]) == []
    assert [f.end for f in batched_vad.process(audio[short : short + 512])] == [
        512 * (i + 1) for i in range(REFERENCE_BATCH)
    ]
    with pytest.raises(ValueError):
        SileroFrameVad(batch=0)


def test_reset_restarts_position(fixture_audio) -> None:
    vad = SileroFrameVad()
    vad.process(fixture_audio[0][:700])
    vad.reset()
    frames = vad.process(np.zeros(512, dtype=np.float32))
    assert [f.end for f in frames] == [512]


def test_probabilities_follow_speech(fixture_audio) -> None:
    audio, manifest = fixture_audio
    frames = run_frames(SileroFrameVad(), audio, 320)
    seg = manifest["segments"][0]
    inside = [
        p
        for end, p in frames
        if seg["start_s"] + 0.1 < end / 16000 < seg["end_s"] - 0.1
    ]
    before = [p for end, p in frames if end / 16000 < seg["start_s"] - 0.1]
    assert np.mean(inside) > 0.8
    assert max(before) < 0.1


def test_rejects_other_rates() -> None:
    with pytest.raises(ValueError):
        SileroFrameVad(8000)


def reference_edges(audio: np.ndarray, **kwargs) -> list:
    ref = ReferenceVad(**kwargs)
    edges = []
    for i in range(0, len(audio), 320):
        edges.extend(ref.process(audio[i : i + 320]))
    edges.extend(ref.process(np.zeros(16000, dtype=np.float32)))
    return edges


def test_reference_edges_match_manifest(fixture_audio) -> None:
    audio, manifest = fixture_audio
    edges = reference_edges(audio)
    frames_only = reference_edges(audio, refine=False)
    segments = manifest["segments"]
    # Every clip, including the two separated by only 0.3 s, is its own stretch of speech.
    assert (
        [e.kind for e in edges]
        == [e.kind for e in frames_only]
        == ["start", "stop"] * len(segments)
    )
    for seg, start, stop in zip(segments, edges[::2], edges[1::2]):
        # The clips were cut to their speech: refined edges are the cut, to the millisecond.
        assert start.speech_audio_t == pytest.approx(seg["start_s"], abs=0.002)
        assert stop.speech_audio_t == pytest.approx(seg["end_s"], abs=0.002)
        assert start.detected_audio_t > start.speech_audio_t
    for seg, start, stop in zip(segments, frames_only[::2], frames_only[1::2]):
        # From the frames alone, within a frame or so; a stop is certain 200 ms after its frame.
        assert start.speech_audio_t == pytest.approx(seg["start_s"], abs=0.04)
        assert stop.speech_audio_t == pytest.approx(seg["end_s"], abs=0.04)
        assert stop.detected_audio_t >= stop.speech_audio_t + 0.2
        assert stop.detected_audio_t < stop.speech_audio_t + 0.35
    # Refining moves the audio times only: each edge is reported at the same moment.
    assert [e.detected_audio_t for e in edges] == [
        e.detected_audio_t for e in frames_only
    ]


class ScriptedVad:
    """Stands in for SileroFrameVad: one scripted probability per 512 samples fed."""

    sample_rate = 16000
    frame_samples = 512
    frame_seconds = 0.032

    def __init__(self, probabilities: list[float]) -> None:
        self._probs = list(probabilities)
        self._done = 0

    def reset(self) -> None:
        self._done = 0

    def process(self, samples: np.ndarray) -> list[tuple[int, float]]:
        frames = []
        for _ in range(len(samples) // 512):
            frames.append(((self._done + 1) * 512, self._probs[self._done]))
            self._done += 1
        return frames


def scripted_edges(probs: list[float], **kwargs) -> list[tuple[str, float, float]]:
    ref = ReferenceVad(vad=ScriptedVad(probs), **kwargs)  # type: ignore[arg-type]
    edges = ref.process(np.zeros(512 * len(probs), dtype=np.float32))
    return [
        (e.kind, round(e.speech_audio_t * 1000), round(e.detected_audio_t * 1000))
        for e in edges
    ]


def test_reference_hysteresis() -> None:
    # Two speech frames are shorter than 96 ms of start hysteresis: nothing.
    assert scripted_edges([0.0, 0.9, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]) == []
    # Three frames start speech, dated at the first; a dip to 0.4 (above 0.35) does not count
    # as silence; seven frames below 0.35 (224 ms >= 200 ms) stop it, dated mid last speech frame.
    probs = [0.0, 0.9, 0.9, 0.9, 0.4, 0.9, 0.4] + [0.1] * 7 + [0.0]
    assert scripted_edges(probs) == [("start", 32, 128), ("stop", 176, 448)]
    # Six silent frames (192 ms) are not enough to stop.
    assert scripted_edges([0.9] * 3 + [0.1] * 6 + [0.9]) == [("start", 0, 96)]
