"""The turn timeline: the lanes of :mod:`voiceconsole.ui.lanes` on a scrolling audio-time axis.

Columns are a fixed number of milliseconds wide (the zoom). Following live is page-follow: the
view stands still while the "now" cursor walks across it and jumps on by half a page when the
cursor reaches the right edge. At each frame the console calls :meth:`TimelineView.update`; a
lane is drawn again only when what it shows moved (its model versions, "now" for the lanes
that follow it, the scroll or the zoom), and only the cells that differ from what is on screen
are refreshed.
"""

from __future__ import annotations

import math

from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollLeft, ScrollRight, ScrollTo
from textual.strip import Strip
from textual.widget import Widget

from voiceconsole.ui.cells import CellRow, ComponentStyles
from voiceconsole.ui.lanes import LANES, Lane, Window
from voiceconsole.ui.model import ConsoleModel
from voiceconsole.ui.scrolling import set_scroll_range

ZOOMS_MS: tuple[int, ...] = (5, 10, 20, 50, 100, 200, 500, 1000, 2000)
"""Milliseconds per column, finest first."""
DEFAULT_ZOOM_MS = 50
SPILL = 16
"""Columns a label may run past the item it belongs to (labels only run to the right): each
lane is drawn from this many columns left of the view."""
PAGE_MARGIN = 4
"""Columns kept free to the right of "now" while following."""
NOW_STEP_S = 0.12
"""While only levels arrive, "now" (the cursor, the level columns, open spans) moves on by at
least this much audio time (or a column, zoomed out) at a time: about 8 redraws a second
instead of one per frame. Anything else that changes a lane is drawn at once."""
LABEL_CHARS = set("0123456789.:ms↯")


