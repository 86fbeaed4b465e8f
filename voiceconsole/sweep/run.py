"""A whole sweep: plan the (recording, grid point) runs, take what the cache has, run the rest
on a backend, and score everything against the ground truth.

Runs with the same task key (the same audio and settings, e.g. two copies of one WAV) are done
once. A run that fails is reported once per recording and message, and leaves that recording
out of that grid point; the rest of the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voiceconsole.errors import ConfigError, UserError
from voiceconsole.sweep.cache import ResultCache
from voiceconsole.sweep.corpus import Corpus
from voiceconsole.sweep.grid import GridPoint
from voiceconsole.sweep.progress import Progress
from voiceconsole.sweep.results import PointResult, SweepResult, pareto_frontier
from voiceconsole.sweep.runner import Task, engine_version, run_settings, task_key
from voiceconsole.sweep.truth import GroundTruth, score

Pair = tuple[str, int]
"""(recording name, grid point index)."""


@dataclass
class SweepPlan:
    """What a sweep will run and what it already has."""

    corpus: Corpus
    points: list[GridPoint]
    engine: str
    keys: dict[Pair, str] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Facts by task key: from the cache, then from the runs."""
    errors: dict[str, str] = field(default_factory=dict)
    """One-line error by task key, for runs that failed."""
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Distinct runs in the sweep."""
        return len(set(self.keys.values()))


def plan_sweep(
    corpus: Corpus,
    points: list[GridPoint],
    engine: str,
    cache: ResultCache | None,
    ship: bool = False,
) -> SweepPlan:
    """Resolve every run's settings and cache key; runs the cache holds are not planned again."""
    plan = SweepPlan(corpus, points, engine)
    version = engine_version(engine)
    bad_points: dict[int, str] = {}
    planned: set[str] = set()
    for item in corpus.items:
        audio = item.mic.read_bytes() if ship else None
        for index, point in enumerate(points):
            try:
                settings = run_settings(item, engine, point)
            except UserError as exc:
                bad_points.setdefault(
                    index, f"grid point {point.label()}: {exc}; skipped"
                )
                continue
            key = task_key(item, settings, version)
            plan.keys[(item.name, index)] = key
            if key in plan.facts or key in planned:
                continue
            cached = cache.get(key) if cache is not None else None
            if cached is not None:
                plan.facts[key] = cached
            else:
                planned.add(key)
                plan.tasks.append(
                    Task(
                        key,
                        item.name,
                        index,
                        str(item.path),
                        str(item.mic),
                        engine,
                        point.overrides(),
                        dict(item.meta),
                        audio,
                    )
                )
    plan.notes.extend(bad_points[i] for i in sorted(bad_points))
    if not plan.keys:
        raise ConfigError(
            "no grid point gives valid turn settings; check --grid (e.g. eager-end-ms below end-ms)"
        )
    return plan


Backend = Callable[[list[Task], Callable[[Task, "dict[str, Any] | str"], None]], None]


def execute(
    plan: SweepPlan,
    backend: Backend,
    cache: ResultCache | None,
    progress: Progress | None = None,
) -> None:
    """Run the planned tasks; each result is cached as soon as it arrives."""

    def on_result(task: Task, result: dict[str, Any] | str) -> None:
        if isinstance(result, str):
            plan.errors[task.key] = result
        else:
            plan.facts[task.key] = result
            if cache is not None:
                cache.put(task.key, result)
        if progress is not None:
            progress.advance()

    backend(plan.tasks, on_result)


def collect(plan: SweepPlan, truth: GroundTruth) -> SweepResult:
    """Score every run and sum each grid point; the frontier marked."""
    results = [PointResult(i, p) for i, p in enumerate(plan.points)]
    skipped = list(plan.corpus.skipped)
    reported: set[tuple[str, str]] = set()
    unlabeled: set[str] = set()
    for (name, index), key in plan.keys.items():
        if key in plan.errors:
            results[index].failed += 1
            if (name, plan.errors[key]) not in reported:
                reported.add((name, plan.errors[key]))
                skipped.append(f"{name}: run failed ({plan.errors[key]}); skipped")
            continue
        facts = plan.facts.get(key)
        if facts is None:
            continue
        run = score(truth, name, facts)
        if run is None:
            if name not in unlabeled:
                unlabeled.add(name)
                skipped.append(
                    f"{name}: no turns for it in {truth.labels_path}; skipped (label it, or leave out --labels)"
                )
            continue
        results[index].add(name, run)
    frontier = pareto_frontier(results)
    names = [item.name for item in plan.corpus.items if item.name not in unlabeled]
    return SweepResult(
        plan.engine,
        truth.describe(),
        truth.short(),
        results,
        frontier,
        skipped,
        names,
        list(plan.notes),
    )
