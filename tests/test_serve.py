"""``voiceconsole serve``: Cartesia's endpoints answered by the offline engines, watched.

Clients are real websocket clients on 127.0.0.1 speaking Cartesia's wire protocol; the speech is
the bundled clip (tests/data/speech_turns.wav). Bad input gets Cartesia's refusals and close
codes, and never stops the other connections.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from voiceconsole.audio.wavio import read_wav
from voiceconsole.events import (
    EngineWarning,
    Event,
    SessionStarted,
    SessionStopped,
    SpeechStarted,
    TranscriptFinal,
    TtsCancelled,
    TtsDone,
    TtsQueued,
    TtsWordTimings,
    TurnEnd,
    TurnStart,
    to_json,
)
from voiceconsole.serve.hub import WatchHub
from voiceconsole.serve.offline import OfflineBackend
from voiceconsole.serve.server import Backend, EndpointServer

DATA = Path(__file__).parent / "data"
KEY = "sk_car_serve_test_7d1c2b"
TURNS_QUERY = "/stt/turns/websocket?model=ink-2&encoding=pcm_s16le&sample_rate=16000"
WHISPER_QUERY = (
    "/stt/websocket?model=ink-whisper&encoding=pcm_s16le&sample_rate=16000&language=en"
)
CHUNK = 3200  # 100 ms of 16 kHz s16le


def speech_pcm(seconds: float | None = None) -> bytes:
    """The bundled speech clip as 16 kHz s16le bytes (the first ``seconds`` of it)."""
    samples, rate = read_wav(DATA / "speech_turns.wav")
    assert rate == 16000
    mono = samples.reshape(-1)
    if seconds is not None:
        mono = mono[: int(seconds * rate)]
    return (np.clip(mono, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def expected_turns() -> list[str]:
    """The clip's turns, as its manifest gives them."""
    return [
        turn["text"]
        for turn in json.loads((DATA / "speech_turns.json").read_text())["turns"]
    ]


class Watched:
    """Every event of every watched session, in order, as (session number, event)."""

    def __init__(self, hub: WatchHub) -> None:
        self.events: list[tuple[int, Event]] = []
        hub.on_open.append(
            lambda s: s.bus.add_listener(
                lambda e, n=s.number: self.events.append((n, e))
            )
        )

    def of(self, number: int, kind: type[Event] | None = None) -> list[Any]:
        """Events of session ``number`` (of one type)."""
        return [
            e
            for n, e in self.events
            if n == number and (kind is None or isinstance(e, kind))
        ]


@asynccontextmanager
async def running(
    backend: Backend, **hub_options: Any
) -> AsyncIterator[tuple[EndpointServer, Watched]]:
    """A server on a free loopback port with its hub; closed afterwards."""
    hub = WatchHub(backend.mode, **hub_options)
    watched = Watched(hub)
    server = EndpointServer(backend, hub, "127.0.0.1", 0)
    await server.start()
    try:
        yield server, watched
    finally:
        await server.close()


async def stream(ws: ClientConnection, pcm: bytes, chunk: int = CHUNK) -> None:
    """Send audio in ~100 ms frames, then a second of silence (so the last turn can end)."""
    for i in range(0, len(pcm), chunk):
        await ws.send(pcm[i : i + chunk])
    for _ in range(10):
        await ws.send(bytes(chunk))


async def received(ws: ClientConnection) -> list[str | bytes]:
    """Every message until the server closes."""
    out: list[str | bytes] = []
    try:
        async for message in ws:
            out.append(message)
    except ConnectionClosed:
        pass
    return out


def kinds(messages: list[str | bytes]) -> list[str]:
    return [json.loads(m)["type"] for m in messages]


def fast() -> OfflineBackend:
    """A backend that lets tests stream faster than real time (throttling has its own test)."""
    return OfflineBackend(burst_s=1000.0)


# --- Ink-2 turns -------------------------------------------------------------------------------


