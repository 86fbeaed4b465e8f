"""The websocket server behind ``tap`` and ``serve``: routes, refusals, one task per connection.

A :class:`Backend` answers the connections: :class:`~voiceconsole.serve.tap.TapBackend`
forwards them upstream, :class:`~voiceconsole.serve.offline.OfflineBackend` answers them with
the offline engines. The server checks the upgrade request (path, query; see
:mod:`voiceconsole.serve.routes`), lets the backend accept or refuse it, opens a watched session
per connection, and makes sure that whatever a backend does, a client gets a close code or an
error, never a traceback, and other connections go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from voiceconsole.errors import ConfigError
from voiceconsole.serve.hub import WatchHub
from voiceconsole.serve.routes import (
    MAX_MESSAGE_BYTES,
    Refusal,
    StreamRequest,
    error_frame,
    parse_request,
)
from voiceconsole.serve.watch import WatchSession

log = logging.getLogger(__name__)


class Backend(Protocol):
    """What answers the connections of a server."""

    mode: str
    """``tap`` or ``serve`` (shown in the console and recordings)."""

    async def accept(
        self, connection: ServerConnection, request: StreamRequest, headers: Headers
    ) -> Response | None:
        """Before the upgrade: None to accept, or the HTTP response refusing it."""
        ...

    async def run(
        self, connection: ServerConnection, request: StreamRequest, watch: WatchSession
    ) -> None:
        """Answer one accepted connection until it ends (close it with the right code)."""
        ...

    async def close(self) -> None:
        """Free what the backend holds (the server stopped)."""
        ...


def http_error(
    connection: ServerConnection, refusal: Refusal, request_id: str = ""
) -> Response:
    """An HTTP error response with a structured JSON body."""
    response = connection.respond(refusal.status, refusal.body(request_id))
    response.headers["Content-Type"] = "application/json"
    return response


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``PORT``) as a host and port; a bad one is a :class:`ConfigError`."""
    host, _, port_text = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(
            f"--listen {text!r}: give HOST:PORT, e.g. 127.0.0.1:8765"
        ) from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"--listen {text!r}: the port must lie in 0-65535")
    return host, port


class EndpointServer:
    """Serves Cartesia's three websocket endpoints on ``host:port`` through ``backend``."""

    def __init__(
        self,
        backend: Backend,
        hub: WatchHub,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_size: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.backend = backend
        self.hub = hub
        self.host = host
        self.port = port
        self.max_size = max_size
        self._server: Server | None = None
        self._requests: dict[int, StreamRequest] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The base URL clients use (``ws://host:port``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    async def start(self) -> None:
        """Listen (port 0 picks a free port, then :attr:`port` holds it)."""
        try:
            self._server = await serve(
                self._handle,
                self.host,
                self.port,
                process_request=self._process_request,
                max_size=self.max_size,
                compression=None,
                server_header="voiceconsole",
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); choose another --listen"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening, close every connection (1001) and the backend."""
        if self._server is not None:
            self._server.close(close_connections=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 10.0)
            self._server = None
        await self.backend.close()
        self.hub.shutdown()

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        try:
            stream = parse_request(request.path, request.headers)
        except Refusal as refusal:
            return http_error(connection, refusal)
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            # Not a websocket at all: refused before a backend opens anything for it.
            refusal = Refusal(
                426,
                "upgrade_required",
                f"{stream.path} is a websocket endpoint; connect with a websocket client",
            )
            response = http_error(connection, refusal)
            response.headers["Upgrade"] = "websocket"
            return response
        try:
            response = await self.backend.accept(connection, stream, request.headers)
        except Refusal as refusal:
            return http_error(connection, refusal, stream.request_id)
        if response is None:
            self._requests[id(connection)] = stream
        return response

    async def _handle(self, connection: ServerConnection) -> None:
        stream = self._requests.pop(id(connection), None)
        if stream is None:  # cannot happen: every accepted request was parsed
            await connection.close(1011, "internal error")
            return
        watch = self.hub.open(stream)
        try:
            await self.backend.run(connection, stream, watch)
        except ConnectionClosed:
            pass
        except (
            Exception
        ):  # a fault of ours: the client gets 1011 and an error, others go on
            log.exception("connection %d on %s failed", watch.number, stream.path)
            with contextlib.suppress(ConnectionClosed):
                frame = error_frame(
                    500,
                    "internal_error",
                    "the local server failed on this connection; see its log",
                    request_id=stream.request_id,
                )
                await connection.send(frame)
                watch.saw_server(frame)
            await connection.close(1011, "internal error")
        finally:
            if connection.state is State.OPEN:
                await connection.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.wait_closed(), 5.0)
            self.hub.close(watch, connection.close_code, connection.close_reason or "")
