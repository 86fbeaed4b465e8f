"""The VU meters: mic and speaker levels in dBFS with peak hold and a clip light, and the echo
canceller's ERLE while the bot speaks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from voiceconsole.ui.cells import CellRow, ComponentStyles

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
        held = (
            self.peak
            if now - self.peak_t <= PEAK_HOLD_S
            else self.peak - PEAK_FALL_DB_PER_S * dt
        )
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


class VuMeters(ComponentStyles, Widget, can_focus=False):
    """Mic and speaker meters on a dBFS scale with peak hold and a clip light.

    The console calls :meth:`set_levels` for each meter at every frame, then :meth:`update`,
    which redraws the meter lines whose readings moved and refreshes only the cells that changed
    (the moving end of the bar, the value).
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
        self._shown: list[object] = [
            None,
            None,
        ]  # what each meter line shows, to skip still ones
        self._rows: list[CellRow | None] = [None, None, None]
        self.erle_db: float | None = None
        """The ERLE shown beside the scale (None: nothing shown)."""

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 3

    def set_levels(
        self, source: str, rms_db: float, peak_db: float, clips: int
    ) -> None:
        """A new reading for ``mic`` or ``speaker``."""
        self.meters[source].update(rms_db, peak_db, clips, self.now())

    def _current_erle(self) -> float | None:
        """The console model's latest ERLE while a reply is heard (the app's ``model``)."""
        from voiceconsole.ui.model import ConsoleModel

        model = getattr(self.app, "model", None)
        if (
            not isinstance(model, ConsoleModel)
            or model.erle is None
            or model.playing_reply() is None
        ):
            return None
        return model.erle.erle_db

    def update(self) -> bool:
        """Redraw the meters that moved; True if any did."""
        width = self.content_region.width
        erle = self._current_erle()
        if erle != self.erle_db:
            self.erle_db = erle
            self._rows[2] = None
            self.refresh(Region(0, 2, width, 1))
        now = self.now()
        bar = self._bar_width(width)
        moved = False
        for y, meter in enumerate(self.meters.values()):
            shown = (
                width,
                self._eighths(meter.level, bar * 8),
                self._eighths(meter.peak, bar * 8) // 8,
                round(meter.readout, 1),
                meter.clipping(now),
            )
            if shown == self._shown[y]:
                continue
            moved = True
            self._shown[y] = shown
            before, after = self._rows[y], self._meter_row(y, width)
            self._rows[y] = after
            span = after.changed_span(before)
            if span is not None:
                self.refresh(Region(span[0], y, span[1] - span[0], 1))
        return moved

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rows = [None, None, None]
        self._shown = [None, None]

    def on_resize(self) -> None:
        self._rows = [None, None, None]
        self._shown = [None, None]

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
        if y > 2:
            return Strip.blank(width, self.base_style)
        row = self._rows[y]
        if row is None or row.width != width:
            row = self._rows[y] = (
                self._scale_row(width) if y == 2 else self._meter_row(y, width)
            )
        return row.strip()

    def _scale_row(self, width: int) -> CellRow:
        cells = CellRow(width, self.base_style)
        bar = self._bar_width(width)
        scale = self.style_of("scale")
        free = 0
        for db in METER_SCALE:
            label = str(db)
            col = min(
                5 + self._eighths(db, bar * 8) // 8 - len(label) // 2,
                5 + bar - len(label),
            )
            if col >= free:
                cells.text(col, label, scale)
                free = col + len(label) + 1
        cells.text(5 + bar + 1, "dBFS", scale)
        if self.erle_db is not None:
            cells.text(
                5 + bar + 6,
                f"ERLE{self.erle_db:4.0f}dB"[: max(0, width - bar - 11)],
                self.style_of("value"),
            )
        return cells

    def _meter_row(self, y: int, width: int) -> CellRow:
        cells = CellRow(width, self.base_style)
        bar = self._bar_width(width)
        meter = self.meters["mic" if y == 0 else "speaker"]
        cells.text(0, "mic" if y == 0 else "spk", self.style_of("label"))
        full, part = divmod(self._eighths(meter.level, bar * 8), 8)
        full = min(full, bar)
        for i in range(bar):
            db = METER_FLOOR_DB + (i + 1) / bar * -METER_FLOOR_DB
            zone = self.style_of("low" if db <= -18 else "mid" if db <= -6 else "high")
            if i < full:
                cells.put(5 + i, "█", zone)
            elif i == full and part:
                cells.put(5 + i, BLOCKS[part], zone)
            else:
                cells.put(5 + i, "·", self.style_of("track"))
        if meter.peak > METER_FLOOR_DB:
            col = min(bar - 1, self._eighths(meter.peak, bar * 8) // 8)
            cells.put(5 + col, "▌", self.style_of("peak"))
        value = f"{meter.readout:6.1f}" if meter.readout > -100 else "  -inf"
        cells.text(5 + bar + 1, value, self.style_of("value"))
        clip = meter.clipping(self.now())
        cells.text(
            5 + bar + 8,
            " CLIP " if clip else " clip ",
            self.style_of("clip" if clip else "noclip"),
        )
        return cells


__all__ = ["MeterState", "VuMeters"]
