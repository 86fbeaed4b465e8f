"""``voiceconsole sweep CORPUS... --grid SPEC``: tune turn detection on a corpus.

The work is in :mod:`voiceconsole.sweep`; this module parses the command line, wires the
cache, backend and progress bar, and prints or writes the results (``--ui`` opens them in
:mod:`voiceconsole.ui.sweep`).
"""

from __future__ import annotations

import argparse
import functools
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from voiceconsole.commands.tables import text_table
from voiceconsole.errors import ConfigError
from voiceconsole.session.compare import THROUGH_ENGINES
from voiceconsole.sweep.grid import GRID_KEYS, parse_grid
from voiceconsole.sweep.runner import run_settings
from voiceconsole.sweep.truth import DEFAULT_RESUME_MS

if TYPE_CHECKING:
    from voiceconsole.session.recording import Recording
    from voiceconsole.sweep.corpus import Corpus, CorpusItem
    from voiceconsole.sweep.grid import GridPoint
    from voiceconsole.sweep.results import SweepResult

_GRID_KEYS_TEXT = textwrap.fill(
    "grid keys: " + ", ".join(GRID_KEYS) + ".", width=94, break_on_hyphens=False
)

EPILOG = f"""\
examples:
  voiceconsole sweep calls/ --grid 'end-ms=300:1200:100,eager-end-ms=150,250'
  voiceconsole sweep calls/ --grid end-ms=400,800 --labels labels.json --json out.json --csv out.csv
  voiceconsole sweep /shared/calls --grid end-ms=300:1200:50 --ray auto      on a Ray cluster
  voiceconsole sweep calls/ --grid end-ms=300:1200:100 --ui                 curve and table in the console

{_GRID_KEYS_TEXT}
A range START:STOP:STEP includes STOP; a value after a comma belongs to the key before it.
Every combination is a grid point; one whose settings are invalid (eager end not below end)
is skipped with a note.

CORPUS: recording directories (voiceconsole --record DIR), folders of them, or WAV files (their
audio is the mic). An entry that is none of these, or a damaged WAV, is reported on one line
and skipped. A recording's name (directory name, or WAV name without .wav) keys the labels.

ground truth:
  --labels FILE   true turns per recording, exact cut-offs (a turn.end before the true end).
                  JSON: {{"recordings": {{"call-1": [[0.8, 4.35], [6.1, 9.0]]}}}}
                  CSV:  recording,start_s,end_s   then one row per turn (seconds of mic audio)
  (no --labels)   PROXY: a turn.end after which the speaker resumes within --resume-ms
                  (default {DEFAULT_RESUME_MS}) by the reference VAD is a cut-off; every output says so.

results per grid point: end-of-turn delay p50/p95 (of the right turn ends), cut-off rate
(cut-offs / turn ends), eager resumes, turns; the Pareto frontier; latency at 5 %/10 %
cut-offs and cut-off rate at 300/600 ms, read off the frontier by linear interpolation.
The curve is drawn with plotext.

engines: local runs on virtual time, as fast as the CPU allows. cartesia-turns and
cartesia-whisper stream every recording to Cartesia at REAL TIME: a sweep takes the corpus's
audio length times the grid points divided by the workers, and every second is billed to your
CARTESIA_API_KEY account. Try a small grid first.

Finished (recording, grid point) runs are cached (--cache, default ~/.cache/voiceconsole/sweep),
keyed by the audio's content hash, the settings and the engine version: rerun a stopped sweep
and it goes on where it stopped.
"""


def build_parser() -> argparse.ArgumentParser:
    """``voiceconsole sweep`` arguments."""
    p = argparse.ArgumentParser(
        prog="voiceconsole sweep",
        description="Tune turn detection on a corpus: run every recording's mic audio through an STT "
        "engine at every grid point of turn settings, and report cut-offs against latency.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "corpus",
        nargs="+",
        metavar="CORPUS",
        help="recording directories, folders of them, or WAV files",
    )
    p.add_argument(
        "--stt",
        choices=THROUGH_ENGINES,
        default="local",
        help="STT engine (default local; cartesia-* run at real time and cost money: see below)",
    )
    p.add_argument(
        "--grid",
        required=True,
        metavar="SPEC",
        help="settings to sweep, e.g. 'end-ms=300:1200:100,eager-end-ms=150,250'",
    )
    p.add_argument(
        "--labels",
        metavar="FILE",
        help="true turn ends per recording (JSON or CSV, see below); default: the proxy",
    )
    p.add_argument(
        "--resume-ms",
        type=int,
        default=DEFAULT_RESUME_MS,
        metavar="MS",
        help=f"proxy: a resume this soon after turn.end is a cut-off (default {DEFAULT_RESUME_MS})",
    )
    p.add_argument("--json", metavar="FILE|-", help="write every result as JSON")
    p.add_argument("--csv", metavar="FILE|-", help="write one CSV row per grid point")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local processes (default: one per core; 1 = in this process)",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run on Ray: no ADDRESS starts a local instance; else a cluster (auto, ray://HOST:10001). Needs: pip install 'voiceconsole[ray]'",
    )
    p.add_argument(
        "--ship",
        action="store_true",
        help="with --ray: send each recording's audio with its tasks instead of reading a shared path",
    )
    p.add_argument(
        "--cache",
        metavar="DIR",
        help="cache of finished runs (default ~/.cache/voiceconsole/sweep)",
    )
    p.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the cache"
    )
    p.add_argument(
        "--ui",
        action="store_true",
        help="show the curve and table in the console (o opens the worst recording)",
    )
    p.add_argument(
        "--theme", metavar="NAME", help="theme of --ui (a themes/NAME.toml file)"
    )
    return p


