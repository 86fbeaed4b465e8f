"""The transcript: user turns and bot replies, drawn with the Line API.

Each entry (a turn or a reply) is rendered to strips when it changes and kept in an LRU cache;
the view keeps the first line of every entry, so drawing a screen of an hour-long session
touches only the entries on screen.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from voiceconsole.ui.cells import ComponentStyles
from voiceconsole.ui.entries import ReplyEntry, TurnEntry
from voiceconsole.ui.model import ConsoleModel
from voiceconsole.ui.scrolling import set_scroll_range

STRIP_CACHE = 512
"""Entries whose rendered strips are kept (the screen shows a few dozen at most)."""

Entry = TurnEntry | ReplyEntry


class TranscriptView(ComponentStyles, ScrollView, can_focus=False):
    """User turns (interim text shown distinctly until final) and replies (heard words lit)."""

    STYLE_PREFIX = "transcript"
    COMPONENT_CLASSES = {
        "transcript--user",
        "transcript--bot",
        "transcript--meta",
        "transcript--interim",
        "transcript--eager",
        "transcript--final",
        "transcript--heard",
        "transcript--unheard",
        "transcript--cut",
        "transcript--lost",
        "transcript--failed",
    }

    def __init__(self, model: ConsoleModel, now: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.now = now
        """Session time (for how much of a playing reply has been heard)."""
        self.follow = True
        """Keep the newest line in view."""
        self._drawn_version = -1  # the model's turn/reply versions laid out last
        self._offsets: list[int] = []  # first line of each entry of model.entries laid out
        self._cache: LRUCache[tuple[int, int, int, int | None], list[Strip]] = LRUCache(STRIP_CACHE)
        self._heard: tuple[int, int] | None = None  # (id of the reply being heard, characters heard)

    def reset(self, model: ConsoleModel) -> None:
        """Show ``model`` from scratch (a replay seeking backwards)."""
        self.model = model
        self._drawn_version = -1
        self._offsets = []
        self._cache.clear()
        self.update()

    def update(self) -> None:
        """Lay out the entries that are new or changed since the last update (every frame)."""
        versions = self.model.versions
        drawn = self._drawn_version
        changed_from = self._first_changed(drawn) if max(versions.turns, versions.replies) > drawn else None
        playing = self.model.playing_reply()
        heard = (id(playing), playing.words_heard(self.now())[0]) if playing is not None else None
        if heard != self._heard and playing is not None:
            index = self._index_of(playing)
            changed_from = index if changed_from is None else min(changed_from, index)
        self._heard = heard
        self._drawn_version = max(versions.turns, versions.replies)
        if changed_from is not None:
            self._relayout(changed_from)

    def _first_changed(self, drawn: int) -> int:
        """Index of the first entry new or changed since version ``drawn``."""
        entries = self.model.entries
        first = len(self._offsets)
        for i in range(min(first, len(entries)) - 1, -1, -1):
            if entries[i].version > drawn:
                first = i
        return first

    def _index_of(self, entry: Entry) -> int:
        entries = self.model.entries
        for i in range(len(entries) - 1, -1, -1):  # the reply heard now is nearly always recent
            if entries[i] is entry:
                return i
        return len(entries)

    def _relayout(self, first: int) -> None:
        """Lay out the entries from index ``first`` on and repaint the lines they cover."""
        width = self._content_width()
        entries = self.model.entries
        del self._offsets[first:]
        line = 0
        if first > 0:
            line = self._offsets[first - 1] + len(self._strips(entries[first - 1], width))
        top = line
        for entry in entries[first:]:
            self._offsets.append(line)
            line += len(self._strips(entry, width))
        scroll_y = self.scroll_y
        set_scroll_range(self, Size(width, line))
        if self.follow:
            # Forced: a scrollbar that just appeared is not laid out yet, and would refuse the scroll.
            self.scroll_to(y=max(0, line - self.scrollable_content_region.height), animate=False, immediate=True,
                           force=True)
        if self.scroll_y != scroll_y:
            self.refresh()
        else:  # the lines from the first changed entry down (below them nothing moved)
            self.refresh(Region(0, top - int(self.scroll_y), self.scrollable_content_region.width,
                                max(1, self.scrollable_content_region.height)))

    def _content_width(self) -> int:
        return max(10, self.scrollable_content_region.width)

    def on_resize(self) -> None:
        self._cache.clear()
        self._relayout(0)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        if self.is_mounted:
            self._relayout(0)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.follow = new_value >= self.virtual_size.height - self.scrollable_content_region.height

    # --- rendering ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        line = scroll_y + y
        i = bisect_right(self._offsets, line) - 1
        if i < 0 or i >= len(self._offsets):
            return Strip.blank(width, self.base_style)
        strips = self._strips(self.model.entries[i], self._content_width())
        j = line - self._offsets[i]
        if j >= len(strips):
            return Strip.blank(width, self.base_style)
        return strips[j].crop_extend(scroll_x, scroll_x + width, self.base_style)

    def _strips(self, entry: Entry, width: int) -> list[Strip]:
        # The reply being heard changes with time: its characters heard were taken at the update.
        heard = self._heard[1] if self._heard is not None and self._heard[0] == id(entry) else None
        key = (id(entry), entry.version, width, heard)  # the cache never replaces a key's value
        strips = self._cache.get(key)
        if strips is None:
            text = self._turn_text(entry) if isinstance(entry, TurnEntry) else self._reply_text(entry)
            strips = self._wrap(text, width)
            self._cache.set(key, strips)
        return strips

    def _wrap(self, text: Text, width: int) -> list[Strip]:
        console = self.app.console
        base = self.base_style
        lines = text.wrap(console, width, overflow="fold")
        strips = [Strip(line.render(console)).apply_style(base).adjust_cell_length(width, base) for line in lines]
        strips.append(Strip.blank(width, base))
        return strips


    def _turn_text(self, entry: TurnEntry) -> Text:
        meta = self.style_of("meta")
        text = Text()
        text.append("you", self.style_of("user"))
        text.append(f"  turn {entry.turn} · {entry.start_audio_t:.2f} s", meta)
        if entry.state == "open":
            text.append("  speaking…", meta)
        elif entry.state == "eager":
            text.append("  eager end", self.style_of("eager"))
        if entry.resumes:
            text.append(f"  {entry.resumes}× resumed", self.style_of("eager"))
        text.append("\n")
        if entry.state == "ended":
            text.append(entry.text or "(no words)", self.style_of("final") if entry.text else meta)
        else:
            text.append((entry.text or "") + " …", self.style_of("interim"))
        return text

    def _reply_text(self, entry: ReplyEntry) -> Text:
        meta = self.style_of("meta")
        text = Text()
        text.append("bot", self.style_of("bot"))
        who = f"turn {entry.turn}" if entry.turn is not None else "typed"
        text.append(f"  reply {entry.reply} · {who}", meta)
        state = entry.state
        if state == "playing":
            text.append("  ▶ playing", self.style_of("heard"))
        elif entry.interrupted:
            text.append(f"  ✂ cut at {entry.heard_s(self.now()):.2f} s", self.style_of("cut"))
        elif state in ("queued", "synthesizing", "cancelled"):
            text.append(f"  {state}", meta)
        elif state == "failed":
            text.append(f"  failed: {entry.failed}", self.style_of("failed"))
        text.append("\n")
        heard, _ = entry.words_heard(self.now())
        body = entry.text
        if entry.interrupted:
            text.append(body[:heard], self.style_of("heard"))
            text.append(" ✂ ", self.style_of("cut"))
            text.append(body[heard:].lstrip(), self.style_of("lost"))
        elif entry.play_end_t is not None:
            text.append(body, self.style_of("heard"))
        elif state == "cancelled":
            text.append(body, self.style_of("lost"))
        else:
            text.append(body[:heard], self.style_of("heard"))
            text.append(body[heard:], self.style_of("unheard"))
        return text


__all__ = ["TranscriptView"]
