"""The per-turn latency waterfall: one stacked bar per turn, from the user's last word to the
first reply sample played, on a shared millisecond axis, with p50/p95 rows.

The segments are :data:`voiceconsole.session.metrics.SEGMENTS` (endpointing, LLM first token,
responder, TTS first audio, playout; voice→voice is their total). Each turn's bar is laid out from its anchors: the
reference VAD's speech stop is 0 ms, ``turn.end`` sits at the endpointing delay, and the reply's
``tts.queued``, ``tts.first_audio`` and ``playback.start`` sit at their session-clock distance
from ``turn.end``. A segment whose events are missing is drawn as ``·`` (spanning the gap to the
next known anchor, or one cell when there is none) and shows ``—`` in its column, never zero. A
turn with no VAD speech stop starts at ``turn.end`` after one ``·`` cell. A negative segment (a
reply queued before ``turn.end``) draws as zero width; its column shows the value.

``WaterfallScreen(model_of)`` is a modal screen around :class:`WaterfallView`; ``model_of()``
returns the console's current :class:`~voiceconsole.ui.model.ConsoleModel` (a replay may swap
it). The view redraws when ``model.versions.metrics`` (or the model, or its size) changed,
checked a few times a second while the screen is open.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widget import Widget

from voiceconsole.session.metrics import (
    SEGMENTS,
    STACKED_SEGMENT_KEYS,
    MetricsBuilder,
    MetricSummary,
    TurnMetrics,
)
from voiceconsole.ui.cells import CellRow, ComponentStyles
from voiceconsole.ui.model import ConsoleModel

SEGMENT_STYLES: dict[str, str] = {
    "endpointing_ms": "endpointing",
    "llm_ms": "llm",
    "responder_ms": "responder",
    "tts_first_audio_ms": "tts-first-audio",
    "playout_ms": "playout",
}
"""Component class (after ``waterfall--``) of each stacked segment."""

COLUMN_HEADS: dict[str, str] = {
    "endpointing_ms": "endpt",
    "llm_ms": "llm",
    "responder_ms": "resp",
    "tts_first_audio_ms": "tts",
    "playout_ms": "play",
    "voice_to_voice_ms": "v→v",
}
"""Short column heads of the millisecond columns."""

BAR = " "
"""Bar cells are blank, painted by their segment's background (crisp in every renderer)."""
MISSING = "·"
NONE_TEXT = "—"
LABEL_WIDTH = 9
COLUMN_WIDTH = 6
FIXED_ROWS = 7
"""Rows that are not turns: legend, header, rule, p50, p95, axis, axis labels."""
REFRESH_S = 0.2
"""How often the open screen checks whether the metrics moved."""
_STEPS = (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000)


@dataclass(frozen=True)
class BarRow:
    """One row of the waterfall: its label, the millisecond columns, and where each stacked
    segment starts and ends on the axis (``None``: that anchor is not known)."""

    label: str
    values: dict[str, float | None]
    """Every segment of :data:`SEGMENTS` in ms (``None``: missing)."""
    bounds: tuple[float | None, ...]
    """The six anchors in ms from the speech stop: stop, end, LLM first token, queued, first
    audio, playback."""
    lead_gap: bool = False
    """The first anchor (speech stop) is unknown: the bar starts at ``turn.end`` after a gap."""

    @property
    def span_ms(self) -> float:
        """The furthest known anchor (0 when none)."""
        return max((b for b in self.bounds if b is not None), default=0.0)


def turn_row(tm: TurnMetrics) -> BarRow:
    """A turn's bar: its anchors laid out from the speech stop (or from ``turn.end`` without one)."""
    values = tm.segments()
    endpointing = values["endpointing_ms"]
    origin = endpointing if endpointing is not None else 0.0

    def at(t: float | None) -> float | None:
        if t is None or tm.end_t is None:
            return None
        return origin + (t - tm.end_t) * 1000.0

    # Without an LLM (or with one that was ahead of turn.end) its segment is empty: the anchor
    # sits at turn.end.
    llm_t = tm.end_t if tm.llm_first_token_t is None or tm.end_t is None else max(tm.end_t, tm.llm_first_token_t)
    bounds = (
        0.0 if endpointing is not None else None,
        origin if tm.end_t is not None else None,
        at(llm_t),
        at(tm.reply_queued_t),
        at(tm.first_audio_t),
        at(tm.playback_start_t),
    )
    return BarRow(f"turn {tm.turn}", values, _monotonic(bounds), lead_gap=endpointing is None)


