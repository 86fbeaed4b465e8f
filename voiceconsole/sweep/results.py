"""Scores per grid point, the Pareto frontier, and eot-bench's fixed-rate figures.

Per grid point, over every recording that ran: turn ends, cut-offs and the cut-off rate
(cut-offs / turn ends: the share of the engine's turn ends that cut the user off), eager
resumes, and the end-of-turn delay p50/p95 over the turn ends that were right (percentiles
with linear interpolation between closest ranks).

The frontier is the grid points no other point beats on both p50 delay and cut-off rate. As
LiveKit's eot-bench reports a detector, "latency at X % cut-offs" and "cut-offs at Y ms" are
read off the frontier as a curve, by **linear interpolation between neighbouring frontier
points** in (p50 delay, cut-off rate). Latency at X %: the delay where the curve reaches X %
(the fastest frontier point if it is already at or below X %; none if no point gets that low).
Cut-offs at Y ms: the curve's rate at Y ms (the slowest point's rate beyond the frontier; none
when even the fastest point is slower than Y).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from voiceconsole.session.summary import percentile
from voiceconsole.sweep.grid import GridPoint
from voiceconsole.sweep.truth import RunScore

CUTOFF_RATES = (0.05, 0.10)
"""Latency is reported at these cut-off rates."""
LATENCIES_MS = (300.0, 600.0)
"""Cut-off rates are reported at these latencies."""


@dataclass
class PointResult:
    """The scores of one grid point over the corpus."""

    index: int
    point: GridPoint
    recordings: int = 0
    turns: int = 0
    cutoffs: int = 0
    eager_resumes: int = 0
    delays_ms: list[float] = field(default_factory=list)
    per_recording: dict[str, RunScore] = field(default_factory=dict)
    failed: int = 0
    pareto: bool = False

    def add(self, recording: str, run: RunScore) -> None:
        """Count one recording's run."""
        self.per_recording[recording] = run
        self.recordings += 1
        self.turns += run.turns
        self.cutoffs += run.cutoffs
        self.eager_resumes += run.eager_resumes
        self.delays_ms.extend(run.delays_ms)

    @property
    def cutoff_rate(self) -> float | None:
        """Cut-offs per turn end (``None`` with no turn ends)."""
        return self.cutoffs / self.turns if self.turns else None

    @property
    def p50_ms(self) -> float | None:
        """Median end-of-turn delay of the right turn ends."""
        return round(percentile(self.delays_ms, 50), 3) if self.delays_ms else None

    @property
    def p95_ms(self) -> float | None:
        """95th percentile end-of-turn delay of the right turn ends."""
        return round(percentile(self.delays_ms, 95), 3) if self.delays_ms else None

    def worst_recording(self) -> str | None:
        """The recording with the most cut-offs at this point (the first by name on a tie)."""
        worst = sorted(
            self.per_recording.items(), key=lambda kv: (-kv[1].cutoffs, kv[0])
        )
        return worst[0][0] if worst and worst[0][1].cutoffs > 0 else None

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "index": self.index,
            "settings": self.point.as_dict(),
            "label": self.point.label(),
            "recordings": self.recordings,
            "failed": self.failed,
            "turns": self.turns,
            "cutoffs": self.cutoffs,
            "cutoff_rate": None
            if self.cutoff_rate is None
            else round(self.cutoff_rate, 6),
            "eager_resumes": self.eager_resumes,
            "delay_p50_ms": self.p50_ms,
            "delay_p95_ms": self.p95_ms,
            "pareto": self.pareto,
            "worst_recording": self.worst_recording(),
        }


