"""What the turn metrics are called and how they are summarised: the metric and segment tables,
percentiles, and the p50/p95/max/mean of a metric. No events, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    """A metric's key, the short label the console shows, and its unit."""

    key: str
    label: str
    unit: str = "s"


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("eager_end_delay", "stop→eager"),
    MetricInfo("end_of_turn_delay", "stop→end"),
    MetricInfo("eager_to_end", "eager→end"),
    MetricInfo("resumes", "resumes", unit="count"),
    MetricInfo("responder_latency", "end→queued"),
    MetricInfo("response_latency", "end→audio"),
    MetricInfo("tts_ttfa", "TTS TTFA"),
    MetricInfo("barge_in_latency", "barge-in"),
)
"""Every per-turn metric, in display order."""

METRIC_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS)

LLM_METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("llm_ttft", "LLM TTFT"),
    MetricInfo("llm_saved", "spec saved"),
)
"""Per-turn metrics of the LLM responder (shown when the session has LLM requests)."""

LLM_METRIC_KEYS: tuple[str, ...] = tuple(m.key for m in LLM_METRICS)

SEGMENTS: tuple[MetricInfo, ...] = (
    MetricInfo("endpointing_ms", "endpointing", unit="ms"),
    MetricInfo("llm_ms", "LLM first token", unit="ms"),
    MetricInfo("responder_ms", "responder", unit="ms"),
    MetricInfo("tts_first_audio_ms", "TTS first audio", unit="ms"),
    MetricInfo("playout_ms", "playout", unit="ms"),
    MetricInfo("voice_to_voice_ms", "voice→voice", unit="ms"),
)
"""The per-turn latency segments (milliseconds), in waterfall order; the last is their total."""

SEGMENT_KEYS: tuple[str, ...] = tuple(m.key for m in SEGMENTS)
STACKED_SEGMENT_KEYS: tuple[str, ...] = SEGMENT_KEYS[:5]
"""The segments that join end to end (``voice_to_voice_ms`` spans them)."""


@dataclass(frozen=True)
class MetricSummary:
    """Distribution of one metric over the turns that have it."""

    key: str
    count: int
    p50: float | None
    p95: float | None
    max: float | None
    mean: float | None


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation; ``values`` must not be empty."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize_values(key: str, values: Sequence[float]) -> MetricSummary:
    """p50/p95/max/mean of one metric's values (in turn order)."""
    if not values:
        return MetricSummary(key, 0, None, None, None, None)
    return MetricSummary(
        key, len(values), percentile(values, 50), percentile(values, 95), max(values), sum(values) / len(values)
    )


def format_ms(seconds: float | None, *, signed: bool = False) -> str:
    """``0.2345`` -> ``"235 ms"``; ``None`` -> ``"—"``."""
    if seconds is None:
        return "—"
    ms = round(seconds * 1000)
    return f"{ms:+d} ms" if signed else f"{ms} ms"


__all__ = [
    "LLM_METRICS",
    "LLM_METRIC_KEYS",
    "METRICS",
    "METRIC_KEYS",
    "SEGMENTS",
    "SEGMENT_KEYS",
    "STACKED_SEGMENT_KEYS",
    "MetricInfo",
    "MetricSummary",
    "format_ms",
    "percentile",
    "summarize_values",
]


VIRTUAL_NA = "n/a (virtual time)"
WALL_TIME_ONLY = frozenset(
    {"responder_latency", "response_latency", "tts_ttfa", "barge_in_latency", "responder_ms", "tts_first_audio_ms",
     "voice_to_voice_ms", "llm_ttft", "llm_saved", "llm_ms"}
)
"""Timings made of engine work (responder, TTS, barge-in): engine work takes no virtual time, so
in a ``--fast`` run they would read 0 ms. The console, the report and the exports show them as
:data:`VIRTUAL_NA` there."""

