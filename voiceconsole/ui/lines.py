"""Building blocks of the Line-API widgets: styled cell rows and a one-line text widget."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget


class CellRow:
    """A fixed-width row of single-cell characters, each with a style, painted item by item."""

    __slots__ = ("chars", "styles", "width")

    def __init__(self, width: int, style: Style) -> None:
        self.width = width
        self.chars = [" "] * width
        self.styles = [style] * width

    def put(self, col: int, char: str, style: Style) -> None:
        """Set one cell (ignored outside the row)."""
        if 0 <= col < self.width:
            self.chars[col] = char
            self.styles[col] = style

    def text(self, col: int, text: str, style: Style) -> None:
        """Write ``text`` from ``col`` on (clipped at both ends)."""
        for i, char in enumerate(text):
            self.put(col + i, char, style)

    def fill(self, start: int, end: int, char: str | None, style: Style) -> None:
        """Paint cells ``[start, end)``; ``char=None`` keeps the characters and restyles them."""
        for col in range(max(0, start), min(self.width, end)):
            if char is not None:
                self.chars[col] = char
            self.styles[col] = style

    def background(self, start: int, end: int, style: Style) -> None:
        """Lay ``style``'s background under cells ``[start, end)``, keeping their foreground."""
        for col in range(max(0, start), min(self.width, end)):
            self.styles[col] = self.styles[col] + Style(bgcolor=style.bgcolor)

    def strip(self) -> Strip:
        """The row as a strip, with runs of one style joined into one segment."""
        width, chars, styles = self.width, self.chars, self.styles
        if width == 0:
            return Strip([], 0)
        segments: list[Segment] = []
        run_start, style = 0, styles[0]
        for col in range(1, width):
            next_style = styles[col]
            # Painters reuse one Style object per role: identity settles nearly every comparison.
            if next_style is not style and next_style != style:
                segments.append(Segment("".join(chars[run_start:col]), style))
                run_start, style = col, next_style
        segments.append(Segment("".join(chars[run_start:width]), style))
        return Strip(segments, width)

    def changed_span(self, before: CellRow | None) -> tuple[int, int] | None:
        """The ``[first, end)`` cells where this row differs from ``before`` (all of them when
        there was none, or it had another width; ``None`` when nothing differs)."""
        if before is None or before.width != self.width:
            return 0, self.width
        a_chars, b_chars, a_styles, b_styles = before.chars, self.chars, before.styles, self.styles
        diff = [
            i
            for i in range(self.width)
            if a_chars[i] != b_chars[i] or (a_styles[i] is not b_styles[i] and a_styles[i] != b_styles[i])
        ]
        if not diff:
            return None
        return diff[0], diff[-1] + 1


class CachedStyles:
    """Mixin for the Line-API widgets: their own style and their component styles, looked up
    once until their styles change (``rich_style`` and ``get_component_rich_style`` walk every
    ancestor, and the widgets draw many cells a frame). Put it before the Textual base class.
    """

    STYLE_PREFIX: ClassVar[str] = ""
    """Component classes are ``{STYLE_PREFIX}--{name}``."""
    _cached_base: Style | None = None
    _cached_styles: dict[str, Style] | None = None

    def _base(self) -> Style:
        """The widget's own style."""
        if self._cached_base is None:
            self._cached_base = self.rich_style  # type: ignore[attr-defined]
        return self._cached_base

    def _style(self, name: str) -> Style:
        """The style of component class ``{STYLE_PREFIX}--{name}``."""
        styles = self._cached_styles
        if styles is None:
            styles = self._cached_styles = {}
        style = styles.get(name)
        if style is None:
            style = styles[name] = self.get_component_rich_style(f"{self.STYLE_PREFIX}--{name}")  # type: ignore[attr-defined]
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()  # type: ignore[misc]
        self._cached_base = None
        self._cached_styles = None


class LineText(Widget):
    """One line of rich text that changes often: updating it never triggers a re-layout."""

    DEFAULT_CSS = """
    LineText { height: 1; }
    """

    def __init__(self, text: Text | str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text = Text(text) if isinstance(text, str) else text
        self._strip: Strip | None = None

    @property
    def text(self) -> Text:
        """The text shown."""
        return self._text

    def set_text(self, text: Text) -> None:
        """Show ``text`` (redraws only when it changed)."""
        if text.plain == self._text.plain and text.spans == self._text.spans:
            return
        self._text = text
        self._strip = None
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strip = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y != 0:
            return Strip.blank(width, base)
        if self._strip is None or self._strip.cell_length != width:
            text = self._text.copy()
            text.no_wrap = True
            text.overflow = "ellipsis"
            text.truncate(width, overflow="ellipsis")
            segments = list(text.render(self.app.console))
            self._strip = Strip(segments).apply_style(base).adjust_cell_length(width, base)
        return self._strip


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Change a Line-API scroll view's virtual size without re-laying-out the screen.

    Assigning ``virtual_size`` lays out every widget (some 10 ms); growing content changes no
    widget's geometry, only the scroll range and the scrollbar, so update just those. A scrollbar
    that appears or disappears still triggers the layout it needs (that is its own reactive).
    """
    if view.virtual_size == size:
        return
    if not view.is_mounted or not view.container_size:
        view.virtual_size = size
        return
    view.set_reactive(type(view).virtual_size, size)
    view._scroll_update(size)


def styled(text: str, style: Style) -> Text:
    """A :class:`Text` in one style."""
    return Text(text, style=style)