class TimelineView(ComponentStyles, ScrollView, can_focus=True):
    """The scrolling turn timeline. Follows "now" until paused or scrolled back."""

    STYLE_PREFIX = "timeline"
    COMPONENT_CLASSES = {
        "timeline--axis",
        "timeline--tick",
        "timeline--future",
        "timeline--now",
        "timeline--mic",
        "timeline--mic-raw",
        "timeline--vad",
        "timeline--muted",
        "timeline--turn",
        "timeline--update",
        "timeline--eager",
        "timeline--resume",
        "timeline--end",
        "timeline--gap",
        "timeline--reply",
        "timeline--wait",
        "timeline--playing",
        "timeline--interrupt",
        "timeline--command",
        "timeline--speaker",
        "timeline--signal",
        "timeline--signal-speech",
        "timeline--signal-note",
        "timeline--threshold",
        "timeline--count-start",
        "timeline--silence",
        "timeline--silence-eager",
        "timeline--silence-end",
        "timeline--ghost",
        "timeline--ghost-mark",
        "timeline--ghost-diff",
    }

    follow: reactive[bool] = reactive(True, init=False)
    """Keep "now" in view (page by page)."""
    zoom_ms: reactive[int] = reactive(DEFAULT_ZOOM_MS, init=False)
    """Milliseconds per column."""

    class ViewChanged(Message):
        """Following live was switched on or off, or the zoom changed."""

    def __init__(self, model: ConsoleModel, *, lanes: tuple[Lane, ...] = LANES, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.lanes = lanes
        self._drawn: list[tuple[object, ...] | None] = [None] * len(lanes)
        self._rows: list[CellRow | None] = [None] * len(lanes)
        self._strips: list[Strip | None] = [None] * len(lanes)
        self._now = 0.0
        self._events_seen: tuple[int, ...] = ()  # the model's versions of what is not a level

    def set_lanes(self, lanes: tuple[Lane, ...]) -> None:
        """Show ``lanes`` from now on (the console drops some on a short terminal)."""
        self.lanes = lanes
        self._forget()
        if self.is_mounted:
            self._resize_virtual()
        self.refresh()

    def reset(self, model: ConsoleModel) -> None:
        """Show ``model`` from scratch (a replay seeking backwards)."""
        self.model = model
        self._forget()
        self.refresh()

    @property
    def now(self) -> float:
        """The audio time the lanes are drawn up to (see :data:`NOW_STEP_S`)."""
        return self._now

    def _forget(self) -> None:
        self._drawn = [None] * len(self.lanes)
        self._rows = [None] * len(self.lanes)
        self._strips = [None] * len(self.lanes)

    # --- coordinates ----------------------------------------------------------------------------

    def col(self, t: float) -> int:
        """Column of audio time ``t``."""
        return math.floor(t * 1000.0 / self.zoom_ms + 1e-9)

    def time_at(self, col: float) -> float:
        """Audio time at the left edge of column ``col``."""
        return col * self.zoom_ms / 1000.0

    # --- updates --------------------------------------------------------------------------------

    def update(self) -> None:
        """Follow "now" and redraw the lanes whose content moved (called at every frame)."""
        if not self.is_mounted:
            return
        self._move_now()
        self._resize_virtual()
        if self.follow:
            self._scroll_to_now()
        width = self.scrollable_content_region.width
        x0 = int(self.scroll_x)
        now_col = self.col(self._now)
        for y, lane in enumerate(self.lanes):
            key = self._key(lane, x0, width, now_col)
            if key == self._drawn[y]:
                continue
            before = self._rows[y]
            after = self._draw(lane, x0, width, now_col)
            self._drawn[y], self._rows[y], self._strips[y] = key, after, None
            span = after.changed_span(before)
            if span is not None:
                self.refresh(Region(span[0], y, span[1] - span[0], 1))

    def _move_now(self) -> None:
        model, versions = self.model, self.model.versions
        seen = (versions.turns, versions.replies, versions.speech, versions.gaps)
        step = max(NOW_STEP_S, self.zoom_ms / 1000.0)
        if seen != self._events_seen or not 0 <= model.now_audio_t - self._now < step:
            self._now, self._events_seen = model.now_audio_t, seen

    def _key(self, lane: Lane, x0: int, width: int, now_col: int) -> tuple[object, ...]:
        """What a lane's drawing depends on: the view, "now" if it follows it, its model versions."""
        versions = self.model.versions
        return (x0, width, self.zoom_ms, now_col if lane.follows_now else None,
                *(getattr(versions, aspect) for aspect in lane.aspects))

    def _draw(self, lane: Lane, x0: int, width: int, now_col: int) -> CellRow:
        """The lane's cells for the view's columns (drawn from :data:`SPILL` columns before)."""
        win = Window(x0 - SPILL, width + SPILL, self.zoom_ms, now_col, self._now, view_col=SPILL)
        cells = CellRow(win.width, self.base_style)
        lane.draw(cells, win, self.model, self.style_of)
        if lane.labelled and x0 > 0:
            _blank_cut_label(cells, SPILL, self.base_style)
        view = CellRow(width, self.base_style)
        view.chars, view.styles = cells.chars[SPILL:], cells.styles[SPILL:]
        return view


    def fresh_line(self, y: int) -> Strip:
        """Lane ``y`` drawn afresh from the model at the view's position (what :meth:`render_line`
        must show once the view is up to date)."""
        x0, width = int(self.scroll_x), self.scrollable_content_region.width
        return self._draw(self.lanes[y], x0, width, self.col(self._now)).strip()

    def _page_x(self) -> int:
        """The view's left column while following: still until "now" (plus a margin) reaches
        the right edge, then half a page further on at a time."""
        view = max(1, self.scrollable_content_region.width)
        need = self.col(self._now) + PAGE_MARGIN
        if need < view:
            return 0
        half = max(1, view // 2)
        return ((need - view) // half + 1) * half

    def _resize_virtual(self) -> None:
        # The axis grows by half a page at a time (as the followed view moves), so the scroll
        # range and scrollbar change only then, not at every column.
        view = self.scrollable_content_region.width
        size = Size(max(self._page_x() + view, view), len(self.lanes))
        set_scroll_range(self, size)

    def _scroll_to_now(self) -> None:
        target = self._page_x()
        if int(self.scroll_x) != target:
            self._scroll(target)

    def _scroll(self, x: int) -> None:
        # Forced: right after the scroll range grew, Textual has not yet laid out the scrollbar
        # that allows scrolling.
        self.scroll_to(x=max(0, x), animate=False, immediate=True, force=True)

    # The user moving the scrollbar pauses following (keys and the mouse wheel pan, which does).
    def on_scroll_to(self, message: ScrollTo) -> None:
        if message.x is not None:
            self.follow = False

    def on_scroll_left(self, message: ScrollLeft) -> None:
        self.follow = False

    def on_scroll_right(self, message: ScrollRight) -> None:
        self.follow = False

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self._resize_virtual()
            self._scroll_to_now()
        self.post_message(self.ViewChanged())

    def watch_zoom_ms(self, old_zoom: int, zoom: int) -> None:
        # Keep the centre (or "now", when following) in place.
        width = self.scrollable_content_region.width
        centre = (self.scroll_x + width / 2) * old_zoom / 1000.0
        self._resize_virtual()
        if self.follow:
            self._scroll_to_now()
        else:
            self._scroll(self.col(centre) - width // 2)
        self.post_message(self.ViewChanged())

    def zoom(self, steps: int) -> None:
        """Zoom in (negative ``steps``: fewer ms per column) or out."""
        i = ZOOMS_MS.index(self.zoom_ms) if self.zoom_ms in ZOOMS_MS else ZOOMS_MS.index(DEFAULT_ZOOM_MS)
        self.zoom_ms = ZOOMS_MS[max(0, min(len(ZOOMS_MS) - 1, i + steps))]

    def pan(self, fraction: float) -> None:
        """Scroll by a fraction of the view's width (negative: back in time); stops following."""
        self.follow = False
        self.scroll_to(x=max(0, self.scroll_x + round(self.scrollable_content_region.width * fraction)),
                       animate=False, immediate=True)

    def pan_home(self) -> None:
        """Go to the start of the session (stops following)."""
        self.follow = False
        self.scroll_to(x=0, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        self._resize_virtual()
        if self.follow:
            self._scroll_to_now()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        event.prevent_default()
        self.pan(0.1)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        event.prevent_default()
        self.pan(-0.1)

    # --- rendering ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y >= len(self.lanes):
            return Strip.blank(width, self.base_style)
        x0 = int(self.scroll_x)
        now_col = self.col(self._now)
        row = self._rows[y]
        lane = self.lanes[y]
        drawn = self._drawn[y]
        if row is None or drawn is None or drawn[:3] != (x0, width, self.zoom_ms):
            # Scrolled (or first shown) since the last update: draw at the view's position.
            row = self._rows[y] = self._draw(lane, x0, width, now_col)
            self._drawn[y] = self._key(lane, x0, width, now_col)
            self._strips[y] = None
        strip = self._strips[y]
        if strip is None:
            strip = self._strips[y] = row.strip()
        return strip


def _blank_cut_label(cells: CellRow, first: int, style: Style) -> None:
    """Blank what shows from column ``first`` on of a label whose start is left of it
    ("0ms" of "820ms")."""
    chars = cells.chars
    if first >= len(chars) or chars[first] not in LABEL_CHARS or chars[first - 1] not in LABEL_CHARS | {"▶"}:
        return
    col = first
    while col < len(chars) and chars[col] in LABEL_CHARS:
        chars[col] = " "
        cells.styles[col] = style
        col += 1


class TimelineGutter(Widget):
    """The lane names beside the timeline."""

    COMPONENT_CLASSES = {"gutter--label"}

    def __init__(self, lanes: tuple[Lane, ...] = LANES, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lanes = lanes

    def set_lanes(self, lanes: tuple[Lane, ...]) -> None:
        """Label ``lanes`` from now on."""
        self.lanes = lanes
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        cells = CellRow(width, self.rich_style)
        label = self.lanes[y].label if y < len(self.lanes) else ""
        if label and width > 1:
            cells.text(max(0, width - len(label) - 1), label[: width - 1], self.get_component_rich_style("gutter--label"))
        return cells.strip()


__all__ = ["DEFAULT_ZOOM_MS", "TimelineGutter", "TimelineView", "ZOOMS_MS"]
