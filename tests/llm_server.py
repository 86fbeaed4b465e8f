"""A scripted OpenAI-compatible chat-completions server for tests and benchmarks.

Standard library only (``http.server`` in a thread), on 127.0.0.1 and an ephemeral port. Each
request takes the next :class:`Reply` from the script (or the default reply, which answers the
last user message), streams it as server-sent events over chunked HTTP/1.1 with a fixed time
to first token and token interval, and records what it saw (:class:`Seen`): the messages, the
``Authorization`` header, how many tokens it sent, whether it finished, and whether the client
closed the stream early. Faults: any HTTP status with headers and a JSON error body, a
connection dropped mid-stream, a malformed SSE line, a stall, an empty completion.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server does for one request."""

    text: str | None = None
    """The reply (split into tokens at word boundaries); ``None``: the default reply."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: str = "scripted failure"
    ttft_s: float | None = None
    """Delay before the first token (``None``: the server's default)."""
    token_s: float | None = None
    """Delay between tokens (``None``: the server's default)."""
    drop_after: int | None = None
    """Close the connection abruptly after this many tokens."""
    malformed_after: int | None = None
    """Send a line of broken JSON after this many tokens."""
    stall_after: int | None = None
    """Stop sending (but keep the connection) after this many tokens, for ``stall_s``."""
    stall_s: float = 30.0
    empty: bool = False
    """A well-formed completion with no content at all."""


@dataclass
class Seen:
    """One request as the server saw it."""

    messages: list[dict[str, Any]]
    body: dict[str, Any]
    headers: dict[str, str]
    path: str
    status: int = 200
    tokens_sent: int = 0
    finished: bool = False
    client_closed: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    """Set once the server stopped handling the request (finished, dropped or client gone)."""


def default_reply(messages: list[dict[str, Any]]) -> str:
    """The answer when nothing is scripted: two sentences quoting the user's last message."""
    last = next(
        (m.get("content", "") for m in reversed(messages) if m.get("role") == "user"),
        "",
    )
    return f"You said {last.strip() or 'nothing'}. That is a fine thing to say, tell me more about it."


def tokens_of(text: str) -> list[str]:
    """Word-sized tokens (each with its leading space) whose concatenation is ``text``."""
    return re.findall(r"\s*\S+|\s+$", text)


class LlmServer:
    """Start with ``with LlmServer() as server:``; ``server.base_url`` ends in ``/v1``."""

    def __init__(
        self,
        ttft_s: float = 0.0,
        token_s: float = 0.0,
        reply: Callable[[list[dict[str, Any]]], str] = default_reply,
    ) -> None:
        self.ttft_s = ttft_s
        self.token_s = token_s
        self.reply = reply
        self.script: list[Reply] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="llm-server", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> LlmServer:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving (handlers still stalling are daemon threads)."""
        if self._thread.is_alive():
            self._httpd.shutdown()  # waits for serve_forever, so only once it runs
        self._httpd.server_close()

    def wait_seen(self, count: int, timeout_s: float = 10.0) -> list[Seen]:
        """Wait until ``count`` requests have been handled to their end; returns them all."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                seen = list(self.seen)
            if len(seen) >= count and all(s.done.is_set() for s in seen[:count]):
                return seen
            time.sleep(0.01)
        raise AssertionError(f"the server saw {len(self.seen)} requests, not {count}")

    def _next(self, messages: list[dict[str, Any]]) -> Reply:
        with self._lock:
            return self.script.pop(0) if self.script else Reply()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                messages = body.get("messages") or []
                seen = Seen(
                    messages,
                    body,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.path,
                )
                with server._lock:
                    server.seen.append(seen)
                try:
                    if not self.path.endswith("/chat/completions"):
                        self._error(seen, 404, {}, "no such endpoint")
                        return
                    script = server._next(messages)
                    if script.status != 200:
                        self._error(seen, script.status, script.headers, script.error)
                        return
                    self._stream(seen, script, body)
                finally:
                    seen.done.set()

            def _error(
                self, seen: Seen, status: int, headers: dict[str, str], message: str
            ) -> None:
                seen.status = status
                data = json.dumps(
                    {
                        "error": {
                            "message": message,
                            "type": "scripted",
                            "code": str(status),
                        }
                    }
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any] | str) -> None:
                text = payload if isinstance(payload, str) else json.dumps(payload)
                self._chunk(f"data: {text}\n\n".encode())

            def _stream(self, seen: Seen, script: Reply, body: dict[str, Any]) -> None:
                text = (
                    script.text
                    if script.text is not None
                    else server.reply(seen.messages)
                )
                tokens = [] if script.empty else tokens_of(text)
                ttft = server.ttft_s if script.ttft_s is None else script.ttft_s
                gap = server.token_s if script.token_s is None else script.token_s
                model = body.get("model", "")
                base = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                }
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    self._event(
                        {
                            **base,
                            "choices": [
                                {
                                    "index": 0,
                                    "delta": {"role": "assistant", "content": ""},
                                }
                            ],
                        }
                    )
                    time.sleep(ttft)
                    for i, token in enumerate(tokens):
                        if i and gap:
                            time.sleep(gap)
                        if script.drop_after is not None and i >= script.drop_after:
                            self.connection.shutdown(
                                2
                            )  # no terminating chunk: a dropped stream
                            self.close_connection = True
                            return
                        if (
                            script.malformed_after is not None
                            and i == script.malformed_after
                        ):
                            self._event('{"choices": [{"delta": {"content": "oops"')
                        if script.stall_after is not None and i == script.stall_after:
                            time.sleep(script.stall_s)
                        self._event(
                            {
                                **base,
                                "choices": [
                                    {
                                        "index": 0,
                                        "delta": {"content": token},
                                        "finish_reason": None,
                                    }
                                ],
                            }
                        )
                        seen.tokens_sent += 1
                    self._event(
                        {
                            **base,
                            "choices": [
                                {"index": 0, "delta": {}, "finish_reason": "stop"}
                            ],
                        }
                    )
                    self._event("[DONE]")
                    self._chunk(b"")
                    seen.finished = True
                except (BrokenPipeError, ConnectionResetError, OSError):
                    seen.client_closed = True
                    self.close_connection = True

        return Handler
