"""Pipecat's Cartesia services (``pipecat-ai``), unmodified but for their URL, in a real pipeline.

``CartesiaTurnsSTTService``, ``CartesiaSTTService`` and ``CartesiaTTSService`` run in a Pipecat
pipeline as in an agent. Through ``tap`` to the local Cartesia test server, the frames they
produce carry exactly what the server sent; against ``serve``, they get turns and transcripts
from the bundled speech and speech from TTS.

``pipecat-ai`` is installed without its dependencies plus only what these services import
(scripts/setup.sh --test).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import Callable, Sequence

from loguru import logger
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.cartesia.stt import CartesiaSTTService
from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.services.cartesia.turns.stt import CartesiaTurnsSTTService
from pipecat.workers.runner import WorkerRunner

from tests.cartesia_server import CartesiaServer, WhisperSegment
from tests.test_serve import CHUNK, fast, running, speech_pcm
from voiceconsole.events import TranscriptFinal, TtsDone, TurnEnd
from voiceconsole.serve.tap import TapBackend

KEY = "sk_car_pipecat_test_44e1"
VOICE = "a0e99841-438c-4a64-b679-ae501e7d6091"
logger.remove()
logger.add(sys.stderr, level="ERROR")


class Until(FrameProcessor):
    """Keeps every downstream frame; ``reached`` is set once ``done(frames)`` holds."""

    def __init__(self, done: Callable[[list[Frame]], bool]) -> None:
        super().__init__()
        self.done = done
        self.frames: list[Frame] = []
        self.reached = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            self.frames.append(frame)
            if self.done(self.frames):
                self.reached.set()
        await self.push_frame(frame, direction)


async def drive(
    service: FrameProcessor,
    frames: Sequence[Frame],
    done: Callable[[list[Frame]], bool],
) -> list[Frame]:
    """Run ``service`` in a pipeline, send ``frames``, end once ``done`` holds (at most 90 s)."""
    sink = Until(done)
    worker = PipelineWorker(Pipeline([service, sink]), cancel_on_idle_timeout=False)
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker: PipelineWorker, _frame: Frame) -> None:
        started.set()

    async def push() -> None:
        try:
            await asyncio.wait_for(started.wait(), 30)
            for frame in frames:
                await worker.queue_frame(frame)
            await asyncio.wait_for(sink.reached.wait(), 90)
        finally:
            await worker.queue_frame(EndFrame())

    runner = WorkerRunner()
    await runner.add_workers(worker)
    await asyncio.gather(runner.run(), push())
    return sink.frames


def audio_frames(seconds: float) -> list[Frame]:
    pcm = speech_pcm(seconds) + bytes(32000)
    return [
        InputAudioRawFrame(audio=pcm[i : i + CHUNK], sample_rate=16000, num_channels=1)
        for i in range(0, len(pcm), CHUNK)
    ]


def has(kind: type[Frame]) -> Callable[[list[Frame]], bool]:
    return lambda frames: any(isinstance(f, kind) for f in frames)


def turns_service(base: str) -> CartesiaTurnsSTTService:
    return CartesiaTurnsSTTService(
        api_key=KEY, url=base + "/stt/turns/websocket", sample_rate=16000
    )


def whisper_service(base: str) -> CartesiaSTTService:
    return CartesiaSTTService(api_key=KEY, base_url=base, sample_rate=16000)


def tts_service(base: str) -> CartesiaTTSService:
    return CartesiaTTSService(
        api_key=KEY,
        url=base + "/tts/websocket",
        sample_rate=24000,
        settings=CartesiaTTSService.Settings(voice=VOICE),
    )


# --- against serve --------------------------------------------------------------------------------


async def test_pipecat_services_against_serve() -> None:
    async with running(fast()) as (server, watched):
        turns = await drive(
            turns_service(server.url), audio_frames(4.0), has(TranscriptionFrame)
        )
        whisper = await drive(
            whisper_service(server.url),
            [*audio_frames(2.6), VADUserStoppedSpeakingFrame()],
            has(TranscriptionFrame),
        )
        speech = await drive(
            tts_service(server.url),
            [TTSSpeakFrame("Please hold while we try to connect you.")],
            has(TTSStoppedFrame),
        )
    final = [f.text for f in turns if isinstance(f, TranscriptionFrame)]
    assert len(final) == 1 and "busy" in final[0]
    assert any(isinstance(f, InterimTranscriptionFrame) for f in turns)
    assert [e.transcript for e in watched.of(1, TurnEnd)] == final
    heard = [f.text for f in whisper if isinstance(f, TranscriptionFrame)]
    assert len(heard) == 1 and "busy" in heard[0]
    assert [e.text.strip() for e in watched.of(2, TranscriptFinal)] == [
        heard[0].strip()
    ]
    audio = b"".join(f.audio for f in speech if isinstance(f, TTSAudioRawFrame))
    assert 1.0 < len(audio) / 2 / 24000 < 6.0
    spoken = [f.text for f in speech if isinstance(f, TTSTextFrame)]
    assert "".join(spoken).replace(" ", "") == "Pleaseholdwhilewetrytoconnectyou"
    assert [e.reply for e in watched.of(3, TtsDone)] == [1]


# --- through tap ----------------------------------------------------------------------------------


async def test_pipecat_turns_through_tap() -> None:
    script = [
        (0.9, {"type": "turn.start", "request_id": "p"}),
        (1.6, {"type": "turn.update", "transcript": "all circuits", "request_id": "p"}),
        (
            2.9,
            {
                "type": "turn.end",
                "transcript": "all circuits are busy now",
                "request_id": "p",
            },
        ),
    ]
    async with (
        CartesiaServer(api_key=KEY, turns_script=script) as upstream,
        running(TapBackend(upstream.url)) as (
            tap,
            watched,
        ),
    ):
        frames = await drive(
            turns_service(tap.url), audio_frames(3.2), has(TranscriptionFrame)
        )
    sent = [json.loads(m) for m in upstream.connections[0].sent]
    assert [f.text for f in frames if isinstance(f, TranscriptionFrame)] == [
        m["transcript"] for m in sent if m["type"] == "turn.end"
    ]
    assert [f.text for f in frames if isinstance(f, InterimTranscriptionFrame)] == [
        m["transcript"] for m in sent if m["type"] == "turn.update"
    ]
    assert [e.transcript for e in watched.of(1, TurnEnd)] == [
        "all circuits are busy now"
    ]
    assert upstream.connections[0].headers["X-API-Key"] == KEY


async def test_pipecat_whisper_through_tap() -> None:
    segments = [WhisperSegment(0.8, 2.5, "all circuits are busy now")]
    async with (
        CartesiaServer(api_key=KEY, whisper_segments=segments) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
    ):
        frames = await drive(
            whisper_service(tap.url),
            [*audio_frames(3.0), VADUserStoppedSpeakingFrame()],
            has(TranscriptionFrame),
        )
    sent = [json.loads(m) for m in upstream.connections[0].sent]
    finals = [m["text"] for m in sent if m.get("is_final")]
    # Pipecat may trim the leading space of a final; the words are the server's
    assert [f.text.strip() for f in frames if isinstance(f, TranscriptionFrame)] == [
        t.strip() for t in finals
    ]
    assert "finalize" in upstream.connections[0].texts
    assert [e.text for e in watched.of(1, TranscriptFinal)] == finals


async def test_pipecat_tts_through_tap() -> None:
    async with (
        CartesiaServer(api_key=KEY, tts_chunk_delay_s=0.005) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
    ):
        frames = await drive(
            tts_service(tap.url),
            [TTSSpeakFrame("Hello there, how are you?")],
            has(TTSStoppedFrame),
        )
    sent = [json.loads(m) for m in upstream.connections[0].sent]
    assert b"".join(
        f.audio for f in frames if isinstance(f, TTSAudioRawFrame)
    ) == b"".join(base64.b64decode(m["data"]) for m in sent if m["type"] == "chunk")
    assert [e.reply for e in watched.of(1, TtsDone)] == [1]
