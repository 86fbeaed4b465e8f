"""LocalTtsEngine: espeak-ng in-process, streamed, with word timings and fast cancel.

Ordering claims (streaming, a free event loop, cancel not waiting for the worker) are tested
with a gate that parks the worker thread inside espeak's callback until the event loop has
done something: if the claim were false the gate would time out, so no test depends on speed.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, TypeVar

import numpy as np
import pytest

from voiceconsole.engines import local_tts
from voiceconsole.engines.base import TtsChunk, TtsError
from voiceconsole.engines.local_tts import LocalTtsEngine
from voiceconsole.errors import ConfigError, UserError
from voiceconsole.events import EngineState, Event

SENTENCE = "Hello, this is a test of the local voice."
SENTENCE_WORDS = ["Hello", "this", "is", "a", "test", "of", "the", "local", "voice"]
LONG_TEXT = (
    "The quick brown fox jumps over the lazy dog while the band plays on. "
    "Meanwhile the weather report promises rain for most of the coming week. "
    "Nobody seems to mind, because the festival goes ahead under the big tent. "
    "Tickets are still available at the door for anyone who arrives early."
)
GATE_TIMEOUT_S = 10.0
T = TypeVar("T")


class Recorder:
    """An ``Emit`` that builds and keeps the events."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event_type: type[Event], /, **fields: Any) -> Event:
        event = event_type(t=0.0, audio_t=0.0, **fields)
        self.events.append(event)
        return event

    def states(self) -> list[str]:
        return [e.state for e in self.events if isinstance(e, EngineState)]


