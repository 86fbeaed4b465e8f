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

from voiceconsole.commands.compare import compare_runs, print_comparison
from voiceconsole.commands.recordings import open_recording
from voiceconsole.commands.tables import metric_cell, text_table
from voiceconsole.commands.through import THROUGH_HELP, split_through
from voiceconsole.session.compare import ComparisonRow, Timeline, timeline_letter
from voiceconsole.session.metrics import (
    LLM_METRICS,
    METRICS,
    SEGMENT_KEYS,
    SEGMENTS,
    LlmStats,
    MetricSummary,
    TurnMetrics,
)
from voiceconsole.session.recording import Recording
from voiceconsole.session.summary import VIRTUAL_NA, WALL_TIME_ONLY

_TURN_COLUMNS = (
    "turn", "start_s", "end_s", *(m.key for m in METRICS), *(m.key for m in LLM_METRICS), *SEGMENT_KEYS, "transcript"
)

def is_virtual(timeline: Timeline) -> bool:
    """Whether the run's session ran on virtual time (``--fast``), from its ``session.start``."""
    for event in timeline.events:
        if event.type == "session.start":
            return bool(getattr(event, "settings", {}).get("virtual_clock"))
    return False


def _hide_virtual(record: dict[str, Any], virtual: bool, na: Any) -> dict[str, Any]:
    if not virtual:
        return record
    for key in list(record):
        if key in WALL_TIME_ONLY or key.removesuffix("_ms") in WALL_TIME_ONLY:
            record[key] = na
    return record


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def turn_record(tm: TurnMetrics) -> dict[str, Any]:
    """One turn as a flat dict: times in seconds, metrics in milliseconds (``*_ms``), resumes a
    count, then the latency segments (``endpointing_ms`` ... ``voice_to_voice_ms``)."""
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
    for info in LLM_METRICS:
        out[f"{info.key}_ms"] = _ms(tm.value(info.key))
    for key, value in tm.segments().items():
        out[key] = None if value is None else round(value, 1)
    out["transcript"] = tm.transcript
    return out


def _ms1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summary_record(
    summary: dict[str, MetricSummary], segments: dict[str, MetricSummary] | None = None
) -> dict[str, dict[str, Any]]:
    """The summary as ``{metric: {count, p50_ms, p95_ms, max_ms}}`` (plain numbers for resumes),
    then each latency segment of ``segments`` (already in ms) the same way."""
    out: dict[str, dict[str, Any]] = {}
    for info in METRICS:
        s = summary[info.key]
        if info.unit == "count":
            out[info.key] = {"count": s.count, "p50": s.p50, "p95": s.p95, "max": s.max}
        else:
            out[info.key] = {"count": s.count, "p50_ms": _ms(s.p50), "p95_ms": _ms(s.p95), "max_ms": _ms(s.max)}
    for key, s in (segments or {}).items():
        out[key] = {"count": s.count, "p50_ms": _ms1(s.p50), "p95_ms": _ms1(s.p95), "max_ms": _ms1(s.max)}
    return out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_timeline(timeline: Timeline) -> list[str]:
    """The per-turn table and the p50/p95/max summary of one timeline (engine timings of a
    virtual-time run as :data:`VIRTUAL_NA`)."""
    virtual = is_virtual(timeline)

    def cell(unit: str, key: str, value: float | None) -> str:
        return "n/a" if virtual and key in WALL_TIME_ONLY else metric_cell(unit, value)

    header = ["turn", "start s", "end s", *(m.label for m in METRICS), "transcript"]
    rows = []
    for tm in timeline.metrics.turns:
        rows.append([
            str(tm.turn),
            "—" if tm.start_audio_t is None else f"{tm.start_audio_t:.2f}",
            "—" if tm.end_audio_t is None else f"{tm.end_audio_t:.2f}",
            *(cell(m.unit, m.key, tm.value(m.key)) for m in METRICS),
            _clip(tm.transcript, 40),
        ])
    lines = text_table(header, rows, left=(len(header) - 1,)) if rows else ["(no turns)"]
    lines.append("")
    srows = []
    for info in METRICS:
        s = timeline.metrics.summary[info.key]
        if virtual and info.key in WALL_TIME_ONLY:
            srows.append([info.label, str(s.count), VIRTUAL_NA, "", ""])
            continue
        srows.append([info.label, str(s.count), *(metric_cell(info.unit, v) for v in (s.p50, s.p95, s.max))])
    for info in SEGMENTS:
        s = timeline.metrics.segment_summary[info.key]
        if virtual and info.key in WALL_TIME_ONLY:
            srows.append([info.label, str(s.count), VIRTUAL_NA, "", ""])
            continue
        cells = (metric_cell("s", None if v is None else v / 1000.0) for v in (s.p50, s.p95, s.max))
        srows.append([info.label, str(s.count), *cells])
    lines.extend(text_table(["metric", "turns", "p50", "p95", "max"], srows, left=(0,)))
    lines.extend(format_llm(timeline.metrics.llm, virtual))
    if virtual:
        lines.append(f"(virtual time, --fast: engine timings are {VIRTUAL_NA}; they take no virtual time)")
    return lines


