"""Cheaper frames: clean widgets hand the compositor their last lines, and the console's own
panels are painted without a round of messages (:func:`mark_for_paint`, :func:`paint_now`).

Textual's compositor asks every widget whose clip overlaps a frame's changed area for all of
its lines (the screen's direct children always: their clip is the whole screen). Each such call
recomputes the widget's background colours, border-title styles and line filters before it
looks at its own line cache, although nothing about a clean widget has changed.

:class:`FrameCache` is a drop-in for a widget's styles cache that keeps the strips it returned
last and returns the same list while the widget has not been marked dirty (every repaint goes
through ``set_dirty``/``clear``, which bump a version; a resize or a style change does too), and
the crop, theme, filters and hover state are the same. When only content lines changed since
the last render (``set_dirty``, not ``clear``), it redraws just those lines, for any crop: the
widget's new content between the border and padding columns its last render of that line drew,
as Textual's own render would lay them out, without recomputing the widget's colours, title and
geometry. :func:`install_frame_caches` puts one on every widget of a tree;
:class:`FrameCachedScrollbars` gives one to a scrolling widget's scrollbars, which Textual makes
later, when they are first needed.

:func:`paint_now` sends a frame of the panels' changed cells as the panels' own lines where
nothing is in front of them (:class:`DirectUpdate`), and leaves anything else to Textual's
compositor: a frame of a few changed cells costs about a quarter fewer instructions.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.control import Control
from rich.style import Style
from textual._compositor import CompositorUpdate
from textual._styles_cache import StylesCache
from textual.color import Color
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarCorner
from textual.strip import Strip
from textual.widget import Widget


class FrameCache(StylesCache):
    """A styles cache that returns a clean widget's last strips unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self._version = 0
        self._last_key: tuple[Any, ...] | None = None
        self._last_strips: list[Strip] = []
        self._content_fill: tuple[Color, Style] | None = None
        """(background, content fill style) of the last full render, if its styles let the
        content lines be redrawn on their own (see :meth:`_render_content_lines`)."""
        self._edges: dict[int, tuple[Strip | None, Strip | None]] = {}
        """A content line's columns left and right of the content, as its last full render drew them."""

    def set_dirty(self, *regions: Region) -> None:
        """Mark lines dirty (and forget the last frame's strips)."""
        self._version += 1
        super().set_dirty(*regions)

    def clear(self) -> None:
        """Forget every cached line (the next render is a full one)."""
        self._version += 1
        self._content_fill = None
        self._edges = {}
        super().clear()

    def render_widget(self, widget: Widget, crop: Region) -> list[Strip]:
        """The widget's lines within ``crop``; the last ones again if nothing changed."""
        # A resize, a style or theme change repaints the widget (a new version); the theme,
        # filters and hover state are in the key all the same, as they are cheap to read.
        app = widget.app
        hover = widget.hover_style if widget.auto_links else None
        key = (self._version, crop, app.theme, tuple(app.get_line_filters()), hover)
        if key == self._last_key:
            return self._last_strips
        strips = None
        if self._content_fill is not None and self._last_key is not None and key[2:] == self._last_key[2:]:
            strips = self._render_content_lines(widget, crop, *self._content_fill)
        if strips is None:
            strips = self._render_full(widget, crop)
        # Rendering may itself mark lines clean or dirty; key on the version after it.
        self._last_key = (self._version, *key[1:])
        self._last_strips = strips
        return strips

    def _render_full(self, widget: Widget, crop: Region) -> list[Strip]:
        strips = super().render_widget(widget, crop)
        styles = widget.styles
        plain = (
            not styles.tint.a
            and widget.opacity == 1.0
            and styles.text_opacity == 1.0
            and not (styles.has_rule("hatch") and styles.hatch != "none")
            and not any(edge for edge, _color in styles.outline)
        )
        if plain:
            base_background, background = widget.background_colors
            inner, _outer = self.get_inner_outer(base_background, background)
            self._content_fill = (background, inner.rich_style)
        else:
            self._content_fill = None
        return strips

    def _render_content_lines(self, widget: Widget, crop: Region, background: Color, fill: Style) -> list[Strip] | None:
        """``render_widget`` when only content lines are dirty, or None to render in full.

        A content line of a widget with no tint, opacity, hatch or outline is, in Textual's
        render, ``[border and left padding] + content + [right padding and border]``, the
        content padded to the content width with the widget's fill style; the outer columns do
        not depend on the content, so they are taken from the line's last render.
        """
        if widget.auto_links and widget.hover_style._link_id:
            return None
        width, height = widget.outer_size
        if width != self._width:
            return None
        gutter = widget.styles.gutter
        left, right = gutter.left, gutter.right
        content_width = width - left - right
        top, bottom = gutter.top, height - gutter.bottom
        cache = self._cache
        edges = self._edges
        is_dirty = self._dirty_lines.__contains__
        redrawn: dict[int, Strip] = {}
        for y in crop.line_range:
            if not is_dirty(y) and y in cache:
                continue
            if not top <= y < bottom:
                return None  # a border or padding row: Textual's way
            edge = edges.get(y)
            if edge is None:
                old = cache.get(y)
                if old is None or old.cell_length != width:
                    return None  # a line never drawn in full: Textual's way
                edge = edges[y] = (old.crop(0, left) if left else None, old.crop(width - right, width) if right else None)
            content = widget.render_line(y - top).adjust_cell_length(content_width, fill)
            if left or right:
                before, after = edge
                content = Strip.join([part for part in (before, content, after) if part is not None])
            redrawn[y] = content
        cache.update(redrawn)
        filters = widget.get_line_filters()
        strips: list[Strip] = []
        for y in crop.line_range:
            strip = cache[y]
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            strips.append(strip)
        self._dirty_lines.difference_update(crop.line_range)
        if crop.column_span != (0, width):
            x1, x2 = crop.column_span
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips


