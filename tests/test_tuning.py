"""The live tuning panel (key ``c``): refused values, a mid-session change of end ms on the real
local engine, Ink-2 ``config`` messages reaching the local test server, presets, and the config
file round trip."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.cartesia_server import CartesiaServer
from tests.fakes import ToneTts
from tests.test_cartesia_engines import KEY, turns_engine
from tests.test_ui_pilot import THEMES, _screen_text, live_session, wait_for
from voiceconsole.audio.io import AudioSource, NullSink, WavFileSource
from voiceconsole.audio.vad import ReferenceVad
from voiceconsole.config import load_config_file, update_config_file
from voiceconsole.engines.base import TurnSettings
from voiceconsole.engines.local_stt import LocalSttEngine
from voiceconsole.errors import ConfigError
from voiceconsole.events import Event, VadSignalBatch
from voiceconsole.session.responder import EchoResponder
from voiceconsole.session.session import Session, SessionOptions, make_clock
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.tuning import (
    INK2_FIELDS,
    LOCAL_FIELDS,
    PRESETS,
    TuningScreen,
    load_tuning,
    parse_fields,
    save_tuning,
)

DATA = Path(__file__).parent / "data"
MANIFEST = json.loads((DATA / "speech_turns.json").read_text())

# The local rule decides on 32 ms VAD frames, so a silence threshold is reached at the first
# frame boundary at or after it (800 ms -> 800, 400 ms -> 416: 16 ms of rounding), and the
# event is stamped at the end of the 20 ms mic block that carried the deciding frame (0-20 ms
# later, independently for each turn). The reference VAD's stop is the same audio both times.
# So the shortening is 400 ms within one frame plus one block: 32 + 20 = 52 ms; 60 ms allowed.
SHORTEN_TOLERANCE_S = 0.060


class Settings_:
    """The console settings the app reads (theme, record dir, config file)."""

    def __init__(self, config_path: Path) -> None:
        self.theme: str | None = None
        self.record: str | None = None
        self.config_path = str(config_path)


def app_for(session: Any, config_path: Path | None = None) -> VoiceConsoleApp:
    settings = Settings_(config_path) if config_path is not None else None
    return VoiceConsoleApp(
        controller=session, settings=settings, clock=session.clock, themes=THEMES
    )


def panel(app: VoiceConsoleApp) -> TuningScreen:
    screen = app.screen
    assert isinstance(screen, TuningScreen), type(screen).__name__
    return screen


def message(app: VoiceConsoleApp) -> str:
    return str(panel(app).query_one("#tuning-message").render())


async def type_into(pilot, selector: str, text: str) -> None:
    """Click a field (which selects its text), then type over it."""
    await pilot.click(selector)
    await pilot.press(
        "ctrl+shift+a"
    )  # select all, in case the click placed the cursor instead
    for char in text:
        await pilot.press({"-": "minus", ".": "full_stop"}.get(char, char))
    await pilot.pause()


def configs(events: list[Event]) -> list[Event]:
    return [e for e in events if e.type == "turn.config"]


# --- pure parts -------------------------------------------------------------------------------


def test_presets_are_valid_and_ordered_from_fast_to_patient() -> None:
    applied = {name: preset.apply(TurnSettings()) for name, preset in PRESETS.items()}
    assert list(applied) == ["fast", "balanced", "patient"]
    assert applied["balanced"] == TurnSettings()
    ends = [applied[n].end_silence_ms for n in ("fast", "balanced", "patient")]
    timeouts = [applied[n].end_timeout_ms for n in ("fast", "balanced", "patient")]
    end_thresholds = [applied[n].end_threshold for n in ("fast", "balanced", "patient")]
    assert ends == sorted(ends) and timeouts == sorted(timeouts)
    assert end_thresholds == sorted(
        end_thresholds, reverse=True
    )  # a lower end threshold waits longer
    # the VAD threshold depends on the room, not on patience: presets keep it
    assert PRESETS["fast"].apply(TurnSettings(vad_threshold=0.7)).vad_threshold == 0.7


@pytest.mark.parametrize(
    "typed,reason",
    [
        (
            {"end_silence_ms": "100"},
            "eager end silence (200 ms) must be shorter than end silence (100 ms)",
        ),
        ({"end_silence_ms": "-"}, "end ms: '-' is not a whole number"),
        ({"vad_threshold": "1.5"}, "VAD threshold must lie between 0 and 1"),
    ],
)
def test_parse_fields_refuses_with_the_reason(
    typed: dict[str, str], reason: str
) -> None:
    texts = {
        spec.setting: str(getattr(TurnSettings(), spec.setting))
        for spec in LOCAL_FIELDS
    } | typed
    with pytest.raises(ValueError) as info:
        parse_fields(TurnSettings(), texts, LOCAL_FIELDS)
    assert str(info.value) == reason


def test_config_file_update_keeps_other_keys_comments_and_sections(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '# my settings\nstt = "local"\n\n[turn]\nend-ms = 700  # was slow\n\n[cartesia]\napi-key = "k"\n'
    )
    update_config_file(path, {"end_ms": 400, "vad_threshold": 0.6})
    text = path.read_text()
    assert "# my settings" in text and '[cartesia]\napi-key = "k"' in text
    assert "[turn]\nend-ms = 400\n" in text
    values = load_config_file(path, explicit=True)
    assert values == {
        "stt": "local",
        "end_ms": 400,
        "vad_threshold": 0.6,
        "api_key": "k",
    }


def test_config_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("end-ms = [oops\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        update_config_file(bad, {"end_ms": 400})
    assert bad.read_text() == "end-ms = [oops\n"  # left as it was
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write config") as info:
        update_config_file(blocker / "config.toml", {"end_ms": 400})
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="not a setting"):
        update_config_file(tmp_path / "c.toml", {"api_key": "secret"})


def test_save_then_load_round_trips_both_kinds_of_fields(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    local = TurnSettings(
        start_speech_ms=120,
        eager_end_silence_ms=150,
        end_silence_ms=450,
        vad_threshold=0.55,
    )
    ink2 = TurnSettings(
        start_threshold=0.7,
        eager_end_threshold=0.35,
        end_threshold=0.1,
        end_timeout_ms=1280,
    )
    save_tuning(path, local, LOCAL_FIELDS)
    save_tuning(path, ink2, INK2_FIELDS)
    assert (
        "end-ms = 450" in path.read_text()
        and "turn-end-timeout-ms = 1280" in path.read_text()
    )
    assert load_tuning(path, TurnSettings()) == TurnSettings(
        start_speech_ms=120,
        eager_end_silence_ms=150,
        end_silence_ms=450,
        vad_threshold=0.55,
        start_threshold=0.7,
        eager_end_threshold=0.35,
        end_threshold=0.1,
        end_timeout_ms=1280,
    )
    path.write_text("eager-end-ms = 900\n")
    with pytest.raises(ConfigError, match="must be shorter than end silence"):
        load_tuning(path, TurnSettings())


# --- the panel on a live session --------------------------------------------------------------


async def test_bad_value_is_refused_in_the_panel_and_nothing_is_sent() -> None:
    session, events = live_session()
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "turn.config")
        await pilot.press("c")
        await pilot.pause()
        assert "tune turn detection" in _screen_text(app)
        await type_into(pilot, "#tune-end_silence_ms", "100")
        reason = "eager end silence (200 ms) must be shorter than end silence (100 ms)"
        assert message(app) == f"invalid: {reason}"
        await pilot.press("enter")
        await pilot.pause()
        assert message(app) == f"not sent: {reason}"
        assert reason in _screen_text(app)
        await type_into(pilot, "#tune-end_silence_ms", "-")
        await pilot.press("enter")
        await pilot.pause()
        assert message(app) == "not sent: end ms: '-' is not a whole number"
        await pilot.pause(0.2)
        assert len(configs(events)) == 1  # only the one at session start
        assert session.stt.settings_updates == []
        assert session.turn_settings == TurnSettings()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TuningScreen)
        await pilot.press("q")


class GatedSource(AudioSource):
    """The bundled speech as the mic, held at ``hold_s`` of audio until ``gate`` is set (so the
    user's change lands between two turns however loaded the machine is)."""

    self_clocked = False

    def __init__(self, path: Path, hold_s: float) -> None:
        self.inner = WavFileSource(path)
        self.sample_rate = self.inner.sample_rate
        self.name = self.inner.name
        self.description = self.inner.description
        self.hold_samples = int(hold_s * self.sample_rate)
        self.gate = asyncio.Event()

    async def blocks(self) -> AsyncIterator[np.ndarray]:
        sent = 0
        async for block in self.inner.blocks():
            if sent >= self.hold_samples and not self.gate.is_set():
                await self.gate.wait()
            sent += block.shape[0]
            yield block

    async def close(self) -> None:
        await self.inner.close()


async def test_end_ms_800_to_400_mid_session_shortens_the_next_turn_end_by_400_ms() -> (
    None
):
    first, second = MANIFEST["turns"][0], MANIFEST["turns"][1]
    hold_s = (
        first["speech_end_s"] + 1.1
    )  # after turn 1 has ended at 800 ms, before turn 2 starts
    assert hold_s < second["speech_start_s"]
    source = GatedSource(DATA / "speech_turns.wav", hold_s)
    session = Session(
        source=source,
        sink=NullSink(16000),
        stt=LocalSttEngine(TurnSettings(end_silence_ms=800)),
        tts=ToneTts(seconds_per_char=0.01),
        responder=EchoResponder(),
        reference_vad=ReferenceVad(),
        clock=make_clock(True),
        options=SessionOptions(hold_open=True),
        turn_settings=TurnSettings(end_silence_ms=800),
    )
    events: list[Event] = []
    session.bus.add_listener(events.append)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "turn.end" and e.turn == 1)
        await pilot.press("c")
        await pilot.pause()
        assert str(panel(app).query_one("#tune-end_silence_ms").value) == "800"
        await type_into(pilot, "#tune-end_silence_ms", "400")
        await pilot.press("enter")
        change = await wait_for(
            pilot,
            events,
            lambda e: e.type == "turn.config" and e.settings["end_silence_ms"] == 400,
        )
        assert message(app).startswith("applied: ")
        await pilot.press("escape")
        source.gate.set()
        await wait_for(pilot, events, lambda e: e.type == "turn.end" and e.turn == 2)
        await pilot.pause()
        turns = {tm.turn: tm for tm in app.model.metrics.turns()}
        before, after = turns[1].end_of_turn_delay, turns[2].end_of_turn_delay
        assert before is not None and after is not None
        end_1 = next(e for e in events if e.type == "turn.end" and e.turn == 1)
        assert (
            end_1.audio_t <= change.audio_t <= hold_s + 0.02
        )  # applied between the turns
        assert abs(before - 0.8) <= SHORTEN_TOLERANCE_S, before
        assert abs((before - after) - 0.4) <= SHORTEN_TOLERANCE_S, (before, after)
        assert (
            app.model.turn_config is not None
            and app.model.turn_config["end_silence_ms"] == 400
        )
        await pilot.press("q")


