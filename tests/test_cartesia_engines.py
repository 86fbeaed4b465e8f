"""The Cartesia engines against the scripted local server (tests/cartesia_server.py) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.cartesia_server import CartesiaServer, Fault, WhisperSegment
from voiceconsole.engines.base import SttEngine, TtsEngine, TtsError, TurnSettings
from voiceconsole.engines.cartesia.protocol import RetryPolicy, encode_audio
from voiceconsole.engines.cartesia.socket import Timeouts
from voiceconsole.engines.cartesia.stt_turns import CartesiaTurnsStt
from voiceconsole.engines.cartesia.stt_whisper import CartesiaWhisperStt
from voiceconsole.engines.cartesia.tts import CartesiaTts
from voiceconsole.errors import EngineUnavailable
from voiceconsole.events import (
    EngineError,
    EngineState,
    EngineWarning,
    Event,
    TranscriptFinal,
    TranscriptInterim,
    TurnEnd,
    TurnStart,
    TurnUpdate,
    to_json,
)

KEY = "sk_car_test_5f1e9a7c0b2d"
DATA = Path(__file__).parent / "data"
BLOCK = 320  # 20 ms at 16 kHz
FAST = RetryPolicy(initial_s=0.01, max_s=0.05, rate_limit_min_s=0.05)
QUICK = Timeouts(open_s=3.0, ping_interval_s=5.0, ping_timeout_s=5.0, close_s=1.0, drain_s=5.0)


class Recorder:
    """Fake emit: keeps every event (the session would stamp them)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event_type: type[Event], /, **fields: Any) -> Event:
        event = event_type(t=0.0, audio_t=0.0, **fields)
        self.events.append(event)
        return event

    def of(self, cls: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    def states(self) -> list[str]:
        return [e.state for e in self.of(EngineState)]

    def turn_types(self) -> list[tuple[str, int]]:
        return [(e.type, e.turn) for e in self.events if e.type.startswith("turn.") and e.type != "turn.config"]


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (generously) for something the server or client does asynchronously."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def block(value: float = 0.0) -> np.ndarray:
    return np.full(BLOCK, value, dtype=np.float32)


async def send_seconds(engine: Any, seconds: float, value: float = 0.0) -> None:
    for _ in range(round(seconds * 16000 / BLOCK)):
        await engine.send_audio(block(value))


def turns_engine(server: CartesiaServer, **kw: Any) -> CartesiaTurnsStt:
    kw.setdefault("policy", FAST)
    kw.setdefault("timeouts", QUICK)
    return CartesiaTurnsStt(api_key=kw.pop("api_key", KEY), base_url=server.url, **kw)


def assert_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY not in text


# --- Ink-2 turns -----------------------------------------------------------------------------------


async def test_turns_sends_exactly_the_protocol_and_numbers_turns() -> None:
    script = [
        (0.10, {"type": "turn.start", "request_id": "r"}),
        (0.20, {"type": "turn.update", "transcript": "Hello"}),
        (0.30, {"type": "turn.eager_end", "transcript": "Hello there"}),
        (0.40, {"type": "turn.resume"}),
        (0.50, {"type": "turn.update", "transcript": "Hello there friend"}),
        (0.60, {"type": "turn.end", "transcript": "Hello there friend."}),
        (0.70, {"type": "turn.update", "transcript": "Noise?"}),  # no start: the sequencer opens turn 2
        (0.80, {"type": "turn.end", "transcript": ""}),
    ]
    async with CartesiaServer(api_key=KEY, turns_script=script) as server:
        rec = Recorder()
        engine = turns_engine(server, sample_rate=16000)
        await engine.start(rec)
        assert rec.states() == ["connecting", "connected"]
        sent = [block(0.1 * (i % 5)) for i in range(50)]
        for b in sent:
            await engine.send_audio(b)
        await until(lambda: len(rec.of(TurnEnd)) == 2)
        await engine.close()

    conn = server.connections[0]
    assert conn.path == "/stt/turns/websocket"
    assert conn.query == {"model": ["ink-2"], "encoding": ["pcm_s16le"], "sample_rate": ["16000"],
                          "turn_start_threshold": ["0.8"], "turn_eager_end_threshold": ["0.4"],
                          "turn_end_threshold": ["0.2"], "turn_end_timeout_ms": ["5600"]}
    assert conn.headers["X-API-Key"] == KEY and conn.headers["Cartesia-Version"] == "2026-03-01"
    assert conn.audio_bytes == b"".join(encode_audio(b, "pcm_s16le") for b in sent)
    assert conn.texts == ['{"type":"close"}'] and conn.close_command
    assert rec.turn_types() == [
        ("turn.start", 1), ("turn.update", 1), ("turn.eager_end", 1), ("turn.resume", 1), ("turn.update", 1),
        ("turn.end", 1), ("turn.start", 2), ("turn.update", 2), ("turn.end", 2),
    ]
    assert [e.transcript for e in rec.of(TurnEnd)] == ["Hello there friend.", ""]
    assert rec.states()[-1] == "closed"
    assert engine.request_id == "req-1"


async def test_turns_waits_for_connected_before_it_counts_as_connected() -> None:
    async with CartesiaServer(api_key=KEY, faults=[Fault(no_connected=True)]) as server:
        rec = Recorder()
        engine = turns_engine(server, timeouts=Timeouts(open_s=0.3, close_s=0.5))
        await engine.start(rec)  # attempt 1 never says connected; attempt 2 does
        await engine.close()
    assert len(server.connections) == 2
    assert rec.states() == ["connecting", "reconnecting", "connected", "closed"]
    assert "never said it was ready" in rec.of(EngineState)[1].detail


async def test_close_flushes_the_last_events_before_returning() -> None:
    on_close = [{"type": "turn.update", "transcript": "last words"}, {"type": "turn.end", "transcript": "last words."}]
    script = [(0.1, {"type": "turn.start"})]
    async with CartesiaServer(api_key=KEY, turns_script=script, on_close=on_close) as server:
        rec = Recorder()
        engine = turns_engine(server)
        await engine.start(rec)
        await send_seconds(engine, 0.2)
        await until(lambda: bool(rec.of(TurnStart)))
        await engine.close()
        assert [e.transcript for e in rec.of(TurnEnd)] == ["last words."]
        assert server.connections[0].close_command


async def test_a_turn_left_open_at_close_ends_with_its_last_transcript() -> None:
    script = [(0.1, {"type": "turn.start"}), (0.15, {"type": "turn.update", "transcript": "half a sen"})]
    async with CartesiaServer(api_key=KEY, turns_script=script) as server:
        rec = Recorder()
        engine = turns_engine(server)
        await engine.start(rec)
        await send_seconds(engine, 0.2)
        await until(lambda: bool(rec.of(TurnUpdate)))
        await engine.close()
    assert [e.transcript for e in rec.of(TurnEnd)] == ["half a sen"]


async def test_watchdog_streams_zeros_when_audio_stops() -> None:
    async with CartesiaServer(api_key=KEY) as server:
        rec = Recorder()
        engine = turns_engine(server, idle_after_s=0.1)
        await engine.start(rec)
        await send_seconds(engine, 0.1, value=0.5)
        conn = server.connections[0]
        spoken = len(conn.audio_bytes) if len(conn.audio_bytes) else 3200
        await until(lambda: len(conn.audio_bytes) >= 3200 + 8000)  # 0.25 s of zeros came on their own
        await engine.close()
    audio = np.frombuffer(conn.audio_bytes, dtype="<i2")
    assert spoken == 3200 and np.all(audio[:1600] == round(0.5 * 32767))
    assert np.all(audio[1600:] == 0)
    assert engine.streamer.zero_bytes_sent >= 8000


async def test_turn_settings_are_retuned_with_a_config_command_and_kept_on_reconnect() -> None:
    async with CartesiaServer(api_key=KEY, faults=[Fault(close_code=1012, close_at_s=0.2)]) as server:
        rec = Recorder()
        engine = turns_engine(server)
        await engine.start(rec)
        new = TurnSettings(start_threshold=0.7, eager_end_threshold=0.35, end_threshold=0.1, end_timeout_ms=1280)
        await engine.update_turn_settings(new)
        await send_seconds(engine, 0.2)
        await until(lambda: len(server.connections) == 2 and engine.socket.connected)
        await engine.close()
    first, second = server.connections
    assert first.json_texts[0] == {"type": "config", "turn": {"start_threshold": 0.7, "eager_end_threshold": 0.35,
                                                              "end_threshold": 0.1, "end_timeout_ms": 1280}}
    assert second.query["turn_start_threshold"] == ["0.7"] and second.query["turn_end_timeout_ms"] == ["1280"]


@pytest.mark.parametrize("fault", [Fault(), Fault(reject_status=403)], ids=["wrong-key-401", "forbidden-403"])
async def test_a_refused_key_is_one_fatal_error_and_never_retried(fault: Fault) -> None:
    async with CartesiaServer(api_key=KEY, faults=[fault]) as server:
        rec = Recorder()
        key = "sk_wrong_key_123" if fault.reject_status is None else KEY
        engine = turns_engine(server, api_key=key)
        with pytest.raises(EngineUnavailable) as info:
            await engine.start(rec)
        await engine.close()
    assert len(server.attempts) == 1
    errors = rec.of(EngineError)
    assert len(errors) == 1 and errors[0].fatal and "API key was refused" in errors[0].message
    assert "CARTESIA_API_KEY" in errors[0].hint
    assert rec.states() == ["connecting", "failed"]
    assert getattr(info.value, "reported", False)
    assert_no_key(str(info.value), *(to_json(e) for e in rec.events))
    assert "sk_wrong_key_123" not in str(info.value)


async def test_an_error_instead_of_connected_with_401_is_fatal() -> None:
    err = {"type": "error", "status_code": 401, "message": "Invalid API key", "request_id": "x"}
    async with CartesiaServer(api_key=KEY, faults=[Fault(error_instead_of_connected=err)]) as server:
        rec = Recorder()
        with pytest.raises(EngineUnavailable, match="Invalid API key"):
            await turns_engine(server).start(rec)
    assert len(server.attempts) == 1 and rec.of(EngineError)[0].fatal


async def test_429_backs_off_then_connects() -> None:
    async with CartesiaServer(api_key=KEY, faults=[Fault(reject_status=429, retry_after="0")]) as server:
        rec = Recorder()
        engine = turns_engine(server)
        await engine.start(rec)
        await engine.close()
    assert server.rejected == [429] and len(server.connections) == 1
    assert rec.states() == ["connecting", "reconnecting", "connected", "closed"]
    assert "HTTP 429" in rec.of(EngineState)[1].detail


async def test_5xx_is_retried_then_reported_when_it_persists() -> None:
    async with CartesiaServer(api_key=KEY, faults=[Fault(reject_status=503), Fault(reject_status=502)]) as server:
        rec = Recorder()
        engine = turns_engine(server)
        await engine.start(rec)
        await engine.close()
    assert server.rejected == [503, 502] and rec.states()[-2:] == ["connected", "closed"]

    async with CartesiaServer(api_key=KEY, faults=[Fault(reject_status=500)] * 3) as server:
        rec = Recorder()
        with pytest.raises(EngineUnavailable, match="HTTP 500"):
            await turns_engine(server).start(rec)
    assert len(server.attempts) == 3 and rec.states()[-1] == "failed"


@pytest.mark.parametrize(
    "fault",
    [Fault(close_code=1011, close_at_s=0.2), Fault(close_code=1012, close_at_s=0.2), Fault(drop_at_s=0.2)],
    ids=["close-1011", "close-1012", "abrupt-drop"],
)
async def test_a_drop_closes_the_open_turn_and_drops_the_outage_audio(fault: Fault) -> None:
    script = [(0.1, {"type": "turn.start"}), (0.15, {"type": "turn.update", "transcript": "before the drop"})]
    policy = RetryPolicy(initial_s=0.05, max_s=0.2)
    async with CartesiaServer(api_key=KEY, turns_script=script, faults=[fault, Fault(reject_status=503)]) as server:
        rec = Recorder()
        engine = turns_engine(server, policy=policy)
        await engine.start(rec)
        await send_seconds(engine, 0.2, value=0.25)
        await until(lambda: not engine.socket.connected)
        # The outage: these blocks cannot be sent; they are counted and dropped, not sent late
        # as a burst faster than real time.
        outage = [block(0.01 * (i + 1)) for i in range(10)]
        for b in outage:
            await engine.send_audio(b)
        await until(lambda: engine.socket.connected)
        after = block(0.5)
        await engine.send_audio(after)
        await until(lambda: len(server.connections) == 2 and len(server.connections[1].binary) >= 1)
        await engine.close()
    ends = rec.of(TurnEnd)
    assert [(e.turn, e.transcript) for e in ends] == [(1, "before the drop")]
    assert "reconnecting" in rec.states() and rec.states()[-2:] == ["connected", "closed"]
    assert server.connections[1].binary[0] == encode_audio(after, "pcm_s16le")
    warnings = rec.of(EngineWarning)
    assert any("dropped 0.20 s of audio captured during the outage" in w.message for w in warnings)
    assert server.rejected == [503]


async def test_an_outage_longer_than_the_buffer_counts_all_the_dropped_audio() -> None:
    policy = RetryPolicy(initial_s=0.05, max_s=0.2)
    async with CartesiaServer(api_key=KEY, faults=[Fault(close_code=1011, close_at_s=0.1)]) as server:
        rec = Recorder()
        engine = turns_engine(server, policy=policy, outage_buffer_s=0.1)
        await engine.start(rec)
        await send_seconds(engine, 0.1)
        await until(lambda: not engine.socket.connected)
        outage = [block(0.01 * (i + 1)) for i in range(15)]  # 0.3 s: more than the 0.1 s buffer holds
        for b in outage:
            await engine.send_audio(b)
        await until(lambda: engine.socket.connected)
        await engine.send_audio(block(0.5))
        await until(lambda: len(server.connections) == 2 and len(server.connections[1].binary) >= 1)
        await engine.close()
    assert server.connections[1].binary[0] == encode_audio(block(0.5), "pcm_s16le")
    messages = [w.message for w in rec.of(EngineWarning)]
    assert any("dropped 0.30 s" in m for m in messages), messages


async def test_malformed_json_and_unknown_types_are_counted_not_fatal() -> None:
    script = [(0.3, {"type": "turn.start"}), (0.35, {"type": "turn.end", "transcript": "still fine"})]
    fault = Fault(malformed_at_s=0.1, unknown_at_s=0.2)
    async with CartesiaServer(api_key=KEY, turns_script=script, faults=[fault]) as server:
        rec = Recorder()
        engine = turns_engine(server)
        await engine.start(rec)
        await send_seconds(engine, 0.4)
        await until(lambda: bool(rec.of(TurnEnd)))
        await engine.close()
    warnings = rec.of(EngineWarning)
    assert [w.count for w in warnings] == [1, 2]
    assert "malformed JSON" in warnings[0].message and "turn.telepathy" in warnings[1].message
    assert rec.of(TurnEnd)[0].transcript == "still fine" and len(server.connections) == 1


async def test_a_silent_server_is_dropped_by_keepalive_and_reconnected() -> None:
    timeouts = Timeouts(open_s=3.0, ping_interval_s=0.2, ping_timeout_s=0.3, close_s=0.3, drain_s=3.0)
    async with CartesiaServer(api_key=KEY, faults=[Fault(silent_at_s=0.1)]) as server:
        rec = Recorder()
        engine = turns_engine(server, timeouts=timeouts)
        await engine.start(rec)
        await send_seconds(engine, 0.12)
        await until(lambda: len(server.connections) == 2 and engine.socket.connected)
        await engine.close()
    reconnecting = [e for e in rec.of(EngineState) if e.state == "reconnecting"]
    assert reconnecting and "1011" in reconnecting[0].detail


async def test_server_error_messages_are_shown_with_a_hint() -> None:
    script = [(0.1, {"type": "error", "status_code": 400, "error_code": "bad_audio", "message": "audio is garbled"}),
              (0.2, {"type": "error", "error": "old style failure", "code": 500})]
    async with CartesiaServer(api_key=KEY, turns_script=script) as server:
        rec = Recorder()
        engine = turns_engine(server)
        await engine.start(rec)
        await send_seconds(engine, 0.25)
        await until(lambda: len(rec.of(EngineError)) == 2)
        await engine.close()
    first, second = rec.of(EngineError)
    assert (first.message, first.code, first.fatal) == ("audio is garbled", "bad_audio", False)
    assert "--stt-encoding" in first.hint
    assert (second.message, second.code) == ("old style failure", "500")


# --- ink-whisper --------------------------------------------------------------------------------------


def load_fixture() -> tuple[np.ndarray, dict[str, Any]]:
    manifest = json.loads((DATA / "speech_turns.json").read_text())
    with wave.open(str(DATA / manifest["wav"]), "rb") as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, manifest


async def test_whisper_turns_come_from_the_local_vad_and_the_finals() -> None:
    audio, manifest = load_fixture()
    segments = [WhisperSegment(s["start_s"], s["end_s"], s["text"]) for s in manifest["segments"]]
    audio = np.concatenate([audio, np.zeros(2 * 16000, dtype=np.float32)])
    async with CartesiaServer(api_key=KEY, whisper_segments=segments) as server:
        rec = Recorder()
        engine = CartesiaWhisperStt(api_key=KEY, base_url=server.url, policy=FAST, timeouts=QUICK)
        await engine.start(rec)
        for i in range(0, len(audio), BLOCK):
            await engine.send_audio(audio[i : i + BLOCK])
        await until(lambda: len(rec.of(TurnEnd)) == len(manifest["turns"]))
        await engine.close()
    conn = server.connections[0]
    assert conn.path == "/stt/websocket"
    assert conn.query == {"model": ["ink-whisper"], "encoding": ["pcm_s16le"], "sample_rate": ["16000"], "language": ["en"]}
    assert conn.texts == ["finalize"] * len(manifest["turns"]) + ["close"]
    # Finals are concatenated verbatim (each carries its leading space).
    expected = ["".join(" " + manifest["segments"][i]["text"] for i in t["segments"]) for t in manifest["turns"]]
    assert [e.transcript for e in rec.of(TurnEnd)] == expected
    finals = rec.of(TranscriptFinal)
    assert "".join(f.text for f in finals) == "".join(expected)
    assert finals[0].words[0].word == "all" and finals[1].words[0].word == "please"  # list and parallel shapes
    assert rec.of(TranscriptInterim)
    for turn in range(1, len(expected) + 1):
        kinds = [k for k, n in rec.turn_types() if n == turn]
        assert kinds[0] == "turn.start" and kinds[-1] == "turn.end" and "turn.eager_end" in kinds
    updates = [e.transcript for e in rec.of(TurnUpdate) if e.turn == 1]
    assert updates and all(expected[0].startswith(u) for u in updates)


async def test_whisper_drop_mid_turn_keeps_what_was_heard() -> None:
    audio, manifest = load_fixture()
    segments = [WhisperSegment(s["start_s"], s["end_s"], s["text"]) for s in manifest["segments"]]
    drop = Fault(drop_at_s=2.0)  # during the first utterance, after some interims
    async with CartesiaServer(api_key=KEY, whisper_segments=segments, faults=[drop]) as server:
        rec = Recorder()
        engine = CartesiaWhisperStt(api_key=KEY, base_url=server.url, policy=FAST, timeouts=QUICK)
        await engine.start(rec)
        for i in range(0, int(2.0 * 16000), BLOCK):
            await engine.send_audio(audio[i : i + BLOCK])
        await until(lambda: bool(rec.of(TurnEnd)))
        await engine.close()
    end = rec.of(TurnEnd)[0]
    last_interim = rec.of(TranscriptInterim)[-1].text
    assert end.turn == 1 and end.transcript == last_interim and last_interim.startswith(" all circuits")


# --- sonic TTS -----------------------------------------------------------------------------------------


def tts_engine(server: CartesiaServer, **kw: Any) -> CartesiaTts:
    kw.setdefault("policy", FAST)
    kw.setdefault("timeouts", QUICK)
    return CartesiaTts(api_key=kw.pop("api_key", KEY), base_url=server.url, **kw)


async def collect(engine: CartesiaTts, reply: int, text: str) -> list[Any]:
    return [chunk async for chunk in engine.synthesize(reply, text)]


async def test_tts_streams_pieces_on_one_socket_with_word_timings() -> None:
    async with CartesiaServer(api_key=KEY, tts_seconds_per_char=0.01) as server:
        rec = Recorder()
        engine = tts_engine(server, voice="voice-xyz", sample_rate=16000)
        await engine.start(rec)
        text1 = "Hello there, my friend. How are you doing today? Very well."
        chunks1 = await collect(engine, 1, text1)
        chunks2 = await collect(engine, 2, "Second reply.")
        await engine.close()
    assert len(server.connections) == 1
    conn = server.connections[0]
    assert conn.path == "/tts/websocket" and conn.query == {} and conn.headers["X-API-Key"] == KEY
    requests = conn.json_texts
    ctx1 = {r["context_id"] for r in requests if r["transcript"] in text1}
    assert len(ctx1) == 1 and len({r["context_id"] for r in requests}) == 2
    pieces = [r for r in requests if r["context_id"] in ctx1]
    assert "".join(r["transcript"] for r in pieces) == text1 and len(pieces) == 3
    assert [r["continue"] for r in pieces] == [True, True, False]
    assert all(r["voice"] == {"mode": "id", "id": "voice-xyz"} and r["add_timestamps"] is True and r["model_id"] == "sonic-3"
               and r["output_format"] == {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 16000} for r in requests)
    samples1 = sum(c.samples.shape[0] for c in chunks1)
    assert samples1 == int(len(text1) * 0.01 * 16000)
    words = [w for c in chunks1 for w in c.words]
    assert [w.word for w in words] == text1.split() and words[0].start == 0.0
    assert chunks1[0].words  # timings ride on the first audio chunk
    assert sum(c.samples.shape[0] for c in chunks2) == int(len("Second reply.") * 0.01 * 16000)


async def test_tts_cancel_sends_cancel_drops_late_audio_and_the_next_reply_plays() -> None:
    server_kw = dict(tts_seconds_per_char=0.05, tts_chunk_delay_s=0.02, tts_late_chunk_after_cancel=True)
    async with CartesiaServer(api_key=KEY, **server_kw) as server:  # type: ignore[arg-type]
        rec = Recorder()
        engine = tts_engine(server, sample_rate=16000)
        await engine.start(rec)
        got: list[Any] = []
        async for chunk in engine.synthesize(1, "A long reply that will be interrupted quite early on."):
            got.append(chunk)
            if len(got) == 2:
                await engine.cancel(1)
        after = await collect(engine, 2, "Next.")
        await engine.close()
    texts = server.connections[0].json_texts
    cancel = [t for t in texts if t.get("cancel")]
    ctx1 = texts[0]["context_id"]
    assert cancel == [{"context_id": ctx1, "cancel": True}]
    assert len(got) == 2  # nothing after the cancel was yielded
    assert engine.late_chunks_dropped >= 1
    assert not rec.of(EngineWarning)  # late chunks of a cancelled reply are expected, not odd
    assert sum(c.samples.shape[0] for c in after) == int(len("Next.") * 0.05 * 16000)


async def test_tts_error_fails_only_its_reply() -> None:
    async with CartesiaServer(api_key=KEY) as server:
        rec = Recorder()
        engine = tts_engine(server)
        await engine.start(rec)
        with pytest.raises(TtsError, match="scripted failure"):
            await collect(engine, 1, "Please FAIL now.")
        ok = await collect(engine, 2, "This one works.")
        await engine.close()
    assert sum(c.samples.shape[0] for c in ok) > 0 and not rec.of(EngineError)


async def test_tts_drop_mid_reply_fails_it_and_the_next_reply_reconnects() -> None:
    async with CartesiaServer(api_key=KEY, tts_chunk_delay_s=0.01, faults=[Fault(tts_drop_after_chunks=2)]) as server:
        rec = Recorder()
        engine = tts_engine(server)
        await engine.start(rec)
        with pytest.raises(TtsError, match="connection lost"):
            await collect(engine, 1, "This reply is cut off by the server in the middle.")
        ok = await collect(engine, 2, "Back again.")
        await engine.close()
    assert len(server.connections) == 2 and sum(c.samples.shape[0] for c in ok) > 0
    assert "reconnecting" in rec.states()


async def test_tts_warns_on_malformed_and_unknown_messages() -> None:
    async with CartesiaServer(api_key=KEY, faults=[Fault(malformed_at_s=0.0, unknown_at_s=0.0)]) as server:
        rec = Recorder()
        engine = tts_engine(server)
        await engine.start(rec)
        ok = await collect(engine, 1, "Still speaks.")
        await engine.close()
    assert [w.count for w in rec.of(EngineWarning)] == [1, 2] and ok


async def test_tts_refused_key_is_fatal_at_start() -> None:
    async with CartesiaServer(api_key=KEY) as server:
        rec = Recorder()
        with pytest.raises(EngineUnavailable, match="refused"):
            await tts_engine(server, api_key="sk_not_it").start(rec)
    assert len(server.attempts) == 1 and rec.of(EngineError)[0].fatal


async def test_closing_during_an_outage_reports_the_audio_never_sent() -> None:
    policy = RetryPolicy(initial_s=5.0, max_s=5.0)  # stays down for the rest of the test
    async with CartesiaServer(api_key=KEY, faults=[Fault(close_code=1011, close_at_s=0.1)]) as server:
        rec = Recorder()
        engine = turns_engine(server, policy=policy)
        await engine.start(rec)
        await send_seconds(engine, 0.1)
        await until(lambda: not engine.socket.connected)
        await send_seconds(engine, 0.5)
        await engine.close()
    assert any("0.50 s of held audio was never transcribed" in w.message for w in rec.of(EngineWarning))
    assert rec.states()[-1] == "closed" and len(server.connections) == 1


async def test_encoding_and_sample_rate_reach_the_server() -> None:
    async with CartesiaServer(api_key=KEY) as server:
        rec = Recorder()
        engine = turns_engine(server, encoding="pcm_mulaw", sample_rate=8000)
        await engine.start(rec)
        sent = [np.full(160, 0.2, dtype=np.float32) for _ in range(5)]
        for b in sent:
            await engine.send_audio(b)
        await until(lambda: len(server.connections[0].binary) == 5)
        await engine.close()
    conn = server.connections[0]
    assert conn.query["encoding"] == ["pcm_mulaw"] and conn.query["sample_rate"] == ["8000"]
    assert conn.audio_bytes == b"".join(encode_audio(b, "pcm_mulaw") for b in sent) and len(conn.audio_bytes) == 800


def test_factory_builds_engines_from_settings_and_rejects_bad_options() -> None:
    from voiceconsole.config import Settings
    from voiceconsole.engines.registry import create_stt, create_tts
    from voiceconsole.errors import ConfigError

    base = dict(api_key=KEY, stt_url="ws://127.0.0.1:9", tts_url="ws://127.0.0.1:9/custom/tts")
    turns = create_stt(Settings(stt="auto", **base))  # type: ignore[arg-type]
    assert isinstance(turns, CartesiaTurnsStt) and turns.model == "ink-2" and "127.0.0.1:9/stt/turns/websocket" in turns.socket.where
    whisper = create_stt(Settings(stt="cartesia-whisper", stt_sample_rate=24000, **base))  # type: ignore[arg-type]
    assert isinstance(whisper, CartesiaWhisperStt) and whisper.model == "ink-whisper" and whisper.sample_rate == 24000
    tts = create_tts(Settings(tts="auto", voice="v1", tts_model="sonic-2", **base))  # type: ignore[arg-type]
    assert isinstance(tts, CartesiaTts) and tts.format.voice_id == "v1" and tts.format.model_id == "sonic-2"
    assert tts.socket.where == "ws://127.0.0.1:9/custom/tts"
    # Every member the session uses is there (declared in the engine protocols, never probed).
    assert isinstance(turns, SttEngine) and isinstance(whisper, SttEngine) and isinstance(tts, TtsEngine)
    bad = [
        Settings(stt="cartesia-turns", stt_encoding="mp3", **base),  # type: ignore[arg-type]
        Settings(stt="cartesia-turns", language="fr", **base),  # type: ignore[arg-type]
        Settings(stt="cartesia-turns", stt_url="http//nope", **{k: v for k, v in base.items() if k != "stt_url"}),  # type: ignore[arg-type]
    ]
    for settings in bad:
        with pytest.raises(ConfigError):
            create_stt(settings)
    with pytest.raises(ConfigError, match="24000"):
        create_tts(Settings(tts="cartesia", tts_sample_rate=12345, **base))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="CARTESIA_API_KEY"):
        create_stt(Settings(stt="cartesia-turns"))


