"""The peer of the CPU comparison: a Pipecat voice pipeline under Pipecat Tail's ``TailRunner``.

Runs inside benchmarks/peer/.venv (see setup.sh), never in the project's environment::

    benchmarks/peer/.venv/bin/python benchmarks/peer/tail_pipeline.py tests/data/speech_turns.wav

The pipeline is what a Pipecat bot on a local sound card is, with the cloud services stood in:

* a WAV file as the microphone, looped, pushed as 20 ms ``InputAudioRawFrame`` at real time;
* Pipecat's bundled Silero VAD (``VADProcessor(SileroVADAnalyzer())``, the model from the wheel);
* stand-in STT: on each VAD stop, the user's turn ends and a transcription comes out;
* stand-in LLM: answers each transcription with one text reply;
* stand-in TTS: speaks each reply as a tone (60 ms per character, as the project's scripted
  Cartesia server does), which the output transport plays at real time into nothing (each write
  returns when a sound card would have played it).

Tail's runner starts its dashboard (a Textual app) in a second process and feeds it the RTVI
messages of the pipeline (audio levels, speaking state, transcripts, TTFB metrics, logs). The
dashboard draws with whatever driver ``TEXTUAL_DRIVER`` names (the benchmark uses
:mod:`benchmarks.peer.render_driver`). Prints ``STREAMING`` once audio flows; closing standard
input ends the dashboard process and the pipeline, and then ``TURNS <n>`` says how many turns
were answered. Only public Pipecat and Tail API is used.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import wave

import numpy as np
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    OutputAudioRawFrame,
    StartFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams
from pipecat.utils.text.base_text_aggregator import TextType
from pipecat.utils.time import time_now_iso8601
from pipecat_tail.runner import TailRunner

FRAME_S = 0.02
TTS_SECONDS_PER_CHAR = 0.06
TTS_CHUNK_S = 0.04
TONE_HZ = 220.0


def read_wav(path: str) -> tuple[bytes, int]:
    """The 16-bit mono PCM of ``path`` and its sample rate."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit(f"{path}: need 16-bit mono PCM; convert it with sox first")
        return w.readframes(w.getnframes()), w.getframerate()