class Gate:
    """Counts espeak buffers per reply; can park the worker right after it handed over the
    first chunk of one reply, until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: Counter[int] = Counter()
        self.threads: set[int] = set()
        self.release = threading.Event()
        self.park_reply: int | None = None
        self.released_in_time: bool | None = None
        real_convert = local_tts._to_float32
        real_post = local_tts._Job.post

        def convert(wav: Any, count: int) -> np.ndarray:
            job = local_tts._ESPEAK._job
            assert job is not None
            self.calls[job.reply] += 1
            self.threads.add(threading.get_ident())
            return real_convert(wav, count)

        def post(job: local_tts._Job, item: Any) -> None:
            real_post(job, item)
            if job.reply == self.park_reply and isinstance(item, TtsChunk) and self.released_in_time is None:
                self.released_in_time = self.release.wait(GATE_TIMEOUT_S)

        monkeypatch.setattr(local_tts, "_to_float32", convert)
        monkeypatch.setattr(local_tts._Job, "post", post)

    def park(self, reply: int) -> None:
        self.park_reply = reply


async def bounded(awaitable: Awaitable[T]) -> T:
    """Await with a (generous) limit, so a broken ordering claim fails instead of hanging."""
    return await asyncio.wait_for(awaitable, 2 * GATE_TIMEOUT_S)


async def collect(stream: AsyncIterator[TtsChunk]) -> list[TtsChunk]:
    return [chunk async for chunk in stream]


def audio_of(chunks: list[TtsChunk]) -> np.ndarray:
    return np.concatenate([c.samples for c in chunks]) if chunks else np.zeros(0, np.float32)


@pytest.fixture
async def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def engine(recorder: Recorder) -> AsyncIterator[LocalTtsEngine]:
    tts = LocalTtsEngine()
    await tts.start(recorder)
    yield tts
    await tts.close()


@pytest.fixture
def gate(engine: LocalTtsEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    # Depends on ``engine`` so it is torn down first: a parked worker would block close().
    g = Gate(monkeypatch)
    yield g
    g.release.set()


async def test_start_reports_rate_and_connected(engine: LocalTtsEngine, recorder: Recorder) -> None:
    assert engine.name == "local"
    assert engine.sample_rate == local_tts._ESPEAK.sample_rate == 22050
    assert recorder.states() == ["connected"]
    state = recorder.events[0]
    assert isinstance(state, EngineState) and state.role == "tts" and state.engine == "local"


async def test_sentence_is_audible_speech_of_plausible_length(engine: LocalTtsEngine) -> None:
    audio = audio_of(await collect(engine.synthesize(1, SENTENCE)))
    assert audio.dtype == np.float32 and audio.ndim == 1
    duration = audio.size / engine.sample_rate
    assert 1.5 < duration < 6.0  # nine words at 175 wpm is about 3 s
    assert float(np.sqrt(np.mean(audio**2))) > 0.02
    assert float(np.abs(audio).max()) <= 1.0


async def test_word_timings_match_text_and_audio(engine: LocalTtsEngine) -> None:
    chunks = await collect(engine.synthesize(1, SENTENCE))
    duration = audio_of(chunks).size / engine.sample_rate
    words = [w for c in chunks for w in c.words]
    assert [w.word for w in words] == SENTENCE_WORDS
    assert words[0].start == 0.0
    assert words[-1].end == pytest.approx(duration)
    for before, after in zip(words, words[1:]):
        assert before.start < after.start
        assert before.end == after.start
    assert all(0.0 <= w.start < w.end <= duration + 1e-9 for w in words)


async def test_words_keep_whole_tokens(engine: LocalTtsEngine) -> None:
    # espeak splits "123" into several words and cuts lengths at apostrophes and hyphens.
    chunks = await collect(engine.synthesize(1, "I don't know, it's 123 well-known ones."))
    assert [w.word for c in chunks for w in c.words] == ["I", "don't", "know", "it's", "123", "well-known", "ones"]


async def test_long_text_streams_before_synthesis_ends(engine: LocalTtsEngine, gate: Gate) -> None:
    gate.park(reply=1)
    chunks: list[TtsChunk] = []

    async def consume() -> None:
        async for chunk in engine.synthesize(1, LONG_TEXT):
            chunks.append(chunk)
            gate.release.set()  # the worker is parked mid-utterance until the first chunk is here

    await bounded(consume())
    assert gate.released_in_time is True
    assert len(chunks) > 10
    assert audio_of(chunks).size / engine.sample_rate > 10.0


async def test_event_loop_runs_during_synthesis(engine: LocalTtsEngine, gate: Gate) -> None:
    gate.park(reply=1)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks == 5:
                gate.release.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        chunks = await bounded(collect(engine.synthesize(1, LONG_TEXT)))
    finally:
        task.cancel()
    assert gate.released_in_time is True
    assert gate.threads and threading.get_ident() not in gate.threads
    assert chunks


async def test_cancel_mid_utterance_ends_stream_without_waiting(engine: LocalTtsEngine, gate: Gate) -> None:
    full = await collect(engine.synthesize(1, LONG_TEXT))
    gate.park(reply=2)
    received: list[TtsChunk] = []

    async def consume() -> None:
        async for chunk in engine.synthesize(2, LONG_TEXT):
            received.append(chunk)
            await engine.cancel(2)

    # The stream ends while the worker is still parked: cancel does not wait for espeak.
    await bounded(consume())
    gate.release.set()
    assert len(received) == 1

    after = await collect(engine.synthesize(3, SENTENCE))
    assert [w.word for c in after for w in c.words] == SENTENCE_WORDS
    assert gate.released_in_time is True
    # espeak was aborted at the buffer after the cancel, not run to the end.
    assert gate.calls[2] <= 3 < len(full)


async def test_consumer_that_stops_early_aborts_synthesis(engine: LocalTtsEngine, gate: Gate) -> None:
    gate.park(reply=1)
    stream = engine.synthesize(1, LONG_TEXT)
    await bounded(anext(stream))
    await bounded(stream.aclose())
    gate.release.set()
    assert await collect(engine.synthesize(2, SENTENCE))  # the worker is done with reply 1 now
    assert gate.released_in_time is True
    assert gate.calls[1] <= 4 < gate.calls[2]


async def test_cancel_before_start_prevents_reply(engine: LocalTtsEngine, gate: Gate) -> None:
    await engine.cancel(5)
    assert await collect(engine.synthesize(5, SENTENCE)) == []
    assert gate.calls[5] == 0
    # Only that one request is prevented: the reply id is not blocked forever.
    assert await collect(engine.synthesize(5, SENTENCE))


async def test_cancel_while_queued_behind_another_reply(engine: LocalTtsEngine, gate: Gate) -> None:
    gate.park(reply=1)
    first = engine.synthesize(1, LONG_TEXT)
    assert await bounded(anext(first))  # reply 1 holds the worker, parked
    second = engine.synthesize(2, SENTENCE)
    waiting = asyncio.ensure_future(collect(second))
    await asyncio.sleep(0)  # reply 2 is now queued on the worker
    await engine.cancel(2)
    await engine.cancel(1)
    gate.release.set()
    assert await bounded(waiting) == []
    assert await bounded(collect(first)) == []
    assert await collect(engine.synthesize(3, SENTENCE))  # the worker has dealt with reply 2 now
    assert gate.calls[2] == 0


async def test_empty_text_yields_nothing(engine: LocalTtsEngine, gate: Gate) -> None:
    assert await collect(engine.synthesize(1, "")) == []
    assert await collect(engine.synthesize(2, "  \n\t ")) == []
    assert sum(gate.calls.values()) == 0


async def test_failure_raises_tts_error_and_next_reply_works(
    engine: LocalTtsEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = local_tts._to_float32

    def broken(wav: Any, count: int) -> np.ndarray:
        job = local_tts._ESPEAK._job
        if job is not None and job.reply == 1:
            raise ValueError("boom")
        return real(wav, count)

    monkeypatch.setattr(local_tts, "_to_float32", broken)
    with pytest.raises(TtsError, match="boom"):
        await collect(engine.synthesize(1, SENTENCE))
    assert audio_of(await collect(engine.synthesize(2, SENTENCE))).size > 0


async def test_two_engines_share_espeak() -> None:
    rec_a, rec_b = Recorder(), Recorder()
    a, b = LocalTtsEngine(voice="en-us"), LocalTtsEngine(voice="en", rate=250, pitch=30)
    await a.start(rec_a)
    await b.start(rec_b)
    try:
        out_a, out_b = await asyncio.gather(collect(a.synthesize(1, SENTENCE)), collect(b.synthesize(1, SENTENCE)))
        # Faster speech is shorter: each engine's settings apply to its own replies.
        assert audio_of(out_b).size < audio_of(out_a).size
        await b.close()
        assert audio_of(await collect(a.synthesize(2, SENTENCE))).size == pytest.approx(audio_of(out_a).size, rel=0.05)
    finally:
        await a.close()
        await b.close()
    assert rec_a.states() == ["connected", "closed"]
    assert rec_b.states() == ["connected", "closed"]


async def test_repeated_start_close() -> None:
    for round_ in range(4):
        recorder = Recorder()
        tts = LocalTtsEngine()
        await tts.start(recorder)
        assert await collect(tts.synthesize(round_, "Round and round."))
        await tts.close()
        await tts.close()
        assert recorder.states() == ["connected", "closed"]
        with pytest.raises(TtsError):
            await collect(tts.synthesize(99, "after close"))


@pytest.mark.parametrize("breakage", ["missing library", "package not installed"])
async def test_missing_library_is_a_user_error(breakage: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    if breakage == "missing library":
        import espeakng_loader

        monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: str(tmp_path / "libespeak-ng.so"))
    else:
        monkeypatch.setitem(sys.modules, "espeakng_loader", None)
    recorder = Recorder()
    with pytest.raises(UserError) as info:
        await LocalTtsEngine().start(recorder)
    message = str(info.value)
    assert "pip install espeakng-loader" in message and "\n" not in message
    assert recorder.events == []


async def test_unknown_voice_is_a_config_error_and_espeak_stays_usable(recorder: Recorder) -> None:
    with pytest.raises(ConfigError, match="no-such-voice"):
        await LocalTtsEngine(voice="no-such-voice").start(recorder)
    tts = LocalTtsEngine()
    await tts.start(recorder)
    try:
        assert await collect(tts.synthesize(1, SENTENCE))
    finally:
        await tts.close()


@pytest.mark.parametrize("options", [{"rate": 20}, {"rate": 1000}, {"pitch": -1}, {"pitch": 101}, {"voice": " "}])
def test_bad_options_are_config_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        LocalTtsEngine(**options)
