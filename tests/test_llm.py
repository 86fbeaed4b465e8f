"""The LLM responder against a real local OpenAI-compatible streaming server (tests/llm_server.py).

Sessions run in process with scripted turn events (tests/fakes.py) where the exact turn timing
matters, and through the CLI as a user runs it on the bundled speech with the offline engine.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import EdgeVad, ScriptedStt, ToneTts
from tests.llm_server import LlmServer, Reply, default_reply
from voiceconsole.audio.io import NullSink, SilenceSource
from voiceconsole.clock import RealClock, VirtualClock
from voiceconsole.engines.base import TtsEngine
from voiceconsole.engines.llm.chunker import TextChunker
from voiceconsole.engines.llm.client import ChatClient, LlmSettings
from voiceconsole.events import (
    Event,
    LlmCancelled,
    LlmDone,
    LlmFailed,
    LlmFirstToken,
    LlmRequest,
    from_json,
    to_json,
)
from voiceconsole.session.responder import LlmResponder
from voiceconsole.session.session import Session

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech_turns.wav"
KEY = "sk-test-0123456789-never-shown"
LONG = " ".join(f"Sentence number {i} is here." for i in range(1, 31))


def run_llm_session(*args: Any, **kwargs: Any) -> tuple[Session, list[Event]]:
    """:func:`llm_session` on a new event loop."""
    return asyncio.run(llm_session(*args, **kwargs))


async def llm_session(
    server: LlmServer,
    script: list[tuple[float, str, str]],
    *,
    seconds: float = 4.0,
    speculate: str = "llm",
    real_time: bool = False,
    tts: TtsEngine | None = None,
    timeout_s: float = 5.0,
    during: list[tuple[float, str]] | None = None,
) -> tuple[Session, list[Event]]:
    """Run a session with scripted turns and the LLM responder; ``during`` calls session methods
    (``interrupt``) at real times after the start."""
    client = ChatClient(
        LlmSettings(
            base_url=server.base_url,
            model="test-model",
            api_key=KEY,
            stall_timeout_s=timeout_s,
        )
    )
    # The clock starts once the client is made (importing openai can take seconds on a busy machine).
    clock = RealClock() if real_time else VirtualClock()
    session = Session(
        source=SilenceSource(16000, duration_s=seconds),
        sink=NullSink(16000),
        stt=ScriptedStt(list(script)),
        tts=tts or ToneTts(0.01),
        responder=LlmResponder(client, "test-model", "Answer briefly.", speculate),
        reference_vad=EdgeVad([]),
        clock=clock,
    )
    events: list[Event] = []
    session.bus.add_listener(events.append)

    loop = asyncio.get_running_loop()
    for at, method in during or []:
        loop.call_later(at, getattr(session, method))
    await session.run()
    return session, events


def of(events: list[Event], kind: type[Event]) -> list:
    return [e for e in events if isinstance(e, kind)]


def types(
    events: list[Event],
    prefix: tuple[str, ...] = ("llm.", "turn.eager_end", "turn.resume", "turn.end"),
) -> list[str]:
    return [e.type for e in events if e.type.startswith(prefix)]


ONE_TURN = [
    (0.3, "start", ""),
    (0.6, "update", "what time is it"),
    (1.0, "eager_end", "what time is it"),
    (1.6, "end", "what time is it"),
]


@pytest.mark.parametrize("speculate", ["llm", "llm+tts"])
def test_eager_end_then_end_commits_without_a_second_request(speculate: str) -> None:
    with LlmServer() as server:
        _, events = run_llm_session(server, ONE_TURN, speculate=speculate)
        seen = server.wait_seen(1)
    assert len(seen) == 1  # the speculative request was kept: no second one
    assert types(events) == [
        "turn.eager_end",
        "llm.request",
        "llm.first_token",
        "llm.done",
        "turn.end",
        "llm.commit",
    ]
    request = of(events, LlmRequest)[0]
    assert request.speculative and request.turn == 1 and request.messages == 2
    assert seen[0].messages[-1] == {"role": "user", "content": "what time is it"}
    done = of(events, LlmDone)[0]
    assert done.text == default_reply(seen[0].messages)
    queued = next(e for e in events if e.type == "tts.queued")
    started = next(e for e in events if e.type == "playback.start")
    end = next(e for e in events if e.type == "turn.end")
    assert (
        started.reply == queued.reply and started.t >= end.t
    )  # nothing played before the turn ended
    if speculate == "llm+tts":
        assert (
            queued.t < end.t
        )  # its speech was synthesized ahead, held until the commit


def test_speculation_off_asks_once_the_turn_has_ended() -> None:
    with LlmServer() as server:
        _, events = run_llm_session(server, ONE_TURN, speculate="off")
        server.wait_seen(1)
    assert types(events) == [
        "turn.eager_end",
        "turn.end",
        "llm.request",
        "llm.first_token",
        "llm.done",
    ]
    assert not of(events, LlmRequest)[0].speculative


def test_a_changed_final_transcript_cancels_and_asks_again() -> None:
    script = [
        (0.3, "start", ""),
        (1.0, "eager_end", "what time"),
        (1.6, "end", "what time is it in Paris"),
    ]
    with LlmServer() as server:
        _, events = run_llm_session(server, script)
        seen = server.wait_seen(2)
    cancel = of(events, LlmCancelled)[0]
    assert (cancel.request, cancel.reason, cancel.speculative) == (1, "changed", True)
    assert cancel.tokens == len(
        of(events, LlmDone)[0].text.split()
    )  # its tokens are counted as wasted
    second = of(events, LlmRequest)[1]
    assert (
        not second.speculative
        and seen[1].messages[-1]["content"] == "what time is it in Paris"
    )
    assert of(events, LlmDone)[1].text == default_reply(seen[1].messages)


@pytest.mark.parametrize("speculate", ["llm", "llm+tts"])
def test_eager_end_then_resume_cancels_and_the_server_sees_the_stream_closed(
    speculate: str,
) -> None:
    # Real time: the speculative stream is still running when the user resumes.
    script = [
        (0.1, "start", ""),
        (0.3, "eager_end", "tell me a story"),
        (0.6, "resume", ""),
        (1.2, "end", "tell me a story about ships"),
    ]
    with LlmServer(token_s=0.05) as server:
        server.script = [
            Reply(text=LONG),
            Reply(text="Once upon a time there was a ship."),
        ]
        _, events = run_llm_session(
            server, script, seconds=1.5, real_time=True, speculate=speculate
        )
        seen = server.wait_seen(2)
    cancel = of(events, LlmCancelled)[0]
    assert (cancel.request, cancel.reason, cancel.speculative) == (1, "resume", True)
    assert seen[0].client_closed and not seen[0].finished
    assert seen[0].tokens_sent < len(LONG.split())
    assert [e.request for e in of(events, LlmDone)] == [2]
    assert of(events, LlmDone)[0].text == "Once upon a time there was a ship."
    queued = [e for e in events if e.type == "tts.queued"]
    played = {e.reply for e in events if e.type == "playback.start"}
    if speculate == "llm+tts":  # the guess's speech was cancelled and never heard
        guess = queued[0].reply
        assert (
            any(e.type == "tts.cancelled" and e.reply == guess for e in events)
            and guess not in played
        )
    assert queued[-1].reply in played  # the answer to the final transcript was


def test_an_interrupt_cancels_the_request_in_flight_and_its_speech() -> None:
    script = [(0.1, "start", ""), (0.3, "end", "tell me a story")]
    with LlmServer(token_s=0.05) as server:
        server.script = [Reply(text=LONG)]
        _, events = run_llm_session(
            server, script, seconds=1.2, real_time=True, during=[(0.8, "interrupt")]
        )
        seen = server.wait_seen(1)
    cancel = of(events, LlmCancelled)[0]
    assert cancel.reason == "interrupt" and not cancel.speculative
    assert seen[0].client_closed and not seen[0].finished
    queued = next(e for e in events if e.type == "tts.queued")
    assert any(e.type == "tts.cancelled" and e.reply == queued.reply for e in events)
    assert not of(events, LlmDone)


def test_history_holds_only_the_words_heard_before_a_barge_in() -> None:
    from voiceconsole.engines.local_tts import LocalTtsEngine

    script = [
        (0.2, "start", ""),
        (0.5, "end", "tell me a story"),
        (2.5, "start", ""),  # the user barges in while the long reply plays
        (3.0, "end", "stop please"),
    ]
    with LlmServer() as server:
        server.script = [Reply(text=LONG), Reply(text="Sure.")]
        _, events = run_llm_session(
            server, script, seconds=4.0, speculate="off", tts=LocalTtsEngine()
        )
        seen = server.wait_seen(2)
    cut = next(e for e in events if e.type == "playback.interrupt")
    heard_s = cut.samples_played / cut.sample_rate
    words = [
        w
        for e in events
        if e.type == "tts.words" and e.reply == cut.reply
        for w in e.words
    ]
    expected = " ".join(w.word for w in words if w.start < heard_s)
    history = seen[1].messages
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user"]
    said = history[2]["content"]
    assert said == expected
    assert 0 < len(said.split()) < len(LONG.split())
    assert (
        LONG.replace(".", "").split()[: len(said.split())]
        == said.replace(".", "").split()
    )


async def test_with_cartesia_sonic_a_streamed_reply_goes_into_one_context() -> None:
    from tests.cartesia_server import CartesiaServer
    from voiceconsole.engines.cartesia.tts import CartesiaTts

    text = "Sure, here is the plan for today. First we walk down to the harbour, then we take the ferry."
    with LlmServer(token_s=0.005) as server:
        server.script = [Reply(text=text)]
        async with CartesiaServer(
            api_key="sk_car_llm_test", tts_seconds_per_char=0.002
        ) as sonic:
            tts = CartesiaTts(
                api_key="sk_car_llm_test", base_url=sonic.url, sample_rate=16000
            )
            _, events = await llm_session(server, ONE_TURN, speculate="off", tts=tts)
            requests = [r for r in sonic.connections[0].json_texts if "transcript" in r]
    assert (
        len({r["context_id"] for r in requests}) == 1
    )  # one context for the whole reply
    assert len(requests) >= 3  # its pieces went in as they were written
    assert [r["continue"] for r in requests] == [True] * (len(requests) - 1) + [False]
    assert (
        requests[-1]["transcript"] == ""
        and "".join(r["transcript"] for r in requests) == text
    )
    queued = next(e for e in events if e.type == "tts.queued")
    assert any(e.type == "playback.start" and e.reply == queued.reply for e in events)


def test_llm_events_round_trip() -> None:
    with LlmServer() as server:
        _, events = run_llm_session(server, ONE_TURN)
    llm = [e for e in events if e.type.startswith("llm.")]
    assert llm and all(from_json(to_json(e)) == e for e in llm)


def test_chunker_cuts_sentences_and_long_clauses_without_losing_text() -> None:
    chunker = TextChunker()
    text = "Hi. Sure thing, I can help with that. Here is a long clause, with more words after it, and then the end"
    pieces: list[str] = []
    for token in text.split(" "):
        pieces += chunker.feed(token + " ")
    pieces += chunker.flush()
    assert "".join(pieces) == text + " "
    # A short sentence waits for more; a clause ends a piece once it is long enough.
    assert pieces == [
        "Hi. Sure thing, I can help with that. ",
        "Here is a long clause, with more words after it, ",
        "and then the end ",
    ]
    first = TextChunker()
    assert first.feed("Well, let me think about it, ") == [
        "Well, let me think about it, "
    ]  # the first clause is early


def run_cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "VOICECONSOLE_CONFIG": os.devnull + ".absent",
        **(env or {}),
    }
    for name in ("CARTESIA_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        full_env.pop(name, None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "voiceconsole", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=full_env,
    )


def test_a_conversation_through_the_cli_ends_with_the_streamed_replies_and_never_shows_the_key(
    tmp_path: Path,
) -> None:
    events_path, record = tmp_path / "events.jsonl", tmp_path / "rec"
    with LlmServer() as server:
        out = run_cli(
            "--no-ui",
            "--mic",
            str(SPEECH),
            "--fast",
            "--stt",
            "local",
            "--tts",
            "local",
            "--speaker",
            "null",
            "--responder",
            "llm",
            "--llm-model",
            "test-model",
            "--events",
            str(events_path),
            "--record",
            str(record),
            env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.base_url},
        )
        seen = list(server.seen)
    assert out.returncode == 0, out.stderr
    events = [from_json(line) for line in events_path.read_text().splitlines()]
    turns = [e for e in events if e.type == "turn.end" and e.transcript.strip()]
    assert len(turns) == 3
    assert all(s.headers["authorization"] == f"Bearer {KEY}" for s in seen)
    # Requests are numbered in the order the server saw them; every reply is what it streamed.
    for done in of(events, LlmDone):
        assert done.text == default_reply(seen[done.request - 1].messages)
        # The summary prints a streamed reply's words once they are all in.
        assert f"llm reply {done.request} done: {done.text}" in out.stdout
    answered = {e.turn for e in events if e.type == "tts.queued"}
    assert answered == {t.turn for t in turns}
    assert len([e for e in events if e.type == "playback.start"]) == 3
    assert not of(events, LlmFailed)
    assert of(events, LlmFirstToken)
    # The key is in no event, no output, no file of the recording.
    assert KEY not in out.stdout and KEY not in out.stderr
    assert KEY not in events_path.read_text()
    for path in record.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    meta = json.loads((record / "meta.json").read_text())
    assert KEY not in json.dumps(meta)
    # The report carries the LLM metrics of the recording.
    report = run_cli("report", str(record), "--json")
    assert report.returncode == 0, report.stderr
    llm = json.loads(report.stdout)["timelines"][0]["llm"]
    cancels = of(events, LlmCancelled)
    assert llm["requests"] == len(of(events, LlmRequest))
    assert llm["hits"] == len([e for e in events if e.type == "llm.commit"])
    assert llm["wasted_calls"] == len([c for c in cancels if c.speculative])
    assert llm["wasted_tokens"] == sum(c.tokens for c in cancels if c.speculative)
    assert llm["saved_p50_ms"] is None  # a --fast run takes no time: not a measurement
    text = run_cli("report", str(record)).stdout
    assert f"speculation: hits {llm['hits']}/{llm['speculative']}" in text


def test_missing_openai_package_is_one_line_with_the_pip_command() -> None:
    code = "import sys; sys.modules['openai'] = None; from voiceconsole.cli import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "--no-ui",
            "--mic",
            str(SPEECH),
            "--fast",
            "--responder",
            "llm",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "VOICECONSOLE_CONFIG": os.devnull + ".absent"},
    )
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'voiceconsole[llm]'" in lines[0]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--llm-url", "ftp://example"), "http(s) base URL"),
        (("--llm-url", "http://user:pw@127.0.0.1:1/v1"), "credentials"),
        (("--llm-temperature", "3"), "0-2"),
        (("--llm-system", "@/nonexistent/prompt.txt"), "file not found"),
    ],
)
def test_bad_llm_options_are_one_line(args: tuple[str, ...], fragment: str) -> None:
    out = run_cli(
        "--no-ui", "--mic", str(SPEECH), "--fast", "--responder", "llm", *args
    )
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], out.stderr
