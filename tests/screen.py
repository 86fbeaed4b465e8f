"""What a running app shows, read through Textual's public API (for assertions on screen text).

:func:`screen_text` takes the app's SVG screenshot (:meth:`App.export_screenshot`) and puts each
text run back at its cell, so a test can look for words where a user would see them.
"""

from __future__ import annotations

import html
import re

from textual.app import App

CELL_WIDTH_PX = 12.2
"""Width of one terminal cell in Rich's SVG export."""
_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" clip-path="url\(#[^)]*-line-(\d+)\)">(.*?)</text>')


def screen_text(app: App) -> str:
    """The screen as lines of text (styles dropped, blank cells as spaces)."""
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    for x, line, text in _TEXT.findall(app.export_screenshot()):
        row, col = rows[int(line)], round(float(x) / CELL_WIDTH_PX)
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            if col + offset < width:
                row[col + offset] = char
    return "\n".join("".join(row) for row in rows)


def toasts(app: App) -> str:
    """The text of the notifications on screen."""
    return " ".join(str(toast.render()) for toast in app.screen.query("Toast"))
