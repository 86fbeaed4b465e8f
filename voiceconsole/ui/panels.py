"""The smaller panels: TTS queue, VU meters, metrics table and the status line."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from voiceconsole.session.metrics import METRICS, MetricsBuilder
from voiceconsole.ui.lines import CellRow
from voiceconsole.ui.model import ConsoleModel, ReplyEntry

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


class QueueView(ScrollView, can_focus=False):
    """One line per reply: state, time to first audio, duration, characters and the text."""

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
        self._numbers: list[int] = []
        self._cache: LRUCache[int, tuple[tuple[int, int], Strip]] = LRUCache(256)

    def update_replies(self, changed: set[int]) -> None:
        """Take in new replies and redraw changed ones; keeps the newest in view."""
        known = len(self._numbers)
        self._numbers.extend(n for n in list(self.model.replies)[known:])
        for number in changed:
            self._cache.discard(number)
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._numbers) + 1)
        if len(self._numbers) != known:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_resize(self) -> None:
        self._cache.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._numbers) + 1)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = int(self.scroll_y) + y
        if line == 0 and not self._numbers:
            cells = CellRow(width, self.rich_style)
            cells.text(1, "no replies yet: press s to type one", self.get_component_rich_style("queue--dim"))
            return cells.strip()
        if line == 0:
            cells = CellRow(width, self.rich_style)
            cells.text(0, QUEUE_HEADER, self.get_component_rich_style("queue--header"))
            return cells.strip()
        if line - 1 >= len(self._numbers):
            return Strip.blank(width, self.rich_style)
        number = self._numbers[line - 1]
        entry = self.model.replies[number]
        cached = self._cache.get(number)
        if cached is None or cached[0] != (entry.version, width):
            strip = self._row(entry, width)
            self._cache.set(number, ((entry.version, width), strip))
            return strip
        return cached[1]

    def _row(self, entry: ReplyEntry, width: int) -> Strip:
        cells = CellRow(width, self.rich_style)
        state = entry.state
        state_style = self.get_component_rich_style(f"queue--{state}")
        label = "cut" if entry.interrupted else STATE_LABELS.get(state, state)
        ttfa = f"{round(entry.ttfa_s * 1000)}ms" if entry.ttfa_s is not None else "—"
        duration = f"{entry.duration_s:.1f}s" if entry.duration_s is not None else "—"
        cells.text(0, f"{entry.reply:>3}", self.rich_style)
        cells.text(4, f"{STATE_ICONS[state]} {label}", state_style)
        cells.text(16, f"{ttfa:>6}{duration:>6}{len(entry.text):>5}", self.rich_style)
        text = entry.text.replace("\n", " ")
        room = width - 34
        if room > 1:
            if len(text) > room:
                text = text[: room - 1] + "…"
            cells.text(34, text, self.get_component_rich_style("queue--text"))
        return cells.strip()


# --- VU meters ----------------------------------------------------------------------------------

METER_FLOOR_DB = -60.0
METER_SCALE = (-60, -48, -36, -24, -12, -6, 0)
PEAK_HOLD_S = 1.5
RELEASE_DB_PER_S = 24.0
PEAK_FALL_DB_PER_S = 12.0
CLIP_SHOW_S = 2.0
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

    def clipping(self, now: float) -> bool:
        """Whether the clip light is on."""
        return now - self.clip_t <= CLIP_SHOW_S


class VuMeters(Widget, can_focus=False):
    """Mic and speaker meters on a dBFS scale with peak hold and a clip light.

    The app calls :meth:`set_levels` about 30 times a second; the widget only redraws when what
    it shows changed, and never changes size.
    """

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
        self._shown: tuple[object, ...] = ()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 3

    def set_levels(self, source: str, rms_db: float, peak_db: float, clips: int) -> None:
        """A new reading for ``mic`` or ``speaker``."""
        self.meters[source].update(rms_db, peak_db, clips, self.now())

    def tick(self) -> None:
        """Redraw if the meters moved."""
        shown = self._signature()
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def _bar_width(self) -> int:
        return max(8, self.size.width - 22)

    def _signature(self) -> tuple[object, ...]:
        width = self._bar_width() * 8
        now = self.now()
        return tuple(
            (self._eighths(m.level, width) // 8, self._eighths(m.peak, width) // 8, round(m.level), m.clipping(now))
            for m in self.meters.values()
        )

    @staticmethod
    def _eighths(db: float, width: int) -> int:
        share = (max(METER_FLOOR_DB, min(0.0, db)) - METER_FLOOR_DB) / -METER_FLOOR_DB
        return int(share * width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        cells = CellRow(width, self.rich_style)
        bar = self._bar_width()
        if y == 2:
            scale = self.get_component_rich_style("meter--scale")
            free = 0
            for db in METER_SCALE:
                label = str(db)
                col = min(5 + self._eighths(db, bar * 8) // 8 - len(label) // 2, 5 + bar - len(label))
                if col >= free:
                    cells.text(col, label, scale)
                    free = col + len(label) + 1
            cells.text(5 + bar + 1, "dBFS", scale)
            return cells.strip()
        if y > 2:
            return cells.strip()
        source = "mic" if y == 0 else "speaker"
        meter = self.meters[source]
        now = self.now()
        cells.text(0, "mic" if y == 0 else "spk", self.get_component_rich_style("meter--label"))
        track = self.get_component_rich_style("meter--track")
        cells.fill(5, 5 + bar, "·", track)
        filled = self._eighths(meter.level, bar * 8)
        for i in range(bar):
            eighths = min(8, max(0, filled - i * 8))
            if eighths == 0:
                continue
            db = METER_FLOOR_DB + (i + 1) / bar * -METER_FLOOR_DB
            zone = "low" if db <= -18 else "mid" if db <= -6 else "high"
            cells.put(5 + i, BLOCKS[eighths], self.get_component_rich_style(f"meter--{zone}"))
        if meter.peak > METER_FLOOR_DB:
            col = min(bar - 1, self._eighths(meter.peak, bar * 8) // 8)
            cells.put(5 + col, "▌", self.get_component_rich_style("meter--peak"))
        value = f"{meter.level:6.1f}" if meter.level > -100 else "  -inf"
        cells.text(5 + bar + 1, value, self.get_component_rich_style("meter--value"))
        clip = meter.clipping(now)
        cells.text(5 + bar + 8, " CLIP " if clip else " clip ", self.get_component_rich_style("meter--clip" if clip else "meter--noclip"))
        return cells.strip()


# --- metrics table ------------------------------------------------------------------------------


class MetricsTable(Widget, can_focus=False):
    """The latest turn's timings beside p50/p95 (and max, when wide enough) of the session."""

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
        if self.metrics.version != self._version:
            self._version = self.metrics.version
            self._lines = []
            self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = []

    def on_resize(self) -> None:
        self._lines = []

    def render_line(self, y: int) -> Strip:
        if not self._lines or self._width != self.size.width:
            self._width = self.size.width
            self._lines = self._render_all(self.size.width)
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width, self.rich_style)

    def _render_all(self, width: int) -> list[Strip]:
        style = self.get_component_rich_style
        show_max = width >= 36
        cols = ["last", "p50", "p95"] + (["max"] if show_max else [])
        latest = self.metrics.latest_ended()
        summary = self.metrics.summary()
        lines: list[Strip] = []
        title = CellRow(width, self.rich_style)
        turns = sum(1 for t in self.metrics.turns() if t.ended)
        title.text(0, f"turn {latest.turn}" if latest else "no turn yet", style("metrics--title"))
        title.text(12, f"{turns} turn{'s' if turns != 1 else ''}, ms", style("metrics--header"))
        lines.append(title.strip())
        header = CellRow(width, self.rich_style)
        for i, name in enumerate(cols):
            header.text(11 + i * 6, f"{name:>5}", style("metrics--header"))
        lines.append(header.strip())
        for info in METRICS:
            row = CellRow(width, self.rich_style)
            row.text(0, info.label[:10], style("metrics--label"))
            s = summary[info.key]
            values = [latest.value(info.key) if latest else None, s.p50, s.p95] + ([s.max] if show_max else [])
            if info.key == "barge_in_latency" and self.metrics.interruptions:
                values[0] = self.metrics.interruptions[-1].latency
            for i, value in enumerate(values):
                text = "—" if value is None else (f"{value:.0f}" if info.unit == "count" else f"{value * 1000:.0f}")
                row.text(11 + i * 6, f"{text:>5}", style("metrics--none" if value is None else "metrics--value"))
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
