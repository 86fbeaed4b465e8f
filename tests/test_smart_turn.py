"""Smart Turn v3.2 as the offline engine's end-of-turn detector (``--turn-detector smart-turn``).

* The numpy log-mel front end against the reference: transformers' ``WhisperFeatureExtractor``
  (5.24.0, ``chunk_length=8``, ``do_normalize=True``), whose features for three spans of the
  bundled speech are in ``tests/data/melspec_reference.npz`` (every 8th frame of 80 x 800; made by
  ``scripts/make_melspec_fixture.py`` in a throwaway venv). Tolerance: 1e-5 absolute, on features
  ranging about -0.2 to 2 (measured difference: 1.2e-7, float32 rounding).
* The real model on the bundled human speech with mid-sentence pauses inserted
  (``tests/smart_turn_audio.py``: pauses after "all |", "please hold while |", "your call cannot be
  completed as |", "the echo test has been |"; true turn ends after "busy now", "as dialed",
  "has been completed"), run through the CLI headless: its P(complete) is higher at every true
  turn end than at any mid-sentence pause, and it ends the turns there, before the silence rule.
* Missing model / missing onnxruntime / bad threshold: one line saying what to do.
* ``fetch-model`` takes the model out of the pipecat-ai wheel (pip download, no dependencies).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.smart_turn_audio import PAUSE_S, load_speech, paused_speech
from voiceconsole.audio.melspec import (
    FRAMES,
    N_MELS,
    WINDOW_SAMPLES,
    last_window,
    smart_turn_features,
)
from voiceconsole.engines.base import TurnSettings
from voiceconsole.engines.smart_turn import (
    FETCH_COMMAND,
    MODEL_NAME,
    MODEL_SHA256,
    model_path,
)
from voiceconsole.events import TurnEnd, VadSignalBatch, from_json

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
RATE = 16000
MEL_TOLERANCE = 1e-5
END_MS = 800
RUN_AFTER_S = 0.5
"""Smart Turn runs at the eager-end silence (200 ms of VAD silence, which the VAD reaches some
frames after the speech's last sample): within half a second of the pause's start."""


def cli(
    *args: str,
    env: dict[str, str] | None = None,
    python: tuple[str, ...] = ("-m", "voiceconsole"),
):
    full = {
        **os.environ,
        "VOICECONSOLE_CONFIG": "/nonexistent/voiceconsole.toml",
        **(env or {}),
    }
    full.pop("CARTESIA_API_KEY", None)
    return subprocess.run(
        [sys.executable, *python, *args],
        check=False,
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("voiceconsole: error: "), lines[0]
    return lines[0]


# --- the front end ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["turn2", "short", "whole"])
def test_log_mel_matches_whisper_feature_extractor(case: str) -> None:
    reference = np.load(DATA / "melspec_reference.npz")
    step = int(reference["step"])
    start, end = reference[f"{case}_span"]
    audio = load_speech()[round(start * RATE) : round(end * RATE)]
    features = smart_turn_features(audio)
    assert features.shape == (1, N_MELS, FRAMES) and features.dtype == np.float32
    expected = reference[case]
    assert expected.shape == (N_MELS, FRAMES // step)
    np.testing.assert_allclose(
        features[0, :, ::step], expected, rtol=0, atol=MEL_TOLERANCE
    )


def test_window_keeps_the_last_8_s_and_pads_a_short_turn_at_the_start() -> None:
    audio = load_speech()
    assert np.array_equal(last_window(audio), audio[-WINDOW_SAMPLES:])
    short = audio[RATE : 2 * RATE]
    padded = last_window(short)
    assert padded.size == WINDOW_SAMPLES
    assert not padded[: WINDOW_SAMPLES - RATE].any() and np.array_equal(
        padded[-RATE:], short
    )


# --- the detector on human speech, through the CLI ----------------------------------------------


@pytest.fixture(scope="module")
def smart_run(tmp_path_factory: pytest.TempPathFactory):
    speech = paused_speech()
    wav = speech.write(tmp_path_factory.mktemp("smart") / "paused.wav")
    out = cli(
        "--no-ui",
        "--mic",
        str(wav),
        "--fast",
        "--speaker",
        "null",
        "--events",
        "-",
        "--turn-detector",
        "smart-turn",
        "--end-ms",
        str(END_MS),
    )
    assert out.returncode == 0, out.stderr
    events = [
        from_json(line) for line in out.stdout.splitlines() if line.startswith("{")
    ]
    return speech, events


def runs_after(events, t: float) -> list[VadSignalBatch]:
    """Smart Turn's runs within RUN_AFTER_S of audio second ``t``."""
    return [
        e
        for e in events
        if isinstance(e, VadSignalBatch)
        and e.smart_turn_p is not None
        and t < e.audio_t <= t + RUN_AFTER_S
    ]


def test_smart_turn_is_surer_at_true_turn_ends_than_at_mid_sentence_pauses(
    smart_run,
) -> None:
    speech, events = smart_run
    signals = [e for e in events if isinstance(e, VadSignalBatch)]
    assert signals and all(e.smart_turn_threshold == 0.5 for e in signals)
    at_mid = [runs_after(events, t) for t in speech.mid_pauses]
    at_end = [runs_after(events, t) for t in speech.turn_ends]
    assert all(len(runs) == 1 for runs in at_mid + at_end), (at_mid, at_end)
    mid_p = [runs[0].smart_turn_p for runs in at_mid]
    end_p = [runs[0].smart_turn_p for runs in at_end]
    assert max(mid_p) < min(end_p), (mid_p, end_p)
    assert max(mid_p) < 0.5 <= min(end_p), (mid_p, end_p)
    assert all(
        runs[0].smart_turn_ms is not None and runs[0].smart_turn_ms > 0
        for runs in at_mid + at_end
    )


def test_smart_turn_ends_turns_at_true_ends_before_the_silence_rule_and_not_mid_sentence(
    smart_run,
) -> None:
    speech, events = smart_run
    ends = [e for e in events if isinstance(e, TurnEnd)]
    for (
        pause
    ) in speech.mid_pauses:  # the speaker goes on after PAUSE_S: no end in the pause
        assert not [e for e in ends if pause < e.audio_t <= pause + PAUSE_S], pause
    for end in speech.turn_ends:
        (ended,) = [e for e in ends if end < e.audio_t <= end + END_MS / 1000]
        run = runs_after(events, end)[0]
        assert (
            ended.audio_t == run.audio_t
        )  # Smart Turn's verdict ended it, in the same frame
        assert (
            ended.audio_t - end < END_MS / 1000 - 0.2
        )  # well before the 800 ms silence rule


def test_vad_rule_alone_has_no_smart_turn_fields(tmp_path: Path) -> None:
    wav = paused_speech().write(tmp_path / "paused.wav")
    out = cli(
        "--no-ui", "--mic", str(wav), "--fast", "--speaker", "null", "--events", "-"
    )
    assert out.returncode == 0, out.stderr
    signals = [
        e
        for e in map(from_json, out.stdout.splitlines())
        if isinstance(e, VadSignalBatch)
    ]
    assert signals and all(
        e.smart_turn_threshold is None and e.smart_turn_p is None for e in signals
    )


def test_config_file_selects_smart_turn_and_its_threshold(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('turn-detector = "smart-turn"\nsmart-turn-threshold = 0.99\n')
    out = cli(
        "--no-ui",
        "--mic",
        str(DATA / "speech_turns.wav"),
        "--fast",
        "--speaker",
        "null",
        "--events",
        "-",
        "--config",
        str(config),
    )
    assert out.returncode == 0, out.stderr
    events = [
        from_json(line) for line in out.stdout.splitlines() if line.startswith("{")
    ]
    runs = [
        e
        for e in events
        if isinstance(e, VadSignalBatch) and e.smart_turn_p is not None
    ]
    assert runs and all(e.smart_turn_threshold == 0.99 for e in runs)
    # No verdict reaches 0.99 on this speech, so the 800 ms silence rule ends every turn.
    assert all(e.smart_turn_p < 0.99 for e in runs)
    assert not any(
        isinstance(e, TurnEnd) and e.audio_t == run.audio_t
        for e in events
        for run in runs
    )


# --- what a user sees when something is missing ---------------------------------------------------


def test_missing_model_says_to_fetch_it(tmp_path: Path) -> None:
    empty = tmp_path / "models"
    empty.mkdir()
    out = cli(
        "--no-ui",
        "--mic",
        str(DATA / "speech_turns.wav"),
        "--fast",
        "--speaker",
        "null",
        "--turn-detector",
        "smart-turn",
        env={"VOICECONSOLE_MODEL_DIR": str(empty)},
    )
    line = one_line_error(out)
    assert f"run `{FETCH_COMMAND}`" in line and str(empty) in line


def test_wrong_model_file_says_to_fetch_it_again(tmp_path: Path) -> None:
    (tmp_path / MODEL_NAME).write_bytes(b"not the model")
    out = cli(
        "--no-ui",
        "--mic",
        str(DATA / "speech_turns.wav"),
        "--fast",
        "--speaker",
        "null",
        "--turn-detector",
        "smart-turn",
        env={"VOICECONSOLE_MODEL_DIR": str(tmp_path)},
    )
    assert "sha256 differs" in one_line_error(out) and FETCH_COMMAND in out.stderr


def test_missing_onnxruntime_says_what_to_install() -> None:
    # onnxruntime stays installed; this process cannot import it (None in sys.modules).
    blocked = (
        "import sys; sys.modules['onnxruntime'] = None; from voiceconsole.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    out = cli(
        "--no-ui",
        "--mic",
        str(DATA / "speech_turns.wav"),
        "--fast",
        "--speaker",
        "null",
        "--turn-detector",
        "smart-turn",
        python=("-c", blocked),
    )
    assert "pip install 'voiceconsole[smart-turn]'" in one_line_error(out)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ("--smart-turn-threshold", "1.5"),
            "Smart Turn threshold must lie between 0 and 1",
        ),
        (
            ("--smart-turn-threshold", "0"),
            "Smart Turn threshold must lie between 0 and 1",
        ),
    ],
)
def test_bad_threshold_is_refused_in_one_line(
    args: tuple[str, ...], reason: str
) -> None:
    out = cli(
        "--no-ui",
        "--mic",
        str(DATA / "speech_turns.wav"),
        "--fast",
        "--turn-detector",
        "smart-turn",
        *args,
    )
    assert reason in one_line_error(out)


