"""``voiceconsole sweep`` throughput: (recording, grid point) runs per minute, the local process
pool against the same runs one after another in one process, side by side in one run.

The corpus is the tests' (tests/test_sweep.py ``build_corpus``: three recordings of the
bundled speech clips, 25 s of audio in all) on the offline engine, on virtual time; no cache.
Both backends do the same runs (:func:`voiceconsole.sweep.run.plan_sweep`), each run loading
its engine as a sweep does. The pool's figure includes starting its worker processes. The
target (at least 1.8x with 2 cores) holds only on an otherwise idle machine: the load average
at the start is in the note.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import Figure, single

if TYPE_CHECKING:
    from voiceconsole.sweep.run import Backend, SweepPlan


def _plan(corpus: Path, grid: str) -> SweepPlan:
    from voiceconsole.sweep.corpus import load_corpus
    from voiceconsole.sweep.grid import parse_grid
    from voiceconsole.sweep.run import plan_sweep

    return plan_sweep(load_corpus([str(corpus)]), parse_grid(grid), "local", None)


def _timed(
    corpus: Path, grid: str, backend: Backend
) -> tuple[float, int, dict[str, Any]]:
    from voiceconsole.sweep.run import execute

    plan = _plan(corpus, grid)
    start = time.perf_counter()
    execute(plan, backend, None)
    elapsed = time.perf_counter() - start
    if plan.errors:
        raise RuntimeError(f"sweep runs failed: {sorted(set(plan.errors.values()))}")
    return elapsed, len(plan.tasks), plan.facts


def run(quick: bool) -> list[Figure]:
    import functools
    import statistics

    from tests.test_sweep import build_corpus
    from voiceconsole.sweep.backends import default_workers, run_pool, run_serial

    # 3 recordings x 3 points = 9 runs a phase; the pool's start (a second or two of imports per
    # worker) is part of each of its phases, as it is of a sweep.
    grid = "end-ms=300,500,700,eager-end-ms=150"
    workers = default_workers()
    pool = functools.partial(run_pool, workers=workers)
    # Serial, pool, pool, serial: load that drifts during the run weighs on both alike.
    order = (
        [("serial", run_serial), ("pool", pool)]
        if quick
        else [
            ("serial", run_serial),
            ("pool", pool),
            ("pool", pool),
            ("serial", run_serial),
        ]
    )
    load = os.getloadavg()
    per_min: dict[str, list[float]] = {"serial": [], "pool": []}
    facts: dict[str, dict[str, Any]] = {}
    runs = 0
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        corpus = Path(tmp) / "corpus"
        build_corpus(corpus)
        for name, backend in order:
            elapsed, runs, facts[name] = _timed(corpus, grid, backend)
            per_min[name].append(runs * 60.0 / elapsed)
    serial, pooled = (
        statistics.median(per_min["serial"]),
        statistics.median(per_min["pool"]),
    )
    rounds = ", ".join(f"{n} {v:.1f}" for n in ("serial", "pool") for v in per_min[n])
    note = (
        f"{runs} runs a phase (3 recordings x 3 grid points), {workers} workers, phases {rounds} runs/min; "
        f"load average at start {load[0]:.2f}/{load[1]:.2f}; identical results: {facts['serial'] == facts['pool']}"
    )
    return [
        single(
            "sweep: serial, runs per minute",
            "runs/min",
            serial,
            note="one process, one run after another",
        ),
        single("sweep: local pool, runs per minute", "runs/min", pooled, note=note),
        single(
            "sweep: pool speed-up over serial",
            "x",
            pooled / serial,
            target=1.8,
            target_op=">=",
            note=f"median of each; target with 2 cores, {workers} usable here",
        ),
    ]
