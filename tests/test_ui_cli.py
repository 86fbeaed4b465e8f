"""The console's command-line entry points (the parts that run without a terminal)."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

from voiceconsole.commands.demo import DEMO_WAV, data_path, demo_settings
from voiceconsole.config import Settings
from voiceconsole.session.responder import make_responder

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceconsole", *args], capture_output=True, text=True, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL
    )


def test_demo_help() -> None:
    out = run_cli("demo", "--help")
    assert out.returncode == 0
    assert "bundled sample conversation" in out.stdout and "--theme" in out.stdout


def test_unknown_theme_is_a_one_line_error() -> None:
    out = run_cli("--mic", "silence", "--speaker", "null", "--theme", "nope")
    assert out.returncode == 2
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("voiceconsole: error: unknown theme 'nope'; choose one of dark, ")
    assert all(name in line for name in ("light", "high-contrast", "phosphor"))


def test_events_to_stdout_needs_no_ui() -> None:
    out = run_cli("--mic", "silence", "--speaker", "null", "--events", "-")
    assert out.returncode == 2
    assert "add --no-ui" in out.stderr


def test_demo_uses_the_bundled_recording_and_replies_offline() -> None:
    settings = demo_settings(["--theme", "light", "--speaker", "null"])
    assert isinstance(settings, Settings)
    assert (settings.stt, settings.tts, settings.theme, settings.speaker) == ("local", "local", "light", "null")
    with wave.open(settings.mic, "rb") as wav:
        assert wav.getframerate() == 16000 and wav.getnchannels() == 1
        assert 13.0 < wav.getnframes() / 16000 < 14.0
    responder = make_responder(settings.responder)
    assert len(responder.lines) == 3
    assert Path(settings.mic) == data_path(DEMO_WAV)
    assert (ROOT / "voiceconsole" / "data" / "README.md").read_text(encoding="utf-8").count("CC-BY-SA 3.0") >= 1