def test_bad_detector_in_the_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('turn-detector = "smarter"\n')
    out = cli(
        "--no-ui",
        "--mic",
        str(DATA / "speech_turns.wav"),
        "--fast",
        "--config",
        str(config),
    )
    assert (
        "turn detector must be one of vad, smart-turn, not 'smarter'"
        in one_line_error(out)
    )


def test_turn_settings_validate_the_detector() -> None:
    assert (
        TurnSettings(
            turn_detector="smart-turn", smart_turn_threshold=0.7
        ).smart_turn_threshold
        == 0.7
    )
    with pytest.raises(ValueError, match="Smart Turn threshold"):
        TurnSettings(smart_turn_threshold=1.0).validate()


# --- fetching the model -------------------------------------------------------------------------


def test_fetch_model_takes_the_pinned_file_out_of_the_pipecat_wheel(
    tmp_path: Path,
) -> None:
    target = tmp_path / "cache"
    out = cli(
        "fetch-model",
        "smart-turn",
        "--source",
        "pypi",
        env={"VOICECONSOLE_MODEL_DIR": str(target)},
    )
    assert out.returncode == 0, out.stderr
    fetched = target / MODEL_NAME
    assert hashlib.sha256(fetched.read_bytes()).hexdigest() == MODEL_SHA256
    assert str(fetched) in out.stdout and "pipecat-ai 1.14.0 wheel" in out.stdout
    again = cli(
        "fetch-model", "smart-turn", env={"VOICECONSOLE_MODEL_DIR": str(target)}
    )
    assert again.returncode == 0 and "already in the cache" in again.stdout
    assert sorted(p.name for p in target.iterdir()) == [
        MODEL_NAME
    ]  # no wheel or part file left


