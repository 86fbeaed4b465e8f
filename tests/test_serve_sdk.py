"""The official ``cartesia`` SDK (4.x), unmodified but for its websocket base URL.

Through ``tap`` to the local Cartesia test server: what the SDK hands its user equals what the
server sent, and the console's events equal it too. Against ``serve``: turns and transcripts
from the bundled speech, and audio with word timestamps from TTS.

The SDK is installed without its ``websockets`` extra (that extra pins websockets<16, below
ours); it then uses the websockets we have (scripts/setup.sh --test installs it).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from cartesia import AsyncCartesia

from tests.cartesia_server import CartesiaServer, WhisperSegment
from tests.test_serve import CHUNK, fast, running, speech_pcm
from voiceconsole.events import (
    TranscriptFinal,
    TtsDone,
    TtsWordTimings,
    TurnEnd,
    TurnStart,
    TurnUpdate,
)
from voiceconsole.serve.tap import TapBackend

KEY = "sk_car_sdk_test_0a1b2c3d"
VOICE = {"mode": "id", "id": "a0e99841-438c-4a64-b679-ae501e7d6091"}
FORMAT = {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000}
SCRIPT: list[tuple[float, dict[str, Any]]] = [
    (0.9, {"type": "turn.start", "request_id": "r1"}),
    (1.6, {"type": "turn.update", "transcript": "all circuits", "request_id": "r1"}),
    (
        2.2,
        {
            "type": "turn.eager_end",
            "transcript": "all circuits are busy",
            "request_id": "r1",
        },
    ),
    (2.5, {"type": "turn.resume", "request_id": "r1"}),
    (
        2.9,
        {
            "type": "turn.end",
            "transcript": "all circuits are busy now",
            "request_id": "r1",
        },
    ),
]


def sdk(url: str) -> AsyncCartesia:
    """The SDK as a user makes it, pointed at ``url`` instead of Cartesia."""
    return AsyncCartesia(api_key=KEY, websocket_base_url=url)


async def sdk_turns(url: str, pcm: bytes) -> list[Any]:
    """Stream ``pcm`` (plus a second of silence) over the SDK's turns socket; every event it yields."""
    async with sdk(url).stt.auto_finalize.websocket(
        encoding="pcm_s16le", model="ink-2", sample_rate=16000
    ) as conn:

        async def read() -> list[Any]:
            return [event async for event in conn]

        reader = asyncio.create_task(read())
        for i in range(0, len(pcm), CHUNK):
            await conn.send_raw(pcm[i : i + CHUNK])
        await conn.send_raw(bytes(32000))
        await conn.send({"type": "close"})
        return await asyncio.wait_for(reader, 60)


async def sdk_whisper(url: str, pcm: bytes) -> list[Any]:
    async with sdk(url).stt.manual_finalize.websocket(
        encoding="pcm_s16le", model="ink-whisper", sample_rate=16000, language="en"
    ) as conn:

        async def read() -> list[Any]:
            return [event async for event in conn]

        reader = asyncio.create_task(read())
        for i in range(0, len(pcm), CHUNK):
            await conn.send_raw(pcm[i : i + CHUNK])
        await conn.send("finalize")
        await conn.send("close")
        return await asyncio.wait_for(reader, 60)


async def sdk_tts(url: str, pieces: list[str]) -> list[Any]:
    async with sdk(url).tts.websocket_connect() as conn:
        ctx = conn.context(
            model_id="sonic-3", voice=VOICE, output_format=FORMAT, add_timestamps=True
        )
        for piece in pieces:
            await ctx.push(piece)
        await ctx.no_more_inputs()
        return [event async for event in ctx.receive()]


def turn_view(events: list[Any]) -> list[tuple[str, str | None]]:
    return [
        (e.type, getattr(e, "transcript", None))
        for e in events
        if e.type.startswith("turn.")
    ]


async def test_sdk_turns_through_tap() -> None:
    async with (
        CartesiaServer(api_key=KEY, turns_script=SCRIPT) as upstream,
        running(TapBackend(upstream.url)) as (
            tap,
            watched,
        ),
    ):
        events = await sdk_turns(tap.url, speech_pcm(3.2))
    conn = upstream.connections[0]
    sent = [json.loads(m) for m in conn.sent]
    assert turn_view(events) == [
        (m["type"], m.get("transcript")) for m in sent if m["type"].startswith("turn.")
    ]
    assert conn.headers["Authorization"] == f"Bearer {KEY}" and conn.query["model"] == [
        "ink-2"
    ]
    assert conn.close_command
    console = [
        (type(e).TYPE, getattr(e, "transcript", None))
        for e in watched.of(1)
        if type(e).TYPE.startswith("turn.")
    ]
    assert console == turn_view(events)


async def test_sdk_whisper_through_tap() -> None:
    segments = [WhisperSegment(0.8, 2.5, "all circuits are busy now")]
    async with (
        CartesiaServer(api_key=KEY, whisper_segments=segments) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
    ):
        events = await sdk_whisper(tap.url, speech_pcm(3.0))
    sent = [json.loads(m) for m in upstream.connections[0].sent]
    assert [(e.type, getattr(e, "text", None)) for e in events] == [
        (m["type"], m.get("text")) for m in sent
    ]
    assert [e.text for e in watched.of(1, TranscriptFinal)] == [
        " all circuits are busy now"
    ]


async def test_sdk_tts_through_tap() -> None:
    async with (
        CartesiaServer(api_key=KEY, tts_chunk_delay_s=0.005) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
    ):
        events = await sdk_tts(tap.url, ["Hello there. ", "How are you?"])
    sent = [json.loads(m) for m in upstream.connections[0].sent]
    assert b"".join(e.audio for e in events if e.type == "chunk") == b"".join(
        base64.b64decode(m["data"]) for m in sent if m["type"] == "chunk"
    )
    words = [
        w for e in events if e.type == "timestamps" for w in e.word_timestamps.words
    ]
    assert words == [
        w
        for m in sent
        if m["type"] == "timestamps"
        for w in m["word_timestamps"]["words"]
    ]
    assert words == ["Hello", "there.", "How", "are", "you?"]
    assert [w.word for e in watched.of(1, TtsWordTimings) for w in e.words] == words
    assert [e.reply for e in watched.of(1, TtsDone)] == [1]


async def test_sdk_against_serve_gets_turns_transcripts_and_speech() -> None:
    async with running(fast()) as (server, watched):
        turns = await sdk_turns(server.url, speech_pcm(4.0))
        whisper = await sdk_whisper(server.url, speech_pcm(2.6))
        speech = await sdk_tts(server.url, ["Please hold while we try to connect you."])
    assert turns[0].type == "connected"
    ends = [e.transcript for e in turns if e.type == "turn.end"]
    assert len(ends) == 1 and "busy" in ends[0]
    assert [e.transcript for e in watched.of(1, TurnEnd)] == ends
    assert len(watched.of(1, TurnStart)) == 1 and watched.of(1, TurnUpdate)
    finals = [e.text for e in whisper if e.type == "transcript" and e.is_final]
    assert len(finals) == 1 and "busy" in finals[0]
    assert [e.type for e in whisper][-2:] == ["flush_done", "done"]
    audio = b"".join(e.audio for e in speech if e.type == "chunk")
    assert 1.0 < len(audio) / 2 / 24000 < 6.0
    words = [
        w for e in speech if e.type == "timestamps" for w in e.word_timestamps.words
    ]
    assert words == ["Please", "hold", "while", "we", "try", "to", "connect", "you"]
    assert speech[-1].type == "done"