class WavInputTransport(BaseInputTransport):
    """A WAV file as the microphone: 20 ms frames at real time, starting over at its end."""

    def __init__(self, pcm: bytes, sample_rate: int, params: TransportParams) -> None:
        super().__init__(params)
        step = int(sample_rate * FRAME_S) * 2
        self.pcm = pcm[: len(pcm) - len(pcm) % step]
        self.step = step
        self.rate = sample_rate
        self.feeder: asyncio.Task | None = None

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)
        if self.feeder is None:
            self.feeder = self.create_task(self.feed(), "wav-mic")

    async def stop(self, frame: Frame) -> None:
        await self.stop_feeder()
        await super().stop(frame)

    async def cancel(self, frame: Frame) -> None:
        await self.stop_feeder()
        await super().cancel(frame)

    async def stop_feeder(self) -> None:
        if self.feeder is not None:
            await self.cancel_task(self.feeder)
            self.feeder = None

    async def feed(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        offset = 0
        announced = False
        while True:
            chunk = self.pcm[offset : offset + self.step]
            offset = (offset + self.step) % len(self.pcm)
            await self.push_audio_frame(InputAudioRawFrame(audio=chunk, sample_rate=self.rate, num_channels=1))
            if not announced:
                print("STREAMING", flush=True)
                announced = True
            due += FRAME_S
            await asyncio.sleep(max(0.0, due - loop.time()))


class NullOutputTransport(BaseOutputTransport):
    """Plays into nothing at real time: a write returns when a sound card would have played it."""

    def __init__(self, params: TransportParams) -> None:
        super().__init__(params)
        self.played_until = 0.0

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        now = asyncio.get_running_loop().time()
        self.played_until = max(self.played_until, now)
        self.played_until += len(frame.audio) / (2 * frame.sample_rate * frame.num_channels)
        await asyncio.sleep(self.played_until - now)
        return True


class WavTransport(BaseTransport):
    """The WAV microphone and the null speaker as one Pipecat transport."""

    def __init__(self, pcm: bytes, sample_rate: int) -> None:
        super().__init__()
        params = TransportParams(audio_in_enabled=True, audio_in_sample_rate=sample_rate,
                                 audio_out_enabled=True, audio_out_sample_rate=sample_rate)
        self.mic = WavInputTransport(pcm, sample_rate, params)
        self.speaker = NullOutputTransport(params)

    def input(self) -> FrameProcessor:
        return self.mic

    def output(self) -> FrameProcessor:
        return self.speaker


class SttStandIn(FrameProcessor):
    """Ends the user's turn on each VAD stop and transcribes it (as STT plus turn logic would)."""

    def __init__(self) -> None:
        super().__init__()
        self.turn = 0

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if direction is not FrameDirection.DOWNSTREAM:
            return
        if isinstance(frame, VADUserStartedSpeakingFrame):
            await self.push_frame(UserStartedSpeakingFrame())
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self.turn += 1
            await self.start_ttfb_metrics()
            await self.push_frame(UserStoppedSpeakingFrame())
            await self.stop_ttfb_metrics()
            await self.push_frame(TranscriptionFrame(text=f"turn {self.turn} was said here", user_id="bench",
                                                     timestamp=time_now_iso8601(), finalized=True))


class LlmStandIn(FrameProcessor):
    """Answers each transcription with one text reply."""

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and direction is FrameDirection.DOWNSTREAM:
            await self.start_ttfb_metrics()
            await self.push_frame(LLMFullResponseStartFrame())
            await self.stop_ttfb_metrics()
            await self.push_frame(LLMTextFrame(f"you said {frame.text}"))
            await self.push_frame(LLMFullResponseEndFrame())


class TtsStandIn(FrameProcessor):
    """Speaks each LLM text as a tone, 60 ms a character, in 40 ms audio frames."""

    def __init__(self, sample_rate: int) -> None:
        super().__init__()
        self.rate = sample_rate

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not (isinstance(frame, LLMTextFrame) and direction is FrameDirection.DOWNSTREAM):
            await self.push_frame(frame, direction)
            return
        await self.start_ttfb_metrics()
        await self.push_frame(TTSStartedFrame())
        n = int(len(frame.text) * TTS_SECONDS_PER_CHAR * self.rate)
        t = np.arange(n) / self.rate
        pcm = (0.2 * 32767 * np.sin(2 * np.pi * TONE_HZ * t)).astype("<i2").tobytes()
        chunk = int(TTS_CHUNK_S * self.rate) * 2
        await self.stop_ttfb_metrics()
        await self.push_frame(TTSTextFrame(frame.text, text_type=TextType.SENTENCE))
        for i in range(0, len(pcm), chunk):
            await self.push_frame(TTSAudioRawFrame(audio=pcm[i : i + chunk], sample_rate=self.rate, num_channels=1))
        await self.push_frame(TTSStoppedFrame())


async def run(wav: str) -> None:
    pcm, rate = read_wav(wav)
    transport = WavTransport(pcm, rate)
    stt = SttStandIn()
    pipeline = Pipeline([
        transport.input(),
        VADProcessor(vad_analyzer=SileroVADAnalyzer(sample_rate=rate)),
        stt,
        LlmStandIn(),
        TtsStandIn(rate),
        transport.output(),
    ])
    task = PipelineTask(pipeline, params=PipelineParams(audio_in_sample_rate=rate, audio_out_sample_rate=rate,
                                                        enable_metrics=True))
    runner = TailRunner()
    running = asyncio.create_task(runner.run(task))
    # Runs until the benchmark closes our standard input (or the pipeline ends by itself). The
    # descriptor is watched by the loop, not read by a thread: a thread blocked in sys.stdin.read()
    # holds its buffer's lock, and the dashboard process, forked from here, closes sys.stdin and
    # would wait for that lock forever.
    stdin_closed = asyncio.Event()
    asyncio.get_running_loop().add_reader(0, stdin_closed.set)
    await asyncio.wait([running, asyncio.create_task(stdin_closed.wait())], return_when=asyncio.FIRST_COMPLETED)
    asyncio.get_running_loop().remove_reader(0)
    # Tail's dashboard waits for a person to quit it; there is none, so end its process.
    for child in multiprocessing.active_children():
        child.terminate()
    await task.cancel()
    await asyncio.wait_for(running, 20)
    print(f"TURNS {stt.turn}", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("wav", help="16-bit mono WAV to use as the microphone (looped)")
    args = p.parse_args()
    asyncio.run(run(args.wav))
    return 0


if __name__ == "__main__":
    sys.exit(main())
