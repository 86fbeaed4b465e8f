"""The command line as a user runs it: a subprocess, exit codes, one-line errors, JSON lines."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from voiceconsole.events import from_json

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech_turns.wav"


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "VOICECONSOLE_CONFIG": os.devnull + ".absent", **(env or {})}
    full_env.pop("CARTESIA_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "voiceconsole", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=full_env,
    )


def test_version_and_help() -> None:
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("voiceconsole ")
    helptext = run_cli("--help").stdout
    for option in ("--mic", "--speaker", "--fast", "--events", "--no-ui", "--stt", "--tts", "--responder",
                   "--end-ms", "--eager-end-ms", "--record", "--theme", "--list-devices", "--api-key"):
        assert option in helptext


def write_header_only(path: Path, *, tag: int = 1, bits: int = 16, data_size: int = 0, payload: bytes = b"") -> None:
    fmt = struct.pack("<HHIIHH", tag, 1, 16000, 16000 * bits // 8, bits // 8, bits)
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_size) + payload
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


@pytest.mark.parametrize(
    ("name", "make", "fragment"),
    [
        ("missing.wav", None, "no such file"),
        ("notes.wav", lambda p: p.write_text("these are not samples"), "not a WAV file"),
        ("empty.wav", lambda p: p.write_bytes(b""), "file is empty"),
        ("silent.wav", lambda p: write_header_only(p), "no audio frames"),
        ("cut.wav", lambda p: write_header_only(p, data_size=32000, payload=b"\0" * 1000), "truncated WAV"),
        ("alaw.wav", lambda p: write_header_only(p, tag=6, bits=8, data_size=4, payload=b"\0" * 4), "unsupported WAV sample format"),
    ],
)
def test_bad_mic_files_exit_2_with_one_line(tmp_path: Path, name: str, make, fragment: str) -> None:
    path = tmp_path / name
    if make is not None:
        make(path)
    out = run_cli("--no-ui", "--mic", str(path), "--fast", "--speaker", "null", timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("voiceconsole: error: ") and fragment in lines[0]
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--responder", "parrot"), "unknown responder"),
        (("--responder", "script:/nonexistent/replies.txt"), "script file not found"),
        (("--eager-end-ms", "900", "--end-ms", "800"), "must be shorter than"),
        (("--speaker", "out.mp3"), "ending in .wav"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: tuple[str, ...], fragment: str) -> None:
    out = run_cli("--no-ui", "--mic", str(SPEECH), "--fast", *args, timeout=60)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and fragment in out.stderr


def test_bad_config_file_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("colour = 'blue'\n")
    out = run_cli("--no-ui", "--mic", str(SPEECH), "--fast", env={"VOICECONSOLE_CONFIG": str(config)}, timeout=60)
    assert out.returncode == 2 and "unknown setting 'colour'" in out.stderr


def test_headless_fast_run_writes_every_event_as_json_lines(tmp_path: Path) -> None:
    events_path = tmp_path / "events.jsonl"
    speaker = tmp_path / "speaker.wav"
    replies = tmp_path / "replies.txt"
    replies.write_text("first reply\n# a comment\nsecond reply\nthird reply\n")
    out = run_cli("--no-ui", "--mic", str(SPEECH), "--fast", "--speaker", str(speaker),
                  "--events", str(events_path), "--responder", f"script:{replies}", "--no-barge-in")
    assert out.returncode == 0, out.stderr
    lines = events_path.read_text().splitlines()
    events = [from_json(line) for line in lines]
    for line in lines:
        assert json.loads(line)["type"]
    assert events[0].type == "session.start" and events[-1].type == "session.stop"
    assert [e.text for e in events if e.type == "tts.queued"] == ["first reply", "second reply", "third reply"]
    assert len([e for e in events if e.type == "playback.finish"]) == 3
    assert "3 turns, 3 replies" in out.stdout
    from voiceconsole.audio.wavio import read_wav

    audio, rate = read_wav(speaker)
    assert rate == 16000 and audio.shape[0] / rate >= 13.0
    assert float(abs(audio).max()) > 0.05  # the replies were written


def test_events_to_stdout_keep_stdout_pure_json(tmp_path: Path) -> None:
    out = run_cli("--no-ui", "--mic", str(SPEECH), "--fast", "--speaker", "null", "--events", "-")
    assert out.returncode == 0, out.stderr
    types = [json.loads(line)["type"] for line in out.stdout.splitlines()]
    assert types.count("turn.end") == 3
    assert "turns" in out.stderr
