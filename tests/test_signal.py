"""The local engine's turn signal: ``vad.signal`` events (JSON, recordings, the engine on real
speech) and the signal lanes that draw them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rich.style import Style

from tests.scenes import SCENES
from tests.test_local_stt import drive, load_fixture
from tests.test_recording import SPEECH, cli, lines
from voiceconsole.events import (
    EVENT_TYPES,
    TurnEagerEnd,
    TurnEnd,
    TurnStart,
    VadSignalBatch,
    from_json,
    to_json,
)
from voiceconsole.session.recording import load_recording
from voiceconsole.ui.cells import CellRow
from voiceconsole.ui.lanes import INK2_NOTE, SignalLane, SilenceLane, Window
from voiceconsole.ui.model import ConsoleModel

MAX_BYTES_PER_MINUTE = 300_000
"""A 10-minute session must add at most a few MB of vad.signal lines (measured: ~140 KB a minute)."""


def batch(**fields) -> VadSignalBatch:
    base = {
        "t": 1.234567,
        "audio_t": 1.2,
        "frames_audio_t": 1.088,
        "frame_ms": 32.0,
        "probs": (3, 250, 255),
        "threshold": 0.55,
        "phase": "turn",
        "speech_ms": 64,
        "silence_ms": 0,
        "start_ms": 160,
        "eager_ms": 200,
        "end_ms": 800,
    }
    base.update(fields)
    return VadSignalBatch(**base)


def test_signal_event_round_trips_through_json() -> None:
    event = batch()
    line = to_json(event)
    assert (
        json.loads(line)["type"] == "vad.signal"
        and EVENT_TYPES["vad.signal"] is VadSignalBatch
    )
    back = from_json(line)
    assert (
        back == event
        and isinstance(back.probs, tuple)
        and isinstance(back.frame_ms, float)
    )
    assert back.probabilities == (3 / 255, 250 / 255, 1.0)
    # integers where floats are declared (a hand-written log) read back as floats
    assert from_json(line.replace('"frame_ms":32.0', '"frame_ms":32')) == event


# --- the engine on the bundled speech ---------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_events():
    audio, manifest = load_fixture()
    return asyncio.run(drive(audio)).events, manifest


def frames_of(events) -> list[tuple[float, float, float]]:
    """(start, end, probability) of every VAD frame the batches carry."""
    out = []
    for e in events:
        if isinstance(e, VadSignalBatch):
            step = e.frame_ms / 1000.0
            out += [
                (e.frames_audio_t + i * step, e.frames_audio_t + (i + 1) * step, p)
                for i, p in enumerate(e.probabilities)
            ]
    return out


def test_local_engine_publishes_its_signal_on_the_speech_fixture(
    fixture_events,
) -> None:
    events, manifest = fixture_events
    signals = [e for e in events if isinstance(e, VadSignalBatch)]
    frames = frames_of(events)
    # every frame once, in order, about 100 ms (three 32 ms frames) a batch
    assert [round(a, 3) for a, _, _ in frames] == [
        round(k * 0.032, 3) for k in range(len(frames))
    ]
    assert max(len(e.probs) for e in signals) == 3 and all(
        e.frame_ms == 32.0 for e in signals
    )
    assert all(
        e.frames_audio_t + len(e.probs) * 0.032 <= e.audio_t + 1e-9 for e in signals
    )
    segments = [(s["start_s"], s["end_s"]) for s in manifest["segments"]]
    inside = [
        p
        for a, b, p in frames
        if any(s + 0.15 <= a and b <= e - 0.15 for s, e in segments)
    ]
    outside = [
        p
        for a, b, p in frames
        if all(b <= s - 0.2 or a >= e + 0.2 for s, e in segments)
    ]
    assert len(inside) > 150 and len(outside) > 60
    assert sum(inside) / len(inside) > 0.85 and sorted(inside)[len(inside) // 10] > 0.5
    assert (
        sum(outside) / len(outside) < 0.1 and sorted(outside)[-len(outside) // 10] < 0.3
    )
    # each turn edge is preceded by the batch whose last frame caused it, its counters past the mark
    for i, e in enumerate(events):
        if isinstance(e, (TurnStart, TurnEagerEnd, TurnEnd)):
            before = next(
                x for x in reversed(events[:i]) if isinstance(x, VadSignalBatch)
            )
            if isinstance(e, TurnStart):
                assert before.phase == "turn" and before.speech_ms >= before.start_ms
            elif isinstance(e, TurnEagerEnd):
                assert (
                    before.phase == "eager"
                    and before.eager_ms <= before.silence_ms < before.end_ms
                )
            else:
                assert before.phase == "idle" and before.silence_ms >= before.end_ms


# --- recorded and replayed --------------------------------------------------------------------


def test_signal_events_are_recorded_and_replayed(tmp_path: Path) -> None:
    rec = tmp_path / "session"
    out = cli(
        "--no-ui",
        "--mic",
        str(SPEECH),
        "--fast",
        "--speaker",
        "null",
        "--record",
        str(rec),
    )
    assert out.returncode == 0, out.stderr
    logged = lines(rec / "events.jsonl")
    signal_lines = [line for line in logged if '"type":"vad.signal"' in line]
    recorded = [from_json(line) for line in signal_lines]
    assert len(recorded) > 100 and all(isinstance(e, VadSignalBatch) for e in recorded)
    loaded = [e for e in load_recording(rec).events if isinstance(e, VadSignalBatch)]
    assert loaded == recorded
    replayed = cli("replay", str(rec), "--no-ui", "--speed", "0")
    assert replayed.returncode == 0, replayed.stderr
    assert [
        line for line in replayed.stdout.splitlines() if '"type":"vad.signal"' in line
    ] == signal_lines
    minutes = recorded[-1].audio_t / 60.0
    per_minute = sum(len(line) + 1 for line in signal_lines) / minutes
    assert per_minute < MAX_BYTES_PER_MINUTE, per_minute


# --- the lanes --------------------------------------------------------------------------------


def draw(
    lane, model: ConsoleModel, first_col: int, width: int, zoom_ms: int
) -> tuple[str, list[str]]:
    """The lane's characters and the component name of each cell's style."""
    styles: dict[str, Style] = {}

    def style(name: str) -> Style:
        return styles.setdefault(name, Style(meta={"name": name}))

    now = model.now_audio_t
    win = Window(first_col, width, zoom_ms, int(now * 1000 // zoom_ms), now)
    cells = CellRow(width, Style())
    lane.draw(cells, win, model, style)
    return "".join(cells.chars), [
        s.meta.get("name", "") if s.meta else "" for s in cells.styles
    ]


def test_signal_lane_draws_probability_over_the_threshold_line() -> None:
    model = ConsoleModel.from_events(SCENES["signal_thresholds"]().events)
    chars, names = draw(SignalLane(), model, 0, 140, 50)  # 0-7 s, 50 ms a column
    assert chars.startswith("0.50─")  # the threshold in force, written at the left
    col = lambda t: int(t / 0.05)
    # speech (0.6-2.2 s): bars above the threshold; silence: the threshold line shows through
    assert all(
        names[c] == "signal-speech" and chars[c] in "▇█"
        for c in range(col(0.7), col(2.1))
        if c % 10
    )
    assert set(chars[col(2.5) : col(3.2)]) == {"─"} and set(
        names[col(2.5) : col(3.2)]
    ) == {"threshold"}
    # the threshold was raised to 0.6 at 3.3 s: its new value is written where the rule changed
    assert "0.60" in chars[col(3.2) : col(3.5)]
    # the future (right of "now", 6.6 s) still carries the threshold line
    assert set(chars[col(6.7) :]) == {"─"}


def test_silence_lane_grows_towards_the_eager_and_end_marks() -> None:
    model = ConsoleModel.from_events(SCENES["signal_thresholds"]().events)
    chars, names = draw(SilenceLane(), model, 0, 700, 10)  # 10 ms a column
    ends = [
        e.audio_t
        for e in SCENES["signal_thresholds"]().events
        if isinstance(e, TurnEnd)
    ]
    eagers = [
        e.audio_t
        for e in SCENES["signal_thresholds"]().events
        if isinstance(e, TurnEagerEnd)
    ]
    # turn 1 (eager 200 ms, end 800 ms): plain silence, then the eager colour, the end colour at turn.end
    end1 = round(ends[0] * 100) - 1
    assert names[end1] == "silence-end" and chars[end1] == "█"
    eager1 = round(eagers[0] * 100) - 1
    assert names[eager1] == "silence-eager" and names[eager1 - 10] == "silence"
    heights = [" ▁▂▃▄▅▆▇█".index(c) for c in chars[eager1 - 10 : end1 + 1]]
    assert heights == sorted(heights)  # the counter only grows until the end
    # turn 2 ran with eager 150 / end 500 ms after the retune: its eager colour from 150 ms of
    # silence (the eager end 0.35 s before turn.end), the end colour at turn.end
    end2 = round(ends[1] * 100) - 1
    zones = [
        n
        for k, n in enumerate(names[end2 - 60 : end2 + 1])
        if n and (k == 0 or n != names[end2 - 60 + k - 1])
    ]
    assert zones == ["silence", "silence-eager", "silence-end"]
    assert (
        30 <= names[end2 - 60 : end2].count("silence-eager") <= 40
    )  # 500 - 160 ms, in 10 ms columns
    # between turns nothing is counted but the speech that starts the next turn
    assert set(chars[end1 + 2 : end1 + 50]) == {" "}
    assert "count-start" in names[round(3.7 * 100) : round(3.9 * 100)]


def test_ink2_session_says_it_has_no_probabilities() -> None:
    model = ConsoleModel.from_events(SCENES["ink2_turns"]().events)
    assert not model.signal and model.versions.signal == 0
    chars, _ = draw(SignalLane(), model, 0, 80, 50)
    assert INK2_NOTE in chars
    assert draw(SilenceLane(), model, 0, 80, 50)[0].strip() == ""


def test_signal_track_is_compact_and_versioned() -> None:
    model = ConsoleModel()
    before = model.versions.signal
    model.apply(batch(frames_audio_t=0.0, probs=(1, 2, 3)))
    assert model.versions.signal > before and len(model.signal) == 3
    model.apply(
        batch(frames_audio_t=60.0, probs=(9,))
    )  # a minute later: one byte a frame between
    assert len(model.signal) == 1876 and len(model.signal.probs.tobytes()) == 1876
    version = model.versions.signal
    model.apply(
        batch(frames_audio_t=1e7, probs=(9,))
    )  # a damaged log: ignored, nothing allocated
    model.apply(
        batch(frames_audio_t=1.0, frame_ms=10.0)
    )  # another frame length: ignored
    assert model.versions.signal == version and len(model.signal) == 1876


def test_smart_turn_verdicts_are_recorded_replayed_and_drawn_in_the_signal_lane(
    tmp_path: Path,
) -> None:
    rec = tmp_path / "smart"
    out = cli(
        "--no-ui",
        "--mic",
        str(SPEECH),
        "--fast",
        "--speaker",
        "null",
        "--record",
        str(rec),
        "--turn-detector",
        "smart-turn",
    )
    assert out.returncode == 0, out.stderr
    logged = [
        from_json(line)
        for line in lines(rec / "events.jsonl")
        if '"type":"vad.signal"' in line
    ]
    runs = [e for e in logged if e.smart_turn_p is not None]
    assert runs and all(
        e.smart_turn_threshold == 0.5 and e.smart_turn_ms is not None
        for e in logged
        if e.smart_turn_p
    )
    assert [
        e for e in load_recording(rec).events if isinstance(e, VadSignalBatch)
    ] == logged
    model = ConsoleModel.from_events(load_recording(rec).events)
    assert [m.probability for m in model.signal.smart] == [e.smart_turn_p for e in runs]
    zoom_ms = 50
    chars, names = draw(SignalLane(), model, 0, 300, zoom_ms)
    assert chars.startswith("0.50 st≥0.50")  # both thresholds in force, at the left
    ends = [e.audio_t for e in load_recording(rec).events if isinstance(e, TurnEnd)]
    for run in runs:
        col = int(run.audio_t * 1000 // zoom_ms)
        label = "st" + f"{run.smart_turn_p:.2f}".removeprefix("0")
        assert chars[col : col + len(label)] == label, (col, chars[col - 3 : col + 8])
        complete = run.smart_turn_p >= 0.5
        assert names[col] == ("end" if complete else "eager")
        assert (
            run.audio_t in ends
        ) == complete  # a verdict at the threshold ended the turn there