def install_frame_caches(root: Widget) -> None:
    """Give ``root`` and every widget below it a :class:`FrameCache` (idempotent)."""
    for widget in root.walk_children(with_self=True):
        if isinstance(widget, Widget):
            _frame_cached(widget)


def _frame_cached(widget: Widget) -> None:
    if not isinstance(widget._styles_cache, FrameCache):
        widget._styles_cache = FrameCache()


class FrameCachedScrollbars:
    """Mixin for a scrolling widget: its scrollbars and corner get a :class:`FrameCache` too.

    A scrollbar lies between the panels that change at every frame, so the compositor asks it
    for its lines at nearly every frame; without the cache each ask recomputes its styles.
    """

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        bar: ScrollBar = super().vertical_scrollbar  # type: ignore[misc]
        _frame_cached(bar)
        return bar

    @property
    def horizontal_scrollbar(self) -> ScrollBar:
        bar: ScrollBar = super().horizontal_scrollbar  # type: ignore[misc]
        _frame_cached(bar)
        return bar

    @property
    def scrollbar_corner(self) -> ScrollBarCorner:
        corner: ScrollBarCorner = super().scrollbar_corner  # type: ignore[misc]
        _frame_cached(corner)
        return corner


def mark_for_paint(widget: Widget, *regions: Region) -> None:
    """Mark ``regions`` of ``widget`` (as for ``widget.refresh(*regions)``) for the next
    :func:`paint_now` of its screen, which must follow.

    ``refresh`` also forgets the widget's size and style caches and posts it a message to look
    at its repaint on its next idle; for a panel whose content changed, but not its size or
    styles, that is most of what a repaint at every frame costs. ``paint_now`` hands the regions
    on to Textual's own path when it steps aside. A widget not mounted yet is refreshed.
    """
    if not regions:
        return
    if not widget.is_mounted:
        widget.refresh(*regions)
        return
    widget._set_dirty(*regions)
    widget._repaint_required = True


def _step_aside(widgets: Any) -> bool:
    """Leave the repaints to Textual: wake the widgets marked by :func:`mark_for_paint`."""
    for widget in widgets:
        if widget._repaint_required:
            widget.check_idle()
    return False


