"""LLM faults against the local streaming server: each fails one reply (or, for a refused key,
every later one) with a one-line reason and a banner, and the session goes on."""

from __future__ import annotations

import pytest

from tests.llm_server import LlmServer, Reply, default_reply
from tests.test_llm import of, run_llm_session
from voiceconsole.events import (
    EngineError,
    LlmDone,
    LlmFailed,
    LlmRequest,
    SessionStopped,
)

TWO_TURNS = [
    (0.2, "start", ""),
    (0.5, "end", "first question"),
    (1.5, "start", ""),
    (1.8, "end", "second question"),
]


def assert_second_turn_answered(events, seen) -> None:
    done = [e for e in of(events, LlmDone) if e.turn == 2]
    assert len(done) == 1 and done[0].text == default_reply(seen[-1].messages)
    replies = {e.reply for e in events if e.type == "tts.queued" and e.turn == 2}
    assert any(e.type == "playback.start" and e.reply in replies for e in events)
    assert of(events, SessionStopped)[-1].reason == "end of input"


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_fatal_with_a_banner_and_the_session_goes_on(
    status: int,
) -> None:
    with LlmServer() as server:
        server.script = [Reply(status=status, error="invalid api key")]
        _, events = run_llm_session(server, TWO_TURNS, seconds=3.0)
        seen = list(server.seen)
    assert len(seen) == 1  # no request after the key was refused
    failed = of(events, LlmFailed)
    assert [f.turn for f in failed] == [1, 2] and all(f.fatal for f in failed)
    assert f"HTTP {status}" in failed[0].message and "OPENAI_API_KEY" in failed[0].hint
    banner = [e for e in of(events, EngineError) if e.role == "responder"]
    assert (
        len(banner) == 1 and banner[0].fatal and "refused the key" in banner[0].message
    )
    assert not any(e.type == "tts.queued" for e in events)
    assert of(events, SessionStopped)[-1].reason == "end of input"


def test_429_waits_for_retry_after_and_then_answers() -> None:
    with LlmServer() as server:
        server.script = [
            Reply(status=429, headers={"Retry-After": "1"}, error="slow down")
        ]
        _, events = run_llm_session(server, TWO_TURNS, seconds=3.0)
        seen = list(server.seen)
    assert [s.status for s in seen] == [
        429,
        200,
        200,
    ]  # the first turn's request was sent again
    assert not of(events, LlmFailed)
    assert [e.request for e in of(events, LlmRequest)] == [
        1,
        2,
    ]  # one request as the session sees it
    assert of(events, LlmDone)[0].text == default_reply(seen[1].messages)
    assert_second_turn_answered(events, seen)


def test_429_with_a_retry_after_too_long_fails_that_reply() -> None:
    with LlmServer() as server:
        server.script = [Reply(status=429, headers={"Retry-After": "3600"})]
        _, events = run_llm_session(server, TWO_TURNS, seconds=3.0)
        seen = list(server.seen)
    failed = of(events, LlmFailed)
    assert len(failed) == 1 and "429" in failed[0].message and not failed[0].fatal
    assert_second_turn_answered(events, seen)


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (Reply(status=500), "HTTP 500"),
        (Reply(status=503), "HTTP 503"),
        (Reply(drop_after=3), "lost the connection"),
        (Reply(malformed_after=2), "malformed"),
        (Reply(empty=True), "empty reply"),
    ],
    ids=["500", "503", "dropped", "malformed", "empty"],
)
def test_a_failed_reply_is_reported_and_the_next_turn_works(
    reply: Reply, fragment: str
) -> None:
    with LlmServer() as server:
        server.script = [reply]
        _, events = run_llm_session(server, TWO_TURNS, seconds=3.0)
        seen = list(server.seen)
    failed = of(events, LlmFailed)
    assert len(failed) == 1 and failed[0].turn == 1 and not failed[0].fatal
    assert fragment in failed[0].message and failed[0].hint
    assert "\n" not in failed[0].message
    banner = [e for e in of(events, EngineError) if e.role == "responder"]
    assert len(banner) == 1 and not banner[0].fatal
    assert not [e for e in of(events, LlmDone) if e.turn == 1]
    assert_second_turn_answered(events, seen)


def test_a_dropped_stream_still_speaks_what_arrived() -> None:
    text = "The first sentence arrived whole. The second one never"
    with LlmServer() as server:
        server.script = [Reply(text=text, drop_after=6)]
        _, events = run_llm_session(server, TWO_TURNS, seconds=3.0)
    first = next(e for e in events if e.type == "tts.queued" and e.turn == 1)
    assert any(e.type == "playback.start" and e.reply == first.reply for e in events)
    assert of(events, LlmFailed)[0].tokens == 6


def test_a_stalled_stream_times_out_and_the_next_turn_works() -> None:
    with LlmServer() as server:
        server.script = [Reply(stall_after=2, stall_s=5.0)]
        _, events = run_llm_session(server, TWO_TURNS, seconds=3.0, timeout_s=0.5)
        seen = list(server.seen)
    failed = of(events, LlmFailed)
    assert (
        len(failed) == 1
        and "stalled" in failed[0].message
        and "--llm-timeout" in failed[0].hint
    )
    assert_second_turn_answered(events, seen)


def test_an_unreachable_server_fails_each_reply_with_its_address() -> None:
    server = LlmServer()
    url = server.base_url
    server.close()  # nothing listens on that port any more
    _, events = run_llm_session(server, TWO_TURNS, seconds=3.0)
    failed = of(events, LlmFailed)
    assert [f.turn for f in failed] == [1, 2]
    assert all(f.message == f"cannot reach the LLM server at {url}" for f in failed)
    assert not failed[0].fatal and "--llm-url" in failed[0].hint
    assert of(events, SessionStopped)[-1].reason == "end of input"
