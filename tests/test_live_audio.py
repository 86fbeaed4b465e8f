"""Live audio on a real (virtual) audio server: capture, playback, barge-in, device errors.

The server is a user-space PulseAudio with a null sink (scripts/virtual-audio.sh, started by the
``virtual_audio`` fixture): whatever is played into ``vc_sink`` is heard by the default source.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import ScriptedStt, ToneTts
from voiceconsole.audio import open_devices
from voiceconsole.audio.io import NullSink, SilenceSource
from voiceconsole.audio.wavio import read_wav, write_wav
from voiceconsole.config import Settings
from voiceconsole.events import (
    DeviceState,
    EngineError,
    Event,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    SessionStopped,
    TurnEnd,
    TurnStart,
)
from voiceconsole.session.responder import EchoResponder
from voiceconsole.session.session import Session, SessionOptions

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech_turns.wav"
MANIFEST = json.loads((ROOT / "tests" / "data" / "speech_turns.json").read_text())
WAIT_S = 60.0  # a guard against hangs, never a speed target


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "VOICECONSOLE_CONFIG": os.devnull + ".absent", **extra}
    env.pop("CARTESIA_API_KEY", None)
    return env


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceconsole", *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )


def one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("voiceconsole: error: ") and "Traceback" not in out.stderr
    return lines[0]


def first_turn_wav(path: Path) -> Path:
    """The first turn of the speech fixture (and the pause after it) as its own WAV."""
    samples, rate = read_wav(SPEECH)
    end = MANIFEST["turns"][0]["speech_end_s"] + 1.0
    write_wav(path, samples[: int(end * rate)], rate)
    return path


async def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Recorder:
    """Events and tapped audio of a session."""

    def __init__(self, session: Session) -> None:
        self.events: list[Event] = []
        self.audio: dict[str, list[np.ndarray]] = {"mic": [], "speaker": []}
        session.bus.add_listener(self.events.append)
        session.audio_taps.append(lambda stream, samples, rate: self.audio[stream].append(samples.copy()))

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]

    def device(self, stream: str, state: str) -> list[DeviceState]:
        return [e for e in self.of(DeviceState) if e.stream == stream and e.state == state]  # type: ignore[misc]

    def samples(self, stream: str) -> np.ndarray:
        blocks = self.audio[stream]
        return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def device_session(*, source=None, sink=None, stt=None, **options) -> tuple[Session, Recorder]:
    from voiceconsole.audio.vad import ReferenceVad

    settings = Settings()
    session = Session(
        source=source if source is not None else open_devices.open_input(settings),
        sink=sink if sink is not None else open_devices.open_output(settings),
        stt=stt if stt is not None else ScriptedStt([]),
        tts=ToneTts(seconds_per_char=0.05),
        responder=EchoResponder(),
        reference_vad=ReferenceVad(),
        options=SessionOptions(**options),
    )
    return session, Recorder(session)


@contextlib.asynccontextmanager
async def running(session: Session) -> AsyncIterator[asyncio.Task[None]]:
    """Run the session in a task; stop it on the way out, whatever happened."""
    task = asyncio.create_task(session.run())
    try:
        yield task
    finally:
        session.request_stop("test over")
        await asyncio.wait_for(task, WAIT_S)


# --- the live pipeline ---------------------------------------------------------------------------


async def test_speech_played_into_the_sink_is_captured_as_turns(virtual_audio: str) -> None:
    from voiceconsole.engines.local_stt import LocalSttEngine

    session, rec = device_session(sink=NullSink(16000), stt=LocalSttEngine())
    expected = MANIFEST["turns"]
    async with running(session):
        await wait_for(lambda: rec.device("input", "open") != [], "the input device to open")
        player = await asyncio.create_subprocess_exec("paplay", str(SPEECH), env={**os.environ})
        assert await asyncio.wait_for(player.wait(), WAIT_S) == 0
        await wait_for(lambda: len(rec.of(TurnEnd)) >= len(expected), "the last turn to end", timeout=30)

    ends = rec.of(TurnEnd)
    assert len(rec.of(TurnStart)) == len(expected) == len(ends)
    for end, turn in zip(ends, expected):
        heard = set(end.transcript.lower().split())  # type: ignore[attr-defined]
        assert heard & set(turn["text"].split()), (end, turn["text"])
    assert session.source.name.startswith("device:")


async def test_interrupt_silences_the_output_within_one_block(virtual_audio: str) -> None:
    session, rec = device_session(source=SilenceSource(16000))
    block = session.sink.blocksize
    async with running(session):
        session.say("a reply long enough to be cut off in the middle of playing it")
        await wait_for(lambda: rec.of(PlaybackStarted) != [], "the reply to start playing")
        await wait_for(lambda: np.count_nonzero(rec.samples("speaker")) > 10 * block, "reply audio to be played")
        session.interrupt("test")
        cut = session.playback.samples_pulled  # every block pulled from here on follows the interrupt
        await wait_for(lambda: rec.samples("speaker").shape[0] >= cut + 10 * block, "blocks after the interrupt")

    played = rec.samples("speaker")
    before, after = played[:cut], played[cut + block :]
    assert np.max(np.abs(before)) > 0.2  # the tone was really playing
    assert after.shape[0] >= 9 * block and np.max(np.abs(after)) == 0.0
    assert rec.of(PlaybackInterrupted) and not rec.of(PlaybackFinished)


@pytest.mark.parametrize("mute", [False, True])
async def test_full_duplex_and_mute_while_speaking(virtual_audio: str, mute: bool) -> None:
    # The sink's monitor is the mic: in full duplex the mic hears the reply; muted it hears nothing.
    session, rec = device_session(mute_while_speaking=mute)
    async with running(session):
        await wait_for(lambda: rec.device("input", "open") != [], "the input device to open")
        session.say("a reply of about two seconds of tone for the echo")
        await wait_for(lambda: rec.of(PlaybackFinished) != [], "the reply to finish")

    start, finish = rec.of(PlaybackStarted)[0], rec.of(PlaybackFinished)[0]
    rate = session.stt_rate
    mic = rec.samples("mic")
    window = mic[int((start.audio_t + 0.3) * rate) : int((finish.audio_t - 0.1) * rate)]
    assert window.shape[0] > rate  # over a second of the reply
    rms = float(np.sqrt(np.mean(np.square(window))))
    if mute:
        assert rms == 0.0
    else:
        assert rms > 0.05


async def test_lost_devices_are_reported_and_reopened(virtual_audio: str) -> None:
    session, rec = device_session()
    async with running(session):
        await wait_for(lambda: rec.device("input", "open") and rec.device("output", "open"), "both devices to open")
        for stream, worker in (("input", session.source), ("output", session.sink)):
            # The stream ends under the worker, as when its device goes away: the callback
            # raises sounddevice.CallbackAbort (the worker's own way of ending a stream).
            worker._end_stream = True
            await wait_for(lambda: rec.device(stream, "lost") != [], f"the {stream} device to be reported lost")
            await wait_for(lambda: len(rec.device(stream, "open")) == 2, f"the {stream} device to be reopened")
            errors = [e for e in rec.of(EngineError) if e.role == "audio" and stream in e.message]  # type: ignore[attr-defined]
            assert len(errors) == 1 and not errors[0].fatal  # type: ignore[attr-defined]
        assert session.running
        # Audio flows again after the reopen: the mic hears a reply played to the reopened speaker.
        heard = rec.samples("mic").shape[0]
        session.say("after the reopen")
        await wait_for(lambda: rec.of(PlaybackFinished) != [], "a reply on the reopened output")
        await wait_for(lambda: rec.samples("mic").shape[0] > heard + session.stt_rate, "mic audio after the reopen")
    assert np.max(np.abs(rec.samples("mic")[heard:])) > 0.05
    assert rec.of(SessionStopped)[0].reason == "test over"  # type: ignore[attr-defined]
    assert session.source.reopened == 1 and session.sink.reopened == 1


# --- the command line ------------------------------------------------------------------------


def test_list_devices(virtual_audio: str) -> None:
    out = run_cli("--list-devices", env=cli_env())
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:5] == ["#", "name", "in", "out", "rate"]
    default = [line for line in lines if line.rstrip().endswith("input, output")]
    assert len(default) == 1 and "default" in default[0]


@pytest.mark.parametrize("option", ["--input-device", "--output-device"])
def test_a_device_name_that_matches_nothing_lists_the_choices(virtual_audio: str, tmp_path: Path, option: str) -> None:
    extra = ["--mic", str(first_turn_wav(tmp_path / "t.wav"))] if option == "--output-device" else []
    out = run_cli("--no-ui", option, "no-such-card", *extra, env=cli_env())
    assert out.returncode == 2
    line = one_line_error(out)
    assert "no-such-card" in line and "choices:" in line and "'default'" in line


def test_default_devices_are_used_and_metered(virtual_audio: str, tmp_path: Path) -> None:
    clip = first_turn_wav(tmp_path / "turn.wav")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceconsole", "--no-ui", "--events", "-", "--mute-while-speaking"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=cli_env(),
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)  # type: ignore[union-attr]
    reader.start()
    events: list[dict] = []

    def read_until(match: Callable[[dict], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                event = json.loads(lines.get(timeout=0.5))
            except queue.Empty:
                assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
                continue
            events.append(event)
            if match(event):
                return
        raise AssertionError(f"timed out waiting for {what}")

    try:
        read_until(lambda e: e["type"] == "audio.device" and e["stream"] == "input" and e["state"] == "open", "the mic")
        subprocess.run(["paplay", str(clip)], check=True, timeout=WAIT_S, env=cli_env())
        read_until(lambda e: e["type"] == "turn.end", "the turn to end")
        # The clip's own pauses are noise at about -72 dBFS and the turn may end inside one; the
        # silence after the clip (paplay has returned) must read as silence on the meter.
        read_until(lambda e: e["type"] == "audio.level" and e["source"] == "mic" and e["rms_dbfs"] < -90,
                   "the mic metering the silence after the clip")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=WAIT_S)
        reader.join(timeout=WAIT_S)
        err = proc.stderr.read()  # type: ignore[union-attr]
    while not lines.empty():
        events.append(json.loads(lines.get()))
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "ALSA lib" not in err
    started = next(e for e in events if e["type"] == "session.start")
    assert started["source"] == "device:default" and started["sink"] == "device:default"
    assert {(e["stream"], e["state"]) for e in events if e["type"] == "audio.device"} >= {
        ("input", "open"), ("output", "open"), ("input", "closed"), ("output", "closed")
    }
    mic_levels = [e["rms_dbfs"] for e in events if e["type"] == "audio.level" and e["source"] == "mic"]
    assert len(mic_levels) > 20 and max(mic_levels) > -40 and min(mic_levels) < -90
    assert any(e["type"] == "turn.end" and e["transcript"] for e in events)


def test_no_audio_server_says_so_in_one_line(tmp_path: Path) -> None:
    if __import__("ctypes.util").util.find_library("portaudio") is None:
        pytest.skip("needs libportaudio2 (apt-get install libportaudio2)")
    empty = tmp_path / "xdg"
    empty.mkdir(mode=0o700)
    conf = tmp_path / "client.conf"
    conf.write_text("autospawn = no\n")
    env = cli_env(XDG_RUNTIME_DIR=str(empty), PULSE_CLIENTCONFIG=str(conf))
    env.pop("PULSE_SERVER", None)
    out = run_cli("--no-ui", env=env)
    assert out.returncode == 2
    line = one_line_error(out)
    assert "no audio input device found (is an audio server running?)" in line and "--mic FILE.wav" in line
    listed = run_cli("--list-devices", env=env)
    assert listed.returncode == 0 and "no audio devices found" in listed.stdout


# --- without PortAudio -------------------------------------------------------------------------


def test_missing_portaudio_is_one_line_and_files_still_work(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['sounddevice'] = None\n")
    env = cli_env(PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    for args in (["--list-devices"], ["--no-ui"]):
        out = run_cli(*args, env=env)
        assert out.returncode == 2
        line = one_line_error(out)
        assert "PortAudio" in line and "apt-get install libportaudio2" in line
    clip = first_turn_wav(tmp_path / "turn.wav")
    out = run_cli("--no-ui", "--mic", str(clip), "--speaker", "null", "--fast", env=env)
    assert out.returncode == 0, out.stderr
    assert "speaker=null" in out.stdout and "1 turns" in out.stdout
