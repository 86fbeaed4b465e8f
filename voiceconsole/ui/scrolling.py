"""Growing a Line-API view's scroll range without laying out the whole screen again."""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widget import Widget


def set_scroll_range(view: ScrollView, size: Size) -> None:
    """Make ``size`` the view's virtual size.

    Assigning ``virtual_size`` lays out every widget on the screen, which a transcript growing by
    a line or a timeline paging on does not need: no widget's geometry changes, only the scroll
    range and the scrollbar's thumb. So when the scrollbars stay as they are, the value is set
    without its layout and the scrollbars are told the new range; when one appears or goes,
    Textual lays out as usual.
    """
    if view.virtual_size == size:
        return
    region = view.scrollable_content_region
    vertical, horizontal = size.height > region.height, size.width > region.width
    if not view.is_mounted or vertical != view.show_vertical_scrollbar or horizontal != view.show_horizontal_scrollbar:
        view.virtual_size = size
        return
    view.set_reactive(Widget.virtual_size, size)
    if vertical:
        view.vertical_scrollbar.window_virtual_size = size.height
    if horizontal:
        view.horizontal_scrollbar.window_virtual_size = size.width


__all__ = ["set_scroll_range"]
