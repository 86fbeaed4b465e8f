"""``voiceconsole demo``: the console on a bundled sample conversation, offline engines only.

The microphone is ``voiceconsole/data/demo_turns.wav`` (three spoken turns, the second with a
short pause that makes the engine resume after an eager end); the bot answers from
``demo_replies.txt``; the second reply is long enough that the third turn barges in on it.
After the recording the mic streams silence, so the session stays open: type lines with ``s``,
interrupt with ``i``, quit with ``q``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voiceconsole.config import Settings

DEMO_WAV = "demo_turns.wav"
DEMO_REPLIES = "demo_replies.txt"


def data_path(name: str) -> Path:
    """Path of a file of ``voiceconsole/data``."""
    return Path(str(resources.files("voiceconsole").joinpath("data", name)))


def build_parser() -> argparse.ArgumentParser:
    """``voiceconsole demo`` arguments."""
    p = argparse.ArgumentParser(
        prog="voiceconsole demo",
        description="Open the console on a bundled sample conversation (offline engines, no sound card needed).",
    )
    p.add_argument("--theme", metavar="NAME", help="UI theme from themes/ (default dark)")
    p.add_argument("--speaker", metavar="OUT.wav|null|device",
                   help="where replies go; default: the output device when there is one, else null")
    return p


def demo_settings(argv: Sequence[str] = ()) -> Settings:
    """The settings the demo runs with (config is imported here: ``--help`` stays light)."""
    from voiceconsole.config import Settings

    args = build_parser().parse_args(list(argv))
    settings = Settings(
        mic=str(data_path(DEMO_WAV)),
        stt="local",
        tts="local",
        responder=f"script:{data_path(DEMO_REPLIES)}",
    )
    if args.theme:
        settings.theme = args.theme
    if args.speaker:
        settings.speaker = args.speaker
    return settings


def main(argv: Sequence[str] = ()) -> int:
    """Entry point of ``voiceconsole demo``."""
    settings = demo_settings(argv)  # first: --help and bad arguments need no UI
    from voiceconsole.commands.console import run_console  # lazily: the console loads textual

    return run_console(settings)