async def test_turns_from_real_speech_and_the_console_sees_them() -> None:
    async with (
        running(fast()) as (server, watched),
        connect(server.url + TURNS_QUERY, additional_headers={"X-API-Key": KEY}) as ws,
    ):
        reader = asyncio.create_task(received(ws))
        await stream(ws, speech_pcm())
        await ws.send('{"type":"close"}')
        messages = await reader
        assert ws.close_code == 1000
    types = kinds(messages)
    assert types[0] == "connected"
    assert types.count("turn.start") == types.count("turn.end") == 3
    ends = [
        json.loads(m)["transcript"]
        for m in messages
        if json.loads(m)["type"] == "turn.end"
    ]
    # pocketsphinx is not perfect: the key words of each turn are heard
    for heard, words in zip(
        ends,
        (
            ("busy", "now"),
            ("hold", "completed", "dialed"),
            ("echo", "test", "completed"),
        ),
    ):
        assert all(w in heard for w in words), (heard, expected_turns())
    assert {json.loads(m)["request_id"] for m in messages} == {
        json.loads(messages[0])["request_id"]
    }
    # the console: the same turns, numbered, on the audio clock of the streamed audio
    console_ends = watched.of(1, TurnEnd)
    assert [e.transcript for e in console_ends] == ends
    assert [e.turn for e in watched.of(1, TurnStart)] == [1, 2, 3]
    speech = watched.of(1, SpeechStarted)
    assert len(speech) >= 3 and speech[0].speech_audio_t == pytest.approx(0.8, abs=0.25)
    assert console_ends[-1].audio_t <= len(speech_pcm()) / 32000 + 1.0 + 0.01
    started = watched.of(1, SessionStarted)[0]
    assert (
        started.stt == "cartesia-turns"
        and started.settings["query"]["sample_rate"] == "16000"
    )
    assert watched.of(1, SessionStopped)[0].reason.startswith("closed 1000")
    assert KEY not in "".join(to_json(e) for _, e in watched.events)


async def test_turn_config_and_garbage_get_errors_and_the_stream_goes_on() -> None:
    async with (
        running(fast()) as (server, _watched),
        connect(server.url + TURNS_QUERY) as ws,
    ):
        reader = asyncio.create_task(received(ws))
        await ws.send("this is not json")
        await ws.send('{"type":"telepathy"}')
        await ws.send(json.dumps({"type": "config", "turn": {"start_threshold": 0.2}}))
        await ws.send(
            json.dumps(
                {
                    "type": "config",
                    "turn": {"start_threshold": 0.7, "end_threshold": 0.1},
                }
            )
        )
        await stream(ws, speech_pcm(4.0))
        await ws.send('{"type":"close"}')
        messages = await reader
    errors = [json.loads(m) for m in messages if json.loads(m)["type"] == "error"]
    assert [e["status_code"] for e in errors] == [400, 400, 400]
    assert [e["error_code"] for e in errors] == [
        "invalid_message",
        "invalid_message",
        "invalid_turn_config",
    ]
    assert "start_threshold 0.2 is out of range" in errors[2]["message"]
    assert "turn.end" in kinds(messages)
    assert ws.close_code == 1000


# --- ink-whisper --------------------------------------------------------------------------------


async def test_whisper_transcripts_finalize_and_close() -> None:
    async with (
        running(fast()) as (server, watched),
        connect(
            server.url + WHISPER_QUERY,
            additional_headers={"Authorization": f"Bearer {KEY}"},
        ) as ws,
    ):
        reader = asyncio.create_task(received(ws))
        pcm = speech_pcm(
            2.6
        )  # the first turn, still speaking at its end: finalize closes it
        for i in range(0, len(pcm), CHUNK):
            await ws.send(pcm[i : i + CHUNK])
        await ws.send("finalize")
        await ws.send("close")
        messages = await reader
        assert ws.close_code == 1000
    decoded = [json.loads(m) for m in messages]
    assert [d["type"] for d in decoded][-2:] == ["flush_done", "done"]
    finals = [d for d in decoded if d["type"] == "transcript" and d["is_final"]]
    assert len(finals) == 1 and "busy" in finals[0]["text"]
    assert any(d["type"] == "transcript" and not d["is_final"] for d in decoded)
    assert [e.text for e in watched.of(1, TranscriptFinal)] == [finals[0]["text"]]


# --- TTS ----------------------------------------------------------------------------------------


