"""The TTS queue: one line per reply with its state, time to first audio, duration and text."""

from __future__ import annotations

from itertools import islice

from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from voiceconsole.ui.cells import CellRow, ComponentStyles
from voiceconsole.ui.entries import ReplyEntry
from voiceconsole.ui.model import ConsoleModel
from voiceconsole.ui.scrolling import set_scroll_range

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


class QueueView(ComponentStyles, ScrollView, can_focus=False):
    """One line per reply, newest kept in view."""

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
        self._replies: list[ReplyEntry] = []  # the model's replies in queue order, as shown
        self._drawn_version = -1
        self._cache: LRUCache[tuple[int, int, int], Strip] = LRUCache(256)

    def reset(self, model: ConsoleModel) -> None:
        """Show ``model`` from scratch (a replay seeking backwards)."""
        self.model = model
        self._replies = []
        self._drawn_version = -1
        self._cache.clear()
        self.update()

    def update(self) -> None:
        """Take in new replies and redraw if any changed (every frame)."""
        if self.model.versions.replies == self._drawn_version:
            return
        self._drawn_version = self.model.versions.replies
        known = len(self._replies)
        self._replies.extend(islice(self.model.replies.values(), known, None))
        if len(self._replies) != known:
            set_scroll_range(self, Size(self.scrollable_content_region.width, len(self._replies) + 1))
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()  # rows of unchanged replies come from the cache

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_resize(self) -> None:
        self._cache.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._replies) + 1)


    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = int(self.scroll_y) + y
        if line == 0:
            cells = CellRow(width, self.base_style)
            if self._replies:
                cells.text(0, QUEUE_HEADER, self.style_of("header"))
            else:
                cells.text(1, "no replies yet: press s to type one", self.style_of("dim"))
            return cells.strip()
        if line - 1 >= len(self._replies):
            return Strip.blank(width, self.base_style)
        entry = self._replies[line - 1]
        key = (entry.reply, entry.version, width)  # the cache never replaces a key's value
        strip = self._cache.get(key)
        if strip is None:
            strip = self._row(entry, width)
            self._cache.set(key, strip)
        return strip

    def _row(self, entry: ReplyEntry, width: int) -> Strip:
        base = self.base_style
        cells = CellRow(width, base)
        state = entry.state
        label = "cut" if entry.interrupted else STATE_LABELS.get(state, state)
        ttfa = f"{round(entry.ttfa_s * 1000)}ms" if entry.ttfa_s is not None else "—"
        duration = f"{entry.duration_s:.1f}s" if entry.duration_s is not None else "—"
        cells.text(0, f"{entry.reply:>3}", base)
        cells.text(4, f"{STATE_ICONS[state]} {label}", self.style_of(state))
        cells.text(16, f"{ttfa:>6}{duration:>6}{len(entry.text):>5}", base)
        text = entry.text.replace("\n", " ")
        room = width - 34
        if room > 1:
            if len(text) > room:
                text = text[: room - 1] + "…"
            cells.text(34, text, self.style_of("text"))
        return cells.strip()


__all__ = ["QueueView"]