def summary_row(label: str, summary: dict[str, MetricSummary], pick: Callable[[MetricSummary], float | None]) -> BarRow:
    """A percentile row: each segment's percentile stacked end to end. The bar stops at the first
    segment no turn has (its position and the later ones' are unknown: drawn as ``·``); the
    columns still show every percentile."""
    values = {info.key: pick(summary[info.key]) for info in SEGMENTS}
    bounds: list[float | None] = [0.0]
    at: float | None = 0.0
    for key in STACKED_SEGMENT_KEYS:
        value = values[key]
        if key == "llm_ms":  # no LLM: an empty segment; ahead of turn.end: zero width
            value = 0.0 if value is None else max(0.0, value)
        at = None if value is None or at is None else at + value
        bounds.append(at)
    return BarRow(label, values, _monotonic(tuple(bounds)))


def _monotonic(bounds: tuple[float | None, ...]) -> tuple[float | None, ...]:
    out: list[float | None] = []
    floor = -math.inf
    for b in bounds:
        if b is None:
            out.append(None)
        else:
            floor = max(floor, b)
            out.append(floor)
    return tuple(out)


def axis_step(span_ms: float, cells: int, min_gap: int = 8) -> float:
    """A round tick step (ms) so that ticks over ``span_ms`` are at least ``min_gap`` cells apart."""
    ticks = max(1, cells // min_gap)
    for step in _STEPS:
        if span_ms / step <= ticks:
            return float(step)
    return float(_STEPS[-1] * math.ceil(span_ms / (_STEPS[-1] * ticks)))


class WaterfallView(ComponentStyles, Widget, can_focus=False):
    """The last turns that fit as stacked latency bars, then p50/p95, on one ms axis (Line API)."""

    STYLE_PREFIX = "waterfall"
    COMPONENT_CLASSES = {
        "waterfall--endpointing",
        "waterfall--llm",
        "waterfall--responder",
        "waterfall--tts-first-audio",
        "waterfall--playout",
        "waterfall--missing",
        "waterfall--label",
        "waterfall--value",
        "waterfall--total",
        "waterfall--header",
        "waterfall--axis",
        "waterfall--rule",
    }
    DEFAULT_CSS = """
    WaterfallView { height: auto; max-height: 100%; background: $surface; }
    WaterfallView > .waterfall--endpointing { color: $vc-end; background: $vc-end; }
    WaterfallView > .waterfall--llm { color: $vc-eager; background: $vc-eager; }
    WaterfallView > .waterfall--responder { color: $vc-resume; background: $vc-resume; }
    WaterfallView > .waterfall--tts-first-audio { color: $vc-reply; background: $vc-reply; }
    WaterfallView > .waterfall--playout { color: $vc-heard; background: $vc-heard; }
    WaterfallView > .waterfall--missing { color: $foreground-muted; text-style: bold; }
    WaterfallView > .waterfall--label { color: $foreground; text-style: bold; }
    WaterfallView > .waterfall--value { color: $foreground; }
    WaterfallView > .waterfall--total { color: $primary; text-style: bold; }
    WaterfallView > .waterfall--header { color: $foreground-muted; }
    WaterfallView > .waterfall--axis { color: $foreground-muted; }
    WaterfallView > .waterfall--rule { color: $panel-lighten-2; }
    """

    def __init__(self, model_of: Callable[[], ConsoleModel], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model_of = model_of
        self._drawn_key: tuple[int, int, int, int] | None = None
        self._rows: list[CellRow] = []
        self._ended_count = 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return FIXED_ROWS + max(1, len(self._ended(self.model_of().metrics)))

    def counts(self) -> tuple[int, int]:
        """(turns shown at the current height, turns ended)."""
        ended = len(self._ended(self.model_of().metrics))
        return min(ended, max(1, self.content_region.height - FIXED_ROWS)), ended

    def update(self) -> None:
        """Redraw if the metrics, the model or the size changed since the last drawing (a turn
        that ended makes the view one row taller, up to the screen's height)."""
        if self._key() != self._drawn_key:
            ended = len(self._ended(self.model_of().metrics))
            self.refresh(layout=ended != self._ended_count)
            self._ended_count = ended

    def _key(self) -> tuple[int, int, int, int]:
        model = self.model_of()
        return (id(model), model.versions.metrics, self.content_region.width, self.content_region.height)

    def render_line(self, y: int) -> Strip:
        key = self._key()
        if key != self._drawn_key or not self._rows:
            self._drawn_key = key
            self._rows = self.render_rows(key[2], key[3])
        return self._rows[y].strip() if y < len(self._rows) else Strip.blank(key[2], self.base_style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn_key = None
        self._rows = []

    @staticmethod
    def _ended(metrics: MetricsBuilder) -> list[TurnMetrics]:
        return [tm for tm in metrics.turns() if tm.ended]

    def render_rows(self, width: int, height: int) -> list[CellRow]:
        """Every row of the waterfall at ``width`` x ``height`` cells."""
        metrics = self.model_of().metrics
        ended = self._ended(metrics)
        fit = max(1, height - FIXED_ROWS)
        turns = [turn_row(tm) for tm in ended[-fit:]]
        summary = metrics.segment_summary()
        percentiles = [summary_row("p50", summary, lambda s: s.p50), summary_row("p95", summary, lambda s: s.p95)]
        bar_width = max(4, width - LABEL_WIDTH - 2 - COLUMN_WIDTH * len(SEGMENTS))
        span = max([r.span_ms for r in turns + percentiles] + [1.0])
        step = axis_step(span, bar_width)
        grain = step / 5  # the axis ends a little past the longest bar, not at the next tick
        axis_ms = grain * math.ceil(span / grain)
        scale = (bar_width - 1) / axis_ms

        base = self.base_style
        rows = [self._legend(width), self._header(width, bar_width)]
        if turns:
            rows += [self._bar_row(width, row, scale) for row in turns]
        else:
            empty = CellRow(width, base)
            empty.text(0, "no turn has ended yet", self.style_of("header"))
            rows.append(empty)
        rule = CellRow(width, base)
        rule.fill(0, width, "─", self.style_of("rule"))
        rows.append(rule)
        rows += [self._bar_row(width, row, scale) for row in percentiles]
        rows += self._axis(width, bar_width, step, axis_ms, scale)
        return rows

    def _legend(self, width: int) -> CellRow:
        row = CellRow(width, self.base_style)
        col = 0
        for info in SEGMENTS[: len(STACKED_SEGMENT_KEYS)]:
            row.text(col, BAR, self.style_of(SEGMENT_STYLES[info.key]))  # a swatch
            row.text(col + 2, info.label, self.style_of("value"))
            col += len(info.label) + 4
        row.text(col, MISSING, self.style_of("missing"))
        row.text(col + 2, "missing", self.style_of("value"))
        return row

    def _header(self, width: int, bar_width: int) -> CellRow:
        row = CellRow(width, self.base_style)
        row.text(0, "turn", self.style_of("header"))
        row.text(LABEL_WIDTH, "ms from the VAD's speech stop"[:bar_width], self.style_of("header"))
        x = LABEL_WIDTH + bar_width + 2
        for info in SEGMENTS:
            head = COLUMN_HEADS[info.key]
            name = SEGMENT_STYLES.get(info.key)
            style = self.base_style + Style(color=self.style_of(name).color) if name else self.style_of("total")
            row.text(x + COLUMN_WIDTH - len(head), head, style)
            x += COLUMN_WIDTH
        return row

    def _bar_row(self, width: int, bar: BarRow, scale: float) -> CellRow:
        row = CellRow(width, self.base_style)
        row.text(0, bar.label[: LABEL_WIDTH - 1], self.style_of("label"))
        left = LABEL_WIDTH + (1 if bar.lead_gap else 0)
        missing = self.style_of("missing")
        if bar.lead_gap:
            row.put(LABEL_WIDTH, MISSING, missing)

        def col(ms: float) -> int:
            return left + round(ms * scale)

        bounds = bar.bounds
        for i, key in enumerate(STACKED_SEGMENT_KEYS):
            a, b = bounds[i], bounds[i + 1]
            if a is not None and b is not None:
                row.fill(col(a), col(b), BAR, self.style_of(SEGMENT_STYLES[key]))
        # Missing segments: dots between two known anchors with unknown ones between them, and
        # one dot for each segment after the last known anchor.
        known = [k for k, b in enumerate(bounds) if b is not None]
        for k1, k2 in zip(known, known[1:]):
            if k2 > k1 + 1:
                first, last = col(bounds[k1]), col(bounds[k2])  # type: ignore[arg-type]
                row.fill(first, max(last, first + 1), MISSING, missing)
        if known and known[-1] < len(bounds) - 1:
            first = col(bounds[known[-1]])  # type: ignore[arg-type]
            row.fill(first, first + len(bounds) - 1 - known[-1], MISSING, missing)
        x = width - COLUMN_WIDTH * len(SEGMENTS)
        for info in SEGMENTS:
            value = bar.values[info.key]
            text = NONE_TEXT if value is None else f"{value:.0f}"
            style = missing if value is None else self.style_of("total" if info.key == "voice_to_voice_ms" else "value")
            row.text(x + COLUMN_WIDTH - len(text), text, style)
            x += COLUMN_WIDTH
        return row

    def _axis(self, width: int, bar_width: int, step: float, axis_ms: float, scale: float) -> list[CellRow]:
        rule, labels = CellRow(width, self.base_style), CellRow(width, self.base_style)
        style = self.style_of("axis")
        rule.text(0, "ms", style)
        rule.fill(LABEL_WIDTH, LABEL_WIDTH + bar_width, "─", style)
        free = LABEL_WIDTH  # the first cell a label may use
        for k in range(int(axis_ms // step) + 1):
            ms = k * step
            x = LABEL_WIDTH + round(ms * scale)
            rule.put(x, "┴" if k else "└", style)
            text = f"{ms:.0f}"
            at = min(x, LABEL_WIDTH + bar_width - len(text)) if k else x
            if at >= free:
                labels.text(at, text, style)
                free = at + len(text) + 1
        return [rule, labels]


class WaterfallScreen(ModalScreen[None]):
    """The latency waterfall over the console; escape, ``w`` or ``q`` closes it."""

    BINDINGS = [Binding("escape,w,q", "close", "close")]
    DEFAULT_CSS = """
    WaterfallScreen {
        align: center middle;
        background: $background 60%;
    }
    WaterfallScreen > #waterfall-box {
        width: 96%;
        height: auto;
        max-height: 90%;
        border: round $primary;
        border-title-color: $primary;
        border-title-style: bold;
        border-subtitle-color: $foreground-muted;
        background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, model_of: Callable[[], ConsoleModel]) -> None:
        super().__init__()
        self.model_of = model_of

    def compose(self) -> ComposeResult:
        with Vertical(id="waterfall-box"):
            yield WaterfallView(self.model_of, id="waterfall")

    def on_mount(self) -> None:
        self.query_one("#waterfall-box").border_subtitle = "escape, w or q closes"
        self.call_after_refresh(self.update_view)
        self.set_interval(REFRESH_S, self.update_view, name="vc-waterfall")

    def update_view(self) -> None:
        """Redraw the view if the metrics moved, and say how many turns it shows."""
        view = self.query_one(WaterfallView)
        view.update()
        shown, ended = view.counts()
        self.query_one("#waterfall-box").border_title = f"latency waterfall · last {shown} of {ended} turns"

    def action_close(self) -> None:
        """Close the waterfall."""
        self.dismiss(None)


__all__ = [
    "BarRow",
    "SEGMENT_STYLES",
    "WaterfallScreen",
    "WaterfallView",
    "axis_step",
    "summary_row",
    "turn_row",
]
