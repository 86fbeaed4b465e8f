"""A sweep's results as a table, a curve, JSON and CSV; each says which ground truth it used.

The curve is drawn with **plotext**: it renders plain text (so the same drawing goes to the
terminal and, as a Textual widget's content, into ``sweep --ui``), is pure Python with no
dependencies of its own, and draws without colour when asked, so the console's theme colours
the widget. (textual-plotext wraps plotext in a widget; it adds nothing the UI needs here.)
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from voiceconsole.errors import ConfigError
from voiceconsole.sweep.results import PointResult, SweepResult

PLOTEXT_INSTALL = "pip install 'plotext>=6.1'"

TABLE_HEADER = (
    "#",
    "settings",
    "p50 ms",
    "p95 ms",
    "cut-off rate",
    "cut-offs",
    "turns",
    "eager resumes",
    "pareto",
)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def table_rows(result: SweepResult) -> list[list[str]]:
    """One row per grid point, as :data:`TABLE_HEADER`."""
    return [
        [
            str(p.index),
            p.point.label(),
            _ms(p.p50_ms),
            _ms(p.p95_ms),
            _rate(p.cutoff_rate),
            str(p.cutoffs),
            str(p.turns),
            str(p.eager_resumes),
            "*" if p.pareto else "",
        ]
        for p in result.points
    ]


def headline(result: SweepResult) -> list[str]:
    """eot-bench's figures: latency at 5 %/10 % cut-offs, cut-offs at 300/600 ms."""
    lat = ", ".join(
        f"{k} cut-offs: {_ms(v)} ms" if v is not None else f"{k} cut-offs: not reached"
        for k, v in result.latency_at().items()
    )
    cut = ", ".join(
        f"at {k[:-2]} ms: {_rate(v)}"
        if v is not None
        else f"at {k[:-2]} ms: none that fast"
        for k, v in result.cutoffs_at().items()
    )
    return [
        f"latency (p50 end-of-turn delay) at {lat}",
        f"cut-off rate {cut}",
        "(read off the Pareto frontier by linear interpolation between neighbouring frontier points)",
    ]


def curve(
    result: SweepResult,
    width: int = 78,
    height: int = 18,
    selected: PointResult | None = None,
) -> str:
    """Cut-off rate against p50 delay: every grid point, the frontier as a line (plain text)."""
    try:
        import plotext
    except ImportError:
        raise ConfigError(
            f"drawing the curve needs plotext: {PLOTEXT_INSTALL}"
        ) from None
    fig = plotext.figure
    fig.clear()
    fig.theme("colorless")
    fig.plot_size(max(width, 30), max(height, 8))
    scored = [
        p for p in result.points if p.p50_ms is not None and p.cutoff_rate is not None
    ]
    if scored:
        xs = [float(p.p50_ms) for p in scored]  # type: ignore[arg-type]
        fig.draw(
            fig.signal(xs, [100.0 * p.cutoff_rate for p in scored], marker="•").label(
                "grid point"
            )
        )  # type: ignore[operator]
    if result.frontier:
        xs = [float(p.p50_ms) for p in result.frontier]  # type: ignore[arg-type]
        ys = [100.0 * p.cutoff_rate for p in result.frontier]  # type: ignore[operator]
        fig.draw(fig.signal(xs, ys, marker="braille").lines().label("Pareto frontier"))
    if (
        selected is not None
        and selected.p50_ms is not None
        and selected.cutoff_rate is not None
    ):
        fig.draw(
            fig.signal(
                [selected.p50_ms], [100.0 * selected.cutoff_rate], marker="X"
            ).label(f"#{selected.index}")
        )
    if scored:
        # Top right, in data units: a frontier falls from top left to bottom right.
        top = max(100.0 * p.cutoff_rate for p in scored)  # type: ignore[operator]
        fig.legend(
            x=max(p.p50_ms for p in scored), y=top, ha="right", va="top", relative=True
        )  # type: ignore[type-var]
    truth = "PROXY ground truth" if result.truth_short.startswith("proxy") else "labels"
    fig.title(f"cut-offs vs latency: {result.engine}, {truth}")
    fig.label("p50 end-of-turn delay (ms)", "x")
    fig.label("cut-off %", "y")
    return str(fig.build().string(colorless=True))


def to_json(result: SweepResult) -> str:
    """The whole result as JSON text."""
    return json.dumps(result.as_dict(), indent=2, sort_keys=False) + "\n"


CSV_FIXED = (
    "index",
    "ground_truth",
    "delay_p50_ms",
    "delay_p95_ms",
    "cutoff_rate",
    "cutoffs",
    "turns",
    "eager_resumes",
    "recordings",
    "failed",
    "pareto",
    "worst_recording",
)


def to_csv(result: SweepResult) -> str:
    """One row per grid point: its settings as columns, then the scores (``ground_truth`` on every row)."""
    keys: list[str] = []
    for p in result.points:
        keys.extend(k for k in p.point.as_dict() if k not in keys)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*keys, *CSV_FIXED])
    for p in result.points:
        d: dict[str, Any] = p.as_dict()
        row = [p.point.as_dict().get(k, "") for k in keys]
        row += [
            p.index,
            result.truth_short,
            d["delay_p50_ms"],
            d["delay_p95_ms"],
            d["cutoff_rate"],
            p.cutoffs,
            p.turns,
            p.eager_resumes,
            p.recordings,
            p.failed,
            int(p.pareto),
            d["worst_recording"] or "",
        ]
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def write_output(target: str, text: str, what: str) -> None:
    """Write ``text`` to a file (``-``: stdout); ConfigError if it cannot."""
    if target == "-":
        print(text, end="")
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"--{what} {target}: cannot write ({exc.strerror or exc}); choose a writable path"
        ) from None
