"""The transcript: user turns and bot replies, drawn with the Line API.

Each entry (a turn or a reply) is rendered to strips once per change and cached; the view
keeps the first line of every entry, so drawing a screen of an hour-long session touches only
the entries on screen, and a change to the last entry re-renders that entry alone.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from voiceconsole.session.history import ChunkedArray
from voiceconsole.ui.lines import CachedStyles, set_virtual_size
from voiceconsole.ui.model import ConsoleModel, ReplyEntry, TurnEntry
from voiceconsole.ui.paintcache import FrameCachedScrollbars, mark_for_paint

Key = tuple[str, int]
STRIP_CACHE = 512
"""Entries whose rendered strips are kept (the screen shows a few dozen at most)."""


class _OrderPrefix:
    """The first ``count`` keys of the view's model's transcript order (read there, not copied)."""

    __slots__ = ("_view", "count")

    def __init__(self, view: TranscriptView, count: int) -> None:
        self._view = view
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __getitem__(self, i: int) -> Key:
        return self._view.model.order[range(self.count)[i]]

    def append(self, key: Key) -> None:
        """Take in the next key of the model's order (``key``)."""
        self.count += 1

    def index_from_end(self, key: Key) -> int:
        """Position of ``key`` searching from the newest, or -1."""
        return self._view.model.order.index_from_end(key, before=self.count)


