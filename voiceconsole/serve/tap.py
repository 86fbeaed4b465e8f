"""``tap``: every connection forwarded to the real service, watched on the way.

The upstream socket is opened during the client's upgrade, on the same path and query, with
the client's own credential headers (``Authorization``, ``X-API-Key``, ``Cartesia-*``). An
upstream refusal (401, 429, 5xx...) is answered to the client with the same status and body; an
unreachable upstream is a 502. Once open, frames go both ways unchanged and in order (one task
per direction) and are handed to the watcher after they went on; whichever side closes first,
its close code and reason are repeated to the other, and a dropped upstream drops the client.

The key is only ever in the headers being forwarded: it is not kept, logged or recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)
from websockets.http11 import Response
from websockets.protocol import State

from voiceconsole.errors import ConfigError
from voiceconsole.secrets import url_credentials
from voiceconsole.serve.routes import Refusal, StreamRequest
from voiceconsole.serve.watch import WatchSession

DEFAULT_UPSTREAM = "wss://api.cartesia.ai"
FORWARDED_HEADERS = ("authorization", "x-api-key", "user-agent")
"""Request headers passed upstream, besides every ``Cartesia-*`` header."""
MIRRORED_RESPONSE_HEADERS = ("content-type", "retry-after")
SENDABLE_CLOSE_CODES = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)


def upstream_base(url: str) -> str:
    """``ws[s]://host[:port][/prefix]`` from ``--upstream`` (http(s) taken as ws(s))."""
    parts = urlsplit(url.strip())
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(
            f"--upstream {url!r}: give a websocket URL such as wss://api.cartesia.ai"
        )
    if url_credentials(url) or parts.query:
        raise ConfigError(
            "--upstream: give the base URL only; clients bring their own key"
        )
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class TapBackend:
    """Forwards each connection to ``upstream``."""

    mode = "tap"

    def __init__(
        self, upstream: str = DEFAULT_UPSTREAM, *, open_timeout: float = 10.0
    ) -> None:
        self.upstream = upstream_base(upstream)
        self.open_timeout = open_timeout
        self._pending: dict[int, ClientConnection] = {}

    async def accept(
        self, connection: ServerConnection, request: StreamRequest, headers: Headers
    ) -> Response | None:
        """Open the upstream socket now, so its refusal becomes the client's."""
        forward = [
            (k, v)
            for k, v in headers.raw_items()
            if k.lower() in FORWARDED_HEADERS or k.lower().startswith("cartesia-")
        ]
        try:
            upstream = await connect(
                self.upstream + request.target,
                additional_headers=forward,
                user_agent_header=None,
                open_timeout=self.open_timeout,
                max_size=None,
                compression=None,
            )
        except InvalidStatus as exc:
            return _mirror_refusal(connection, exc.response)
        except (OSError, asyncio.TimeoutError, InvalidHandshake, InvalidURI) as exc:
            reason = (
                exc.strerror
                if isinstance(exc, OSError) and exc.strerror
                else type(exc).__name__
            )
            raise Refusal(
                502,
                "upstream_unreachable",
                f"the upstream service could not be reached ({reason})",
            ) from None
        key = id(connection)
        self._pending[key] = upstream
        # A client whose handshake fails after this never reaches run(): drop its upstream.
        asyncio.get_running_loop().call_later(
            self.open_timeout + 5.0, self._expire, key, upstream
        )
        return None

    def _expire(self, key: int, upstream: ClientConnection) -> None:
        if self._pending.get(key) is upstream:
            del self._pending[key]
            upstream.transport.abort()

    async def run(
        self, connection: ServerConnection, request: StreamRequest, watch: WatchSession
    ) -> None:
        """Relay both ways until one side closes, then close the other the same way."""
        upstream = self._pending.pop(id(connection))
        try:
            await relay(connection, upstream, watch.saw_client, watch.saw_server)
        finally:
            if upstream.state is not State.CLOSED:
                upstream.transport.abort()

    async def close(self) -> None:
        """Drop upstream sockets whose client never got as far as its handler."""
        for upstream in self._pending.values():
            upstream.transport.abort()
        self._pending.clear()


def _mirror_refusal(connection: ServerConnection, upstream: Response) -> Response:
    body = bytes(upstream.body or b"")
    headers = Headers(
        (k, v)
        for k, v in upstream.headers.raw_items()
        if k.lower() in MIRRORED_RESPONSE_HEADERS
    )
    if not body:
        body = (
            json.dumps(
                {
                    "type": "error",
                    "status_code": upstream.status_code,
                    "message": upstream.reason_phrase,
                }
            )
            + "\n"
        ).encode()
        headers["Content-Type"] = "application/json"
    headers["Content-Length"] = str(len(body))
    headers["Connection"] = "close"
    return Response(upstream.status_code, upstream.reason_phrase, headers, body)


async def _pump(
    src: Connection, dst: Connection, observe: Callable[[str | bytes], None]
) -> tuple[Connection, ConnectionClosed]:
    """Forward ``src`` to ``dst`` until one closes; returns that side and how it closed."""
    while True:
        try:
            message = await src.recv()
        except ConnectionClosed as exc:
            return src, exc
        try:
            await dst.send(message)
        except ConnectionClosed as exc:
            return dst, exc
        observe(message)


async def _close_like(target: Connection, how: ConnectionClosed) -> None:
    rcvd = how.rcvd
    if rcvd is None:  # the other side vanished without a close frame: so does this one
        target.transport.abort()
        return
    code = (
        rcvd.code
        if rcvd.code in SENDABLE_CLOSE_CODES or 3000 <= rcvd.code < 5000
        else 1000
    )
    with contextlib.suppress(ConnectionClosed):
        await target.close(code, rcvd.reason)


async def relay(
    client: ServerConnection,
    upstream: ClientConnection,
    on_client: Callable[[str | bytes], None],
    on_upstream: Callable[[str | bytes], None],
) -> None:
    """Both directions at once; the first side to close has its close mirrored to the other."""
    up = asyncio.create_task(_pump(client, upstream, on_client))
    down = asyncio.create_task(_pump(upstream, client, on_upstream))
    done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
    closed, how = next(iter(done)).result()
    await _close_like(upstream if closed is client else client, how)
    for task in (up, down):
        if not task.done():
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 5.0)