async def test_smart_turn_threshold_is_validated_in_the_panel_and_applies_from_the_next_pause() -> (
    None
):
    """Smart Turn (P 0.98 at the end of turn 1, 0.96 and 0.98 at the pauses of turn 2) ends turn 1
    at threshold 0.5; raised to 0.99 between the turns, it lets turn 2 run to the 800 ms rule."""
    first, second = MANIFEST["turns"][0], MANIFEST["turns"][1]
    hold_s = first["speech_end_s"] + 1.1
    assert hold_s < second["speech_start_s"]
    source = GatedSource(DATA / "speech_turns.wav", hold_s)
    settings = TurnSettings(turn_detector="smart-turn")
    session = Session(
        source=source,
        sink=NullSink(16000),
        stt=LocalSttEngine(settings),
        tts=ToneTts(seconds_per_char=0.01),
        responder=EchoResponder(),
        reference_vad=ReferenceVad(),
        clock=make_clock(True),
        options=SessionOptions(hold_open=True),
        turn_settings=settings,
    )
    events: list[Event] = []
    session.bus.add_listener(events.append)
    app = app_for(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "turn.end" and e.turn == 1)
        await pilot.press("c")
        await pilot.pause()
        assert "VAD turn rule + Smart Turn" in _screen_text(app)
        assert panel(app).query_one("#tune-smart_turn_threshold").value == "0.5"
        await type_into(pilot, "#tune-smart_turn_threshold", "1.5")
        assert message(app) == "invalid: Smart Turn threshold must lie between 0 and 1"
        await pilot.press("enter")
        await pilot.pause()
        assert message(app) == "not sent: Smart Turn threshold must lie between 0 and 1"
        await type_into(pilot, "#tune-smart_turn_threshold", "0.99")
        await pilot.press("enter")
        change = await wait_for(
            pilot,
            events,
            lambda e: (
                e.type == "turn.config" and e.settings["smart_turn_threshold"] == 0.99
            ),
        )
        assert message(app).startswith(
            "applied: "
        ) and "Smart Turn threshold 0.99" in message(app)
        await pilot.press("escape")
        source.gate.set()
        await wait_for(pilot, events, lambda e: e.type == "turn.end" and e.turn == 2)
        await pilot.pause()
        runs = [
            e
            for e in events
            if isinstance(e, VadSignalBatch) and e.smart_turn_p is not None
        ]
        ends = {e.turn: e for e in events if e.type == "turn.end"}
        before = [r for r in runs if r.audio_t < change.audio_t]
        after = [r for r in runs if r.audio_t > change.audio_t]
        assert [r.smart_turn_threshold for r in before] == [0.5] and before[
            0
        ].smart_turn_p >= 0.5
        assert ends[1].audio_t == before[0].audio_t  # Smart Turn ended turn 1
        assert len(after) >= 2 and all(
            r.smart_turn_threshold == 0.99 and r.smart_turn_p < 0.99 for r in after
        )
        assert all(
            ends[2].audio_t != r.audio_t for r in after
        )  # the silence rule ended turn 2
        turns = {tm.turn: tm for tm in app.model.metrics.turns()}
        assert (
            turns[1].end_of_turn_delay is not None and turns[1].end_of_turn_delay < 0.5
        )
        assert (
            turns[2].end_of_turn_delay is not None
            and abs(turns[2].end_of_turn_delay - 0.8) <= SHORTEN_TOLERANCE_S
        )
        await pilot.press("q")


