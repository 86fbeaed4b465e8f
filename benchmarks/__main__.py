"""``python -m benchmarks [--quick] [--only NAME,...] [--json PATH] [--markdown PATH]``

Runs every benchmark in its own child process, prints one table (median, p95, max, and the
target beside the figure it applies to) and writes the same as JSON. Benchmarks that need
audio devices start the user-space virtual PulseAudio server (scripts/virtual-audio.sh) when
none is running, and stop it afterwards only if they started it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.common import AUDIO_DIR_DEFAULT, Figure, repo_root

BENCHMARKS: dict[str, str] = {
    "startup": "start-up: `voiceconsole --version` and first paint of the app",
    "bargein": "barge-in on the real playback worker (virtual audio device)",
    "capture": "capture callback to the Cartesia STT websocket send (virtual audio device)",
    "ui_latency": "turn event to painted screen, real app drawing terminal bytes",
    "ui_memory": "RSS after feeding 10,000 turns with levels into the app",
    "cpu": "CPU streaming with live meters, side by side with Pipecat Tail (A B A B), and idle",
    "offline": "offline engine: VAD and transcription real-time factors, end-of-turn delay",
    "resample": "soxr stream vs per-chunk resample_poly: speed and seam error",
    "sweep": "voiceconsole sweep: recordings x grid points per minute, local pool vs serial",
    "edges": "reference VAD speech edges vs labelled human speech, before and after refinement",
    "smart_turn": "Smart Turn v3.2: inference per call; end-of-turn delay and false ends vs the VAD rule",
    "tap": "tap's added latency per message vs direct (side by side), CPU per audio second, serve sessions in real time",
    "llm": "voice-to-voice with the LLM responder, speculation off vs llm vs llm+tts on the same audio (scripted LLM server)",
    "aec": "echo cancellation (WebRTC AEC3 via livekit): ERLE once converged, added latency, CPU per audio second",
}
NEEDS_AUDIO = {"bargein", "capture", "aec"}
CHILD_TIMEOUT_S = 240
"""The parent kills a child still running after this (the child's own watchdog fires first)."""
CHILD_TIMEOUTS_S = {"cpu": 420, "sweep": 420}
"""Longer limits: the CPU comparison launches each tool four times (about 2 minutes in all); the
sweep runs 36 engine runs (about 2 minutes on an idle machine, more when it is shared)."""
WATCHDOG_MARGIN_S = 20
"""A child still running this long before its limit dumps its threads' stacks and exits with
:data:`HUNG_EXIT`."""
HUNG_EXIT = 124


def child_timeout(name: str) -> float:
    """How long the child running benchmark ``name`` may take."""
    return CHILD_TIMEOUTS_S.get(name, CHILD_TIMEOUT_S)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    a = abs(value)
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _target(f: Figure) -> str:
    if f.target is None:
        return "(info)"
    return f"{f.target_stat} {f.target_op} {_fmt(f.target)}"


def _verdict(f: Figure) -> str:
    return {True: "ok", False: "MISS", None: ""}[f.ok]


COLUMNS = ("figure", "unit", "median", "p95", "max", "n", "target", "")


def rows(figures: list[Figure]) -> list[tuple[str, ...]]:
    out = []
    for f in figures:
        name = f.name + (f"  [{f.note}]" if f.note else "")
        stat99 = f" (p99 {_fmt(f.p99)})" if f.target_stat == "p99" else ""
        out.append((name, f.unit, _fmt(f.median), _fmt(f.p95) + stat99, _fmt(f.max), str(f.count), _target(f), _verdict(f)))
    return out


def text_table(figures: list[Figure]) -> str:
    table = [COLUMNS, *rows(figures)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in table]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def markdown_table(figures: list[Figure]) -> str:
    head = "| " + " | ".join(c or "holds" for c in COLUMNS) + " |"
    sep = "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"
    body = ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows(figures)]
    return "\n".join([head, sep, *body])


def machine() -> dict[str, str]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# --- audio server ---------------------------------------------------------------------------------


def _ensure_audio() -> tuple[bool, str | None]:
    """(started_by_us, problem). Uses $XDG_RUNTIME_DIR of the virtual server."""
    script = Path(repo_root()) / "scripts" / "virtual-audio.sh"
    audio_dir = os.environ.get("VC_AUDIO_DIR", AUDIO_DIR_DEFAULT)
    os.environ["XDG_RUNTIME_DIR"] = audio_dir
    status = subprocess.run(["bash", str(script), "status", audio_dir], capture_output=True, text=True)
    if status.returncode == 0:
        return False, None
    start = subprocess.run(["bash", str(script), "start", audio_dir], capture_output=True, text=True)
    if start.returncode != 0:
        return False, (start.stderr or start.stdout).strip().splitlines()[-1]
    return True, None


def _stop_audio() -> None:
    script = Path(repo_root()) / "scripts" / "virtual-audio.sh"
    subprocess.run(["bash", str(script), "stop", os.environ["XDG_RUNTIME_DIR"]], capture_output=True, text=True)


# --- running ------------------------------------------------------------------------------------


