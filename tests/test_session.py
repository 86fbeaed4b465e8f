"""The session pipeline with scripted engines on a virtual clock."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from tests.fakes import EdgeVad, ScriptedStt, ToneTts
from voiceconsole.audio.io import NullSink, SilenceSource
from voiceconsole.clock import VirtualClock
from voiceconsole.engines.base import TurnSettings
from voiceconsole.events import Event, from_json, to_json
from voiceconsole.session.responder import EchoResponder
from voiceconsole.session.session import Session, SessionOptions

TURN_SCRIPT = [
    (0.50, "start", ""),
    (0.80, "update", "hello"),
    (1.00, "update", "hello there"),
    (1.20, "end", "hello there"),
]


def make_session(script=TURN_SCRIPT, seconds=3.0, tts=None, **options) -> tuple[Session, list[Event]]:
    session = Session(
        source=SilenceSource(16000, duration_s=seconds),
        sink=NullSink(16000),
        stt=ScriptedStt(list(script)),
        tts=tts or ToneTts(),
        responder=EchoResponder(),
        reference_vad=EdgeVad([(0.45, "start"), (1.1, "stop")]),
        clock=VirtualClock(),
        options=SessionOptions(**options),
    )
    events: list[Event] = []
    session.bus.add_listener(events.append)
    return session, events


def types(events: list[Event], prefix: tuple[str, ...] = ("turn.", "tts.", "playback.", "command.", "vad.")) -> list[str]:
    return [e.type for e in events if e.type.startswith(prefix)]


async def test_turn_to_reply_to_playback_in_order() -> None:
    session, events = make_session()
    await session.run()
    assert types(events) == [
        "turn.config",
        "vad.speech_start",
        "turn.start",
        "turn.update",
        "turn.update",
        "vad.speech_stop",
        "turn.end",
        "tts.queued",
        "tts.request_sent",
        "tts.first_audio",
        "tts.done",
        "playback.start",
        "playback.finish",
    ]
    assert events[0].type == "session.start" and events[-1].type == "session.stop"
    queued = next(e for e in events if e.type == "tts.queued")
    assert queued.text == "hello there" and queued.turn == 1
    finish = next(e for e in events if e.type == "playback.finish")
    assert finish.samples_played == pytest.approx(len("hello there") * 0.05 * 16000, abs=2)
    end = next(e for e in events if e.type == "turn.end")
    assert end.audio_t == pytest.approx(1.2, abs=0.021)
    # The session kept streaming until the reply had played out, on virtual time.
    assert events[-1].t >= finish.t


async def test_events_are_stamped_with_audio_time_and_round_trip() -> None:
    session, events = make_session()
    await session.run()
    audio_ts = [e.audio_t for e in events]
    assert audio_ts == sorted(audio_ts)
    for event in events:
        assert from_json(to_json(event)) == event


async def test_virtual_runs_are_deterministic() -> None:
    first, events1 = make_session()
    await first.run()
    second, events2 = make_session()
    await second.run()
    assert [to_json(e) for e in events1] == [to_json(e) for e in events2]


async def test_interrupt_silences_playback_and_cancels_replies() -> None:
    session, events = make_session(seconds=4.0)

    def on_event(event: Event) -> None:
        if event.type == "playback.start":
            asyncio.get_running_loop().call_soon(session.interrupt, "key")

    session.bus.add_listener(on_event)
    await session.run()
    kinds = types(events, ("tts.", "playback.", "command."))
    assert kinds[-3:] == ["command.interrupt", "tts.cancelled", "playback.interrupt"]
    cut = next(e for e in events if e.type == "playback.interrupt")
    assert 0 < cut.samples_played < len("hello there") * 0.05 * 16000
    assert "playback.finish" not in kinds


async def test_turn_start_while_playing_barges_in() -> None:
    script = TURN_SCRIPT + [(1.5, "start", ""), (2.5, "end", "")]
    session, events = make_session(script=script, seconds=4.0)
    await session.run()
    interrupts = [e for e in events if e.type == "command.interrupt"]
    assert [e.reason for e in interrupts] == ["auto"]
    second_start = [e for e in events if e.type == "turn.start"][1]
    assert interrupts[0].t == second_start.t
    assert any(e.type == "playback.interrupt" for e in events)


async def test_barge_in_can_be_switched_off() -> None:
    script = TURN_SCRIPT + [(1.5, "start", ""), (2.5, "end", "")]
    session, events = make_session(script=script, seconds=4.0, auto_barge_in=False)
    await session.run()
    assert not any(e.type == "command.interrupt" for e in events)
    assert any(e.type == "playback.finish" for e in events)


async def test_muted_mic_streams_silence_and_say_queues_a_reply() -> None:
    session, events = make_session(script=[], seconds=1.0)
    session.source = _ToneSource(duration_s=1.0)
    session.set_muted(True)
    reply = session.say("typed line")
    await session.run()
    stt = session.stt
    assert isinstance(stt, ScriptedStt)
    assert stt.received >= 16000
    assert max(float(np.max(np.abs(c))) for c in stt.chunks) == 0.0
    assert reply == 1
    kinds = types(events, ("tts.", "playback.", "command."))
    assert kinds[:4] == ["command.mute", "command.say", "tts.queued", "tts.request_sent"]
    assert "playback.finish" in kinds
    assert stt.closed and session.tts.closed


async def test_failed_reply_is_reported_and_the_next_one_plays() -> None:
    script = [(0.2, "start", ""), (0.4, "end", "bad words"), (0.6, "start", ""), (0.8, "end", "fine")]
    session, events = make_session(script=script, seconds=2.0, tts=ToneTts(fail_on="bad"))
    await session.run()
    failed = [e for e in events if e.type == "tts.failed"]
    assert [e.reply for e in failed] == [1]
    assert "bad words" in failed[0].message
    assert [e.reply for e in events if e.type == "playback.finish"] == [2]


async def test_turn_settings_update_reaches_the_engine() -> None:
    session, events = make_session(script=[], seconds=0.5)

    def on_event(event: Event) -> None:
        if event.type == "session.start":
            session.update_turn_settings(TurnSettings(end_silence_ms=500))

    session.bus.add_listener(on_event)
    await session.run()
    configs = [e for e in events if e.type == "turn.config"]
    assert configs[-1].settings["end_silence_ms"] == 500
    assert session.stt.settings_updates[-1].end_silence_ms == 500


class _ToneSource(SilenceSource):
    async def blocks(self):  # type: ignore[override]
        async for block in super().blocks():
            yield np.full_like(block, 0.25)


async def test_mute_while_speaking_covers_the_reply_and_its_echo_tail() -> None:
    session, events = make_session(script=[], seconds=3.0, mute_while_speaking=True)
    session.source = _ToneSource(duration_s=3.0)
    session.say("twenty characters..")  # 20 chars * 50 ms = 1.0 s of reply
    await session.run()
    stt = session.stt
    start = next(e for e in events if e.type == "playback.start").audio_t
    finish = next(e for e in events if e.type == "playback.finish").audio_t
    audio = np.concatenate(stt.chunks)
    rate = stt.sample_rate
    during = audio[int((start + 0.05) * rate) : int((finish + session.options.echo_tail_s - 0.05) * rate)]
    after = audio[int((finish + session.options.echo_tail_s + 0.1) * rate) : int(2.9 * rate)]
    before = audio[: int(max(start - 0.05, 0.0) * rate)]
    assert during.size > 0.9 * rate and float(np.max(np.abs(during))) == 0.0
    assert after.size > 0 and float(np.min(np.abs(after))) > 0.2
    assert before.size == 0 or float(np.min(np.abs(before))) > 0.2


class _CountingSource(SilenceSource):
    """Block ``i`` holds the value ``i / 1000``, so the order the STT engine got them in shows."""

    async def blocks(self):  # type: ignore[override]
        i = 0
        async for block in super().blocks():
            i += 1
            yield np.full_like(block, i / 1000)


class _SlowStt(ScriptedStt):
    """Every ``slow_every``-th send waits ``slow_s`` (a connection whose write buffer is full)."""

    def __init__(self, script, slow_every: int = 10, slow_s: float = 0.0) -> None:
        super().__init__(script)
        self.slow_every, self.slow_s = slow_every, slow_s
        self.sends = self.slow_sends = 0
        self.in_flight = False
        self.overlapping = 0

    async def send_audio(self, samples: np.ndarray) -> None:
        self.sends += 1
        if self.in_flight:
            self.overlapping += 1
        self.in_flight = True
        try:
            if self.sends % self.slow_every == 0:
                self.slow_sends += 1
                await asyncio.sleep(self.slow_s)
            await super().send_audio(samples)
        finally:
            self.in_flight = False


async def test_blocks_wait_behind_a_send_in_flight_and_keep_their_order() -> None:
    # Real time: every 10th send takes 3 blocks' time; the blocks captured meanwhile queue
    # behind it (the STT stage awaits one send at a time) and reach the engine in order.
    session = Session(
        source=_CountingSource(16000, duration_s=1.0),
        sink=NullSink(16000),
        stt=_SlowStt([], slow_every=10, slow_s=0.06),
        tts=ToneTts(),
        responder=EchoResponder(),
        reference_vad=EdgeVad([]),
        options=SessionOptions(trailing_silence_s=0.2),
    )
    await session.run()
    stt = session.stt
    values = [round(float(c[0]) * 1000) for c in stt.chunks]
    blocks = [v for v in values if v > 0]  # the trailing silence after the file is zeros
    assert blocks == list(range(1, 51))
    assert stt.overlapping == 0 and stt.slow_sends >= 5
    assert stt.sends == len(stt.chunks)
    assert session.audio_samples_sent == sum(c.shape[0] for c in stt.chunks)


def test_every_engine_has_every_member_the_session_uses() -> None:
    from voiceconsole.engines.base import SttEngine, TtsEngine
    from voiceconsole.engines.local_stt import LocalSttEngine
    from voiceconsole.engines.local_tts import LocalTtsEngine

    for stt in (ScriptedStt([]), LocalSttEngine()):
        assert isinstance(stt, SttEngine), type(stt).__name__
    for tts in (ToneTts(), LocalTtsEngine()):
        assert isinstance(tts, TtsEngine), type(tts).__name__

    class Deaf:  # no send_audio: not an STT engine
        name, sample_rate = "deaf", 16000

        async def start(self, emit) -> None: ...
        async def update_turn_settings(self, settings) -> None: ...
        async def close(self) -> None: ...

    assert not isinstance(Deaf(), SttEngine)