def format_llm(stats: LlmStats, virtual: bool) -> list[str]:
    """The LLM responder's totals (nothing without LLM requests)."""
    if not stats.requests:
        return []
    rate = "—" if stats.hit_rate is None else f"{stats.hit_rate * 100:.0f} %"
    saved = VIRTUAL_NA if virtual else metric_cell("s", None if stats.saved_p50_ms is None else stats.saved_p50_ms / 1000)
    return [
        "",
        f"LLM: {stats.requests} requests ({stats.speculative} speculative), {stats.tokens} tokens, {stats.failed} failed",
        (
            f"speculation: hits {stats.hits}/{stats.speculative} ({rate}), saved p50 {saved} per hit, "
            f"wasted {stats.wasted_calls} calls / {stats.wasted_tokens} tokens"
        ),
    ]


def llm_record(stats: LlmStats, virtual: bool) -> dict[str, Any]:
    """The LLM totals as JSON; the timings (ms saved, overhead) are null in virtual time."""
    record = stats.as_dict()
    if virtual:
        record["saved_p50_ms"] = record["overhead_p95_ms"] = None
    return record


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
                "virtual_time": is_virtual(t),
                "not_measured_in_virtual_time": sorted(WALL_TIME_ONLY) if is_virtual(t) else [],
                "turns": [_hide_virtual(turn_record(tm), is_virtual(t), None) for tm in t.metrics.turns],
                "summary": _hide_virtual(summary_record(t.metrics.summary, t.metrics.segment_summary), is_virtual(t), None),
                "llm": llm_record(t.metrics.llm, is_virtual(t)),
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
        c if c in ("turn", "start_s", "end_s", "transcript", "resumes", *SEGMENT_KEYS) else f"{c}_ms"
        for c in _TURN_COLUMNS
    ]
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for i, t in enumerate(timelines):
        for tm in t.metrics.turns:
            record = _hide_virtual(turn_record(tm), is_virtual(t), VIRTUAL_NA)
            writer.writerow({"timeline": timeline_letter(i), "config": t.label, **record})
    return buf.getvalue()


def build_parser() -> argparse.ArgumentParser:
    """``voiceconsole report`` arguments."""
    p = argparse.ArgumentParser(
        prog="voiceconsole report",
        description="Turn-timing report of a recording made with `voiceconsole --record DIR`: per turn "
        "speech stop→eager end, end-of-turn delay, eager end→end, resumes, response latency, TTS time "
        "to first audio, barge-in latency, and the latency segments endpointing_ms, responder_ms, "
        "tts_first_audio_ms, playout_ms, voice_to_voice_ms; then p50/p95/max.",
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
    recording = open_recording(args.dir)
    rows: list[ComparisonRow] | None = None
    if configs:
        timelines, rows = compare_runs(recording, configs)
    else:
        timelines = [Timeline.of(recording.label(), recording.events)]
    if args.json:
        print(json.dumps(report_data(recording, timelines, rows), indent=2, ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(report_csv(timelines))
    elif rows is not None:
        print_comparison(recording, timelines, rows)
    else:
        print(f"turn timing of {recording.path}: {timelines[0].label}")
        print("\n".join(format_timeline(timelines[0])))
    return 0
