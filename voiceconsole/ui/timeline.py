"""The turn timeline: lanes of events on a scrolling audio-time axis, drawn with the Line API.

Columns are a fixed number of milliseconds wide (the zoom). The view is cut into chunks of
:data:`CHUNK` columns; each lane's strip of each chunk is drawn once and cached. New events
only invalidate the chunks from the earliest audio time they touch, which during a live session
is the last chunk or two, so following an hour-long session costs the same as a minute-long one.

Following live is page-follow: the view stands still while the "now" cursor walks across it,
and jumps on by half a page when the cursor reaches the right edge. Between jumps an update
redraws the invalidated chunks that are on screen at once, compares them cell by cell with what
was shown, and refreshes only the cells that changed (usually the cursor's column and the new
level columns), so Textual repaints a few cells instead of the whole panel.

Lanes (top to bottom): time labels, ticks (with the "now" cursor), mic level with the reference
VAD's speech behind it (and muted stretches), turn events, the measured gaps (speech stop ->
eager end, speech stop -> end, end -> first reply audio and interrupt -> silence), replies
(request sent, first audio, playing, cut; interrupt, typed line and mute commands) and the
speaker level.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from voiceconsole.events import (
    Event,
    SayCommand,
    TtsDone,
    TtsQueued,
    TtsRequestSent,
    TtsWordTimings,
    TurnStart,
    TurnUpdate,
)
from voiceconsole.ui.lines import CachedStyles, CellRow
from voiceconsole.ui.model import ConsoleModel, LevelTrack
from voiceconsole.ui.paintcache import FrameCachedScrollbars, mark_for_paint

ZOOMS_MS: tuple[int, ...] = (5, 10, 20, 50, 100, 200, 500, 1000, 2000)
"""Milliseconds per column, finest first."""
DEFAULT_ZOOM_MS = 50
CHUNK = 32
"""Columns per cached strip."""
CHUNK_CACHE = 128
"""Cached chunks at least (an entry holds ~3 KB of cells and strip): about three screens of 9
lanes at 120 columns; a wider view raises the bound to three of its screens. Older chunks are
drawn again when scrolled back to (a screen of them in about 3 ms)."""
CACHED_SCREENS = 3
SPILL = 16
"""Columns a label may run past the item it belongs to (labels only run to the right)."""
PAST_ENOUGH = 4
"""Turns (or replies), newest first, wholly before a chunk after which older ones are not looked
at: they follow one another in time, so a chunk costs the same in an hour-long session."""
PAGE_MARGIN = 4
"""Columns kept free to the right of "now" while following."""

ROWS: tuple[str, ...] = ("axis", "ticks", "mic", "turn", "gap0", "gap1", "reply", "gap2", "speaker")
ROW_LABELS: dict[str, str] = {
    "axis": "",
    "ticks": "",
    "mic": "mic/vad",
    "turn": "turn",
    "gap0": "→eager",
    "gap1": "→end",
    "reply": "reply",
    "gap2": "→audio",
    "speaker": "speaker",
}
ROW_HELP: dict[str, str] = {
    "mic": "mic level; shaded where the reference VAD hears speech",
    "turn": "▶ turn.start  · turn.update  ◇ turn.eager_end  ↺ turn.resume  ■ turn.end",
    "gap0": "reference-VAD speech stop → turn.eager_end, in ms",
    "gap1": "reference-VAD speech stop → turn.end, in ms",
    "reply": "› request  ♪ first audio  ▶▬ playing  ✕ cut  ↯ interrupt  ✎ typed  M/U mute",
    "gap2": "turn.end → first reply audio heard; ↯ interrupt → silence, in ms",
    "speaker": "speaker level",
}

SPARK = "▁▂▃▄▅▆▇█"
LABELLED_ROWS = {"axis", "turn", "gap0", "gap1", "reply", "gap2"}
NOW_ROWS = tuple(i for i, row in enumerate(ROWS) if row in ("ticks", "mic", "turn", "reply", "speaker"))
"""The lanes whose drawing depends on where "now" is (the cursor, levels, open spans)."""
COLUMN_ROWS = tuple(i for i, row in enumerate(ROWS) if row in ("ticks", "mic", "speaker"))
"""Lanes whose every column is drawn from that column's time alone (no labels): when only "now"
moved, just the columns it crossed are drawn again."""
SPAN_NOW_ROWS = tuple(i for i in NOW_ROWS if i not in COLUMN_ROWS)
LANES_OF_EVENT: dict[type[Event], frozenset[int]] = {
    kind: frozenset(ROWS.index(lane) for lane in lanes)
    for kind, lanes in {
        TurnStart: ("turn",),
        TurnUpdate: ("turn",),
        TtsQueued: ("reply",),
        TtsRequestSent: ("reply",),
        TtsWordTimings: ("reply",),
        TtsDone: ("reply",),
        SayCommand: ("reply",),
    }.items()
}
"""The lanes these events can change, besides those that follow "now" (they are among those, so
these events leave the axis and the measured gaps alone). Any other event (one the metrics fold
into a gap, a speech edge, a mute, an interrupt, a session or device change) may change every
lane."""
ALL_ROWS = frozenset(range(len(ROWS)))


def lanes_changed_by(event: Event) -> frozenset[int]:
    """The rows of the timeline ``event`` can change (see :data:`LANES_OF_EVENT`)."""
    return LANES_OF_EVENT.get(type(event), ALL_ROWS)


LABEL_CHARS = set("0123456789.:ms↯")
LEVEL_FLOOR_DB = -60.0
TICK_STEPS_S = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
TURN_MARKS = {"update": "·", "resume": "↺", "eager_end": "◇", "start": "▶", "end": "■"}
TURN_MARK_STYLE = {"update": "update", "resume": "resume", "eager_end": "eager", "start": "turn", "end": "end"}
REPLY_MARKS = {"queued": "•", "request": "›", "first_audio": "♪", "say": "✎", "mute": "M", "unmute": "U", "interrupt": "↯", "cut": "✕"}
GAP_STYLE = {"stop_eager": "eager", "stop_end": "end", "end_audio": "reply", "barge_in": "interrupt"}


def format_axis_time(t: float, step: float) -> str:
    """A tick label: ``1.25s``, ``12s`` or ``1:05``."""
    if t >= 60 and step >= 1:
        minutes, seconds = divmod(int(round(t)), 60)
        return f"{minutes}:{seconds:02d}"
    if step < 0.1:
        return f"{t:.2f}s"
    if step < 1:
        return f"{t:.1f}s"
    return f"{t:.0f}s"


class TimelineView(CachedStyles, FrameCachedScrollbars, ScrollView, can_focus=True):
    """The scrolling turn timeline. Follows "now" until paused or scrolled back."""

    STYLE_PREFIX = "timeline"
    COMPONENT_CLASSES = {
        "timeline--axis",
        "timeline--tick",
        "timeline--future",
        "timeline--now",
        "timeline--mic",
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
    }

    class FollowChanged(Message):
        """Following live was switched on or off (or the zoom changed)."""

    def __init__(self, model: ConsoleModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.zoom_ms = DEFAULT_ZOOM_MS
        self.follow = True
        self._chunks: LRUCache[tuple[int, int], list[Any]] = LRUCache(CHUNK_CACHE)
        """``(row, chunk)`` -> ``[cells, strip]``; the strip is made when the chunk is first shown."""
        self._max_chunk = -1
        self._drawn_now = 0.0
        self._drawn_events = -1
        """The model's event count when the lanes were last brought up to date."""
        self._shown_x = -1
        """The scroll column the cached screen lines were drawn at (-1: not drawn yet)."""
        self._programmatic = False
        self.painted = 0
        """Chunk strips drawn so far (each is a lane's 32 columns; the rest come from the cache)."""

    def reset(self, model: ConsoleModel) -> None:
        """Show ``model`` from scratch (a replay seeking backwards); drawn at the next update."""
        self.model = model
        self._chunks.clear()
        self._max_chunk = -1
        self._drawn_now = 0.0
        self._drawn_events = -1

    # --- coordinates ----------------------------------------------------------------------------

    @property
    def seconds_per_col(self) -> float:
        return self.zoom_ms / 1000.0

    def col(self, t: float) -> int:
        """Column of audio time ``t``."""
        return math.floor(t * 1000.0 / self.zoom_ms + 1e-9)

    def time_at(self, col: float) -> float:
        """Audio time at the left edge of column ``col``."""
        return col * self.seconds_per_col

    # --- updates --------------------------------------------------------------------------------

    def update_from(self, audio_t: float, rows: frozenset[int] = ALL_ROWS, levels_from: float = math.inf) -> None:
        """The model changed from ``audio_t`` on, in ``rows`` (:func:`lanes_changed_by` of the
        events), and level readings arrived from ``levels_from`` on: redraw from there and
        follow "now".

        When only "now" moved (levels arriving), the lanes that follow it are redrawn from the
        column drawn last (that column too: a level may have arrived for it since) or the
        earliest reading's, whichever is earlier; the lanes drawn column by column
        (:data:`COLUMN_ROWS`) just those columns, also when events changed only other lanes.
        When nothing arrived and "now" is still in that column, nothing is. When the view did
        not scroll, only the cells that changed are marked, for the caller's
        :func:`~voiceconsole.ui.paintcache.paint_now` (the console's flush).
        """
        if (
            audio_t == math.inf
            and self.model.events == self._drawn_events
            and self.col(self.model.now_audio_t) == self.col(self._drawn_now)
        ):
            return
        self._drawn_events = self.model.events
        # Only "now" moved: the lanes drawn up to "now" change from the column drawn last on.
        now_only = audio_t == math.inf
        drawn_before = self._drawn_now
        start = min(audio_t, drawn_before)
        self._drawn_now = self.model.now_audio_t
        self._resize_virtual()
        if self.follow:
            self._scroll_to_now()
        x0 = int(self.scroll_x)
        if x0 != self._shown_x or not self.is_mounted:
            self._invalidate_from(start)
            self.refresh()
            return
        # Nothing is drawn past "now" but the labels of items up to it (at most SPILL columns).
        last = self._now_col()
        # The lanes drawn column by column change only where "now" moved and readings arrived:
        # from the column drawn last on (one column more: a reading on a column's edge also
        # counts for the column before, its window ending a hair past the edge in floating point).
        first = max(0, self.col(min(drawn_before, levels_from)) - 1)
        # Not when "now" went a long way at once (a replay skipping on: whole chunks, drawn when
        # shown), nor for events that change those lanes themselves (only turn and reply events
        # leave them alone, see LANES_OF_EVENT).
        by_columns = last - first <= CHUNK and (now_only or rows.isdisjoint(COLUMN_ROWS))
        changes = self._redraw_columns(first, last, x0) if by_columns else []
        now_rows = SPAN_NOW_ROWS if by_columns else NOW_ROWS
        if now_only:
            since = start if by_columns else min(start, levels_from)
            changes += self._invalidate_from(since, diff_from=x0, rows=now_rows, before=0, last_col=last)
        else:  # the events' own lanes too, from the event on
            redraw = sorted(rows.union(now_rows))
            changes += self._invalidate_from(start, diff_from=x0, rows=redraw, before=1, last_col=last + SPILL)
        # Painted by the flush that called this (the app's paint_now).
        mark_for_paint(self, *[Region(lo - x0, row, hi - lo, 1) for row, lo, hi in changes])

    def _invalidate_from(
        self,
        audio_t: float,
        diff_from: int | None = None,
        rows: Sequence[int] = range(len(ROWS)),
        before: int = 1,
        last_col: int | None = None,
    ) -> list[tuple[int, int, int]]:
        """Drop the cached chunks of ``rows`` from ``audio_t`` on (and ``before`` chunks more),
        up to the chunk of ``last_col`` (default: all).

        With ``diff_from`` (the scroll column of the lines on screen), redraw the dropped chunks
        that are on screen at once and return the cells that changed as ``(row, first_col,
        end_col)`` runs (screen-relative columns are ``col - diff_from``)."""
        first = max(0, self.col(audio_t) // CHUNK - before)
        last = self._max_chunk if last_col is None else min(self._max_chunk, last_col // CHUNK)
        old: dict[tuple[int, int], list[Any]] = {}
        for chunk in range(first, last + 1):
            for row in rows:
                key = (row, chunk)
                if diff_from is not None:
                    cached = self._chunks.get(key)
                    if cached is not None:
                        old[key] = cached
                self._chunks.discard(key)
        if len(rows) == len(ROWS) and last == self._max_chunk:
            self._max_chunk = min(self._max_chunk, first - 1)
        if diff_from is None:
            return []
        width = self.scrollable_content_region.width
        view_first, view_end = diff_from, diff_from + width
        changes: list[tuple[int, int, int]] = []
        for row in rows:
            lo, hi = view_end, view_first
            for chunk in range(max(first, view_first // CHUNK), min(last, (view_end - 1) // CHUNK) + 1):
                before = old.get((row, chunk))
                after = self._chunk_cells(row, chunk)
                span = after.changed_span(before[0] if before is not None else None)
                if span is None:
                    # Unchanged (most lanes, for most events): keep the strip already made.
                    self._chunks.get((row, chunk))[1] = before[1]  # type: ignore[index]
                else:
                    lo = min(lo, chunk * CHUNK + span[0])
                    hi = max(hi, chunk * CHUNK + span[1])
            lo, hi = max(lo, view_first), min(hi, view_end)
            if lo < hi:
                if ROWS[row] in LABELLED_ROWS and lo < view_first + SPILL:
                    lo = view_first  # a label cut at the left edge is blanked from the edge on
                changes.append((row, lo, hi))
        return changes

    def _redraw_columns(self, first: int, last: int, view_first: int) -> list[tuple[int, int, int]]:
        """Draw columns ``first..last`` of the :data:`COLUMN_ROWS` lanes again into their cached
        chunks; the cells that changed on screen as ``(row, first_col, end_col)`` runs (see
        :meth:`_invalidate_from`). A chunk on screen not drawn yet is drawn whole."""
        width = self.scrollable_content_region.width
        view_end = view_first + width
        base = self._base()
        changes: list[tuple[int, int, int]] = []
        for row in COLUMN_ROWS:
            fresh = CellRow(last - first + 1, base)
            getattr(self, f"_paint_{ROWS[row]}")(fresh, first)
            lo, hi = view_end, view_first
            for chunk in range(first // CHUNK, last // CHUNK + 1):
                cached = self._chunks.get((row, chunk))
                if cached is None:
                    if view_first // CHUNK <= chunk <= (view_end - 1) // CHUNK:
                        self._chunk_cells(row, chunk)
                        lo, hi = min(lo, chunk * CHUNK), max(hi, (chunk + 1) * CHUNK)
                    continue
                cells, chars, styles = cached[0], fresh.chars, fresh.styles
                for col in range(max(first, chunk * CHUNK), min(last, (chunk + 1) * CHUNK - 1) + 1):
                    i, j = col - chunk * CHUNK, col - first
                    style, was = styles[j], cells.styles[i]
                    if cells.chars[i] != chars[j] or (was is not style and was != style):
                        cells.chars[i], cells.styles[i] = chars[j], style
                        cached[1] = None  # its strip is made again when shown
                        lo, hi = min(lo, col), max(hi, col + 1)
            lo, hi = max(lo, view_first), min(hi, view_end)
            if lo < hi:
                changes.append((row, lo, hi))
        return changes

    def _page_x(self) -> int:
        """The view's left column while following: still until "now" (plus a margin) reaches
        the right edge, then half a page further on at a time."""
        view = max(1, self.scrollable_content_region.width)
        need = self._now_col() + PAGE_MARGIN
        if need < view:
            return 0
        half = max(1, view // 2)
        return ((need - view) // half + 1) * half

    def _resize_virtual(self) -> None:
        view = self.scrollable_content_region.width
        self._chunks.grow(CACHED_SCREENS * len(ROWS) * (view // CHUNK + 2))
        # The axis grows by half a page at a time (as the followed view moves), so the scroll
        # range and scrollbar change only then, not at every column.
        width = max(self._page_x() + view, view)
        if self.virtual_size.width != width or self.virtual_size.height != len(ROWS):
            size = Size(width, len(ROWS))
            # A narrower view may shrink the scroll range and so move the view: that is not the
            # user scrolling back.
            self._programmatic = True
            try:
                if self.is_mounted and self.virtual_size.height == len(ROWS) and min(width, self.virtual_size.width) > view:
                    # Growing in time changes no widget's geometry: update the scroll range and
                    # the scrollbar only (assigning virtual_size would re-layout the whole screen).
                    self.set_reactive(TimelineView.virtual_size, size)
                    self._scroll_update(size)
                else:
                    self.virtual_size = size
            finally:
                self._programmatic = False

    def _scroll_to_now(self) -> None:
        target = self._page_x()
        if int(self.scroll_x) == target:
            return
        self._programmatic = True
        try:
            self.scroll_to(x=target, animate=False, immediate=True)
        finally:
            self._programmatic = False

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        if not self._programmatic and self.follow and new_value < old_value:
            self.set_follow(False)

    def set_follow(self, follow: bool) -> None:
        """Follow live (True) or stay where the view is (False)."""
        if follow != self.follow:
            self.follow = follow
            self.post_message(self.FollowChanged())
        if follow:
            self._resize_virtual()
            self._scroll_to_now()
            self.refresh()

    def set_zoom(self, zoom_ms: int) -> None:
        """Change the milliseconds per column, keeping the centre (or "now") in place."""
        if zoom_ms == self.zoom_ms:
            return
        width = self.scrollable_content_region.width
        centre = self.time_at(self.scroll_x + width / 2)
        self.zoom_ms = zoom_ms
        self._chunks.clear()
        self._max_chunk = -1
        self._resize_virtual()
        if self.follow:
            self._scroll_to_now()
        else:
            self._programmatic = True
            try:
                self.scroll_to(x=max(0, self.col(centre) - width // 2), animate=False, immediate=True)
            finally:
                self._programmatic = False
        self.refresh()
        self.post_message(self.FollowChanged())

    def zoom(self, steps: int) -> None:
        """Zoom in (negative ``steps``: fewer ms per column) or out."""
        i = ZOOMS_MS.index(self.zoom_ms) if self.zoom_ms in ZOOMS_MS else ZOOMS_MS.index(DEFAULT_ZOOM_MS)
        self.set_zoom(ZOOMS_MS[max(0, min(len(ZOOMS_MS) - 1, i + steps))])

    def pan(self, fraction: float) -> None:
        """Scroll by a fraction of the view's width (negative: back in time); stops following."""
        self.set_follow(False)
        width = self.scrollable_content_region.width
        self.scroll_to(x=max(0, self.scroll_x + round(width * fraction)), animate=False, immediate=True)

    def pan_home(self) -> None:
        """Go to the start of the session (stops following)."""
        self.set_follow(False)
        self.scroll_to(x=0, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        self._resize_virtual()
        if self.follow:
            self._scroll_to_now()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._chunks.clear()
        self._max_chunk = -1

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        event.prevent_default()
        self.pan(0.1)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        event.prevent_default()
        self.pan(-0.1)

    # --- rendering ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y >= len(ROWS):
            return Strip.blank(width, self._base())
        x0 = int(self.scroll_x)
        self._shown_x = x0
        first, last = x0 // CHUNK, (x0 + width - 1) // CHUNK
        strip = Strip.join([self._chunk(y, c) for c in range(first, last + 1)])
        offset = x0 - first * CHUNK
        cropped = strip.crop(offset, offset + width)
        if offset > 0 and ROWS[y] in LABELLED_ROWS:
            cropped = self._drop_cut_label(strip, offset, cropped)
        return cropped

    def _drop_cut_label(self, strip: Strip, offset: int, cropped: Strip) -> Strip:
        """Blank what shows of a label whose start scrolled out of view ("0ms" of "820ms")."""
        text = "".join(seg.text for seg in strip)
        if text[offset] not in LABEL_CHARS or text[offset - 1] not in LABEL_CHARS | {"▶"}:
            return cropped
        cut = offset
        while cut < len(text) and text[cut] in LABEL_CHARS:
            cut += 1
        blank = Strip.blank(cut - offset, self._base())
        return Strip.join([blank, cropped.crop(cut - offset)])

    def _chunk(self, row: int, chunk: int) -> Strip:
        cached = self._chunks.get((row, chunk))
        if cached is None:
            self._chunk_cells(row, chunk)
            cached = self._chunks.get((row, chunk))
            assert cached is not None
        if cached[1] is None:
            cached[1] = cached[0].strip()
        strip: Strip = cached[1]
        return strip

    def _chunk_cells(self, row: int, chunk: int) -> CellRow:
        """A lane's chunk as cells (drawn and cached if it is not cached)."""
        key = (row, chunk)
        cached = self._chunks.get(key)
        if cached is not None:
            return cached[0]
        cells = CellRow(CHUNK, self._base())
        painter = getattr(self, f"_paint_{ROWS[row]}")
        painter(cells, chunk * CHUNK)
        self.painted += 1
        self._chunks.set(key, [cells, None])
        self._max_chunk = max(self._max_chunk, chunk)
        return cells

    def _window(self, first_col: int, spill: int = SPILL) -> tuple[float, float]:
        """Audio times to look at for a chunk: from ``spill`` columns before it to its end."""
        return self.time_at(first_col - spill), self.time_at(first_col + CHUNK)

    def _now_col(self) -> int:
        return self.col(self.model.now_audio_t)

    def _tick_steps(self) -> tuple[float, float | None]:
        spc = self.seconds_per_col
        major = next((s for s in TICK_STEPS_S if s / spc >= 10), TICK_STEPS_S[-1])
        for divisor in (5, 2):
            if major / divisor / spc >= 2:
                return major, major / divisor
        return major, None

    def _paint_axis(self, cells: CellRow, first_col: int) -> None:
        major, _ = self._tick_steps()
        start, end = self._window(first_col)
        style = self._style("axis")
        k = max(0, math.ceil(start / major - 1e-9))
        while k * major < end:
            t = k * major
            cells.text(self.col(t) - first_col, format_axis_time(t, major), style)
            k += 1

    def _paint_ticks(self, cells: CellRow, first_col: int) -> None:
        major, minor = self._tick_steps()
        now_col = self._now_col()
        tick, future = self._style("tick"), self._style("future")
        span = cells.width
        for i in range(span):
            col = first_col + i
            cells.put(i, "─", tick if col <= now_col else future)
        step = minor or major
        start, end = self.time_at(first_col), self.time_at(first_col + span)
        k = max(0, math.ceil(start / step - 1e-9))
        while k * step < end:
            t = k * step
            col = self.col(t)
            is_major = abs(t / major - round(t / major)) < 1e-6
            cells.put(col - first_col, "┼" if is_major else "┬", tick if col <= now_col else future)
            k += 1
        if first_col <= now_col < first_col + span:
            cells.put(now_col - first_col, "┃", self._style("now"))

    def _paint_levels(self, cells: CellRow, first_col: int, track: LevelTrack, style: Style) -> None:
        now_col = self._now_col()
        spc = self.seconds_per_col
        for i in range(cells.width):
            col = first_col + i
            if col > now_col:
                break
            t = col * spc
            rms = track.max_rms(t, t + spc)
            if rms is None or rms <= LEVEL_FLOOR_DB:
                continue
            level = min(len(SPARK) - 1, int((rms - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB * len(SPARK)))
            cells.put(i, SPARK[level], style)

    def _paint_mic(self, cells: CellRow, first_col: int) -> None:
        self._paint_levels(cells, first_col, self.model.mic, self._style("mic"))
        start, end = self.time_at(first_col), self.time_at(first_col + cells.width)
        vad = self._style("vad")
        for span in self.model.vad_in(start, end):
            stop = span.end if span.end is not None else self.model.now_audio_t
            cells.background(self.col(span.start) - first_col, self.col(stop) - first_col + 1, vad)
        muted = self._style("muted")
        for span in self.model.mutes_in(start, end):
            stop = span.end if span.end is not None else self.model.now_audio_t
            cells.fill(self.col(span.start) - first_col, self.col(stop) - first_col + 1, "m", muted)

    def _paint_speaker(self, cells: CellRow, first_col: int) -> None:
        self._paint_levels(cells, first_col, self.model.speaker, self._style("speaker"))

    def _paint_turn(self, cells: CellRow, first_col: int) -> None:
        start, end = self._window(first_col)
        now = self.model.now_audio_t
        line, eager = self._style("turn"), self._style("eager")
        for entry in _in_window(
            self.model.turns,
            lambda e: (e.end_audio_t if e.end_audio_t is not None else now) < start - self.seconds_per_col * SPILL,
            lambda e: e.start_audio_t >= end,
        ):
            stop = entry.end_audio_t if entry.end_audio_t is not None else now
            cells.fill(self.col(entry.start_audio_t) - first_col, self.col(stop) - first_col + 1, "─", line)
            for span in entry.eager_spans:
                span_end = span.end if span.end is not None else now
                cells.fill(self.col(span.start) - first_col, self.col(span_end) - first_col + 1, "┄", eager)
        marks = self.model.marks_in(self.model.turn_marks, start, end)
        for kind in TURN_MARKS:  # later kinds win a shared cell
            for mark in marks:
                if mark.kind == kind:
                    col = self.col(mark.at) - first_col
                    style = self._style(TURN_MARK_STYLE[kind])
                    cells.put(col, TURN_MARKS[kind], style)
                    if mark.label and kind == "start":
                        cells.text(col + 1, mark.label, style)

    def _paint_gaps(self, cells: CellRow, first_col: int, row: int) -> None:
        start, end = self._window(first_col)
        text_style = self._style("gap")
        for gap in self.model.gaps_in(row, start, end):
            s, e = self.col(gap.start) - first_col, self.col(gap.end) - first_col
            bracket = self._style(GAP_STYLE.get(gap.kind, "gap"))
            label = f"↯{gap.ms}ms" if gap.kind == "barge_in" else f"{gap.ms}ms"
            width = e - s + 1
            if width >= len(label) + 2:
                cells.put(s, "├", bracket)
                cells.fill(s + 1, e, "─", bracket)
                cells.put(e, "┤", bracket)
                cells.text(s + 1 + (width - 2 - len(label)) // 2, label, text_style)
            else:
                if width >= 2:
                    cells.put(s, "├", bracket)
                    cells.fill(s + 1, e, "─", bracket)
                    cells.put(e, "┤", bracket)
                    cells.text(e + 1, label, text_style)
                else:
                    cells.text(s, label, text_style)

    def _paint_gap0(self, cells: CellRow, first_col: int) -> None:
        self._paint_gaps(cells, first_col, 0)

    def _paint_gap1(self, cells: CellRow, first_col: int) -> None:
        self._paint_gaps(cells, first_col, 1)

    def _paint_gap2(self, cells: CellRow, first_col: int) -> None:
        self._paint_gaps(cells, first_col, 2)

    def _paint_reply(self, cells: CellRow, first_col: int) -> None:
        start, end = self._window(first_col)
        now = self.model.now_audio_t
        wait, playing = self._style("wait"), self._style("playing")
        reply_style = self._style("reply")

        def last_at(entry: Any) -> float:
            last = entry.play_end_audio_t
            if last is None:
                last = now if entry.state in ("queued", "synthesizing", "playing") else entry.queued_audio_t
            return last

        for entry in _in_window(self.model.replies, lambda e: last_at(e) < start, lambda e: e.queued_audio_t >= end):
            if entry.request_audio_t is not None:
                wait_end = entry.first_audio_audio_t
                if wait_end is None:
                    wait_end = now if entry.state == "synthesizing" else entry.request_audio_t
                cells.fill(self.col(entry.request_audio_t) - first_col, self.col(wait_end) - first_col + 1, "┈", wait)
            if entry.play_start_audio_t is not None:
                play_end = entry.play_end_audio_t if entry.play_end_audio_t is not None else now
                s = self.col(entry.play_start_audio_t) - first_col
                cells.fill(s, self.col(play_end) - first_col + 1, "▬", playing)
                cells.put(s, "▶", reply_style)
                cells.text(s + 1, str(entry.reply), reply_style)
        marks = self.model.marks_in(self.model.reply_marks, start, end)
        for kind in REPLY_MARKS:
            for mark in marks:
                if mark.kind == kind:
                    name = "interrupt" if kind in ("cut", "interrupt") else "command" if kind in ("say", "mute", "unmute") else "reply"
                    cells.put(self.col(mark.at) - first_col, REPLY_MARKS[kind], self._style(name))


class TimelineGutter(Widget):
    """The lane names beside the timeline."""

    COMPONENT_CLASSES = {"gutter--label"}

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        cells = CellRow(width, self.rich_style)
        label = ROW_LABELS[ROWS[y]] if y < len(ROWS) else ""
        if label and width > 1:
            cells.text(max(0, width - len(label) - 1), label[: width - 1], self.get_component_rich_style("gutter--label"))
        return cells.strip()


def _in_window(entries: Any, before: Callable[[Any], bool], after: Callable[[Any], bool]) -> list[Any]:
    """The turns or replies of a chunk, oldest first (newer ones are drawn over older ones).

    Looked for newest first, stopping after :data:`PAST_ENOUGH` wholly ``before`` the chunk, so
    older entries are neither visited nor rebuilt."""
    newest_first = getattr(entries, "reversed_values", None)
    if newest_first is not None:
        values: Iterable[Any] = newest_first()
    else:
        view = entries.values()
        values = reversed(view) if hasattr(view, "__reversed__") else reversed(list(view))
    found: list[Any] = []
    past = 0
    for entry in values:
        if before(entry):
            past += 1
            if past >= PAST_ENOUGH:
                break
        elif not after(entry):
            found.append(entry)
    found.reverse()
    return found