def paint_now(screen: Any, widgets: Any) -> bool:
    """Compose and send the frame for the pending repaints of ``widgets`` now.

    Textual paints a widget's refresh after a round of messages (the widget's idle check posts
    an update to its screen, whose idle check resumes the frame timer, which then composes).
    For the console's own panels, which redraw at every frame tick and after every burst of
    events, that round costs about as much as composing; this takes the repaints straight to
    the screen instead: the panels' changed regions as their own lines (see
    :func:`_direct_update`), or, where something is in front of them, through Textual's
    compositor. Nothing is done (False) when Textual has other work pending first (a layout, a
    scroll, a style update, a batch, another screen on top): its own path paints.
    """
    app = screen.app
    if app._batch_count or not screen.is_current or app.is_inline:
        return _step_aside(widgets)
    if screen._layout_required or screen._scroll_required or screen._recompose_required:
        return _step_aside(widgets)
    dirty = []
    for widget in widgets:
        if widget._layout_required or widget._scroll_required or widget._refresh_styles_required:
            return _step_aside(widgets)
        if widget._repaint_required and widget.display:
            dirty.append(widget)
    if not dirty:
        return True
    for widget in dirty:
        widget._repaint_required = False
    compositor = screen._compositor
    if (
        screen._repaint_required
        or screen._dirty_widgets
        or screen._callbacks
        or compositor._full_map_invalidated
        or compositor._dirty_regions
    ):
        # Textual has repaints or callbacks of its own pending: one frame, its way.
        screen._dirty_widgets.update(dirty)
        screen._on_timer_update()
        return True
    regions = _screen_regions(compositor, dirty)
    update = _direct_update(compositor, regions)
    if update is None:
        compositor._dirty_regions.update(area for _widget, _region, area in regions)
        screen._compositor_refresh()
    elif update.runs:
        screen.app._display(screen, update)
    return True


def _screen_regions(compositor: Any, widgets: list[Widget]) -> list[tuple[Widget, Region, Region]]:
    """``(widget, its region, a changed area)`` for the areas of ``widgets`` marked for repaint,
    on screen and clipped (as Textual's ``Compositor.update_widgets`` takes them)."""
    visible = compositor.visible_widgets
    out: list[tuple[Widget, Region, Region]] = []
    for widget in widgets:
        placed = visible.get(widget)
        repaint = widget._exchange_repaint_regions()
        if placed is None:
            continue  # not on screen: nothing to paint
        region, clip = placed
        for dirty in repaint:
            on_screen = clip.intersection(dirty.translate(region.offset))
            if on_screen:
                out.append((widget, region, on_screen))
    return out


def _direct_update(compositor: Any, regions: list[tuple[Widget, Region, Region]]) -> DirectUpdate | None:
    """The frame for ``regions`` as the widgets' own lines, when nothing else shows there.

    A panel of the console is opaque and fills its region, so where no widget in front of it
    (a notification, a tooltip) overlaps a changed region, the screen there is exactly the
    panel's lines: they are sent as they are, without Textual composing every widget the
    changed area crosses (the screen, the containers, the neighbouring panels) into chops
    first. None when something is in front: Textual's compositor paints those regions.
    """
    visible = compositor.visible_widgets
    for widget, _region, area in regions:
        for other, (other_region, other_clip) in visible.items():  # front to back
            if other is widget:
                break
            if other_clip.overlaps(area) and other_region.overlaps(area):
                return None
    runs: list[tuple[int, int, Strip]] = []
    for widget, region, area in regions:
        crop = area.translate(-region.offset)
        for y, strip in enumerate(widget.render_lines(crop), area.y):
            runs.append((area.x, y, strip))
    return DirectUpdate(runs)


class DirectUpdate(CompositorUpdate):
    """A frame of cell runs: each a widget's line, cropped to a changed region, at its place."""

    def __init__(self, runs: list[tuple[int, int, Strip]]) -> None:
        self.runs = runs

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        move_to = Control.move_to
        for x, y, strip in self.runs:
            yield move_to(x, y).segment
            yield from strip

    def render_segments(self, console: Console) -> str:
        """The frame as terminal data (cursor moves and styled text)."""
        move_to = Control.move_to
        out: list[str] = []
        for x, y, strip in self.runs:
            out.append(move_to(x, y).segment.text)
            out.append(strip.render(console))
        return "".join(out)


__all__ = ["FrameCache", "FrameCachedScrollbars", "install_frame_caches", "mark_for_paint", "paint_now"]
