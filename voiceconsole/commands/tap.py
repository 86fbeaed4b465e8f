"""``voiceconsole tap``: watch your own agent talking to Cartesia.

Point the agent's Cartesia base URL at ``ws://127.0.0.1:8765``; every connection is forwarded
to ``--upstream`` (default ``wss://api.cartesia.ai``) with the agent's own key, frame for frame,
and shown in the console as a session.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from voiceconsole.serve.runner import add_common_arguments, run_watch
from voiceconsole.serve.tap import DEFAULT_UPSTREAM, TapBackend


def build_parser() -> argparse.ArgumentParser:
    """``voiceconsole tap`` arguments."""
    p = argparse.ArgumentParser(
        prog="voiceconsole tap",
        description="Forward your agent's Cartesia websockets (turns STT, ink-whisper STT, sonic TTS) "
        "to Cartesia unchanged, with its own key, and watch each connection in the console.",
        epilog="examples:\n"
        "  voiceconsole tap                                  console; agent's base URL ws://127.0.0.1:8765\n"
        "  voiceconsole tap --no-ui --events - --record rec/ headless, events as JSON lines, recordings\n"
        "The key is passed through to the upstream only: never stored, logged or recorded.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(p)
    p.add_argument(
        "--upstream",
        default=DEFAULT_UPSTREAM,
        metavar="URL",
        help=f"where to forward the connections (default {DEFAULT_UPSTREAM})",
    )
    return p


def main(argv: Sequence[str]) -> int:
    """Run ``voiceconsole tap``."""
    args = build_parser().parse_args(list(argv))
    return run_watch(TapBackend(args.upstream), args)
