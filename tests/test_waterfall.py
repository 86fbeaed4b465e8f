"""The per-turn latency waterfall: the six segments (LLM first token included) in the metrics, in ``report --json/--csv``
(the CLI as a subprocess on recordings), and the console's waterfall screen (pilot)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Static

from tests.scenes import SCENES
from tests.test_recording import SPEECH, cli
from tests.test_ui_snapshots import THEMES, scene_app, settle
from voiceconsole.events import (
    Event,
    PlaybackStarted,
    SpeechStopped,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TurnEnd,
    TurnStart,
    to_json,
)
from voiceconsole.session.metrics import SEGMENT_KEYS, MetricsBuilder, compute_metrics
from voiceconsole.ui.model import ConsoleModel
from voiceconsole.ui.waterfall import WaterfallScreen, WaterfallView

# The conversation scene (tests/scenes.py), worked out by hand from its script: speech stops
# at 2.47 / 9.11 / 12.96 s, turn.end at 3.29 / 9.93 / 13.77, replies queued at 3.31 / 9.98 /
# 13.80, requested 10 ms later, first audio 180 ms after the request, played 20 ms after that.
EXPECTED = {
    1: {"endpointing_ms": 820.0, "llm_ms": None, "responder_ms": 20.0, "tts_first_audio_ms": 190.0, "playout_ms": 20.0, "voice_to_voice_ms": 1050.0},
    2: {"endpointing_ms": 820.0, "llm_ms": None, "responder_ms": 50.0, "tts_first_audio_ms": 190.0, "playout_ms": 20.0, "voice_to_voice_ms": 1080.0},
    3: {"endpointing_ms": 810.0, "llm_ms": None, "responder_ms": 30.0, "tts_first_audio_ms": 190.0, "playout_ms": 20.0, "voice_to_voice_ms": 1050.0},
}


def ev(cls: type[Event], t: float, **fields: object) -> Event:
    return cls(t=t, audio_t=t, **fields)


def gaps() -> list[Event]:
    """Turn 1 has no VAD stop; turn 2's reply has no first-audio event; turn 3 gets no reply."""
    return [
        ev(TurnStart, 0.5, turn=1),
        ev(TurnEnd, 1.5, turn=1, transcript="noise"),
        ev(TtsQueued, 1.6, reply=1, text="a", turn=1),
        ev(TtsRequestSent, 1.6, reply=1),
        ev(TtsFirstAudio, 1.9, reply=1),
        ev(PlaybackStarted, 2.0, reply=1),
        ev(TurnStart, 3.0, turn=2),
        ev(SpeechStopped, 3.8, speech_audio_t=3.5),
        ev(TurnEnd, 4.0, turn=2, transcript="b"),
        ev(TtsQueued, 4.1, reply=2, text="b", turn=2),
        ev(PlaybackStarted, 4.6, reply=2),
        ev(TurnStart, 5.0, turn=3),
        ev(SpeechStopped, 5.7, speech_audio_t=5.4),
        ev(TurnEnd, 6.0, turn=3, transcript="c"),
    ]


# --- metrics ----------------------------------------------------------------------------------


def test_segments_of_the_scripted_conversation() -> None:
    result = compute_metrics(SCENES["conversation"]().events)
    assert {tm.turn: tm.segments() for tm in result.turns} == EXPECTED
    for tm in result.turns:
        assert tm.endpointing_ms == pytest.approx(tm.end_of_turn_delay * 1000)
        assert tm.responder_ms == pytest.approx(tm.responder_latency * 1000)
        parts = [tm.segments()[k] for k in SEGMENT_KEYS[:5] if k != "llm_ms"]  # no LLM: no segment
        assert tm.voice_to_voice_ms == pytest.approx(sum(parts))
    s = result.segment_summary
    assert set(s) == set(SEGMENT_KEYS)
    assert (s["endpointing_ms"].p50, s["endpointing_ms"].p95) == (820.0, 820.0)
    assert s["responder_ms"].p50 == 30.0 and s["responder_ms"].p95 == pytest.approx(48.0)
    assert s["voice_to_voice_ms"].p50 == 1050.0 and s["voice_to_voice_ms"].p95 == pytest.approx(1077.0)
    assert s["playout_ms"].count == 3