def tts_request(
    ctx: str,
    text: str,
    *,
    more: bool,
    encoding: str = "pcm_s16le",
    rate: int = 24000,
    timestamps: bool = True,
) -> str:
    return json.dumps(
        {
            "model_id": "sonic-3",
            "transcript": text,
            "voice": {"mode": "id", "id": "a0e99841-438c-4a64-b679-ae501e7d6091"},
            "language": "en",
            "context_id": ctx,
            "continue": more,
            "add_timestamps": timestamps,
            "max_buffer_delay_ms": 0,
            "output_format": {
                "container": "raw",
                "encoding": encoding,
                "sample_rate": rate,
            },
        }
    )


async def tts_until_done(
    ws: ClientConnection, contexts: set[str]
) -> list[dict[str, Any]]:
    """Messages until every context of ``contexts`` is done."""
    out: list[dict[str, Any]] = []
    pending = set(contexts)
    while pending:
        message = json.loads(await asyncio.wait_for(ws.recv(), 60))
        out.append(message)
        if message["type"] == "done":
            pending.discard(message["context_id"])
    return out


def audio_of(messages: list[dict[str, Any]], ctx: str) -> bytes:
    return b"".join(
        base64.b64decode(m["data"])
        for m in messages
        if m["type"] == "chunk" and m["context_id"] == ctx
    )


async def test_tts_audio_in_the_requested_format_with_word_timestamps() -> None:
    async with (
        running(fast()) as (server, watched),
        connect(
            server.url + "/tts/websocket", additional_headers={"X-API-Key": KEY}
        ) as ws,
    ):
        await ws.send(tts_request("a", "Hello there. ", more=True))
        await ws.send(tts_request("a", "How are you today?", more=False))
        for text, more in (("Hello there. ", True), ("How are you today?", False)):
            await ws.send(
                tts_request(
                    "b",
                    text,
                    more=more,
                    encoding="pcm_mulaw",
                    rate=8000,
                    timestamps=False,
                )
            )
        messages = await tts_until_done(ws, {"a", "b"})
    a, b = audio_of(messages, "a"), audio_of(messages, "b")
    seconds_a, seconds_b = len(a) / 2 / 24000, len(b) / 8000
    assert 1.0 < seconds_a < 4.0
    assert seconds_b == pytest.approx(
        seconds_a, rel=0.1
    )  # same words: same length at either rate
    assert np.abs(np.frombuffer(a, "<i2")).max() > 3000  # speech, not silence
    words = [
        w
        for m in messages
        if m["type"] == "timestamps" and m["context_id"] == "a"
        for w in m["word_timestamps"]["words"]
    ]
    assert words == ["Hello", "there", "How", "are", "you", "today"]
    starts = [
        s
        for m in messages
        if m["type"] == "timestamps"
        for s in m["word_timestamps"]["start"]
    ]
    assert starts == sorted(starts) and starts[-1] < seconds_a
    assert not any(
        m["type"] == "timestamps" and m["context_id"] == "b" for m in messages
    )
    assert all(m["status_code"] == 206 for m in messages)
    # the console: one reply per context, its words, done
    queued = watched.of(1, TtsQueued)
    assert [q.text for q in queued] == ["Hello there. ", "Hello there. "]
    assert [w.word for e in watched.of(1, TtsWordTimings) for w in e.words] == words
    assert [d.reply for d in watched.of(1, TtsDone)] == [1, 2]


async def test_tts_cancel_stops_the_context_and_others_go_on() -> None:
    long_text = "This is a long reply that goes on and on, " * 8
    async with (
        running(fast()) as (server, watched),
        connect(server.url + "/tts/websocket") as ws,
    ):
        await ws.send(tts_request("long", long_text, more=False))
        first = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert first["context_id"] == "long"
        await ws.send(json.dumps({"context_id": "long", "cancel": True}))
        await ws.send(tts_request("next", "Okay.", more=False))
        messages = [first, *await tts_until_done(ws, {"next"})]
    after = messages[
        next(i for i, m in enumerate(messages) if m["context_id"] == "next") :
    ]
    assert all(m["context_id"] == "next" for m in after)
    assert not any(m["type"] == "done" and m["context_id"] == "long" for m in messages)
    assert [c.reply for c in watched.of(1, TtsCancelled)] == [1]


