"""Shared pytest fixtures."""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def virtual_audio() -> Iterator[str]:
    """A running virtual PulseAudio (scripts/virtual-audio.sh: null sink ``vc_sink``, its monitor the
    default source); yields its runtime dir, which this process's clients then use.

    Started only if not already running, and stopped afterwards only if started here. Skips only
    when libportaudio2 or pulseaudio are not installed."""
    missing = [tool for tool in ("pulseaudio", "pactl", "pacat", "paplay") if shutil.which(tool) is None]
    if ctypes.util.find_library("portaudio") is None:
        missing.append("libportaudio")
    if missing:
        pytest.skip(
            f"live-audio tests need {', '.join(missing)}: apt-get install libportaudio2 pulseaudio pulseaudio-utils"
        )
    runtime_dir = os.environ.get("VC_AUDIO_DIR", "/tmp/vc-xdg")
    script = str(_ROOT / "scripts" / "virtual-audio.sh")
    running = subprocess.run([script, "status", runtime_dir], capture_output=True, text=True).returncode == 0
    if not running:
        started = subprocess.run([script, "start", runtime_dir], capture_output=True, text=True, timeout=60)
        if started.returncode != 0:
            pytest.fail(f"virtual audio server did not start: {started.stderr.strip() or started.stdout.strip()}")
    saved = {name: os.environ.get(name) for name in ("XDG_RUNTIME_DIR", "PULSE_SERVER")}
    os.environ["XDG_RUNTIME_DIR"] = runtime_dir
    os.environ.pop("PULSE_SERVER", None)
    from voiceconsole.audio.devices import refresh_devices

    refresh_devices()  # PortAudio may have been initialized before the server was reachable
    try:
        yield runtime_dir
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if not running:
            subprocess.run([script, "stop", runtime_dir], capture_output=True, text=True, timeout=60)