def test_missing_segments_are_none_never_zero() -> None:
    t1, t2, t3 = compute_metrics(gaps()).turns
    assert t1.segments() == {
        "endpointing_ms": None, "llm_ms": None, "responder_ms": 100.0, "tts_first_audio_ms": 300.0, "playout_ms": 100.0,
        "voice_to_voice_ms": None,
    }
    assert t2.segments() == {
        "endpointing_ms": 500.0, "llm_ms": None, "responder_ms": 100.0, "tts_first_audio_ms": None, "playout_ms": None,
        "voice_to_voice_ms": 1100.0,
    }
    assert t3.segments() == {
        "endpointing_ms": 600.0, "llm_ms": None, "responder_ms": None, "tts_first_audio_ms": None, "playout_ms": None,
        "voice_to_voice_ms": None,
    }
    summary = compute_metrics(gaps()).segment_summary
    assert summary["tts_first_audio_ms"].count == 1 and summary["voice_to_voice_ms"].count == 1
    assert summary["endpointing_ms"].p50 == 550.0


def test_segments_fed_live_match_the_batch_and_existing_summary_is_unchanged() -> None:
    events = SCENES["conversation"]().events
    builder = MetricsBuilder()
    for e in events:
        builder.add(e)
    batch = compute_metrics(events)
    assert builder.segment_summary() == batch.segment_summary
    assert builder.summary() == batch.summary and "endpointing_ms" not in batch.summary


# --- report --json / --csv --------------------------------------------------------------------


def write_recording(path: Path, events: list[Event]) -> Path:
    path.mkdir()
    (path / "events.jsonl").write_text("".join(to_json(e) + "\n" for e in events), encoding="utf-8")
    (path / "meta.json").write_text(json.dumps({"complete": True, "engines": {"stt": "local"}}), encoding="utf-8")
    return path


def test_report_json_and_csv_carry_the_segments_of_a_scripted_recording(tmp_path: Path) -> None:
    rec = write_recording(tmp_path / "scene", SCENES["conversation"]().events + gaps_after(15.0))
    out = cli("report", str(rec), "--json")
    assert out.returncode == 0, out.stderr
    timeline = json.loads(out.stdout)["timelines"][0]
    turns = {t["turn"]: t for t in timeline["turns"]}
    for n, expected in EXPECTED.items():
        assert {k: turns[n][k] for k in SEGMENT_KEYS} == expected
    # Turn 11 (no first-audio event): missing segments are null, not zero.
    assert turns[11]["tts_first_audio_ms"] is None and turns[11]["playout_ms"] is None
    assert turns[11]["voice_to_voice_ms"] == 1100.0
    summary = timeline["summary"]
    assert summary["voice_to_voice_ms"]["p50_ms"] == 1065.0  # 1050, 1050, 1080, 1100
    assert summary["endpointing_ms"]["count"] == 5
    assert set(summary["playout_ms"]) == {"count", "p50_ms", "p95_ms", "max_ms"}

    csv_out = cli("report", str(rec), "--csv")
    assert csv_out.returncode == 0, csv_out.stderr
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    header = csv_out.stdout.splitlines()[0].split(",")
    assert header[-7:] == [*SEGMENT_KEYS, "transcript"]
    by_turn = {int(r["turn"]): r for r in rows}
    assert by_turn[2]["voice_to_voice_ms"] == "1080.0" and by_turn[3]["endpointing_ms"] == "810.0"
    assert by_turn[11]["tts_first_audio_ms"] == "" and by_turn[12]["responder_ms"] == ""


def gaps_after(offset: float) -> list[Event]:
    """:func:`gaps` moved ``offset`` seconds later, its turns numbered from 10."""
    out = []
    for e in gaps():
        fields = {k: v for k, v in json.loads(to_json(e)).items() if k not in ("type", "t", "audio_t")}
        if "turn" in fields and fields["turn"] is not None:
            fields["turn"] += 9
        if "reply" in fields:
            fields["reply"] += 9
        if "speech_audio_t" in fields:
            fields["speech_audio_t"] += offset
        out.append(type(e)(t=e.t + offset, audio_t=e.audio_t + offset, **fields))
    return out


@pytest.fixture(scope="module")
def speech_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = tmp_path_factory.mktemp("wf") / "session"
    # Real time, not --fast: a virtual-time report gives engine timings as "n/a (virtual time)".
    out = cli("--no-ui", "--mic", str(SPEECH), "--speaker", "null", "--record", str(rec))
    assert out.returncode == 0, out.stderr
    return rec


