"""Property-based tests (Hypothesis) on every parser of outside data: event lines, meta.json,
WAV headers, the config file, Cartesia server messages and the LLM server's stream.

The property: whatever comes in, only the project's own error types come out (never a
``TypeError``, ``RecursionError``, ``OverflowError``...), and what is accepted is usable (an
event writes back as strict JSON, a server text is printable and capped). Each test counts the
cases it ran (``CASES``); ``python -m pytest tests/test_properties.py -s`` prints them.
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceconsole.audio.wavio import WavReader, read_wav_info
from voiceconsole.config import (
    SETTING_NAMES,
    Settings,
    apply_values,
    check_types,
    load_config_file,
)
from voiceconsole.engines.cartesia.errors import ProtocolError
from voiceconsole.engines.cartesia.messages import (
    ErrorMessage,
    Transcript,
    TurnMessage,
    Unknown,
)
from voiceconsole.engines.cartesia.tts_messages import decode_tts_message
from voiceconsole.engines.cartesia.turns_messages import decode_turns_message
from voiceconsole.engines.cartesia.whisper_messages import decode_whisper_message
from voiceconsole.errors import AudioFileError, ConfigError
from voiceconsole.events import EVENT_TYPES, EventDecodeError
from voiceconsole.session.eventlog import event_line
from voiceconsole.session.recording import (
    RecordingError,
    decode_event,
    describe_config,
    read_meta,
)

CASES: Counter[str] = Counter()
EXAMPLES = 400
PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(scope="module", autouse=True)
def report_cases() -> Iterator[None]:
    yield
    print(
        "\ngenerated cases per parser: "
        + ", ".join(f"{k}={v}" for k, v in sorted(CASES.items()))
    )


# --- strategies -----------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["\x1b[2J", "[/]", "\r\n", "\x00", "é", "🙂", "NaN", ""]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


def event_like() -> st.SearchStrategy[dict[str, Any]]:
    names = sorted(EVENT_TYPES)
    fields = st.sampled_from(
        [
            "t",
            "audio_t",
            "turn",
            "transcript",
            "words",
            "text",
            "message",
            "reply",
            "settings",
            "state",
            "role",
            "engine",
            "fatal",
            "rms_dbfs",
            "peak_dbfs",
            "source",
            "duration_s",
        ]
    )
    return st.builds(
        lambda kind, extra: {"type": kind, "t": 1.0, "audio_t": 0.5, **extra},
        st.one_of(st.sampled_from(names), json_values),
        st.dictionaries(fields, json_values, max_size=6),
    )


# --- event lines ------------------------------------------------------------------------------------


@PROFILE
@given(
    st.one_of(
        event_like().map(dumps),
        json_values.map(dumps),
        st.text(max_size=200),
        st.integers(100, 3000).map(deep),
        st.binary(max_size=200),
    )
)
def test_event_lines_raise_only_event_decode_errors(line: str | bytes) -> None:
    CASES["event lines"] += 1
    try:
        event = decode_event(line)
    except EventDecodeError:
        return
    written = event_line(event)
    json.loads(written, parse_constant=lambda name: pytest.fail(f"bare {name} written"))
    assert decode_event(written) == event


# --- meta.json ------------------------------------------------------------------------------------------


@PROFILE
@given(
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                k: json_values
                for k in (
                    "format",
                    "engines",
                    "turn_settings",
                    "settings",
                    "complete",
                    "duration_s",
                    "events",
                    "audio",
                )
            },
        ),
        json_values,
        st.text(max_size=100),
        st.integers(100, 3000).map(deep),
    ).map(lambda v: v if isinstance(v, str) else dumps(v))
)
def test_meta_json_raises_only_recording_errors(text: str) -> None:
    CASES["meta.json"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "meta.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            meta = read_meta(path)
        except RecordingError:
            return
    engines = meta.get("engines") or {}
    describe_config(engines.get("stt", "?"), meta.get("turn_settings") or {})


# --- WAV headers ----------------------------------------------------------------------------------------


@st.composite
def wav_files(draw: st.DrawFn) -> bytes:
    riff = draw(st.sampled_from([b"RIFF", b"RF64", b"RIFX", b"\0\0\0\0"]))
    wave = draw(st.sampled_from([b"WAVE", b"AVI "]))
    chunks = b""
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from([b"fmt ", b"data", b"LIST", b"fact"]))
        if kind == b"fmt ":
            body = struct.pack(
                "<HHIIHH",
                draw(st.sampled_from([1, 3, 6, 0xFFFE, draw(st.integers(0, 0xFFFF))])),
                draw(st.integers(0, 0xFFFF)),
                draw(st.integers(0, 2**32 - 1)),
                draw(st.integers(0, 2**32 - 1)),
                draw(st.integers(0, 0xFFFF)),
                draw(
                    st.sampled_from(
                        [8, 16, 24, 32, 64, 0, 12, draw(st.integers(0, 0xFFFF))]
                    )
                ),
            ) + draw(st.binary(max_size=12))
            size = draw(
                st.sampled_from(
                    [len(body), 16, 0, 0xFFFFFFFF, draw(st.integers(0, 2**32 - 1))]
                )
            )
        else:
            body = draw(st.binary(max_size=400))
            size = draw(
                st.sampled_from(
                    [len(body), 0, 0xFFFFFFFF, draw(st.integers(0, 2**32 - 1))]
                )
            )
        chunks += kind + struct.pack("<I", size) + body
    return riff + struct.pack("<I", draw(st.integers(0, 2**32 - 1))) + wave + chunks


@PROFILE
@given(st.one_of(wav_files(), st.binary(max_size=100)))
def test_wav_headers_raise_only_audio_file_errors(data: bytes) -> None:
    CASES["WAV headers"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.wav"
        path.write_bytes(data)
        try:
            info = read_wav_info(path)
        except AudioFileError:
            return
        reader = WavReader(path)
        try:
            frames = reader.read(info.frames + 10)
        finally:
            reader.close()
    assert frames.shape[1] == info.channels and bool(np.isfinite(frames).all())


# --- the config file ----------------------------------------------------------------------------------


def toml_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 2**63 else None
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        items = [toml_value(v) for v in value]
        return None if None in items else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    return None


names = st.sampled_from(
    sorted(n.replace("_", "-") for n in SETTING_NAMES - {"config_path"})
    + ["bogus", "x"]
)
config_values = st.one_of(
    scalars.filter(lambda v: v is not None),
    st.lists(scalars.filter(lambda v: v is not None), max_size=3),
)


@PROFILE
@given(
    st.one_of(
        st.dictionaries(names, config_values, max_size=6).map(
            lambda d: "\n".join(
                f"{k} = {toml_value(v)}"
                for k, v in d.items()
                if toml_value(v) is not None
            )
        ),
        st.text(max_size=200),
        st.integers(100, 3000).map(lambda n: "x = " + deep(n)),
    )
)
def test_config_file_raises_only_config_errors(text: str) -> None:
    CASES["config file"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(text, encoding="utf-8")
        settings_ = Settings()
        try:
            apply_values(settings_, load_config_file(path, explicit=True), str(path))
            check_types(settings_)
        except ConfigError:
            return


# --- Cartesia server messages -------------------------------------------------------------------------

CARTESIA_TYPES = [
    "connected",
    "turn.start",
    "turn.update",
    "turn.eager_end",
    "turn.resume",
    "turn.end",
    "transcript",
    "flush_done",
    "done",
    "error",
    "chunk",
    "timestamps",
]
cartesia_fields = st.sampled_from(
    [
        "transcript",
        "text",
        "is_final",
        "words",
        "start",
        "end",
        "duration",
        "language",
        "request_id",
        "message",
        "error",
        "title",
        "status_code",
        "code",
        "error_code",
        "context_id",
        "data",
        "done",
        "word_timestamps",
    ]
)
cartesia_messages = st.one_of(
    st.builds(
        lambda kind, extra: {"type": kind, **extra},
        st.sampled_from(CARTESIA_TYPES) | json_values,
        st.dictionaries(cartesia_fields, json_values, max_size=6),
    ).map(dumps),
    json_values.map(dumps),
    st.text(max_size=200),
    st.binary(max_size=100),
    st.integers(100, 5000).map(lambda n: '{"type":"error","message":' + deep(n) + "}"),
)


@PROFILE
@given(cartesia_messages)
def test_cartesia_messages_raise_only_protocol_errors(message: str | bytes) -> None:
    CASES["Cartesia server messages"] += 1
    for decode in (decode_turns_message, decode_whisper_message, decode_tts_message):
        try:
            decoded = decode(message)
        except ProtocolError:
            continue
        shown: list[str] = []
        if isinstance(decoded, ErrorMessage):
            shown = [decoded.message, decoded.code, decoded.request_id]
            assert len(decoded.message) < 400
        elif isinstance(decoded, Unknown):
            shown = [decoded.type]
        elif isinstance(decoded, Transcript):
            shown = [decoded.text, decoded.language, decoded.request_id] + [
                w.word for w in decoded.words
            ]
            assert all(
                math.isfinite(w.start) and math.isfinite(w.end) for w in decoded.words
            )
        elif isinstance(decoded, TurnMessage):
            shown = [decoded.transcript or ""]
        assert all(text.isprintable() for text in shown), shown


# --- the LLM server's stream --------------------------------------------------------------------------


class _SseServer:
    """Serves the next body as a chat-completions SSE stream, on 127.0.0.1."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(outer.status)
                self.send_header(
                    "Content-Type",
                    "text/event-stream" if outer.status == 200 else "application/json",
                )
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def sse_server() -> Iterator[_SseServer]:
    server = _SseServer()
    yield server
    server.close()