def run_child(name: str, quick: bool, out: str) -> int:
    """In the child: import one benchmark, run it, write its figures as JSON to ``out``.

    A watchdog ends a child that hangs: :data:`WATCHDOG_MARGIN_S` before its limit it prints every
    thread's stack to stderr (the parent shows them) and exits with code
    :data:`HUNG_EXIT`. Once the figures are written the child leaves at once, so a thread that
    never ends cannot hold the interpreter's exit (it waits for executor threads).
    """
    import faulthandler
    import importlib

    watchdog_s = child_timeout(name) - WATCHDOG_MARGIN_S
    faulthandler.dump_traceback_later(watchdog_s, exit=False)
    watchdog = threading.Timer(watchdog_s + 1.0, lambda: os._exit(HUNG_EXIT))
    watchdog.daemon = True
    watchdog.start()
    module = importlib.import_module(f"benchmarks.bench_{name}")
    figures = module.run(quick)
    Path(out).write_text(json.dumps([f.as_dict() for f in figures]))
    watchdog.cancel()
    faulthandler.cancel_dump_traceback_later()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_one(name: str, quick: bool, skip_reason: str | None) -> list[Figure]:
    if skip_reason:
        return [Figure(f"{name}: skipped", "", note=skip_reason)]
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"vc-bench-{os.getpid()}-{name}.json"
    cmd = [sys.executable, "-m", "benchmarks", "--child", name, "--child-out", str(out)] + (["--quick"] if quick else [])
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=repo_root(), capture_output=True, text=True, timeout=child_timeout(name))
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        sys.stderr.write(stderr[-8000:])
        return [Figure(f"{name}: failed", "", note=f"timed out after {child_timeout(name):g} s (killed)")]
    took = time.monotonic() - t0
    if proc.returncode == HUNG_EXIT:
        sys.stderr.write(f"--- {name} hung; its threads' stacks:\n{proc.stderr[-12000:]}\n")
        return [Figure(f"{name}: failed", "", note=f"hung: no result after {child_timeout(name) - WATCHDOG_MARGIN_S:g} s (thread stacks printed above the table)")]
    if proc.returncode != 0 or not out.exists():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        sys.stderr.write(proc.stderr[-4000:])
        return [Figure(f"{name}: failed", "", note=f"exit {proc.returncode}: {last}")]
    figures = [Figure.from_dict(d) for d in json.loads(out.read_text())]
    out.unlink()
    print(f"  {name}: {took:.1f} s", file=sys.stderr, flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a short run that proves every benchmark works")
    p.add_argument("--only", metavar="NAME,...", help=f"run only these ({', '.join(BENCHMARKS)})")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="write the results as JSON (default: benchmarks/results.json, for a full run only)")
    p.add_argument("--markdown", default=None, metavar="PATH", help="also write the table as Markdown (e.g. benchmarks/RESULTS.md)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return run_child(args.child, args.quick, args.child_out)
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            p.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    started_audio, audio_problem = False, None
    if NEEDS_AUDIO & set(names):
        started_audio, audio_problem = _ensure_audio()
    t0 = time.monotonic()
    figures: list[Figure] = []
    try:
        for name in names:
            print(f"running {name}: {BENCHMARKS[name]}", file=sys.stderr, flush=True)
            skip = f"no audio server: {audio_problem}" if name in NEEDS_AUDIO and audio_problem else None
            figures.extend(run_one(name, args.quick, skip))
    finally:
        if started_audio:
            _stop_audio()
    total = time.monotonic() - t0
    info = machine()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"voiceconsole benchmarks, {stamp}{' (quick)' if args.quick else ''}: {info['nproc']} cores, "
              f"{info['cpu']}, Python {info['python']}; took {total:.0f} s")
    print(header)
    print(text_table(figures))
    misses = [f.name for f in figures if f.ok is False]
    failed = [f.name for f in figures if f.name.endswith((": failed", ": skipped"))]
    print(f"{sum(f.ok is True for f in figures)} targets hold, {len(misses)} missed, {len(failed)} benchmarks failed or skipped")
    partial = bool(args.only or args.quick)
    if args.json or not partial:
        # A partial run (--only, --quick) leaves the full run's results.json alone unless told where.
        json_path = Path(args.json or Path(repo_root()) / "benchmarks" / "results.json")
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({
            "date": stamp, "quick": args.quick, "seconds": round(total, 1), "machine": info,
            "figures": [f.as_dict() for f in figures],
        }, indent=2) + "\n")
    else:
        print("(a partial run: benchmarks/results.json is left as it is; --json PATH writes these figures)")
    if args.markdown:
        md = [f"# voiceconsole benchmarks", "",
              f"Date: {stamp}{' (quick run)' if args.quick else ''}. Machine: {info['nproc']} cores (nproc), "
              f"{info['cpu']}, Python {info['python']}, {info['platform']}. Run time {total:.0f} s.", "",
              "Produced by `python -m benchmarks --markdown benchmarks/RESULTS.md` (JSON: benchmarks/results.json).", "",
              markdown_table(figures), ""]
        Path(args.markdown).write_text("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
