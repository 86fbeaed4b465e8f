"""A scripted stand-in for Cartesia's websocket API on 127.0.0.1, for the engine and CLI tests.

It speaks the three protocols (Ink-2 turns, ink-whisper, sonic TTS), records exactly what each
client connection sent (path, query, headers, binary and text frames, the close command), and
misbehaves on request: each connection attempt takes the next :class:`Fault` from
``faults`` (401/403/429/5xx on upgrade, an error instead of ``connected``, close codes, an
abrupt drop, malformed JSON, unknown message types, going silent).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

BYTES_PER_SAMPLE = {"pcm_s16le": 2, "pcm_s32le": 4, "pcm_f32le": 4, "pcm_f16le": 2, "pcm_mulaw": 1, "pcm_alaw": 1}


@dataclass
class Fault:
    """How one connection attempt misbehaves (all audio times are seconds received on it)."""

    reject_status: int | None = None
    retry_after: str | None = None
    error_instead_of_connected: dict[str, Any] | None = None
    no_connected: bool = False
    close_code: int | None = None
    close_at_s: float = 0.0
    drop_at_s: float | None = None
    malformed_at_s: float | None = None
    unknown_at_s: float | None = None
    silent_at_s: float | None = None
    tts_drop_after_chunks: int | None = None
    echo_key: str | None = None
    """Echo the key the client sent back to it, as a hostile or careless server might: ``body``
    (the HTTP body of a 400 refusal), ``error`` (an error message), ``close`` (a close reason),
    ``unknown`` (an unknown message type) or ``escape`` (an error text full of terminal escapes,
    nesting and length)."""
    echo_extra: str = ""
    """More text the echo carries (another secret, e.g. the LLM key, to see it scrubbed too)."""


@dataclass
class Connection:
    """What one client connection sent."""

    path: str
    query: dict[str, list[str]]
    headers: Headers
    binary: list[bytes] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    close_command: bool = False
    fault: Fault = field(default_factory=Fault)
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    """(monotonic time, bytes) of every binary frame as it arrived: the client's send rate."""
    sent: list[str | bytes] = field(default_factory=list)
    """Every frame the server sent on this connection, in order."""
    close_code: int | None = None
    """The close code the server received from the client (None: no close frame yet)."""

    @property
    def audio_bytes(self) -> bytes:
        return b"".join(self.binary)

    @property
    def json_texts(self) -> list[dict[str, Any]]:
        return [json.loads(t) for t in self.texts if t.startswith("{")]


@dataclass
class WhisperSegment:
    start_s: float
    end_s: float
    text: str