chunk_objects = st.builds(
    lambda extra, choices: {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
        **extra,
    },
    st.dictionaries(
        st.sampled_from(["usage", "error", "system_fingerprint"]),
        json_values,
        max_size=2,
    ),
    st.one_of(
        json_values,
        st.lists(
            st.builds(
                lambda d: {"index": 0, "delta": d, "finish_reason": None},
                st.one_of(
                    json_values,
                    st.dictionaries(
                        st.sampled_from(["content", "role"]), json_values, max_size=2
                    ),
                ),
            ),
            max_size=2,
        ),
    ),
)
sse_bodies = st.lists(
    st.one_of(
        chunk_objects.map(lambda c: "data: " + dumps(c)),
        st.text(max_size=60),
        st.just("data: [DONE]"),
        st.just("data: {broken"),
    ),
    max_size=6,
).map(lambda lines: ("\n\n".join(lines) + "\n\n").encode("utf-8", "surrogatepass"))


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=sse_bodies, status=st.sampled_from([200, 200, 200, 400, 500]))
def test_llm_streams_raise_only_llm_errors(
    sse_server: _SseServer, body: bytes, status: int
) -> None:
    pytest.importorskip("openai")
    from voiceconsole.engines.llm.client import ChatClient, LlmError, LlmSettings

    CASES["LLM server messages"] += 1
    sse_server.body, sse_server.status = body, status
    client = ChatClient(
        LlmSettings(base_url=sse_server.url, model="m", stall_timeout_s=5.0)
    )

    async def consume() -> list[str]:
        return [
            piece async for piece in client.stream([{"role": "user", "content": "hi"}])
        ]

    try:
        pieces = asyncio.run(consume())
    except LlmError:
        return
    assert all(isinstance(piece, str) for piece in pieces)
