"""The turn metrics panel: the latest turn's timings beside p50/p95 (and max) of the session.

With the LLM responder it grows three rows: LLM time to first token, the ms speculation saved on
a committed eager guess, and the session's speculation hit rate with its wasted calls and
tokens."""

from __future__ import annotations

from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from voiceconsole.session.metrics import LLM_METRICS, METRICS, MetricsBuilder
from voiceconsole.session.summary import WALL_TIME_ONLY
from voiceconsole.ui.cells import CellRow, ComponentStyles


class MetricsTable(ComponentStyles, Widget, can_focus=False):
    """The latest turn's timings beside p50/p95 (and max, when wide enough) of the session."""

    STYLE_PREFIX = "metrics"
    COMPONENT_CLASSES = {"metrics--header", "metrics--label", "metrics--value", "metrics--none", "metrics--title"}

    def __init__(self, metrics: MetricsBuilder, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.metrics = metrics
        self._drawn: tuple[int, int] | None = None  # (metrics version, width) of the lines
        self._lines: list[CellRow] = []

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._row_count()

    def _row_count(self) -> int:
        llm_rows = len(LLM_METRICS) + 1 if self.metrics.llm.stats.requests else 0
        return len(METRICS) + 2 + llm_rows

    def show(self, metrics: MetricsBuilder) -> None:
        """Show another session's metrics (a replay seeking backwards)."""
        self.metrics = metrics
        self.update()

    def update(self) -> None:
        """Redraw the rows that changed, if the metrics did (every frame)."""
        width = self.content_region.width
        if self._drawn == (self.metrics.version, width):
            return
        self._drawn = (self.metrics.version, width)
        before, self._lines = self._lines, self._render_rows(width)
        if len(before) != len(self._lines):
            self.refresh(layout=True)  # the LLM rows appeared (or a new session has none)
            return
        for y, row in enumerate(self._lines):
            old = before[y] if y < len(before) else None
            if row.changed_span(old) is not None:
                self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        if self._drawn is None or self._drawn[1] != width or not self._lines:
            self._drawn = (self.metrics.version, width)
            self._lines = self._render_rows(width)
        return self._lines[y].strip() if y < len(self._lines) else Strip.blank(width, self.base_style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn = None
        self._lines = []


    def _render_rows(self, width: int) -> list[CellRow]:
        base = self.base_style
        show_max = width >= 36
        cols = ["last", "p50", "p95"] + (["max"] if show_max else [])
        latest = self.metrics.latest_ended()
        summary = self.metrics.summary()
        turns = self.metrics.ended_turns
        title = CellRow(width, base)
        title.text(0, f"turn {latest.turn}" if latest else "no turn yet", self.style_of("title"))
        title.text(12, f"{turns} turn{'s' if turns != 1 else ''}, ms", self.style_of("header"))
        header = CellRow(width, base)
        for i, name in enumerate(cols):
            header.text(11 + i * 6, f"{name:>5}", self.style_of("header"))
        rows = [title, header]
        infos = list(METRICS)
        stats = self.metrics.llm.stats
        if stats.requests:
            summary = {**summary, **self.metrics.llm_summary()}
            infos += LLM_METRICS
        for info in infos:
            row = CellRow(width, base)
            row.text(0, info.label[:10], self.style_of("label"))
            s = summary[info.key]
            values = [latest.value(info.key) if latest else None, s.p50, s.p95] + ([s.max] if show_max else [])
            if info.key == "barge_in_latency" and self.metrics.interruptions:
                values[0] = self.metrics.interruptions[-1].latency
            if self.metrics.virtual_time and info.key in WALL_TIME_ONLY:
                # Engine work takes no virtual time: these would read 0 ms in a --fast run.
                row.text(11, "n/a (virtual time)"[: max(0, width - 11)], self.style_of("none"))
                rows.append(row)
                continue
            for i, value in enumerate(values):
                text = "—" if value is None else (f"{value:.0f}" if info.unit == "count" else f"{value * 1000:.0f}")
                row.text(11 + i * 6, f"{text:>5}", self.style_of("none" if value is None else "value"))
            rows.append(row)
        if stats.requests:
            row = CellRow(width, base)
            row.text(0, "spec hit", self.style_of("label"))
            rate = "—" if stats.hit_rate is None else f"{stats.hit_rate * 100:.0f}%"
            row.text(11, f"{rate:>4} {stats.hits}/{stats.speculative}", self.style_of("value"))
            # Wasted speculative calls and their tokens.
            row.text(21, f"waste {stats.wasted_calls}:{stats.wasted_tokens}t"[: max(0, width - 21)], self.style_of("header"))
            rows.append(row)
        return rows


__all__ = ["MetricsTable"]
