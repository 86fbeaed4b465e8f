"""``voiceconsole serve``: an offline Cartesia for your agent, watched in the console.

Point the agent's Cartesia base URL at ``ws://127.0.0.1:8765``; turns and transcripts come from
the local turn detector and pocketsphinx, speech from espeak-ng. No key, no network.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from voiceconsole.errors import ConfigError
from voiceconsole.serve.offline import DEFAULT_MAX_SESSIONS, OfflineBackend
from voiceconsole.serve.runner import add_common_arguments, run_watch


def build_parser() -> argparse.ArgumentParser:
    """``voiceconsole serve`` arguments."""
    p = argparse.ArgumentParser(
        prog="voiceconsole serve",
        description="Answer Cartesia's websocket endpoints (turns STT, ink-whisper STT, sonic TTS) with the "
        "offline engines, and watch each connection in the console: an offline Cartesia for development and CI.",
        epilog="examples:\n"
        "  voiceconsole serve                                console; agent's base URL ws://127.0.0.1:8765\n"
        "  voiceconsole serve --no-ui --listen 127.0.0.1:0   headless on a free port (printed at start)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(p)
    p.add_argument(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help=f"connections answered at once; more get HTTP 429 (default {DEFAULT_MAX_SESSIONS})",
    )
    return p


def main(argv: Sequence[str]) -> int:
    """Run ``voiceconsole serve``."""
    args = build_parser().parse_args(list(argv))
    if args.max_sessions < 1:
        raise ConfigError("--max-sessions must be at least 1")
    return run_watch(OfflineBackend(max_sessions=args.max_sessions), args)
