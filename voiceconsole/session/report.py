"""``voiceconsole report DIR``: the turn-timing table of a recording, as text, JSON or CSV.

With ``--through ENGINE [options]`` (repeatable) the recorded mic is run through other engine
configurations and the report compares them turn by turn.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from typing import Any

from voiceconsole.session.compare import (
    THROUGH_HELP,
    ComparisonRow,
    Timeline,
    align_turns,
    run_all_through,
    split_through,
    timeline_letter,
)
from voiceconsole.session.metrics import METRICS, MetricSummary, TurnMetrics, format_ms
from voiceconsole.session.recording import Recording, load_recording

_TURN_COLUMNS = ("turn", "start_s", "end_s", *(m.key for m in METRICS), "transcript")


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def turn_record(tm: TurnMetrics) -> dict[str, Any]:
    """One turn as a flat dict: times in seconds, metrics in milliseconds (``*_ms``), resumes a count."""
    out: dict[str, Any] = {
        "turn": tm.turn,
        "start_s": tm.start_audio_t,
        "end_s": tm.end_audio_t,
    }
    for info in METRICS:
        value = tm.value(info.key)
        if info.unit == "count":
            out[info.key] = None if value is None else int(value)
        else:
            out[f"{info.key}_ms"] = _ms(value)
    out["transcript"] = tm.transcript
    return out


def summary_record(summary: dict[str, MetricSummary]) -> dict[str, dict[str, Any]]:
    """The summary as ``{metric: {count, p50_ms, p95_ms, max_ms}}`` (plain numbers for resumes)."""
    out: dict[str, dict[str, Any]] = {}
    for info in METRICS:
        s = summary[info.key]
        if info.unit == "count":
            out[info.key] = {"count": s.count, "p50": s.p50, "p95": s.p95, "max": s.max}
        else:
            out[info.key] = {"count": s.count, "p50_ms": _ms(s.p50), "p95_ms": _ms(s.p95), "max_ms": _ms(s.max)}
    return out


def _cell(info_unit: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if info_unit == "count" else format_ms(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: Sequence[int] = ()) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) if i in left else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_timeline(timeline: Timeline) -> list[str]:
    """The per-turn table and the p50/p95/max summary of one timeline."""
    header = ["turn", "start s", "end s", *(m.label for m in METRICS), "transcript"]
    rows = []
    for tm in timeline.metrics.turns:
        rows.append([
            str(tm.turn),
            "—" if tm.start_audio_t is None else f"{tm.start_audio_t:.2f}",
            "—" if tm.end_audio_t is None else f"{tm.end_audio_t:.2f}",
            *(_cell(m.unit, tm.value(m.key)) for m in METRICS),
            _clip(tm.transcript, 40),
        ])
    lines = _table(header, rows, left=(len(header) - 1,)) if rows else ["(no turns)"]
    lines.append("")
    srows = []
    for info in METRICS:
        s = timeline.metrics.summary[info.key]
        srows.append([info.label, str(s.count), _cell(info.unit, s.p50), _cell(info.unit, s.p95), _cell(info.unit, s.max)])
    lines.extend(_table(["metric", "turns", "p50", "p95", "max"], srows, left=(0,)))
    return lines


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


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
    lines.extend(_table(header, body, left=(len(header) - 1,)) if body else ["(no turns)"])
    lines.append("")
    sheader = ["metric"] + [f"{timeline_letter(i)} p50/p95/max" for i in range(len(timelines))]
    srows = []
    for info in METRICS:
        cells = [info.label]
        for t in timelines:
            s = t.metrics.summary[info.key]
            cells.append("/".join(_cell(info.unit, v) for v in (s.p50, s.p95, s.max)) if s.count else "—")
        srows.append(cells)
    lines.extend(_table(sheader, srows, left=(0,)))
    return lines


def report_data(recording: Recording, timelines: Sequence[Timeline], rows: Sequence[ComparisonRow] | None) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data."""
    data: dict[str, Any] = {
        "recording": str(recording.path),
        "complete": recording.complete,
        "truncated_last_line": recording.truncated_last_line,
        "timelines": [
            {
                "id": timeline_letter(i),
                "label": t.label,
                "turns": [turn_record(tm) for tm in t.metrics.turns],
                "summary": summary_record(t.metrics.summary),
                "interruptions": [
                    {"t": x.t, "reason": x.reason, "turn": x.turn, "reply": x.reply, "latency_ms": _ms(x.latency)}
                    for x in t.metrics.interruptions
                ],
            }
            for i, t in enumerate(timelines)
        ],
    }
    if rows is not None:
        data["comparison"] = [
            {
                "start_s": row.start,
                "end_s": row.end,
                "turns": {timeline_letter(i): [tm.turn for tm in turns] for i, turns in enumerate(row.turns)},
                "differences": row.differences(),
            }
            for row in rows
        ]
    return data


def report_csv(timelines: Sequence[Timeline]) -> str:
    """One CSV row per turn of every timeline (``timeline`` column first)."""
    buf = io.StringIO()
    columns = ["timeline", "config"] + [
        c if c in ("turn", "start_s", "end_s", "transcript", "resumes") else f"{c}_ms" for c in _TURN_COLUMNS
    ]
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for i, t in enumerate(timelines):
        for tm in t.metrics.turns:
            writer.writerow({"timeline": timeline_letter(i), "config": t.label, **turn_record(tm)})
    return buf.getvalue()


def build_parser() -> argparse.ArgumentParser:
    """``voiceconsole report`` arguments."""
    p = argparse.ArgumentParser(
        prog="voiceconsole report",
        description="Turn-timing report of a recording made with `voiceconsole --record DIR`: per turn "
        "speech stop→eager end, end-of-turn delay, eager end→end, resumes, response latency, TTS time "
        "to first audio, barge-in latency; then p50/p95/max.",
    )
    p.add_argument("dir", metavar="DIR", help="the recording directory")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the report as JSON")
    fmt.add_argument("--csv", action="store_true", help="print one CSV row per turn")
    p.add_argument("--through", metavar="ENGINE", help=THROUGH_HELP)
    return p


def main(argv: Sequence[str]) -> int:
    """Entry point of ``voiceconsole report``."""
    rest, configs = split_through(argv)
    args = build_parser().parse_args(rest)
    recording = load_recording(args.dir)
    if recording.truncated_last_line:
        print(f"voiceconsole: note: {recording.path}: the last event line was cut short and is skipped", file=sys.stderr)
    timelines = run_all_through(recording, configs) if configs else [Timeline.of(recording.label(), recording.events)]
    rows = align_turns(timelines) if configs else None
    if args.json:
        print(json.dumps(report_data(recording, timelines, rows), indent=2, ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(report_csv(timelines))
    elif rows is not None:
        print(f"turn-timing comparison of {recording.path} (aligned on mic audio time)")
        print("\n".join(format_comparison(timelines, rows)))
    else:
        print(f"turn timing of {recording.path}: {timelines[0].label}")
        print("\n".join(format_timeline(timelines[0])))
    return 0


__all__ = ["build_parser", "format_comparison", "format_timeline", "main", "report_csv", "report_data"]