def test_the_tests_run_the_real_model() -> None:
    # setup.sh --test fetches it; without it the tests above would only see the error.
    assert model_path().is_file(), f"run `{FETCH_COMMAND}`"


def test_smart_turn_with_another_stt_engine_is_refused_in_one_line() -> None:
    out = cli(
        "--no-ui",
        "--mic",
        str(DATA / "speech_turns.wav"),
        "--stt",
        "cartesia-whisper",
        "--api-key",
        "sk-test",
        "--turn-detector",
        "smart-turn",
    )
    assert out.returncode == 2
    assert "runs in the offline engine only, not cartesia-whisper" in one_line_error(out)


def test_replay_through_smart_turn_ends_the_recorded_turns_sooner(tmp_path: Path) -> None:
    from voiceconsole.session.compare import ThroughConfig, run_all_through
    from voiceconsole.session.recording import load_recording

    rec = tmp_path / "session"
    out = cli("--no-ui", "--mic", str(DATA / "speech_turns.wav"), "--fast", "--speaker", "null", "--record", str(rec))
    assert out.returncode == 0, out.stderr
    recorded, smart = run_all_through(load_recording(rec), [ThroughConfig("local", {"turn_detector": "smart-turn"})])
    assert smart.label == "local end=800ms eager=200ms +smart-turn≥0.5"
    delay = "end_of_turn_delay"
    assert smart.metrics.summary[delay].p50 < recorded.metrics.summary[delay].p50 - 0.3