def test_report_of_a_real_recording_has_consistent_segments(speech_recording: Path) -> None:
    out = cli("report", str(speech_recording), "--json")
    assert out.returncode == 0, out.stderr
    turns = json.loads(out.stdout)["timelines"][0]["turns"]
    assert len(turns) >= 2
    for t in turns:
        assert t["endpointing_ms"] == t["end_of_turn_delay_ms"]
        assert t["responder_ms"] == t["responder_latency_ms"]
        assert t["voice_to_voice_ms"] == pytest.approx(t["endpointing_ms"] + t["response_latency_ms"], abs=0.2)
        parts = [t[k] for k in SEGMENT_KEYS[:5] if k != "llm_ms"]
        assert t["voice_to_voice_ms"] == pytest.approx(sum(parts), abs=0.3)
    text = cli("report", str(speech_recording))
    assert "voice→voice" in text.stdout and "endpointing" in text.stdout


# --- the console ------------------------------------------------------------------------------


def view_text(view: WaterfallView) -> list[str]:
    return [s.text for s in view.render_lines(Region(0, 0, view.size.width, view.size.height))]


def turn_lines(lines: list[str]) -> dict[str, str]:
    """The turn rows by turn number (the header row also starts with "turn")."""
    return {line.split()[1]: line for line in lines if line.startswith("turn ") and line.split()[1].isdigit()}


async def test_w_opens_the_waterfall_with_the_turns_and_escape_closes_it() -> None:
    app = scene_app("conversation")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, WaterfallScreen)
        await pilot.pause(0.3)  # the screen's first check titles the box
        lines = view_text(app.screen.query_one(WaterfallView))
        rows = {n: line.split()[-6:] for n, line in turn_lines(lines).items()}
        assert rows == {str(n): ["—" if v is None else f"{v:.0f}" for v in e.values()] for n, e in EXPECTED.items()}
        p50 = next(line for line in lines if line.startswith("p50"))
        assert p50.split()[-6:] == ["820", "—", "30", "190", "20", "1050"]
        assert any("1000" in line for line in lines)  # the shared ms axis
        assert app.screen.query_one("#waterfall-box").border_title == "latency waterfall · last 3 of 3 turns"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, WaterfallScreen)
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, WaterfallScreen)


async def test_the_open_waterfall_follows_new_turns() -> None:
    app = scene_app("conversation")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await pilot.pause()
        view = app.screen.query_one(WaterfallView)
        for e in gaps_after(15.0)[6:11]:  # turn 11: stop, end, queued, played (no first audio)
            app.feed(e)
        await pilot.pause(0.5)  # the screen checks the metrics' version a few times a second
        lines = view_text(view)
        row = turn_lines(lines)["11"]
        assert row.split()[-6:] == ["500", "—", "100", "—", "—", "1100"]
        bar = row[9:-36]
        assert "·" in bar and bar.strip(" ·") == ""  # known segments are blank cells painted by colour
        assert list(turn_lines(lines)) == ["1", "2", "3", "11"]


class _ViewApp(App[None]):
    """The waterfall screen alone over a model (the console's themes give the vc-* colours)."""

    def __init__(self, model: ConsoleModel) -> None:
        super().__init__()
        self.model = model
        for theme in THEMES.textual_themes():
            self.register_theme(theme)
        self.theme = THEMES.resolve(None)

    def compose(self) -> ComposeResult:
        yield Static("console")

    def on_mount(self) -> None:
        self.push_screen(WaterfallScreen(lambda: self.model))


async def test_missing_segments_are_drawn_as_missing() -> None:
    app = _ViewApp(ConsoleModel.from_events(gaps()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(WaterfallView)
        lines = turn_lines(view_text(view))
        assert lines["1"].split()[-6:] == ["—", "—", "100", "300", "100", "—"]
        assert lines["1"][9] == "·"  # no speech stop: the bar starts at turn.end after a gap
        assert lines["3"].split()[-6:] == ["600", "—", "—", "—", "—", "—"]
        assert "···" in lines["3"]  # one dot for each segment after turn.end
        styles = {seg.style.bgcolor for seg in view.render_lines(Region(0, 2, view.size.width, 1))[0]}
        assert len(styles - {view.rich_style.bgcolor}) == 3  # turn 1: responder, TTS, playout colours


async def test_empty_session_says_no_turn_yet() -> None:
    app = _ViewApp(ConsoleModel.from_events([]))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert any("no turn has ended yet" in line for line in view_text(app.screen.query_one(WaterfallView)))
