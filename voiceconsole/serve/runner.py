"""Running ``tap`` or ``serve``: options, the server, and the console or the headless log.

Headless (``--no-ui``) prints one line per connection opened and closed, and with ``--events``
writes every event as a JSON line with its ``session`` number. With the console, each
connection is a session and a picker switches between them (:mod:`voiceconsole.ui.sessions`).
Both print ``listening on ws://HOST:PORT`` first (with ``--listen 127.0.0.1:0`` the port is the
free one picked), and stop on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TextIO

from voiceconsole.serve.hub import WatchHub
from voiceconsole.serve.server import Backend, EndpointServer, parse_listen
from voiceconsole.serve.watch import WatchSession

DEFAULT_LISTEN = "127.0.0.1:8765"


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``tap`` and ``serve``."""
    p.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to serve on (default {DEFAULT_LISTEN}, loopback only; port 0 picks a free one)",
    )
    p.add_argument(
        "--record",
        metavar="DIR",
        help="record each connection to DIR/NNN-KIND as a normal recording (replay and report read it)",
    )
    p.add_argument(
        "--no-ui",
        action="store_true",
        help="run headless: a line per connection, events with --events",
    )
    p.add_argument(
        "--events",
        metavar="PATH|-",
        help="append every event as a JSON line (with its 'session' number) to PATH, or stdout (-)",
    )
    p.add_argument(
        "--theme", metavar="NAME", help="UI theme from themes/ (default dark)"
    )


class ConnectionPrinter:
    """Headless: one line when a connection opens and when it closes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def opened(self, session: WatchSession) -> None:
        """A line for a new connection."""
        print(
            f"session {session.number}: {session.request.path} opened",
            file=self.out,
            flush=True,
        )

    def closed(self, session: WatchSession) -> None:
        """A line for a closed connection."""
        code = session.close_code if session.close_code is not None else "none"
        print(
            f"session {session.number}: {session.request.path} closed ({code})",
            file=self.out,
            flush=True,
        )


class WatchRun:
    """The server and hub of one run; :meth:`serve_until_stopped` runs it."""

    def __init__(self, backend: Backend, args: argparse.Namespace) -> None:
        host, port = parse_listen(args.listen)
        self.hub = WatchHub(backend.mode, record=args.record, events=args.events)
        self.server = EndpointServer(backend, self.hub, host, port)
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        """Stop serving (from a signal, the console or a test)."""
        self._stop.set()

    async def serve_until_stopped(self, out: TextIO | None) -> None:
        """Listen, announce the URL on ``out``, wait for the stop, close every connection.

        Headless (``out`` given) Ctrl-C and SIGTERM stop it; a console has its own quit key."""
        await self.server.start()
        if out is not None:
            print(
                f"listening on {self.server.url} ({self.hub.mode})",
                file=out,
                flush=True,
            )
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, self.request_stop)
        try:
            await self._stop.wait()
        finally:
            await self.server.close()


def run_watch(backend: Backend, args: argparse.Namespace) -> int:
    """Run ``tap`` or ``serve`` headless or in the console; returns the exit code."""
    if args.no_ui:
        return asyncio.run(_headless(backend, args))
    from voiceconsole.ui.sessions import run_watch_console

    return run_watch_console(WatchRun(backend, args), args)


async def _headless(backend: Backend, args: argparse.Namespace) -> int:
    run = WatchRun(backend, args)
    out = sys.stderr if args.events == "-" else sys.stdout
    printer = ConnectionPrinter(out)
    run.hub.on_open.append(printer.opened)
    run.hub.on_close.append(printer.closed)
    await run.serve_until_stopped(out)
    print(f"{len(run.hub.sessions)} connections", file=out, flush=True)
    return 0