def pareto_frontier(points: list[PointResult]) -> list[PointResult]:
    """Points no other point beats on both p50 delay and cut-off rate, by delay; marks them."""
    scored = [p for p in points if p.p50_ms is not None and p.cutoff_rate is not None]
    frontier = []
    for p in scored:
        assert p.p50_ms is not None and p.cutoff_rate is not None
        dominated = any(
            q is not p
            and q.p50_ms <= p.p50_ms  # type: ignore[operator]
            and q.cutoff_rate <= p.cutoff_rate  # type: ignore[operator]
            and (q.p50_ms < p.p50_ms or q.cutoff_rate < p.cutoff_rate)  # type: ignore[operator]
            for q in scored
        )
        if not dominated:
            frontier.append(p)
    frontier.sort(key=lambda p: (p.p50_ms, p.cutoff_rate, p.index))
    # Equal points are all on the frontier; the curve needs each (delay, rate) once.
    unique: list[PointResult] = []
    for p in frontier:
        p.pareto = True
        if not unique or (unique[-1].p50_ms, unique[-1].cutoff_rate) != (
            p.p50_ms,
            p.cutoff_rate,
        ):
            unique.append(p)
    return unique


def _curve(frontier: list[PointResult]) -> list[tuple[float, float]]:
    return [(float(p.p50_ms), float(p.cutoff_rate)) for p in frontier]  # type: ignore[arg-type]


def latency_at_rate(frontier: list[PointResult], rate: float) -> float | None:
    """p50 delay (ms) where the frontier reaches ``rate`` cut-offs (see the module docstring)."""
    curve = _curve(frontier)
    if not curve:
        return None
    if curve[0][1] <= rate:
        return round(curve[0][0], 3)
    for (d1, c1), (d2, c2) in itertools.pairwise(curve):
        if c1 > rate >= c2:
            return round(d1 + (d2 - d1) * (c1 - rate) / (c1 - c2), 3)
    return None


def rate_at_latency(frontier: list[PointResult], latency_ms: float) -> float | None:
    """Cut-off rate of the frontier at ``latency_ms`` p50 delay (see the module docstring)."""
    curve = _curve(frontier)
    if not curve or latency_ms < curve[0][0]:
        return None
    for (d1, c1), (d2, c2) in itertools.pairwise(curve):
        if d1 <= latency_ms <= d2:
            return (
                round(c1 + (c2 - c1) * (latency_ms - d1) / (d2 - d1), 6)
                if d2 > d1
                else round(c2, 6)
            )
    return round(curve[-1][1], 6)


@dataclass
class SweepResult:
    """Everything a sweep found."""

    engine: str
    truth: str
    """:meth:`~voiceconsole.sweep.truth.GroundTruth.describe`."""
    truth_short: str
    points: list[PointResult]
    frontier: list[PointResult]
    skipped: list[str]
    """One line per corpus entry or run left out, and why."""
    recordings: list[str]
    notes: list[str] = field(default_factory=list)
    """Grid points left out (invalid settings), one line each."""

    def latency_at(self) -> dict[str, float | None]:
        """``{"5%": ms, "10%": ms}``."""
        return {
            f"{r * 100:g}%": latency_at_rate(self.frontier, r) for r in CUTOFF_RATES
        }

    def cutoffs_at(self) -> dict[str, float | None]:
        """``{"300ms": rate, "600ms": rate}``."""
        return {f"{ms:g}ms": rate_at_latency(self.frontier, ms) for ms in LATENCIES_MS}

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "engine": self.engine,
            "ground_truth": self.truth,
            "proxy": self.truth_short.startswith("proxy"),
            "recordings": self.recordings,
            "points": [p.as_dict() for p in self.points],
            "frontier": [p.index for p in self.frontier],
            "latency_at_cutoff_rate_ms": self.latency_at(),
            "cutoff_rate_at_latency": self.cutoffs_at(),
            "interpolation": "linear between neighbouring Pareto points in (p50 end-of-turn delay, cut-off rate)",
            "per_recording": [
                {
                    "point": p.index,
                    "recording": name,
                    "turns": s.turns,
                    "cutoffs": s.cutoffs,
                    "eager_resumes": s.eager_resumes,
                    "delays_ms": list(s.delays_ms),
                }
                for p in self.points
                for name, s in sorted(p.per_recording.items())
            ],
            "skipped": self.skipped,
            "notes": self.notes,
        }
