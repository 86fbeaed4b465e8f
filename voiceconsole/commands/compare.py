"""The command side of comparing engine configurations (``replay``/``report --through``).

The runs and the turn alignment are in :mod:`voiceconsole.session.compare`; this module turns
``--through`` arguments into those runs and prints the side-by-side table.
"""

from __future__ import annotations

from collections.abc import Sequence

from voiceconsole.commands.tables import metric_cell, text_table
from voiceconsole.session.compare import ComparisonRow, ThroughConfig, Timeline, align_turns, run_all_through, timeline_letter
from voiceconsole.session.metrics import METRICS, TurnMetrics, format_ms
from voiceconsole.session.recording import Recording


def compare_runs(recording: Recording, configs: Sequence[ThroughConfig]) -> tuple[list[Timeline], list[ComparisonRow]]:
    """The recorded timeline and one per ``--through`` configuration, with their turns aligned."""
    timelines = run_all_through(recording, configs)
    return timelines, align_turns(timelines)


def _side(turns: list[TurnMetrics]) -> tuple[str, str, str, str]:
    if not turns:
        return "—", "—", "—", "—"
    numbers = "+".join(str(t.turn) for t in turns)
    last = turns[-1]
    return (
        numbers,
        format_ms(last.eager_end_delay),
        format_ms(last.end_of_turn_delay),
        str(sum(t.resumes for t in turns)),
    )


def format_comparison(timelines: Sequence[Timeline], rows: Sequence[ComparisonRow]) -> list[str]:
    """Both (or all) timelines side by side, a row per group of overlapping turns, and the summaries."""
    lines = [f"{timeline_letter(i)} = {t.label}" for i, t in enumerate(timelines)]
    lines.append("")
    header = ["audio s"]
    for i in range(len(timelines)):
        letter = timeline_letter(i)
        header += [f"{letter} turn", f"{letter} stop→eager", f"{letter} stop→end", f"{letter} resumes"]
    header.append("differences")
    body = []
    for row in rows:
        cells = [f"{row.start:.2f}-{row.end:.2f}"]
        for turns in row.turns:
            cells += list(_side(turns))
        cells.append("; ".join(row.differences()) or "same")
        body.append(cells)
    lines.extend(text_table(header, body, left=(len(header) - 1,)) if body else ["(no turns)"])
    lines.append("")
    sheader = ["metric"] + [f"{timeline_letter(i)} p50/p95/max" for i in range(len(timelines))]
    srows = []
    for info in METRICS:
        cells = [info.label]
        for t in timelines:
            s = t.metrics.summary[info.key]
            cells.append("/".join(metric_cell(info.unit, v) for v in (s.p50, s.p95, s.max)) if s.count else "—")
        srows.append(cells)
    lines.extend(text_table(sheader, srows, left=(0,)))
    return lines


def print_comparison(recording: Recording, timelines: Sequence[Timeline], rows: Sequence[ComparisonRow]) -> None:
    """Print the comparison table of ``recording`` to stdout."""
    print(f"turn-timing comparison of {recording.path} (aligned on mic audio time)")
    print("\n".join(format_comparison(timelines, rows)))