class CartesiaServer:
    """``async with CartesiaServer(api_key=...) as server:`` then point clients at ``server.url``."""

    def __init__(
        self,
        *,
        api_key: str,
        turns_script: list[tuple[float, dict[str, Any]]] | None = None,
        on_close: list[dict[str, Any]] | None = None,
        faults: list[Fault] | None = None,
        whisper_segments: list[WhisperSegment] | None = None,
        tts_seconds_per_char: float = 0.02,
        tts_chunk_s: float = 0.05,
        tts_chunk_delay_s: float = 0.0,
        tts_late_chunk_after_cancel: bool = False,
        tts_fail_word: str = "FAIL",
    ) -> None:
        self.api_key = api_key
        self.turns_script = sorted(turns_script or [], key=lambda item: item[0])
        self.on_close = list(on_close or [])
        self.faults = list(faults or [])
        self.whisper_segments = list(whisper_segments or [])
        self.tts_seconds_per_char = tts_seconds_per_char
        self.tts_chunk_s = tts_chunk_s
        self.tts_chunk_delay_s = tts_chunk_delay_s
        self.tts_late_chunk_after_cancel = tts_late_chunk_after_cancel
        self.tts_fail_word = tts_fail_word
        self.attempts: list[tuple[str, Headers]] = []
        self.rejected: list[int] = []
        self.connections: list[Connection] = []
        self.audio_s = 0.0
        """Audio seconds received over all turns/whisper connections (the script's clock)."""
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending_fault: dict[int, Fault] = {}
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CartesiaServer:
        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._process_request, compression=None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5.0)

    # --- handshake ----------------------------------------------------------------------------

    @staticmethod
    def sent_key(headers: Headers) -> str | None:
        """The key a client sent: ``X-API-Key`` (Pipecat, LiveKit) or ``Authorization: Bearer`` (the SDK)."""
        bearer = headers.get("Authorization", "")
        if bearer.startswith("Bearer "):
            return bearer[len("Bearer "):]
        return headers.get("X-API-Key")

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.attempts.append((request.path, request.headers))
        fault = self.faults.pop(0) if self.faults else Fault()
        sent = self.sent_key(request.headers)
        if sent != self.api_key:
            self.rejected.append(401)
            return connection.respond(401, json.dumps({"type": "error", "status_code": 401, "message": "Invalid API key"}) + "\n")
        if fault.echo_key == "body":
            self.rejected.append(400)
            echoed = f"bad request for key {sent}{fault.echo_extra}"
            return connection.respond(400, json.dumps({"type": "error", "status_code": 400, "message": echoed}))
        if fault.reject_status is not None:
            self.rejected.append(fault.reject_status)
            response = connection.respond(fault.reject_status, f"scripted HTTP {fault.reject_status}\n")
            if fault.retry_after is not None:
                response.headers["Retry-After"] = fault.retry_after
            return response
        self._pending_fault[id(connection)] = fault
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        request = ws.request
        assert request is not None
        parts = urlsplit(request.path)
        conn = Connection(parts.path, parse_qs(parts.query), request.headers, fault=self._pending_fault.pop(id(ws), Fault()))
        self.connections.append(conn)
        send = ws.send

        async def send_and_keep(message: Any, *args: Any, **kwargs: Any) -> None:
            conn.sent.append(message)
            await send(message, *args, **kwargs)

        ws.send = send_and_keep  # type: ignore[method-assign]
        try:
            if parts.path == "/stt/turns/websocket":
                await self._turns(ws, conn)
            elif parts.path == "/stt/websocket":
                await self._whisper(ws, conn)
            elif parts.path == "/tts/websocket":
                await self._tts(ws, conn)
            else:
                await ws.close(1008, "unknown path")
        except ConnectionClosed as exc:
            conn.close_code = exc.rcvd.code if exc.rcvd is not None else None
        finally:
            self._tasks.discard(task)

    # --- shared fault handling ------------------------------------------------------------------

    async def _audio_faults(self, ws: ServerConnection, conn: Connection, before: float, after: float) -> bool:
        """Apply the faults due between ``before`` and ``after`` seconds; True if the stream ended."""
        f = conn.fault

        def due(at: float | None) -> bool:
            return at is not None and (before < at <= after or (at <= 0.0 and before == 0.0))

        if due(f.malformed_at_s):
            await ws.send('{"type": "turn.update", "transcript": "oops"')
        if due(f.unknown_at_s):
            await ws.send(json.dumps({"type": "turn.telepathy", "request_id": "r"}))
        if due(f.silent_at_s):
            ws.transport.pause_reading()
            await asyncio.sleep(30)
            ws.transport.abort()
            return True
        if f.drop_at_s is not None and due(f.drop_at_s):
            ws.transport.abort()
            return True
        if f.close_code is not None and due(f.close_at_s):
            await ws.close(f.close_code, "scripted close")
            return True
        return False

    @staticmethod
    def _seconds(conn: Connection, n_bytes: int) -> float:
        enc = conn.query.get("encoding", ["pcm_s16le"])[0]
        rate = int(conn.query.get("sample_rate", ["16000"])[0])
        return n_bytes / (BYTES_PER_SAMPLE[enc] * rate)

    # --- Ink-2 turns ------------------------------------------------------------------------------

    async def _echo_key(self, ws: ServerConnection, conn: Connection) -> bool:
        """Apply an ``echo_key`` fault after the handshake; True if the stream ended."""
        key, kind = self.api_key + conn.fault.echo_extra, conn.fault.echo_key
        if kind == "error":
            await ws.send(json.dumps({"type": "error", "status_code": 400, "error_code": f"bad_{key}",
                                      "message": f"your key {key} is not allowed here", "request_id": key}))
        elif kind == "unknown":
            await ws.send(json.dumps({"type": f"telepathy.{key}", "request_id": key}))
        elif kind == "escape":
            await ws.send(json.dumps({"type": "error", "status_code": 500, "message": "\x1b[2J\x1b[H\x07" + "x" * 200_000 + key}))
            await ws.send("[" * 100_000 + "]" * 100_000)
            await ws.send(json.dumps({"type": "turn.update", "transcript": "\x1b]0;pwned\x07\x1b[2J" + key}))
        elif kind == "close":
            await ws.close(1011, f"server fault for {key}"[:120])
            return True
        return False

    async def _turns(self, ws: ServerConnection, conn: Connection) -> None:
        if conn.fault.error_instead_of_connected is not None:
            await ws.send(json.dumps(conn.fault.error_instead_of_connected))
            await ws.close(1008, "refused")
            return
        if not conn.fault.no_connected:
            await ws.send(json.dumps({"type": "connected", "request_id": f"req-{len(self.connections)}"}))
        if await self._echo_key(ws, conn):
            return
        conn_audio = 0.0
        async for message in ws:
            if isinstance(message, bytes):
                conn.binary.append(message)
                conn.arrivals.append((time.monotonic(), len(message)))
                before = conn_audio
                dt = self._seconds(conn, len(message))
                conn_audio += dt
                self.audio_s += dt
                if await self._audio_faults(ws, conn, before, conn_audio):
                    return
                while self.turns_script and self.turns_script[0][0] <= self.audio_s:
                    await ws.send(json.dumps(self.turns_script.pop(0)[1]))
                continue
            conn.texts.append(message)
            data = json.loads(message)
            if data.get("type") == "close":
                conn.close_command = True
                for item in self.on_close:
                    await ws.send(json.dumps(item))
                await ws.close(1000, "bye")
                return

    # --- ink-whisper ------------------------------------------------------------------------------

    async def _whisper(self, ws: ServerConnection, conn: Connection) -> None:
        if await self._echo_key(ws, conn):
            return
        finalized: set[int] = set()
        conn_audio = 0.0
        last_interim = ""
        n_finals = 0
        async for message in ws:
            if isinstance(message, bytes):
                conn.binary.append(message)
                conn.arrivals.append((time.monotonic(), len(message)))
                before = conn_audio
                dt = self._seconds(conn, len(message))
                conn_audio += dt
                self.audio_s += dt
                if await self._audio_faults(ws, conn, before, conn_audio):
                    return
                for i, seg in enumerate(self.whisper_segments):
                    if i in finalized or not seg.start_s <= self.audio_s < seg.end_s:
                        continue
                    words = seg.text.split()
                    said = max(1, int(len(words) * (self.audio_s - seg.start_s) / (seg.end_s - seg.start_s)))
                    text = " " + " ".join(words[:said])
                    if text != last_interim:
                        last_interim = text
                        await ws.send(json.dumps({"type": "transcript", "is_final": False, "text": text, "language": "en",
                                                  "request_id": "w", "words": []}))
                continue
            conn.texts.append(message)
            if message == "finalize":
                for i, seg in enumerate(self.whisper_segments):
                    if i in finalized or seg.start_s >= self.audio_s:
                        continue
                    finalized.add(i)
                    words = seg.text.split()
                    step = (seg.end_s - seg.start_s) / len(words)
                    starts = [round(seg.start_s + k * step, 3) for k in range(len(words))]
                    ends = [round(s + step * 0.9, 3) for s in starts]
                    msg: dict[str, Any] = {"type": "transcript", "is_final": True, "text": " " + seg.text,
                                           "duration": seg.end_s - seg.start_s, "language": "en", "request_id": "w"}
                    if n_finals % 2 == 0:
                        msg["words"] = [{"word": w, "start": s, "end": e} for w, s, e in zip(words, starts, ends)]
                    else:
                        msg.update(words=words, start=starts, end=ends)
                    n_finals += 1
                    last_interim = ""
                    await ws.send(json.dumps(msg))
                await ws.send(json.dumps({"type": "flush_done", "request_id": "w"}))
            elif message in ("close", "done"):
                conn.close_command = True
                await ws.send(json.dumps({"type": "done", "request_id": "w"}))
                await ws.close(1000, "bye")
                return

    # --- sonic TTS --------------------------------------------------------------------------------

    async def _tts(self, ws: ServerConnection, conn: Connection) -> None:
        if await self._echo_key(ws, conn):
            return
        texts: dict[str, str] = {}
        cancelled: set[str] = set()
        chunks_sent = [0]
        if conn.fault.malformed_at_s is not None:
            await ws.send("{not json")
        if conn.fault.unknown_at_s is not None:
            await ws.send(json.dumps({"type": "telepathy"}))

        async def generate(ctx: str, text: str, rate: int) -> None:
            words = text.split()
            total = int(len(text) * self.tts_seconds_per_char * rate)
            per_word = (total / rate) / max(1, len(words))
            await ws.send(json.dumps({"type": "timestamps", "context_id": ctx, "word_timestamps": {
                "words": words,
                "start": [round(k * per_word, 4) for k in range(len(words))],
                "end": [round((k + 1) * per_word, 4) for k in range(len(words))],
            }}))
            step = int(self.tts_chunk_s * rate)
            t = 0
            while t < total:
                if ctx in cancelled:
                    return
                n = min(step, total - t)
                samples = (0.25 * np.sin(2 * np.pi * 330 * np.arange(t, t + n) / rate) * 32767).astype("<i2")
                t += n
                await ws.send(json.dumps({"type": "chunk", "context_id": ctx, "done": False, "step_time": 1, "status_code": 206,
                                          "data": base64.b64encode(samples.tobytes()).decode()}))
                chunks_sent[0] += 1
                if conn.fault.tts_drop_after_chunks is not None and chunks_sent[0] >= conn.fault.tts_drop_after_chunks:
                    ws.transport.abort()
                    return
                await asyncio.sleep(self.tts_chunk_delay_s)
            if ctx not in cancelled:
                await ws.send(json.dumps({"type": "flush_done", "done": False, "flush_done": True, "flush_id": 1,
                                          "context_id": ctx, "status_code": 206}))
                await ws.send(json.dumps({"type": "done", "done": True, "context_id": ctx, "status_code": 200}))

        async for message in ws:
            if isinstance(message, bytes):
                conn.binary.append(message)
                continue
            conn.texts.append(message)
            data = json.loads(message)
            ctx = data.get("context_id", "")
            if data.get("cancel"):
                cancelled.add(ctx)
                if self.tts_late_chunk_after_cancel:
                    late = np.zeros(100, dtype="<i2").tobytes()
                    await ws.send(json.dumps({"type": "chunk", "context_id": ctx, "done": False,
                                              "data": base64.b64encode(late).decode()}))
                continue
            texts[ctx] = texts.get(ctx, "") + data.get("transcript", "")
            if self.tts_fail_word in data.get("transcript", ""):
                await ws.send(json.dumps({"type": "error", "status_code": 400, "error_code": "bad_text",
                                          "title": "Bad text", "message": "scripted failure", "context_id": ctx}))
                continue
            if data.get("continue") is False:
                rate = data["output_format"]["sample_rate"]
                task = asyncio.create_task(generate(ctx, texts[ctx], rate))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
