"""Recording (--record), replay and report, driven through the CLI as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_session import make_session
from voiceconsole.audio.wavio import read_wav_info
from voiceconsole.commands.through import split_through
from voiceconsole.config import Settings
from voiceconsole.errors import ConfigError
from voiceconsole.events import Event, TurnEnd, from_json
from voiceconsole.session.compare import ThroughConfig
from voiceconsole.session.player import Player
from voiceconsole.session.recorder import Recorder
from voiceconsole.session.recording import RecordingError, load_recording

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech_turns.wav"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VOICECONSOLE_CONFIG": "/nonexistent/voiceconsole.toml"}
    env.pop("CARTESIA_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "voiceconsole", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def recording_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = tmp_path_factory.mktemp("rec") / "session"
    out = cli("--no-ui", "--mic", str(SPEECH), "--fast", "--speaker", "null", "--record", str(rec))
    assert out.returncode == 0, out.stderr
    return rec


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# --- recording -------------------------------------------------------------------------------


def test_record_writes_events_audio_and_meta(recording_dir: Path) -> None:
    names = sorted(p.name for p in recording_dir.iterdir())
    assert names == ["events.jsonl", "meta.json", "mic.wav", "speaker.wav"]
    events = [from_json(line) for line in lines(recording_dir / "events.jsonl")]
    assert events[0].type == "session.start" and events[-1].type == "session.stop"
    assert sum(isinstance(e, TurnEnd) for e in events) >= 2
    meta = json.loads((recording_dir / "meta.json").read_text())
    assert meta["complete"] is True and meta["events"] == len(events)
    assert meta["engines"]["stt"] == "local" and meta["settings"]["end_ms"] == 800
    assert meta["versions"]["voiceconsole"]
    mic = read_wav_info(recording_dir / "mic.wav")
    assert (mic.sample_rate, mic.channels, mic.sample_width) == (16000, 1, 2)
    # audio_t of every event is a position in mic.wav: the file covers the whole session.
    assert mic.frames == round(events[-1].audio_t * 16000)
    speaker = read_wav_info(recording_dir / "speaker.wav")
    assert speaker.frames > 0 and meta["audio"]["speaker"]["frames"] == speaker.frames


async def test_recorder_never_writes_the_api_key(tmp_path: Path) -> None:
    session, _ = make_session()
    settings = Settings(api_key="sk-very-secret-key", record=str(tmp_path / "r"))
    recorder = Recorder(tmp_path / "r", settings).attach(session)
    await session.run()
    assert recorder.closed
    for path in (tmp_path / "r").iterdir():
        assert b"sk-very-secret-key" not in path.read_bytes(), path.name
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["settings"]["api_key"] == "set"


def test_record_refuses_a_directory_that_holds_a_recording(recording_dir: Path) -> None:
    with pytest.raises(ConfigError, match="already holds a recording"):
        Recorder(recording_dir)


# --- replay and report round trip -------------------------------------------------------------


def test_headless_replay_gives_back_the_recorded_events_and_report(recording_dir: Path, tmp_path: Path) -> None:
    out = cli("replay", str(recording_dir), "--no-ui", "--speed", "0")
    assert out.returncode == 0, out.stderr
    recorded = [from_json(line) for line in lines(recording_dir / "events.jsonl")]
    replayed = [from_json(line) for line in out.stdout.splitlines()]
    assert [(e.type, e.audio_t) for e in replayed] == [(e.type, e.audio_t) for e in recorded]
    assert replayed == recorded

    # The replayed log, as a recording of its own, gives the same report.
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "meta.json").write_text((recording_dir / "meta.json").read_text())
    out2 = cli("replay", str(recording_dir), "--no-ui", "--speed", "0", "--events", str(copy / "events.jsonl"))
    assert out2.returncode == 0 and out2.stdout == ""
    first, second = cli("report", str(recording_dir), "--json"), cli("report", str(copy), "--json")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["timelines"] == b["timelines"]
    turns = a["timelines"][0]["turns"]
    assert len(turns) == sum(isinstance(e, TurnEnd) for e in recorded)
    assert all(t["end_of_turn_delay_ms"] > t["eager_end_delay_ms"] for t in turns)


def test_report_text_and_csv(recording_dir: Path) -> None:
    text = cli("report", str(recording_dir))
    assert text.returncode == 0, text.stderr
    assert "stop→end" in text.stdout and "p95" in text.stdout
    csv_out = cli("report", str(recording_dir), "--csv")
    rows = csv_out.stdout.splitlines()
    assert rows[0].startswith("timeline,config,turn,start_s,end_s,eager_end_delay_ms,end_of_turn_delay_ms")
    events = [from_json(line) for line in lines(recording_dir / "events.jsonl")]
    assert len(rows) - 1 == sum(isinstance(e, TurnEnd) for e in events)


def test_replay_at_speed_keeps_the_recorded_order(recording_dir: Path) -> None:
    out = cli("replay", str(recording_dir), "--no-ui", "--speed", "50")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == lines(recording_dir / "events.jsonl")


# --- comparison ------------------------------------------------------------------------------


def test_report_compares_two_engine_configurations(recording_dir: Path) -> None:
    out = cli(
        "report", str(recording_dir), "--json",
        "--through", "local", "--end-ms", "600", "--eager-end-ms", "150",
        "--through", "local", "--end-ms", "400", "--eager-end-ms", "100",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    a, b, c = data["timelines"]
    assert "end=600ms" in b["label"] and "end=400ms" in c["label"]
    assert data["comparison"], "no aligned turns"
    for row in data["comparison"]:
        assert len(row["turns"]["A"]) == len(row["turns"]["B"]) == len(row["turns"]["C"]) == 1
    delays = [[t["end_of_turn_delay_ms"] for t in tl["turns"]] for tl in (a, b, c)]
    for da, db, dc in zip(*delays):
        assert dc < db < da  # shorter end silence, earlier turn.end, on the same audio
    assert any("stop→end -" in d for row in data["comparison"] for d in row["differences"])


def test_headless_replay_through_prints_the_side_by_side_table(recording_dir: Path) -> None:
    out = cli("replay", str(recording_dir), "--no-ui", "--through", "local", "--end-ms", "600")
    assert out.returncode == 0, out.stderr
    assert "A = recorded: local end=800ms" in out.stdout and "B = local end=600ms" in out.stdout
    assert "B stop→end" in out.stdout and "differences" in out.stdout


def test_split_through_gives_each_run_its_options() -> None:
    rest, configs = split_through(
        ["rec", "--through", "local", "--end-ms", "600", "--json", "--through=local", "--eager-end-ms=100", "--no-ui"]
    )
    assert rest == ["rec", "--json", "--no-ui"]
    assert configs == [ThroughConfig("local", {"end_ms": 600}), ThroughConfig("local", {"eager_end_ms": 100})]
    with pytest.raises(ConfigError, match="unknown STT engine"):
        split_through(["rec", "--through", "whisperx"])
    with pytest.raises(ConfigError, match="needs an engine"):
        split_through(["rec", "--through"])


# --- bad inputs ------------------------------------------------------------------------------


def one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, (out.returncode, out.stderr)
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("voiceconsole: error: "), out.stderr
    return err[0]


def test_replay_of_a_missing_directory(tmp_path: Path) -> None:
    assert "no such recording" in one_line_error(cli("replay", str(tmp_path / "nope"), "--no-ui"))


def test_replay_of_a_directory_that_is_not_a_recording(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert "not a recording" in one_line_error(cli("replay", str(tmp_path), "--no-ui"))
    assert "is a file" in one_line_error(cli("report", str(tmp_path / "notes.txt")))


def copy_recording(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_corrupt_event_line_is_a_clear_error(recording_dir: Path, tmp_path: Path) -> None:
    rec = copy_recording(recording_dir, tmp_path / "bad")
    content = lines(rec / "events.jsonl")
    content[5] = '{"type":"turn.start","t":0.1,'  # damaged in the middle, not at the end
    (rec / "events.jsonl").write_text("\n".join(content) + "\n")
    message = one_line_error(cli("replay", str(rec), "--no-ui", "--speed", "0"))
    assert "events.jsonl:6: corrupt event line" in message
    assert "events.jsonl:6" in one_line_error(cli("report", str(rec)))


def test_truncated_last_line_is_tolerated(recording_dir: Path, tmp_path: Path) -> None:
    rec = copy_recording(recording_dir, tmp_path / "cut")
    data = (rec / "events.jsonl").read_bytes()
    cut = data[: len(data) - 25]  # the kill landed in the middle of the last line
    (rec / "events.jsonl").write_bytes(cut)
    out = cli("replay", str(rec), "--no-ui", "--speed", "0")
    assert out.returncode == 0, out.stderr
    assert "cut short" in out.stderr
    assert out.stdout.splitlines() == lines(recording_dir / "events.jsonl")[:-1]


def test_unknown_event_type_mid_file_is_reported_with_its_line(recording_dir: Path, tmp_path: Path) -> None:
    rec = copy_recording(recording_dir, tmp_path / "odd")
    content = lines(rec / "events.jsonl")
    content.insert(2, '{"type":"no.such.event","t":0,"audio_t":0}')
    (rec / "events.jsonl").write_text("\n".join(content) + "\n")
    with pytest.raises(RecordingError, match=r"events.jsonl:3: corrupt event line \(unknown event type"):
        load_recording(rec)


# --- crash safety ----------------------------------------------------------------------------


def test_recording_killed_mid_session_still_replays(tmp_path: Path) -> None:
    rec = tmp_path / "killed"
    env = {**os.environ, "VOICECONSOLE_CONFIG": "/nonexistent/voiceconsole.toml"}
    env.pop("CARTESIA_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceconsole", "--no-ui", "--mic", str(SPEECH), "--speaker", "null", "--record", str(rec)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            log = rec / "events.jsonl"
            if log.exists() and log.read_text(encoding="utf-8", errors="replace").count('"turn.end"') >= 1:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the session ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not json.loads((rec / "meta.json").read_text())["complete"]

    raw = (rec / "events.jsonl").read_bytes()
    complete_lines = raw.decode("utf-8", errors="replace").split("\n")[:-1]
    out = cli("replay", str(rec), "--no-ui", "--speed", "0")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == complete_lines
    report = cli("report", str(rec), "--json")
    assert report.returncode == 0, report.stderr
    assert any(t["end_s"] is not None for t in json.loads(report.stdout)["timelines"][0]["turns"])

    # replay repaired the header: mic.wav opens and holds the audio up to the last event
    # (minus what sat in the writer's buffer: less than the one-second flush interval).
    mic = read_wav_info(rec / "mic.wav")
    last_audio_t = from_json(complete_lines[-1]).audio_t
    assert mic.sample_rate == 16000 and mic.duration_s >= last_audio_t - 1.0
    assert read_wav_info(rec / "speaker.wav").frames > 0


# --- the player --------------------------------------------------------------------------------


def recorded_events(recording_dir: Path) -> list[Event]:
    return load_recording(recording_dir).events


def test_player_steps_seeks_and_rebuilds(recording_dir: Path) -> None:
    events = recorded_events(recording_dir)
    seen: list[Event] = []
    resets = []
    player = Player(events, seen.append, speed=1.0, on_reset=lambda: (resets.append(1), seen.clear()))
    assert player.step() == events[0] and player.paused
    player.step()
    assert seen == events[:2]
    middle = events[len(events) // 2].t
    player.seek(middle)
    assert seen == [e for e in events if e.t < middle]
    player.seek(0.0)  # backwards: the consumer is reset and nothing is before t=0
    assert resets == [1] and seen == []
    player.seek(player.duration + 5)
    assert seen == [e for e in events if e.t < player.duration]


async def test_player_at_speed_zero_delivers_everything_in_order(recording_dir: Path) -> None:
    events = recorded_events(recording_dir)
    seen: list[Event] = []
    player = Player(events, seen.append, speed=0)
    await player.run()
    assert seen == events and player.done