def main(argv: Sequence[str]) -> int:
    """Entry point of ``voiceconsole sweep``."""
    from pathlib import Path

    from voiceconsole.sweep import backends
    from voiceconsole.sweep.cache import ResultCache, default_cache_dir
    from voiceconsole.sweep.corpus import load_corpus
    from voiceconsole.sweep.progress import Progress
    from voiceconsole.sweep.report import (
        TABLE_HEADER,
        curve,
        headline,
        table_rows,
        to_csv,
        to_json,
        write_output,
    )
    from voiceconsole.sweep.run import collect, execute, plan_sweep
    from voiceconsole.sweep.truth import GroundTruth, load_labels

    args = build_parser().parse_args(argv)
    points = parse_grid(args.grid)
    if args.resume_ms <= 0:
        raise ConfigError(
            f"--resume-ms {args.resume_ms}: give a positive number of milliseconds"
        )
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: give 1 or more")
    if args.ship and args.ray is None:
        raise ConfigError("--ship sends audio to Ray workers: add --ray")
    truth = (
        load_labels(args.labels)
        if args.labels
        else GroundTruth(resume_ms=args.resume_ms)
    )
    if args.ray is not None:
        backends.ray_available()
    corpus = load_corpus(args.corpus)
    for line in corpus.skipped:
        print(f"voiceconsole: skipped: {line}", file=sys.stderr)
    if not corpus.items:
        raise ConfigError(
            "the corpus holds no usable recording; give recording directories, folders of them or WAV files"
        )
    cache = (
        None
        if args.no_cache
        else ResultCache(Path(args.cache) if args.cache else default_cache_dir())
    )
    plan = plan_sweep(corpus, points, args.stt, cache, ship=args.ship)
    for note in plan.notes:
        print(f"voiceconsole: note: {note}", file=sys.stderr)
    if args.ray is not None:
        address = None if args.ray == "local" else args.ray
        backend = functools.partial(
            backends.run_ray, address=address, workers=args.workers
        )
    else:
        backend = functools.partial(backends.run_pool, workers=args.workers)
    progress = Progress(plan.total, plan.total - len(plan.tasks))
    try:
        execute(plan, backend, cache, progress)
    finally:
        progress.close()
    result = collect(plan, truth)
    for line in result.skipped[len(corpus.skipped) :]:
        print(f"voiceconsole: skipped: {line}", file=sys.stderr)
    if not any(p.recordings for p in result.points):
        raise ConfigError("no run finished; see the lines above for why")
    if args.json:
        write_output(args.json, to_json(result), "json")
    if args.csv:
        write_output(args.csv, to_csv(result), "csv")
    if args.ui:
        return show_ui(result, corpus, args.stt, args.theme)
    if "-" not in (args.json, args.csv):
        print(
            f"sweep of {len(result.recordings)} recordings x {len(points)} grid points through {args.stt}"
        )
        print(f"ground truth: {result.truth}")
        print("\n".join(text_table(TABLE_HEADER, table_rows(result), left=(1,))))
        print("\n".join(headline(result)))
        print(curve(result))
    return 0


def through_recording(item: CorpusItem, engine: str, point: GridPoint) -> Recording:
    """``item`` run through ``engine`` at ``point``, as a recording the replay console plays."""
    import asyncio

    from voiceconsole.session.compare import ThroughConfig, run_through
    from voiceconsole.session.recording import Recording
    from voiceconsole.sweep.runner import item_recording

    timeline = asyncio.run(
        run_through(item_recording(item), ThroughConfig(engine, point.overrides()))
    )
    turn = run_settings(item, engine, point).turn_settings().as_dict()
    meta = {
        **item.meta,
        "engines": {**item.meta.get("engines", {}), "stt": engine},
        "turn_settings": turn,
    }
    return Recording(
        item.path if item.is_recording else item.path.parent, timeline.events, meta
    )


def show_ui(result: SweepResult, corpus: Corpus, engine: str, theme: str | None) -> int:
    """The sweep screen; its ``o`` key opens a recording in the replay console through the
    selected point's settings, and closing the replay comes back to the sweep screen."""
    from voiceconsole.ui.replay import run_replay_app
    from voiceconsole.ui.sweep import run_sweep_app

    items = corpus.by_name()
    selected = 0
    while True:
        choice = run_sweep_app(result, selected=selected, theme=theme)
        if choice is None:
            return 0
        selected = choice.point
        point = result.points[choice.point].point
        print(
            f"voiceconsole: running {choice.recording} through {engine} {point.label()}...",
            file=sys.stderr,
        )
        run_replay_app(
            through_recording(items[choice.recording], engine, point), theme=theme
        )