class TranscriptView(CachedStyles, FrameCachedScrollbars, ScrollView, can_focus=False):
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
        # The entries are the model's transcript order so far (kept as a count, not a copy) and
        # the first line of each, in fixed chunks (a few bytes per entry, never regrown).
        self._keys = _OrderPrefix(self, 0)
        self._offsets = ChunkedArray("i")  # widened if it needs 64 bits
        self._cache: LRUCache[Key, tuple[tuple[object, ...], list[Strip]]] = LRUCache(STRIP_CACHE)
        self._width = 0
        self._lines_total = 0  # content lines laid out last (what is drawn below them is blank)
        self.rendered = 0
        """Entries rendered to strips so far (the others come from the cache)."""

    # --- updates from the app --------------------------------------------------------------------

    def reset(self, model: ConsoleModel) -> None:
        """Show ``model`` from scratch (a replay seeking backwards)."""
        self.model = model
        self._keys = _OrderPrefix(self, 0)
        self._offsets = ChunkedArray("i")
        self._cache.clear()
        self._relayout(0)  # an empty model adds no entry, so nothing else clears the old lines

    def update_entries(self, changed: set[Key], added: bool) -> None:
        """Re-render changed entries (and take in new ones) after the model changed."""
        if added:
            for key in self.model.order[len(self._keys) :]:
                self._keys.append(key)
                self._offsets.append(0)
                changed.add(key)
        if not changed:
            return
        found = (self._keys.index_from_end(k) for k in changed)  # changed entries are nearly always recent
        first = min((i for i in found if i >= 0), default=len(self._keys))
        for key in changed:
            self._cache.discard(key)
        self._relayout(first)

    def tick(self) -> bool:
        """Re-render the reply being heard (its highlighted words move with time).

        True while a reply is playing (its words may light up on any tick).
        """
        playing = self.model.playing_reply()
        if playing is None:
            return False
        key = ("reply", playing.reply)
        cached = self._cache.get(key)
        if cached is not None and cached[0] != self._signature(key):
            self.update_entries({key}, False)
        return True

    def _relayout(self, first: int) -> None:
        width = self._content_width()
        line = 0
        if first > 0:
            line = self._offsets[first - 1] + len(self._strips(self._keys[first - 1], width))
        for i in range(first, len(self._keys)):
            self._offsets[i] = line
            line += len(self._strips(self._keys[i], width))
        scroll_y = self.scroll_y
        drawn_to, self._lines_total = self._lines_total, line
        set_virtual_size(self, Size(width, line))  # no screen re-layout as the transcript grows
        if self.follow:
            self._scroll_to_end()
        top = self._offsets[first] if first < len(self._keys) else line
        y0 = max(0, top - int(self.scroll_y))
        # Down to the end of the content drawn before or now, whichever is lower: the blank lines
        # below it stay as they are.
        height = min(self.scrollable_content_region.height, max(line, drawn_to) - int(self.scroll_y))
        if self.scroll_y != scroll_y or not self.is_mounted:
            self.refresh()
        elif y0 < height:  # only the lines from the first changed entry down, in the console's paint_now
            mark_for_paint(self, Region(0, y0, self.scrollable_content_region.width, height - y0))

    def _scroll_to_end(self) -> None:
        height = self.scrollable_content_region.height
        self.scroll_to(y=max(0, self.virtual_size.height - height), animate=False, immediate=True)

    def _content_width(self) -> int:
        return max(10, self.scrollable_content_region.width)

    def on_resize(self) -> None:
        self._cache.clear()
        if self._keys:
            self._relayout(0)
        elif self.follow:
            self._scroll_to_end()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        if self._keys and self.is_mounted:
            self._relayout(0)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.follow = new_value >= self.virtual_size.height - self.scrollable_content_region.height

    # --- rendering ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        line = scroll_y + y
        base = self._base()
        i = bisect_right(self._offsets, line) - 1
        if i < 0 or i >= len(self._keys):
            return Strip.blank(width, base)
        strips = self._strips(self._keys[i], self._content_width())
        j = line - self._offsets[i]
        if j >= len(strips):
            return Strip.blank(width, base)
        return strips[j].crop_extend(scroll_x, scroll_x + width, base)

    def _signature(self, key: Key) -> tuple[object, ...]:
        kind, number = key
        if kind == "turn":
            entry = self.model.turns[number]
            return (entry.version, self._width)
        reply = self.model.replies[number]
        return (reply.version, self._width, reply.words_heard(self.now())[0])

    def _strips(self, key: Key, width: int) -> list[Strip]:
        self._width = width
        sig = self._signature(key)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == sig:
            return cached[1]
        kind, number = key
        text = self._turn_text(self.model.turns[number]) if kind == "turn" else self._reply_text(self.model.replies[number])
        strips = self._wrap(text, width)
        self.rendered += 1
        self._cache.set(key, (sig, strips))
        return strips

    def _wrap(self, text: Text, width: int) -> list[Strip]:
        console = self.app.console
        base = self._base()
        lines = text.wrap(console, width, overflow="fold")
        strips = [Strip(line.render(console)).apply_style(base).adjust_cell_length(width, base) for line in lines]
        strips.append(Strip.blank(width, base))
        return strips

    def _turn_text(self, entry: TurnEntry) -> Text:
        meta = self._style("meta")
        text = Text()
        text.append("you", self._style("user"))
        text.append(f"  turn {entry.turn} · {entry.start_audio_t:.2f} s", meta)
        if entry.state == "open":
            text.append("  speaking…", meta)
        elif entry.state == "eager":
            text.append("  eager end", self._style("eager"))
        if entry.resumes:
            text.append(f"  {entry.resumes}× resumed", self._style("eager"))
        text.append("\n")
        if entry.state == "ended":
            text.append(entry.text or "(no words)", self._style("final") if entry.text else meta)
        else:
            text.append((entry.text or "") + " …", self._style("interim"))
        return text

    def _reply_text(self, entry: ReplyEntry) -> Text:
        meta = self._style("meta")
        text = Text()
        text.append("bot", self._style("bot"))
        who = f"turn {entry.turn}" if entry.turn is not None else "typed"
        text.append(f"  reply {entry.reply} · {who}", meta)
        state = entry.state
        if state == "playing":
            text.append("  ▶ playing", self._style("heard"))
        elif entry.interrupted:
            text.append(f"  ✂ cut at {entry.heard_s(self.now()):.2f} s", self._style("cut"))
        elif state in ("queued", "synthesizing", "cancelled"):
            text.append(f"  {state}", meta)
        elif state == "failed":
            text.append(f"  failed: {entry.failed}", self._style("failed"))
        text.append("\n")
        heard, total = entry.words_heard(self.now())
        body = entry.text
        if entry.interrupted:
            text.append(body[:heard], self._style("heard"))
            text.append(" ✂ ", self._style("cut"))
            text.append(body[heard:].lstrip(), self._style("lost"))
        elif entry.play_end_t is not None:
            text.append(body, self._style("heard"))
        elif state == "cancelled":
            text.append(body, self._style("lost"))
        else:
            text.append(body[:heard], self._style("heard"))
            text.append(body[heard:], self._style("unheard"))
        return text
