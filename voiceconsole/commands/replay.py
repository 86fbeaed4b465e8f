"""``voiceconsole replay DIR``: re-drive the console (or the headless event log) from a recording.

- ``--no-ui``: print the recorded events as JSON lines (or append them to ``--events PATH``) on
  their original timing, ``--speed X`` times faster, or with ``--speed 0`` as fast as possible;
  the output equals the recorded ``events.jsonl`` line for line.
- with the UI: the full console (transcript, timeline, TTS queue, meters, status) plays the
  recording; space pauses, ``.`` steps one event, ``[``/``]`` seek a second, ``<``/``>`` change
  the speed, ``r`` restarts (the console's own keys keep their meaning).
- ``--through ENGINE [options]`` (repeatable): run the recorded mic through other STT engine
  configurations and compare the turn timelines (a table headless, a comparison screen in the UI).

The replay screens (:mod:`voiceconsole.ui.replay`) are imported only when they are shown, so a
headless replay loads no textual.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TextIO

from voiceconsole.commands.compare import compare_runs, print_comparison
from voiceconsole.commands.recordings import open_recording
from voiceconsole.commands.through import THROUGH_HELP, split_through
from voiceconsole.errors import ConfigError
from voiceconsole.events import Event, to_json
from voiceconsole.session.player import Player
from voiceconsole.session.recording import Recording


def build_parser() -> argparse.ArgumentParser:
    """``voiceconsole replay`` arguments."""
    p = argparse.ArgumentParser(
        prog="voiceconsole replay",
        description="Replay a recording made with `voiceconsole --record DIR`: in the console (pause, "
        "step and seek), or headless as JSON lines with the original timing.",
        epilog="examples:\n"
        "  voiceconsole replay rec/                        the console, original timing\n"
        "  voiceconsole replay rec/ --no-ui --speed 0      every event as a JSON line, at once\n"
        "  voiceconsole replay rec/ --through local --end-ms 600 --eager-end-ms 150\n"
        "                                                  compare turn timing with other thresholds\n"
        "replay keys in the console: space pause/play, . step one event, [ ] seek 1 s back/forward,\n"
        "  < > slower/faster, r restart, ? help, q quit (←/→/home/end scroll the timeline as usual)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="the recording directory")
    p.add_argument("--speed", type=float, default=1.0, metavar="X",
                   help="playback speed: 1 = original timing (default), 4 = four times faster, 0 = as fast as possible")
    p.add_argument("--no-ui", action="store_true", help="print the events as JSON lines instead of opening the console")
    p.add_argument("--events", metavar="PATH|-", help="headless: write the events to PATH instead of stdout")
    p.add_argument("--paused", action="store_true", help="console: start paused (step with .)")
    p.add_argument("--theme", metavar="NAME", help="theme of the console or comparison screen (a themes/NAME.toml file, as for voiceconsole)")
    p.add_argument("--through", metavar="ENGINE", help=THROUGH_HELP)
    return p


async def replay_headless(recording: Recording, out: TextIO, speed: float) -> int:
    """Write every event as a JSON line to ``out`` on its recorded timing; returns the count."""
    written = 0

    def deliver(event: Event) -> None:
        nonlocal written
        out.write(to_json(event) + "\n")
        out.flush()
        written += 1

    await Player(recording.events, deliver, speed=speed).run()
    return written


def open_events_output(target: str | None) -> tuple[TextIO, bool]:
    """Where ``--events`` goes: stdout for None or ``-``, else the file opened for appending.

    Returns the stream and whether the caller owns it (must close it)."""
    if target is None or target == "-":
        return sys.stdout, False
    try:
        return open(target, "a", encoding="utf-8"), True  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise ConfigError(f"--events {target}: cannot write ({exc.strerror or exc}); choose a writable path") from None


def main(argv: Sequence[str]) -> int:
    """Entry point of ``voiceconsole replay``."""
    rest, configs = split_through(argv)
    args = build_parser().parse_args(rest)
    if args.speed < 0:
        raise ConfigError(f"--speed {args.speed:g}: give 0 (as fast as possible) or a positive factor")
    if args.events and not args.no_ui:
        raise ConfigError("--events writes the headless replay: add --no-ui")
    recording = open_recording(args.dir)
    if configs:
        timelines, rows = compare_runs(recording, configs)
        if args.no_ui:
            print_comparison(recording, timelines, rows)
            return 0
        from voiceconsole.ui.replay import run_comparison_app

        return run_comparison_app(recording, timelines, rows, theme=args.theme)
    if args.no_ui:
        out, owned = open_events_output(args.events)
        try:
            asyncio.run(replay_headless(recording, out, args.speed))
        finally:
            if owned:
                out.close()
        return 0
    from voiceconsole.ui.replay import run_replay_app

    return run_replay_app(recording, speed=args.speed, paused=args.paused, theme=args.theme)