async def test_ink2_thresholds_typed_in_the_panel_reach_the_server_as_a_config_message() -> (
    None
):
    async with CartesiaServer(api_key=KEY) as server:
        session, events = live_session(stt=turns_engine(server))
        app = app_for(session)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(
                pilot,
                events,
                lambda e: e.type == "engine.state" and e.state == "connected",
            )
            await pilot.press("c")
            await pilot.pause()
            text = _screen_text(app)
            assert (
                "cartesia-turns" in text
                and "end timeout ms" in text
                and "end ms " not in text
            )
            for field, value in (
                ("start_threshold", "0.7"),
                ("eager_end_threshold", "0.35"),
                ("end_threshold", "0.1"),
                ("end_timeout_ms", "1280"),
            ):
                await type_into(pilot, f"#tune-{field}", value)
            await pilot.press("enter")

            def config_messages() -> list[dict[str, Any]]:
                return [
                    m
                    for m in server.connections[0].json_texts
                    if m.get("type") == "config"
                ]

            await wait_for(pilot, events, lambda e: bool(config_messages()))
            assert config_messages() == [
                {
                    "type": "config",
                    "turn": {
                        "start_threshold": 0.7,
                        "eager_end_threshold": 0.35,
                        "end_threshold": 0.1,
                        "end_timeout_ms": 1280,
                    },
                }
            ]
            await pilot.click("#preset-patient")
            await wait_for(pilot, events, lambda e: len(config_messages()) == 2)
            assert config_messages()[1]["turn"] == {
                "start_threshold": 0.85,
                "eager_end_threshold": 0.3,
                "end_threshold": 0.1,
                "end_timeout_ms": 8000,
            }
            assert panel(app).query_one("#tune-end_timeout_ms").value == "8000"
            await pilot.press("escape", "q")
            await wait_for(pilot, events, lambda e: e.type == "session.stop")


