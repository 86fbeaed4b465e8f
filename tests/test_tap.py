"""``voiceconsole tap``: clients go through tap to the local Cartesia test server.

What the client receives equals what the server sent, what the server receives equals what the
client sent, the console's events equal the server's messages, and refusals, close codes and
drops on either side reach the other side as they were.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.cartesia_server import CartesiaServer, Fault, WhisperSegment
from tests.test_serve import (
    CHUNK,
    TURNS_QUERY,
    WHISPER_QUERY,
    Watched,
    received,
    running,
    speech_pcm,
    tts_request,
)
from voiceconsole.events import (
    EngineError,
    EngineState,
    PlaybackInterrupted,
    SessionStopped,
    SpeechStarted,
    TranscriptFinal,
    TranscriptInterim,
    TtsCancelled,
    TtsDone,
    TtsFirstAudio,
    TtsQueued,
    TurnEagerEnd,
    TurnEnd,
    TurnStart,
    TurnUpdate,
    to_json,
)
from voiceconsole.serve.tap import TapBackend

KEY = "sk_car_tap_test_3e8f0a9b41"
HEADERS = {"X-API-Key": KEY, "Cartesia-Version": "2026-03-01"}
SCRIPT: list[tuple[float, dict[str, Any]]] = [
    (0.9, {"type": "turn.start", "request_id": "r"}),
    (1.5, {"type": "turn.update", "transcript": "all circuits", "request_id": "r"}),
    (
        2.3,
        {
            "type": "turn.eager_end",
            "transcript": "all circuits are busy",
            "request_id": "r",
        },
    ),
    (
        2.6,
        {
            "type": "turn.end",
            "transcript": "all circuits are busy now",
            "request_id": "r",
        },
    ),
]


def no_key(watched: Watched) -> None:
    assert KEY not in "".join(to_json(e) for _, e in watched.events)


async def send_audio(ws: Any, pcm: bytes) -> list[bytes]:
    frames = [pcm[i : i + CHUNK] for i in range(0, len(pcm), CHUNK)]
    for frame in frames:
        await ws.send(frame)
    return frames


async def test_turns_through_tap_are_forwarded_unchanged_and_watched() -> None:
    async with (
        CartesiaServer(
            api_key=KEY, turns_script=SCRIPT, on_close=[{"type": "turn.start"}]
        ) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
        connect(
            tap.url + TURNS_QUERY + "&turn_end_threshold=0.2",
            additional_headers=HEADERS,
        ) as ws,
    ):
        reader = asyncio.create_task(received(ws))
        frames = await send_audio(ws, speech_pcm(3.0))
        await ws.send('{"type":"close"}')
        got = await reader
        assert (ws.close_code, ws.close_reason) == (1000, "bye")
    conn = upstream.connections[0]
    assert got == conn.sent  # every frame the server sent, unchanged, in order
    assert (
        conn.binary == frames
        and conn.texts == ['{"type":"close"}']
        and conn.close_command
    )
    assert conn.path == "/stt/turns/websocket" and conn.query["turn_end_threshold"] == [
        "0.2"
    ]
    assert (
        conn.headers["X-API-Key"] == KEY
        and conn.headers["Cartesia-Version"] == "2026-03-01"
    )
    # the console: the same turns the server sent
    sent = [json.loads(m) for m in conn.sent]
    console = [
        (type(e).TYPE, getattr(e, "transcript", None))
        for e in watched.of(1)
        if isinstance(e, (TurnStart, TurnUpdate, TurnEagerEnd, TurnEnd))
    ]
    server_turns = [
        (m["type"], m.get("transcript")) for m in sent if m["type"].startswith("turn.")
    ]
    # the trailing turn.start the server sent on close opens turn 2 in the console
    assert console == server_turns
    states = [(e.role, e.engine, e.state) for e in watched.of(1, EngineState)]
    assert states == [
        ("tts", "none", "closed"),
        ("stt", "cartesia-turns", "connected"),
        ("stt", "cartesia-turns", "closed"),
    ]
    assert watched.of(1, SpeechStarted)[0].speech_audio_t == pytest.approx(
        0.8, abs=0.25
    )
    assert watched.of(1, SessionStopped)[0].reason == "closed 1000: bye"
    no_key(watched)


async def test_whisper_through_tap() -> None:
    segments = [WhisperSegment(0.8, 2.5, "all circuits are busy now")]
    async with (
        CartesiaServer(api_key=KEY, whisper_segments=segments) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
        connect(tap.url + WHISPER_QUERY, additional_headers={"X-API-Key": KEY}) as ws,
    ):
        reader = asyncio.create_task(received(ws))
        await send_audio(ws, speech_pcm(3.0))
        await ws.send("finalize")
        await ws.send("close")
        got = await reader
    conn = upstream.connections[0]
    assert got == conn.sent and conn.texts == ["finalize", "close"]
    finals = [json.loads(m)["text"] for m in conn.sent if json.loads(m).get("is_final")]
    assert (
        [e.text for e in watched.of(1, TranscriptFinal)]
        == finals
        == [" all circuits are busy now"]
    )
    interims = [
        json.loads(m)["text"]
        for m in conn.sent
        if json.loads(m).get("is_final") is False
    ]
    assert [e.text for e in watched.of(1, TranscriptInterim)] == interims
    no_key(watched)


async def test_tts_through_tap_with_a_cancel_shows_a_cut() -> None:
    async with (
        CartesiaServer(
            api_key=KEY, tts_chunk_delay_s=0.02, tts_seconds_per_char=0.04
        ) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
        connect(tap.url + "/tts/websocket", additional_headers=HEADERS) as ws,
    ):
        await ws.send(tts_request("one", "Hello there. ", more=True))
        await ws.send(tts_request("one", "How are you?", more=False))
        got: list[str | bytes] = []
        while not got or json.loads(got[-1])["type"] != "done":
            got.append(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(
            tts_request(
                "two", "A reply that will be cut short by the user.", more=False
            )
        )
        while (
            json.loads(got[-1])["type"] != "chunk"
            or json.loads(got[-1])["context_id"] != "two"
        ):
            got.append(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(json.dumps({"context_id": "two", "cancel": True}))
        await ws.close()
    conn = upstream.connections[0]
    assert got == conn.sent[: len(got)]
    assert [json.loads(t).get("cancel") for t in conn.texts] == [None, None, None, True]
    queued = watched.of(1, TtsQueued)
    assert [(q.reply, q.text) for q in queued] == [
        (1, "Hello there. "),
        (2, "A reply that will be cut short by the user."),
    ]
    assert [e.reply for e in watched.of(1, TtsFirstAudio)] == [1, 2]
    assert [e.reply for e in watched.of(1, TtsDone)] == [1]
    assert [e.reply for e in watched.of(1, TtsCancelled)] == [2]
    cut = watched.of(1, PlaybackInterrupted)
    assert [e.reply for e in cut] == [2] and cut[0].samples_played > 0
    no_key(watched)


async def test_tts_error_reaches_the_console() -> None:
    async with (
        CartesiaServer(api_key=KEY) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
        connect(tap.url + "/tts/websocket", additional_headers=HEADERS) as ws,
    ):
        await ws.send(tts_request("bad", "FAIL now", more=False))
        error = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert error["error_code"] == "bad_text"
    assert not watched.of(1, EngineError)  # it carries its context: that reply failed
    assert [type(e).TYPE for e in watched.of(1) if type(e).TYPE.startswith("tts.")][
        -1
    ] == "tts.failed"


# --- refusals, closes and drops mirrored ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "key", "status"),
    [
        (Fault(), "sk_car_wrong_key_000", 401),
        (Fault(reject_status=429, retry_after="3"), KEY, 429),
        (Fault(reject_status=503), KEY, 503),
    ],
)
async def test_upstream_refusal_is_the_clients(
    fault: Fault, key: str, status: int
) -> None:
    async with (
        CartesiaServer(api_key=KEY, faults=[fault]) as upstream,
        running(TapBackend(upstream.url)) as (tap, w),
    ):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                tap.url + TURNS_QUERY, additional_headers={"X-API-Key": key}
            ):
                pass
    response = refused.value.response
    assert response.status_code == status
    if status == 401:
        assert json.loads(response.body) == {
            "type": "error",
            "status_code": 401,
            "message": "Invalid API key",
        }
    if fault.retry_after:
        assert response.headers["Retry-After"] == "3"
    assert w.events == []


async def test_unreachable_upstream_is_a_502() -> None:
    async with CartesiaServer(api_key=KEY) as gone:
        url = gone.url
    async with running(TapBackend(url, open_timeout=3.0)) as (tap, _):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(tap.url + TURNS_QUERY, additional_headers=HEADERS):
                pass
    assert refused.value.response.status_code == 502
    assert (
        json.loads(refused.value.response.body)["error_code"] == "upstream_unreachable"
    )


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault(close_code=1011, close_at_s=0.5), 1011),
        (Fault(close_code=4003, close_at_s=0.5), 4003),
        (Fault(drop_at_s=0.5), 1006),
    ],
)
async def test_upstream_close_or_drop_reaches_the_client(
    fault: Fault, code: int
) -> None:
    async with (
        CartesiaServer(api_key=KEY, faults=[fault]) as upstream,
        running(TapBackend(upstream.url)) as (tap, w),
        connect(tap.url + TURNS_QUERY, additional_headers=HEADERS) as ws,
    ):
        # 10 s of audio at most: the upstream ends the stream at 0.5 s
        with pytest.raises(ConnectionClosed):
            for _ in range(100):
                await ws.send(bytes(CHUNK))
                await asyncio.sleep(0.005)
            await asyncio.wait_for(ws.recv(), 10)
        await ws.wait_closed()
    assert ws.close_code == code
    if code != 1006:
        assert ws.close_reason == "scripted close"
    assert w.of(1, SessionStopped)


async def test_client_close_code_reaches_upstream() -> None:
    async with (
        CartesiaServer(api_key=KEY) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
    ):
        async with connect(tap.url + TURNS_QUERY, additional_headers=HEADERS) as ws:
            await ws.send(bytes(CHUNK))
            await ws.close(4000, "agent went away")
        for _ in range(100):
            if upstream.connections and upstream.connections[0].close_code is not None:
                break
            await asyncio.sleep(0.05)
    assert upstream.connections[0].close_code == 4000
    assert watched.of(1, SessionStopped)[0].reason == "closed 4000: agent went away"


async def test_a_plain_http_request_is_426_and_opens_nothing_upstream() -> None:
    async with (
        CartesiaServer(api_key=KEY) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", tap.port)
        writer.write(
            f"GET {TURNS_QUERY} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {KEY}\r\n\r\n".encode()
        )
        await writer.drain()
        status = (await asyncio.wait_for(reader.readline(), 10)).decode()
        writer.close()
    assert status.startswith("HTTP/1.1 426")
    assert upstream.attempts == [] and watched.events == []
