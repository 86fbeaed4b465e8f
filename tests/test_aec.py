"""The echo canceller on a synthetic echo path: the bundled speech played as the far end comes
back delayed, filtered and attenuated into the mic, with and without a talker over it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voiceconsole.audio.wavio import read_wav

pytest.importorskip(
    "livekit.rtc", reason="echo cancellation needs: pip install 'voiceconsole[aec]'"
)

from voiceconsole.audio.aec import EchoCanceller, erle_db

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000


def energy(x: np.ndarray) -> float:
    return float(np.dot(x.astype(np.float64), x)) + 1e-12


def echo_path(far: np.ndarray, delay_s: float) -> np.ndarray:
    """A room: a direct path and three reflections, then the device latency."""
    h = np.zeros(400, dtype=np.float32)
    h[0], h[37], h[180], h[390] = 0.6, 0.25, -0.12, 0.05
    wet = np.convolve(far, h)[: far.size]
    return np.concatenate([np.zeros(int(delay_s * RATE), np.float32), wet])[
        : far.size
    ].astype(np.float32)


def run(
    canceller: EchoCanceller, far: np.ndarray, mic: np.ndarray, block: int
) -> np.ndarray:
    out = []
    for i in range(0, far.size, block):
        canceller.far(far[i : i + block], RATE)
        out.append(canceller.near(mic[i : i + block]))
    return np.concatenate(out)


@pytest.fixture(scope="module")
def far() -> np.ndarray:
    samples, rate = read_wav(ROOT / "tests" / "data" / "speech_turns.wav")
    assert rate == RATE
    return samples[:, 0].copy()


def test_echo_is_cancelled_by_20_db_once_converged_and_a_talker_over_it_is_kept(
    far: np.ndarray,
) -> None:
    user = np.zeros_like(far)
    talk = (
        far[int(0.8 * RATE) : int(2.47 * RATE)] * 0.8
    )  # another sentence, over the far end's last one
    at = int(11.0 * RATE)
    user[at : at + talk.size] = talk
    mic = echo_path(far, 0.06) + user
    erles: list[float] = []
    canceller = EchoCanceller(RATE, delay_ms=60, on_erle=erles.append)
    out = run(canceller, far, mic, 320)
    assert (
        out.size == mic.size
    )  # 20 ms blocks are whole 10 ms frames: nothing held back

    echo_only = slice(
        4 * RATE, 10 * RATE
    )  # converged, the far end speaking, nobody else
    measured = 10 * np.log10(energy(mic[echo_only]) / energy(out[echo_only]))
    assert measured >= 20.0, measured
    assert erles and max(erles) >= 20.0, erles
    assert canceller.erle_db == erles[-1]

    # Double talk: the talker comes through far above what is left of the echo.
    both = slice(at, at + talk.size)
    kept = 10 * np.log10(energy(out[both]) / energy(user[both]))
    residual = 10 * np.log10(
        energy(out[echo_only]) / (echo_only.stop - echo_only.start)
    )
    talker = 10 * np.log10(energy(out[both]) / talk.size)
    assert kept > -12.0, kept
    assert talker - residual > 20.0, (talker, residual)


def test_without_a_far_end_the_mic_passes_and_blocks_off_the_frame_grid_wait_at_most_one_frame(
    far: np.ndarray,
) -> None:
    canceller = EchoCanceller(RATE, delay_ms=40)
    mic = far[: 3 * RATE] * 0.5
    block = int(0.007 * RATE)  # 7 ms: not a whole number of 10 ms frames
    taken = 0
    given = 0
    out = []
    for i in range(0, mic.size, block):
        given += mic[i : i + block].size
        processed = canceller.near(mic[i : i + block])
        taken += processed.size
        assert (
            0 <= given - taken < canceller.frame
        )  # held back: less than one 10 ms frame
        out.append(processed)
    result = np.concatenate(out)
    speech = slice(int(1.0 * RATE), int(2.4 * RATE))
    assert abs(10 * np.log10(energy(result[speech]) / energy(mic[speech]))) < 3.0
    assert canceller.erle_db is None  # no far end, no ERLE


def test_a_far_end_at_the_device_rate_is_resampled(far: np.ndarray) -> None:
    from voiceconsole.audio.resample import StreamResampler

    far48 = StreamResampler(RATE, 48000).process(far[: 8 * RATE], last=True)
    canceller = EchoCanceller(RATE, delay_ms=40)
    mic = echo_path(far[: 8 * RATE], 0.04)
    out = []
    for i in range(0, mic.size, 320):
        canceller.far(far48[3 * i : 3 * (i + 320)], 48000)
        out.append(canceller.near(mic[i : i + 320]))
    result = np.concatenate(out)
    converged = slice(4 * RATE, 8 * RATE)
    assert 10 * np.log10(energy(mic[converged]) / energy(result[converged])) >= 20.0


def test_timed_far_end_arriving_in_bursts_is_fed_by_when_it_is_heard(
    far: np.ndarray,
) -> None:
    # The device hears each far block 50 ms after it is sent, and the loop hands the blocks
    # over three at a time; the mic blocks carry their capture times on the same clock.
    mic = echo_path(far, 0.05)
    canceller = EchoCanceller(RATE)
    out = []
    burst: list[tuple[np.ndarray, float]] = []
    for k, i in enumerate(range(0, far.size, 320)):
        burst.append((far[i : i + 320], 0.05 + i / RATE))
        if len(burst) == 3 or k % 3 == 0:
            for block, heard_at in burst:
                canceller.far(block, RATE, heard_at)
            burst = []
        out.append(canceller.near(mic[i : i + 320], i / RATE))
    result = np.concatenate(out)
    echo_only = slice(4 * RATE, 10 * RATE)
    assert 10 * np.log10(energy(mic[echo_only]) / energy(result[echo_only])) >= 20.0
    assert canceller.converged


def test_until_it_has_converged_the_canceller_holds_the_mic_while_the_far_end_plays(
    far: np.ndarray,
) -> None:
    canceller = EchoCanceller(RATE, delay_ms=60)
    mic = echo_path(far, 0.06)
    speech = int(0.9 * RATE)  # the far end's first word is under way
    canceller.far(far[:speech], RATE)
    first = canceller.near(mic[:speech])
    assert not canceller.converged
    assert np.max(np.abs(first)) == 0.0


def test_erle_of_silence_is_none() -> None:
    assert erle_db(0.0, 0.0) is None
    assert erle_db(1000.0, 10.0) == 20.0


def run_cli(*args: str, hide_livekit: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VOICECONSOLE_CONFIG": os.devnull + ".absent"}
    env.pop("CARTESIA_API_KEY", None)
    prelude = (
        "import sys; sys.modules['livekit'] = None; "
        if hide_livekit
        else "import sys; "
    )
    code = prelude + "from voiceconsole.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )


def events_of(out: subprocess.CompletedProcess[str]) -> list[dict]:
    return [
        json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")
    ]


def test_aec_asked_for_on_a_file_session_runs_and_says_so(tmp_path: Path) -> None:
    out = run_cli(
        "--no-ui",
        "--mic",
        str(ROOT / "tests/data/speech_turns.wav"),
        "--fast",
        "--aec",
        "--events",
        "-",
    )
    assert out.returncode == 0, out.stderr
    states = [e for e in events_of(out) if e["type"] == "aec.state"]
    assert [s["state"] for s in states] == ["on"]
    assert (
        sum(e["type"] == "turn.start" for e in events_of(out)) >= 3
    )  # the mic still reaches the engine
    # The microphone's own level comes too, beside the processed one, for the mic lane's raw view.
    levels = [e for e in events_of(out) if e["type"] == "audio.level"]
    raw = [e for e in levels if e["source"] == "mic_raw"]
    assert raw and len(raw) == sum(e["source"] == "mic" for e in levels)


def test_without_the_package_aec_fails_in_one_line_and_the_console_runs_without_it(
    tmp_path: Path,
) -> None:
    out = run_cli(
        "--no-ui",
        "--mic",
        str(ROOT / "tests/data/speech_turns.wav"),
        "--fast",
        "--aec",
        "--events",
        "-",
        hide_livekit=True,
    )
    assert out.returncode == 0, out.stderr
    lines = [
        line
        for line in out.stderr.splitlines()
        if "echo cancellation" in line or "Traceback" in line
    ]
    assert len(lines) == 1 and "pip install 'voiceconsole[aec]'" in lines[0], out.stderr
    assert "running without echo cancellation" in lines[0]
    states = [e for e in events_of(out) if e["type"] == "aec.state"]
    assert [s["state"] for s in states] == ["failed"]
    assert "pip install" in states[0]["detail"]
    assert sum(e["type"] == "turn.start" for e in events_of(out)) >= 3


def test_no_aec_says_off_and_a_file_session_without_the_flag_says_nothing() -> None:
    speech = str(ROOT / "tests/data/speech_turns.wav")
    out = run_cli("--no-ui", "--mic", speech, "--fast", "--no-aec", "--events", "-")
    assert out.returncode == 0, out.stderr
    assert [e["state"] for e in events_of(out) if e["type"] == "aec.state"] == ["off"]
    out = run_cli("--no-ui", "--mic", speech, "--fast", "--events", "-")
    assert out.returncode == 0, out.stderr
    assert not [e for e in events_of(out) if e["type"] == "aec.state"]


def test_a_recording_with_aec_keeps_mic_raw_and_mic(tmp_path: Path) -> None:
    from voiceconsole.audio.wavio import read_wav as read

    rec_dir = tmp_path / "rec"
    speech = str(ROOT / "tests/data/speech_turns.wav")
    out = run_cli(
        "--no-ui", "--mic", speech, "--fast", "--aec", "--record", str(rec_dir)
    )
    assert out.returncode == 0, out.stderr
    meta = json.loads((rec_dir / "meta.json").read_text())
    assert meta["audio"]["mic_raw"]["file"] == "mic_raw.wav"
    raw, raw_rate = read(rec_dir / "mic_raw.wav")
    mic, mic_rate = read(rec_dir / "mic.wav")
    assert raw_rate == mic_rate == 16000
    assert meta["audio"]["mic_raw"]["frames"] == raw.shape[0] > 0
    # The raw mic is the fixture itself (16 kHz: no resampling); the processed one differs from it.
    source, _ = read_wav(ROOT / "tests/data/speech_turns.wav")
    n = min(source.shape[0], raw.shape[0])
    assert np.max(np.abs(raw[:n, 0] - source[:n, 0])) < 1e-3
    assert np.max(np.abs(mic[:n, 0] - raw[:n, 0])) > 1e-3

    out = run_cli(
        "--no-ui", "--mic", speech, "--fast", "--record", str(tmp_path / "plain")
    )
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "plain" / "mic_raw.wav").exists()
