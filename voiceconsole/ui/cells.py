"""The Line-API widgets' drawing surface: a row of styled cells painted item by item and
turned into a strip, and their component styles."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip


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




class ComponentStyles:
    """Mixin for the Line-API widgets: their own style and their component styles
    (``{STYLE_PREFIX}--{name}``), looked up once until their styles change. Textual drops its own style cache at every
    ``refresh()``, and these widgets refresh every frame and style many cells. Put it before
    the Textual base class."""

    STYLE_PREFIX: ClassVar[str] = ""
    _styles_by_name: dict[str, Style] | None = None
    _own_style: Style | None = None

    @property
    def base_style(self) -> Style:
        """The widget's own style (``rich_style``, which walks every ancestor each time)."""
        if self._own_style is None:
            self._own_style = self.rich_style  # type: ignore[attr-defined]
        return self._own_style

    def style_of(self, name: str) -> Style:
        """The style of component class ``{STYLE_PREFIX}--{name}``."""
        styles = self._styles_by_name
        if styles is None:
            styles = self._styles_by_name = {}
        style = styles.get(name)
        if style is None:
            style = styles[name] = self.get_component_rich_style(f"{self.STYLE_PREFIX}--{name}")  # type: ignore[attr-defined]
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()  # type: ignore[misc]
        self._styles_by_name = None
        self._own_style = None


__all__ = ["CellRow", "ComponentStyles"]
