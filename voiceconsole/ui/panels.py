"""The smaller panels: TTS queue, VU meters, metrics table and the status line."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from voiceconsole.session.history import ChunkedArray
from voiceconsole.session.metrics import METRICS, MetricsBuilder
from voiceconsole.ui.lines import CachedStyles, CellRow, set_virtual_size
from voiceconsole.ui.model import ConsoleModel, ReplyEntry
from voiceconsole.ui.paintcache import FrameCachedScrollbars, mark_for_paint

# --- TTS queue ----------------------------------------------------------------------------------

STATE_ICONS = {
    "queued": "…",
    "synthesizing": "◌",
    "playing": "▶",
    "done": "✓",
    "cancelled": "✕",
    "failed": "!",
}
QUEUE_HEADER = "  # state          ttfa   dur  chr text"
STATE_LABELS = {"synthesizing": "synth"}


class QueueView(CachedStyles, FrameCachedScrollbars, ScrollView, can_focus=False):
    """One line per reply: state, time to first audio, duration, characters and the text."""

    STYLE_PREFIX = "queue"

    COMPONENT_CLASSES = {
        "queue--header",
        "queue--queued",
        "queue--synthesizing",
        "queue--playing",
        "queue--done",
        "queue--cancelled",
        "queue--failed",
        "queue--text",
        "queue--dim",
    }

    def __init__(self, model: ConsoleModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self._numbers = ChunkedArray("i")  # reply numbers in queue order (4 bytes each, in fixed chunks)
        self._cache: LRUCache[int, tuple[tuple[int, int], Strip]] = LRUCache(256)
        self._drawn_rows = -1  # replies in the queue when it was last refreshed

    def reset(self, model: ConsoleModel) -> None:
        """Show ``model`` from scratch (a replay seeking backwards)."""
        self.model = model
        self._numbers = ChunkedArray("i")
        self._cache.clear()
        self.update_replies(set(model.replies))

    def update_replies(self, changed: set[int]) -> None:
        """Take in new replies and redraw changed ones; keeps the newest in view."""
        known = len(self._numbers)
        self._numbers.extend(self.model.replies.keys_from(known))
        for number in changed:
            self._cache.discard(number)
        set_virtual_size(self, Size(self.scrollable_content_region.width, len(self._numbers) + 1))
        drawn, self._drawn_rows = self._drawn_rows, len(self._numbers)
        if len(self._numbers) != known:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        if len(self._numbers) != drawn or not self.is_mounted:  # rows added (or a reset)
            self.refresh()
            return
        # Nothing added: only the rows of the replies that changed (a state, a timing) repaint.
        numbers, top = self._numbers, int(self.scroll_y)
        region = self.scrollable_content_region
        rows: list[Region] = []
        for number in changed:
            for i in range(len(numbers) - 1, -1, -1):  # changed replies are nearly always recent
                if numbers[i] == number:
                    y = i + 1 - top
                    if 0 <= y < region.height:
                        rows.append(Region(0, y, region.width, 1))
                    break
        mark_for_paint(self, *rows)  # painted by the console's flush (paint_now)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_resize(self) -> None:
        self._cache.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._numbers) + 1)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = int(self.scroll_y) + y
        base = self._base()
        if line == 0 and not self._numbers:
            cells = CellRow(width, base)
            cells.text(1, "no replies yet: press s to type one", self._style("dim"))
            return cells.strip()
        if line == 0:
            cells = CellRow(width, base)
            cells.text(0, QUEUE_HEADER, self._style("header"))
            return cells.strip()
        if line - 1 >= len(self._numbers):
            return Strip.blank(width, base)
        number = self._numbers[line - 1]
        entry = self.model.replies[number]
        cached = self._cache.get(number)
        if cached is None or cached[0] != (entry.version, width):
            strip = self._row(entry, width)
            self._cache.set(number, ((entry.version, width), strip))
            return strip
        return cached[1]

    def _row(self, entry: ReplyEntry, width: int) -> Strip:
        base = self._base()
        cells = CellRow(width, base)
        state = entry.state
        state_style = self._style(state)
        label = "cut" if entry.interrupted else STATE_LABELS.get(state, state)
        ttfa = f"{round(entry.ttfa_s * 1000)}ms" if entry.ttfa_s is not None else "—"
        duration = f"{entry.duration_s:.1f}s" if entry.duration_s is not None else "—"
        cells.text(0, f"{entry.reply:>3}", base)
        cells.text(4, f"{STATE_ICONS[state]} {label}", state_style)
        cells.text(16, f"{ttfa:>6}{duration:>6}{len(entry.text):>5}", base)
        text = entry.text.replace("\n", " ")
        room = width - 34
        if room > 1:
            if len(text) > room:
                text = text[: room - 1] + "…"
            cells.text(34, text, self._style("text"))
        return cells.strip()


# --- VU meters ----------------------------------------------------------------------------------

METER_FLOOR_DB = -60.0
METER_SCALE = (-60, -48, -36, -24, -12, -6, 0)
PEAK_HOLD_S = 1.5
RELEASE_DB_PER_S = 24.0
PEAK_FALL_DB_PER_S = 12.0
CLIP_SHOW_S = 2.0
READOUT_S = 0.25
"""The dB figure beside each bar changes at most 4 times a second (faster is unreadable)."""
BLOCKS = " ▏▎▍▌▋▊▉█"


@dataclass
class MeterState:
    """Ballistics of one meter: the bar falls smoothly, the peak holds, clips are latched."""

    level: float = -120.0
    peak: float = -120.0
    peak_t: float = -math.inf
    clip_t: float = -math.inf
    clips: int = 0
    last_t: float | None = None
    readout: float = -120.0
    readout_t: float = -math.inf

    def update(self, rms_db: float, peak_db: float, clips: int, now: float) -> None:
        """Take a new reading at time ``now`` (seconds)."""
        dt = 0.0 if self.last_t is None else max(0.0, now - self.last_t)
        self.last_t = now
        self.level = max(rms_db, self.level - RELEASE_DB_PER_S * dt)
        held = self.peak if now - self.peak_t <= PEAK_HOLD_S else self.peak - PEAK_FALL_DB_PER_S * dt
        if peak_db >= held:
            self.peak, self.peak_t = peak_db, now
        else:
            self.peak = held
        if clips > self.clips or peak_db >= -0.01:
            self.clip_t = now
        self.clips = max(self.clips, clips)
        if now - self.readout_t >= READOUT_S or now < self.readout_t:
            self.readout, self.readout_t = self.level, now

    def clipping(self, now: float) -> bool:
        """Whether the clip light is on."""
        return now - self.clip_t <= CLIP_SHOW_S


class VuMeters(CachedStyles, Widget, can_focus=False):
    """Mic and speaker meters on a dBFS scale with peak hold and a clip light.

    The app calls :meth:`set_levels` at each frame (15 a second), then :meth:`tick`. A tick draws
    the meter lines whose readings moved, compares them cell by cell with what is shown and
    refreshes only the cells that changed (the moving end of the bar, the value); the widget
    never changes size.
    """

    STYLE_PREFIX = "meter"
    COMPONENT_CLASSES = {
        "meter--label",
        "meter--low",
        "meter--mid",
        "meter--high",
        "meter--peak",
        "meter--track",
        "meter--value",
        "meter--clip",
        "meter--noclip",
        "meter--scale",
    }

    def __init__(self, now: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.now = now
        self.meters = {"mic": MeterState(), "speaker": MeterState()}
        self._shown: list[object] = [None, None]
        self._rows: list[CellRow | None] = [None, None, None]
        self._strips: list[Strip | None] = [None, None, None]
        self._width = -1
        self._zones: dict[int, list[Style]] = {}

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 3

    def set_levels(self, source: str, rms_db: float, peak_db: float, clips: int) -> None:
        """A new reading for ``mic`` or ``speaker``."""
        self.meters[source].update(rms_db, peak_db, clips, self.now())

    def tick(self) -> bool:
        """Redraw the cells of the meters that moved; True if any did. They are marked for the
        caller's :func:`~voiceconsole.ui.paintcache.paint_now` (the console's frame)."""
        width = self.content_region.width
        if width != self._width:
            self._drop_lines()
            return True
        moved = False
        now = self.now()
        bar = self._bar_width(width)
        changed: list[Region] = []
        for y, meter in enumerate(self.meters.values()):
            shown = (self._eighths(meter.level, bar * 8), self._eighths(meter.peak, bar * 8) // 8,
                     round(meter.readout, 1), meter.clipping(now))
            if shown == self._shown[y]:
                continue
            moved = True
            self._shown[y] = shown
            before = self._rows[y]
            after = self._meter_row(y, width)
            self._rows[y], self._strips[y] = after, after.strip()
            if before is None:
                changed.append(Region(0, y, width, 1))
                continue
            span = after.changed_span(before)
            if span is not None:
                changed.append(Region(span[0], y, span[1] - span[0], 1))
        mark_for_paint(self, *changed)  # painted by the frame that ticked (the app's paint_now)
        return moved

    def _drop_lines(self) -> None:
        self._rows = [None, None, None]
        self._strips = [None, None, None]
        self._shown = [None, None]
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._zones.clear()
        self._drop_lines()

    @staticmethod
    def _bar_width(width: int) -> int:
        """Cells of a bar in meter lines ``width`` cells wide."""
        return max(8, width - 22)

    @staticmethod
    def _eighths(db: float, width: int) -> int:
        share = (max(METER_FLOOR_DB, min(0.0, db)) - METER_FLOOR_DB) / -METER_FLOOR_DB
        return int(share * width)

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        if width != self._width:
            self._width = width
            self._rows = [None, None, None]
            self._strips = [None, None, None]
        if y > 2:
            return Strip.blank(width, self._base())
        strip = self._strips[y]
        if strip is None:
            row = self._scale_row(width) if y == 2 else self._meter_row(y, width)
            self._rows[y], self._strips[y] = row, row.strip()
            strip = self._strips[y]
            assert strip is not None
        return strip

    def _scale_row(self, width: int) -> CellRow:
        cells = CellRow(width, self._base())
        bar = self._bar_width(width)
        scale = self._style("scale")
        free = 0
        for db in METER_SCALE:
            label = str(db)
            col = min(5 + self._eighths(db, bar * 8) // 8 - len(label) // 2, 5 + bar - len(label))
            if col >= free:
                cells.text(col, label, scale)
                free = col + len(label) + 1
        cells.text(5 + bar + 1, "dBFS", scale)
        return cells

    def _zone_styles(self, bar: int) -> list[Style]:
        """The style of each column of a bar ``bar`` cells wide (low, mid and high zones)."""
        zones = self._zones.get(bar)
        if zones is None:
            zones = []
            for i in range(bar):
                db = METER_FLOOR_DB + (i + 1) / bar * -METER_FLOOR_DB
                zones.append(self._style("low" if db <= -18 else "mid" if db <= -6 else "high"))
            self._zones[bar] = zones
        return zones

    def _meter_row(self, y: int, width: int) -> CellRow:
        cells = CellRow(width, self._base())
        bar = self._bar_width(width)
        source = "mic" if y == 0 else "speaker"
        meter = self.meters[source]
        cells.text(0, "mic" if y == 0 else "spk", self._style("label"))
        # The bar is drawn a slice at a time: this runs at every frame for each meter.
        filled = self._eighths(meter.level, bar * 8)
        full, part = divmod(filled, 8)
        full = min(full, bar)
        lit = full + (1 if part and full < bar else 0)
        chars = ["█"] * full + ([BLOCKS[part]] if lit > full else []) + ["·"] * (bar - lit)
        styles = self._zone_styles(bar)[:lit] + [self._style("track")] * (bar - lit)
        end = min(width, 5 + bar)
        if end > 5:
            cells.chars[5:end] = chars[: end - 5]
            cells.styles[5:end] = styles[: end - 5]
        if meter.peak > METER_FLOOR_DB:
            col = min(bar - 1, self._eighths(meter.peak, bar * 8) // 8)
            cells.put(5 + col, "▌", self._style("peak"))
        value = f"{meter.readout:6.1f}" if meter.readout > -100 else "  -inf"
        cells.text(5 + bar + 1, value, self._style("value"))
        clip = meter.clipping(self.now())
        cells.text(5 + bar + 8, " CLIP " if clip else " clip ", self._style("clip" if clip else "noclip"))
        return cells


# --- metrics table ------------------------------------------------------------------------------


class MetricsTable(CachedStyles, Widget, can_focus=False):
    """The latest turn's timings beside p50/p95 (and max, when wide enough) of the session."""

    STYLE_PREFIX = "metrics"

    COMPONENT_CLASSES = {"metrics--header", "metrics--label", "metrics--value", "metrics--none", "metrics--title"}

    def __init__(self, metrics: MetricsBuilder, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.metrics = metrics
        self._version = -1
        self._lines: list[Strip] = []
        self._width = 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(METRICS) + 2

    def update_metrics(self) -> None:
        """Redraw if the metrics changed."""
        if self.metrics.version == self._version:
            return
        self._version = self.metrics.version
        width = self.size.width
        if not self._lines or self._width != width or not self.is_mounted:
            self._lines = []
            self.refresh()
            return
        # Only the rows whose text or styles changed repaint (a turn moves a few of them).
        before, self._lines = self._lines, self._render_all(width)
        rows = [Region(0, y, width, 1) for y, line in enumerate(self._lines) if y >= len(before) or line != before[y]]
        mark_for_paint(self, *rows)  # painted by the console's flush (paint_now)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = []

    def on_resize(self) -> None:
        self._lines = []

    def render_line(self, y: int) -> Strip:
        if not self._lines or self._width != self.size.width:
            self._width = self.size.width
            self._lines = self._render_all(self.size.width)
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width, self._base())

    def _render_all(self, width: int) -> list[Strip]:
        style = self._style
        base = self._base()
        show_max = width >= 36
        cols = ["last", "p50", "p95"] + (["max"] if show_max else [])
        latest = self.metrics.latest_ended()
        summary = self.metrics.summary()
        lines: list[Strip] = []
        title = CellRow(width, base)
        turns = self.metrics.ended_turns  # counted as turns end: no rebuilding every turn per frame
        title.text(0, f"turn {latest.turn}" if latest else "no turn yet", style("title"))
        title.text(12, f"{turns} turn{'s' if turns != 1 else ''}, ms", style("header"))
        lines.append(title.strip())
        header = CellRow(width, base)
        for i, name in enumerate(cols):
            header.text(11 + i * 6, f"{name:>5}", style("header"))
        lines.append(header.strip())
        for info in METRICS:
            row = CellRow(width, base)
            row.text(0, info.label[:10], style("label"))
            s = summary[info.key]
            values = [latest.value(info.key) if latest else None, s.p50, s.p95] + ([s.max] if show_max else [])
            if info.key == "barge_in_latency" and self.metrics.interruptions:
                values[0] = self.metrics.interruptions[-1].latency
            for i, value in enumerate(values):
                text = "—" if value is None else (f"{value:.0f}" if info.unit == "count" else f"{value * 1000:.0f}")
                row.text(11 + i * 6, f"{text:>5}", style("none" if value is None else "value"))
            lines.append(row.strip())
        return lines


def engine_text(model: ConsoleModel, styles: Callable[[str], Style]) -> Text:
    """``stt local ● connected  tts local ● connected`` with one style per state."""
    text = Text()
    for role in ("stt", "tts"):
        info = model.engines.get(role)
        if info is None:
            continue
        text.append(f"{role} ", styles("status--label"))
        text.append(f"{info.engine} ", styles("status--value"))
        state = info.state if info.state in ("connecting", "connected", "reconnecting", "closed", "failed") else "connecting"
        text.append(f"● {info.state}", styles(f"status--{state}"))
        text.append("  ")
    return text