async def test_tts_bad_requests_get_errors_with_their_context() -> None:
    async with (
        running(fast()) as (server, _),
        connect(server.url + "/tts/websocket") as ws,
    ):
        await ws.send("{garbage")
        await ws.send(b"\x00\x01")
        await ws.send(tts_request("r", "Hi.", more=False, rate=12345))
        await ws.send(tts_request("e", "Hi.", more=False, encoding="mp3"))
        await ws.send(json.dumps({"context_id": "m", "transcript": "Hi."}))
        errors = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(5)]
        await ws.send(tts_request("ok", "Fine.", more=False))
        ok = await tts_until_done(ws, {"ok"})
    assert [e["type"] for e in errors] == ["error"] * 5
    assert [e.get("context_id") for e in errors] == [None, None, "r", "e", "m"]
    assert all(e["status_code"] == 400 for e in errors)
    assert "sample_rate 12345 is not supported" in errors[2]["message"]
    assert audio_of(ok, "ok")


# --- refusals, limits, throttling ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("/stt/nothing", 404, "not_found"),
        (
            "/stt/turns/websocket?model=ink-2&encoding=pcm_s24le&sample_rate=16000",
            400,
            "invalid_encoding",
        ),
        (
            "/stt/turns/websocket?model=ink-2&encoding=pcm_s16le&sample_rate=sixteen",
            400,
            "invalid_sample_rate",
        ),
        (
            "/stt/websocket?model=ink-whisper&encoding=pcm_s16le&sample_rate=96000",
            400,
            "invalid_sample_rate",
        ),
        (
            "/stt/turns/websocket?model=nope&encoding=pcm_s16le&sample_rate=16000",
            400,
            "model_not_found",
        ),
        (
            "/stt/turns/websocket?model=ink-2&sample_rate=16000&turn_end_threshold=0.9",
            400,
            "invalid_turn_config",
        ),
    ],
)
async def test_bad_upgrades_are_refused_with_a_structured_error(
    target: str, status: int, code: str
) -> None:
    async with running(fast()) as (server, watched):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.url + target):
                pass
    response = refused.value.response
    assert response.status_code == status
    body = json.loads(response.body)
    assert (body["status_code"], body["error_code"]) == (status, code)
    assert body["message"]
    assert watched.events == []


async def test_huge_message_closes_1009_and_the_other_connection_keeps_running() -> (
    None
):
    async with (
        running(fast()) as (server, watched),
        connect(server.url + TURNS_QUERY) as steady,
        connect(server.url + TURNS_QUERY, max_size=None) as bad,
    ):
        steady_reader = asyncio.create_task(received(steady))
        bad_reader = asyncio.create_task(received(bad))
        await bad.send(bytes(2 << 20))
        await bad_reader
        assert bad.close_code == 1009
        await stream(steady, speech_pcm(4.0))
        await steady.send('{"type":"close"}')
        messages = await steady_reader
    assert "turn.end" in kinds(messages) and steady.close_code == 1000
    assert watched.of(1, SessionStopped) and watched.of(2, SessionStopped)


async def test_more_connections_than_allowed_get_429() -> None:
    async with (
        running(OfflineBackend(max_sessions=1, burst_s=1000.0)) as (server, _),
        connect(server.url + "/tts/websocket") as first,
    ):
        await first.send(tts_request("x", "One.", more=False))
        await tts_until_done(first, {"x"})
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.url + "/tts/websocket"):
                pass
    assert refused.value.response.status_code == 429
    assert (
        json.loads(refused.value.response.body)["error_code"] == "concurrency_limited"
    )


async def test_audio_faster_than_real_time_is_throttled_and_shown() -> None:
    async with (
        running(OfflineBackend(burst_s=0.5)) as (server, watched),
        connect(server.url + TURNS_QUERY) as ws,
    ):
        reader = asyncio.create_task(received(ws))
        await stream(ws, speech_pcm(1.5), chunk=16000)
        await ws.send('{"type":"close"}')
        await reader
    warnings = watched.of(1, EngineWarning)
    assert len(warnings) == 1 and "faster than real time" in warnings[0].message
    assert ws.close_code == 1000
