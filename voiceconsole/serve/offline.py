"""``serve``: the offline engines answer every endpoint (no key needed, no network used)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Response

from voiceconsole.serve.offline_stt import BURST_S, SttAnswerer
from voiceconsole.serve.offline_tts import TtsAnswerer
from voiceconsole.serve.routes import Refusal, StreamRequest
from voiceconsole.serve.watch import WatchSession

DEFAULT_MAX_SESSIONS = 8
"""Connections answered at once; more get HTTP 429 (``concurrency_limited``)."""


class OfflineBackend:
    """Answers with pocketsphinx, the local turn detector and espeak-ng."""

    mode = "serve"

    def __init__(
        self, *, max_sessions: int = DEFAULT_MAX_SESSIONS, burst_s: float = BURST_S
    ) -> None:
        self.max_sessions = max_sessions
        self.burst_s = burst_s
        self.active = 0
        self._executor = ThreadPoolExecutor(
            max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="serve-stt"
        )

    async def accept(
        self, connection: ServerConnection, request: StreamRequest, headers: Headers
    ) -> Response | None:
        """Refuse a connection over the limit (429), as the service does."""
        if self.active >= self.max_sessions:
            raise Refusal(
                429,
                "concurrency_limited",
                f"{self.max_sessions} connections are open; close one or start serve with a higher --max-sessions",
            )
        return None

    async def run(
        self, connection: ServerConnection, request: StreamRequest, watch: WatchSession
    ) -> None:
        """Answer until the client closes or asks to."""

        async def send(frame: str) -> None:
            await connection.send(frame)
            watch.saw_server(frame)

        async def recv() -> str | bytes:
            message = await connection.recv()
            watch.saw_client(message)
            return message

        self.active += 1
        try:
            if request.kind == "tts":
                tts = TtsAnswerer(request, send)
                await tts.start()
                try:
                    while True:
                        await tts.message(await recv())
                finally:
                    await tts.close()
            stt = SttAnswerer(
                request,
                self._executor,
                send,
                lambda text: watch.post(watch.warn, text),
                burst_s=self.burst_s,
            )
            await stt.start()
            if await stt.run(recv):
                await connection.close(1000, "done")
        finally:
            self.active -= 1

    async def close(self) -> None:
        """Stop the worker threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