async def test_presets_apply_and_save_load_round_trip_through_the_panel(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('responder = "echo"\n[cartesia]\napi-key = "k"\n')
    session, events = live_session()
    app = app_for(session, path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "turn.config")
        await pilot.press("c")
        await pilot.pause()
        await pilot.click("#preset-fast")
        await wait_for(
            pilot,
            events,
            lambda e: e.type == "turn.config" and e.settings["end_silence_ms"] == 400,
        )
        assert session.turn_settings == PRESETS["fast"].apply(TurnSettings())
        assert message(app).startswith(
            "applied preset fast: start ms 100, eager ms 120, end ms 400"
        )
        await type_into(pilot, "#tune-end_silence_ms", "450")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert message(app) == f"saved to {path}"
        assert load_config_file(path, explicit=True) == {
            "responder": "echo",
            "api_key": "k",
            "turn_start_ms": 100,
            "eager_end_ms": 120,
            "end_ms": 450,
            "vad_threshold": 0.5,
        }
        await pilot.click("#preset-patient")
        await wait_for(
            pilot,
            events,
            lambda e: e.type == "turn.config" and e.settings["end_silence_ms"] == 1400,
        )
        await pilot.press("ctrl+l")
        await wait_for(
            pilot,
            events,
            lambda e: e.type == "turn.config" and e.settings["end_silence_ms"] == 450,
        )
        assert panel(app).query_one("#tune-end_silence_ms").value == "450"
        assert session.turn_settings.start_speech_ms == 100
        path.write_text("end-ms = [oops\n")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert message(app).startswith(f"not saved: {path}: not valid TOML")
        assert path.read_text() == "end-ms = [oops\n"
        await pilot.press("escape", "q")


async def test_in_a_replay_the_panel_says_tuning_needs_a_live_session() -> None:
    app = VoiceConsoleApp(None, themes=THEMES, events=[])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert "tuning needs a live session" in message(app)
        await pilot.press("enter")
        await pilot.pause()
        assert (
            message(app)
            == "tuning needs a live session (this is a replay): nothing was sent"
        )
        await pilot.press("escape")