async def test_audio_after_an_outage_goes_out_at_once_without_the_outage_audio() -> None:
    policy = RetryPolicy(initial_s=0.05, max_s=0.2)
    async with CartesiaServer(api_key=KEY, faults=[Fault(close_code=1011, close_at_s=0.2)]) as server:
        rec = Recorder()
        engine = turns_engine(server, policy=policy)
        await engine.start(rec)
        before = [block(0.01 * (i % 7)) for i in range(10)]
        for b in before:
            await engine.send_audio(b)
        await until(lambda: not engine.socket.connected)
        outage = [block(0.02 * (i + 1)) for i in range(5)]
        for b in outage:
            await engine.send_audio(b)  # counted, not sent: returns without waiting for the server
        assert not engine.socket.connected and len(engine.streamer.buffer) == 5
        await until(lambda: engine.socket.connected)
        after = block(0.5)
        await engine.send_audio(after)
        await until(lambda: len(server.connections) == 2 and len(server.connections[1].binary) >= 1)
        await engine.close()
    # (the silence watchdog may add zeros before the server closes)
    assert server.connections[0].audio_bytes.startswith(b"".join(encode_audio(b, "pcm_s16le") for b in before))
    assert server.connections[1].binary[0] == encode_audio(after, "pcm_s16le")
    assert any("dropped 0.10 s" in w.message for w in rec.of(EngineWarning))


async def test_audio_waits_its_turn_behind_a_message_being_sent() -> None:
    async with CartesiaServer(api_key=KEY) as server:
        rec = Recorder()
        engine = turns_engine(server)
        await engine.start(rec)
        first, second = block(0.1), block(0.2)
        # Holding the socket's send lock stands for a command whose write waits on a full buffer:
        # the audio waits behind it, then goes out in order.
        async with engine.socket._send_lock:
            pending = asyncio.ensure_future(engine.send_audio(first))
            await asyncio.sleep(0.05)
            assert not pending.done() and not server.connections[0].binary
        await pending
        await engine.send_audio(second)
        await until(lambda: len(server.connections[0].binary) >= 2)
        await engine.close()
    assert server.connections[0].audio_bytes == encode_audio(first, "pcm_s16le") + encode_audio(second, "pcm_s16le")
