"""The console's state, built from events only (no textual import, no I/O).

:class:`ConsoleModel` takes events one at a time with :meth:`ConsoleModel.apply` and keeps
what the panels show: the transcript (turns and replies), the timeline's lanes (levels, VAD
spans, turn marks, reply spans, commands, the measured gaps), the TTS queue, engine and device
status, errors and the latest meter levels. :meth:`ConsoleModel.from_events` rebuilds it from a
list, which is how a replay seeks.

Every change is also recorded as *dirt* (:class:`Dirt`): which transcript entries, which
replies, from which audio time the timeline must be redrawn. The UI takes the dirt at its own
rate (:meth:`ConsoleModel.take_dirt`), so a burst of events costs one redraw.

Timeline positions are in **audio time** (``audio_t``, and ``speech_audio_t`` for the VAD), the
axis the turn-timing metrics are measured on; the session clock ``t`` is used for what the user
hears (how much of a reply has played).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from voiceconsole.events import (
    AudioLevel,
    DeviceState,
    EngineError,
    EngineState,
    Event,
    InterruptCommand,
    MuteCommand,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    SayCommand,
    SessionStarted,
    SessionStopped,
    SpeechStarted,
    SpeechStopped,
    TtsCancelled,
    TtsDone,
    TtsFailed,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TtsWordTimings,
    TurnEagerEnd,
    TurnEnd,
    TurnResume,
    TurnStart,
    TurnUpdate,
    WordTiming,
)
from voiceconsole.session.history import (
    BOOL,
    DURATION,
    ENUM,
    INT,
    OPT_INT,
    OPT_STR,
    STR,
    TIME,
    FoldedMap,
    ChunkedArray,
    KeyList,
    NumberIndex,
    inserted,
)
from voiceconsole.session.metrics import MetricsBuilder, TurnMetrics

ReplyState = Literal["queued", "synthesizing", "playing", "done", "cancelled", "failed"]
TurnState = Literal["open", "eager", "ended"]

INF = math.inf


@dataclass(slots=True)
class Span:
    """A stretch of audio time (``end`` is ``None`` while it is still going on)."""

    start: float
    end: float | None = None
    kind: str = ""


@dataclass(slots=True)
class TurnEntry:
    """One user turn as the transcript and the timeline show it."""

    turn: int
    start_t: float
    start_audio_t: float
    text: str = ""
    state: TurnState = "open"
    end_t: float | None = None
    end_audio_t: float | None = None
    eager_spans: list[Span] = field(default_factory=list)
    resumes: int = 0
    """Stretches between a ``turn.eager_end`` and the ``turn.resume`` or ``turn.end`` after it."""
    version: int = 0

    def close_eager(self, at: float) -> None:
        """End the open eager stretch, if any, at audio time ``at``."""
        if self.eager_spans and self.eager_spans[-1].end is None:
            self.eager_spans[-1].end = at


@dataclass(slots=True)
class ReplyEntry:
    """One reply (from the responder or typed) through the TTS queue and the speaker."""

    reply: int
    text: str
    origin: str
    turn: int | None
    queued_t: float
    queued_audio_t: float
    request_t: float | None = None
    request_audio_t: float | None = None
    first_audio_t: float | None = None
    first_audio_audio_t: float | None = None
    ttfa_s: float | None = None
    """``tts.request_sent`` -> ``tts.first_audio`` in seconds."""
    words: list[WordTiming] = field(default_factory=list)
    synth_done: bool = False
    duration_s: float | None = None
    """Audio produced by the TTS engine (known at ``tts.done``)."""
    play_start_t: float | None = None
    play_start_audio_t: float | None = None
    play_end_t: float | None = None
    play_end_audio_t: float | None = None
    played_s: float | None = None
    """Audio heard, known when playback finished or was cut."""
    interrupted: bool = False
    cancelled: bool = False
    failed: str | None = None
    version: int = 0

    @property
    def state(self) -> ReplyState:
        """Where the reply is: queued, synthesizing, playing, done, cancelled or failed."""
        if self.interrupted or (self.cancelled and self.play_end_t is None):
            return "cancelled"
        if self.play_end_t is not None:
            return "done"
        if self.play_start_t is not None:
            return "playing"
        if self.failed is not None:
            return "failed"
        if self.request_t is not None and not self.synth_done:
            return "synthesizing"
        return "queued"

    def heard_s(self, now_t: float) -> float:
        """Seconds of this reply the user has heard at session time ``now_t``."""
        if self.played_s is not None:
            return self.played_s
        if self.play_start_t is None:
            return 0.0
        heard = max(0.0, now_t - self.play_start_t)
        if self.duration_s is not None and self.synth_done:
            heard = min(heard, self.duration_s)
        return heard

    def words_heard(self, now_t: float) -> tuple[int, int]:
        """``(characters heard, characters in total)`` of the text at session time ``now_t``.

        With word timings a word counts as heard once its start has played; without them the
        heard share of the audio is mapped onto the text.
        """
        total = len(self.text)
        heard = self.heard_s(now_t)
        if self.play_end_t is not None and not self.interrupted:
            return total, total
        if heard <= 0:
            return 0, total
        if self.words:
            return _chars_for_words(self.text, self.words, heard), total
        if self.duration_s:
            share = min(1.0, heard / self.duration_s)
            return _snap_to_word(self.text, int(total * share)), total
        return 0, total


def _chars_for_words(text: str, words: list[WordTiming], heard_s: float) -> int:
    """End offset in ``text`` of the last word whose start has been heard."""
    pos = 0
    end = 0
    lowered = text.lower()
    for word in words:
        if word.start > heard_s:
            break
        found = lowered.find(word.word.lower(), pos)
        if found < 0:
            continue
        pos = end = found + len(word.word)
    return end


def _snap_to_word(text: str, cut: int) -> int:
    """Move ``cut`` forward to the end of the word it falls in."""
    while 0 < cut < len(text) and not text[cut].isspace():
        cut += 1
    return cut


@dataclass(frozen=True, slots=True)
class Mark:
    """A point on the timeline: a turn event, a reply event or a command."""

    at: float
    kind: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class Gap:
    """A measured interval written on the timeline, e.g. speech stop -> turn.end."""

    row: int
    start: float
    end: float
    kind: str
    ms: int
    key: tuple[Any, ...]


@dataclass(slots=True)
class EngineInfo:
    """Connection state of one engine."""

    role: str
    engine: str
    state: str = "connecting"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An engine error as the banner shows it."""

    role: str
    engine: str
    message: str
    hint: str
    fatal: bool
    t: float


LEVEL_FULL_WINDOW_S = 600.0
"""Audio seconds of the newest levels kept at full resolution (every reading)."""
LEVEL_BUCKET_S = 0.5
"""Older levels are kept as the loudest reading per bucket of this many seconds (a divisor of
the coarser zooms, so those draw exactly; finer zooms show old history at this resolution)."""
_FOLD_BATCH = 2048
"""Readings folded into buckets at a time (keeps the cost of trimming the arrays amortised)."""
LEVEL_STEP_DB = 0.5
"""Resolution of the bucketed (old) levels: the timeline draws a level as one of a few glyphs."""
_NO_LEVEL = 255
"""Bucket code of a bucket without a reading."""


def _level_code(rms_db: float) -> int:
    """A dBFS level as one byte: ``-code * LEVEL_STEP_DB`` (0 ... -127 dBFS, quieter clamps)."""
    if not rms_db > -127.0:  # also -inf (digital silence) and nan
        return 254
    return max(0, round(-rms_db / LEVEL_STEP_DB))


_OLD_CHUNK = 4096
"""Buckets per storage chunk of the bucketed (old) levels."""


class LevelTrack:
    """Levels of one stream over audio time (RMS and peak dBFS), appended in time order.

    Stored compactly: the last :data:`LEVEL_FULL_WINDOW_S` seconds as typed arrays at full
    resolution, everything older folded into :data:`LEVEL_BUCKET_S` buckets holding the loudest
    RMS of each in :data:`LEVEL_STEP_DB` steps (what the timeline draws; old peaks are not kept).
    Buckets are dense from the first one (bucket ``k`` starts at ``(first + k) * LEVEL_BUCKET_S``),
    so a bucket costs one byte and memory grows by 2 bytes per audio second however long the
    session. Both are kept in fixed-size chunks (full-resolution readings :data:`_FOLD_BATCH` to
    a chunk, folded a chunk at a time), so no array is regrown or shrunk as the session goes on.
    """

    __slots__ = ("_chunks", "_last", "_old_first", "_old", "_old_count")

    def __init__(self) -> None:
        self._chunks: list[tuple[array[float], array[float], array[float]]] = []  # (times, rms, peak)
        self._last = _FOLD_BATCH  # readings in the newest chunk
        self._old_first = 0  # bucket number of the first bucket
        self._old: list[array[int]] = []  # the loudest RMS of each bucket (see _level_code)
        self._old_count = 0

    def __len__(self) -> int:
        """Readings kept at full resolution plus buckets of older ones."""
        return self._full() + self._old_count

    def _full(self) -> int:
        return (len(self._chunks) - 1) * _FOLD_BATCH + self._last if self._chunks else 0

    def _count(self, k: int) -> int:
        return self._last if k == len(self._chunks) - 1 else _FOLD_BATCH

    def add(self, at: float, rms: float, peak: float) -> None:
        """Append one reading at audio time ``at``."""
        if self._last == _FOLD_BATCH:
            if len(self._chunks) > 1 and at - self._chunks[1][0][0] > LEVEL_FULL_WINDOW_S:
                self._fold()
            self._chunks.append((array("d", [0.0]) * _FOLD_BATCH, array("f", [0.0]) * _FOLD_BATCH,
                                 array("f", [0.0]) * _FOLD_BATCH))
            self._last = 0
        times, rms_col, peak_col = self._chunks[-1]
        times[self._last] = at
        rms_col[self._last] = rms
        peak_col[self._last] = peak
        self._last += 1

    def _put_old(self, k: int, code: int) -> None:
        c, j = divmod(k, _OLD_CHUNK)
        while c >= len(self._old):
            self._old.append(array("B", [_NO_LEVEL]) * _OLD_CHUNK)
        self._old[c][j] = code

    def _fold(self) -> None:
        """Move the oldest chunk of readings into the bucketed history."""
        times, rms, _ = self._chunks.pop(0)
        for i in range(_FOLD_BATCH):
            bucket = math.floor(times[i] / LEVEL_BUCKET_S)
            if not self._old_count:
                self._old_first = bucket
            k = bucket - self._old_first
            code = _level_code(rms[i])
            if k < self._old_count:
                last = self._old_count - 1
                held = self._old[last // _OLD_CHUNK][last % _OLD_CHUNK]
                if held == _NO_LEVEL or code < held:  # a smaller code is louder
                    self._put_old(last, code)
            else:
                self._put_old(k, code)
                self._old_count = k + 1

    def _old_loudest(self, lo: int, hi: int) -> int:
        loudest = _NO_LEVEL
        while lo < hi:
            c, j = divmod(lo, _OLD_CHUNK)
            n = min(hi - lo, _OLD_CHUNK - j)
            loudest = min(loudest, min(self._old[c][j : j + n]))
            lo += n
        return loudest

    def _locate(self, at: float) -> tuple[int, int]:
        """(chunk, position) of the first full-resolution reading at or after ``at``."""
        chunks = self._chunks
        # Looked for from the newest chunk back: the timeline asks about the last seconds.
        k = len(chunks) - 1
        if k < 0 or not self._last or chunks[k][0][self._last - 1] < at:
            return len(chunks), 0
        while k > 0 and chunks[k - 1][0][_FOLD_BATCH - 1] >= at:
            k -= 1
        return k, bisect_left(chunks[k][0], at, 0, self._count(k))

    def max_rms(self, start: float, end: float) -> float | None:
        """Loudest RMS among level windows in ``[start, end)``, else the last one before.

        Where only buckets are left (old history), a bucket overlapping the range counts.
        """
        best: float | None = None
        first, count = self._old_first, self._old_count
        if count and start < (first + count - 1) * LEVEL_BUCKET_S + LEVEL_BUCKET_S:
            # buckets starting after start - bucket (overlapping) and before end
            lo = max(0, math.floor((start - LEVEL_BUCKET_S + 1e-9) / LEVEL_BUCKET_S) + 1 - first)
            hi = min(count, max(0, math.ceil(end / LEVEL_BUCKET_S) - first))
            loudest = self._old_loudest(lo, hi)
            if loudest != _NO_LEVEL:
                best = -loudest * LEVEL_STEP_DB
        k0, i0 = self._locate(start)
        k1, i1 = self._locate(end)
        if (k1, i1) > (k0, i0):
            value = -math.inf
            for k in range(k0, min(k1, len(self._chunks) - 1) + 1):
                rms = self._chunks[k][1]
                a = i0 if k == k0 else 0
                b = i1 if k == k1 else self._count(k)
                if b > a:
                    value = max(value, max(rms[a:b]))
            best = value if best is None or value > best else best
        elif best is None and (k0, i0) > (0, 0):
            k, i = (k0, i0 - 1) if i0 else (k0 - 1, self._count(k0 - 1) - 1)
            times, rms, _ = self._chunks[k]
            if start - times[i] < 0.25:
                best = rms[i]
        return best


MARK_CHUNK = 256
"""Marks per storage chunk of a :class:`MarkList`."""
_NO_LABEL, _TEXT_LABEL = -(2**15), -(2**15) + 1
"""A mark's label slot: no label; a label kept aside (not a number close to the chunk's first)."""
_NO_BASE = -(2**63)


class MarkList:
    """Marks in time order, stored in fixed chunks of typed arrays; iterating yields :class:`Mark`.

    The newest chunk holds times in full; a chunk once full keeps them as 32-bit offsets from its
    first mark (old marks read back within microseconds while a chunk spans no more than a few
    minutes). A numeric label (a turn or reply number) is kept as a 16-bit offset from the
    chunk's first one; other labels aside. A mark costs 7 bytes and no array is ever regrown.
    """

    __slots__ = ("_bases", "_times", "_kinds_at", "_nums", "_num_bases", "_count", "_text", "_kinds")

    def __init__(self) -> None:
        self._bases = ChunkedArray("d")  # first time of each chunk
        self._times: list[array[float]] = []  # per chunk: "d" (the newest) or "f" offsets from its base
        self._kinds_at: list[array[int]] = []
        self._nums: list[array[int]] = []  # label - the chunk's label base; _NO_LABEL, _TEXT_LABEL
        self._num_bases = ChunkedArray("q")  # first numeric label of each chunk
        self._count = 0
        self._text: dict[int, str] = {}  # mark -> label (labels that are no number near the chunk's)
        self._kinds: list[str] = []

    def append(self, mark: Mark) -> None:
        """Add ``mark`` (marks arrive in time order)."""
        try:
            kind = self._kinds.index(mark.kind)
        except ValueError:
            kind = len(self._kinds)
            self._kinds.append(mark.kind)
        i = self._count
        k, j = divmod(i, MARK_CHUNK)
        if k == len(self._times):
            if k:  # the chunk before is full: its times become offsets
                full = self._times[k - 1]
                base = self._bases[k - 1]
                offsets = array("f", [0.0]) * MARK_CHUNK
                for n in range(MARK_CHUNK):
                    offsets[n] = full[n] - base
                self._times[k - 1] = offsets
            self._bases.append(mark.at)
            self._times.append(array("d", [0.0]) * MARK_CHUNK)
            self._kinds_at.append(array("B", [0]) * MARK_CHUNK)
            self._nums.append(array("h", [_NO_LABEL]) * MARK_CHUNK)
            self._num_bases.append(_NO_BASE)
        label = mark.label
        num = _NO_LABEL
        if label:
            num = _TEXT_LABEL
            if label.isdigit() and str(int(label)) == label:
                value = int(label)
                if self._num_bases[k] == _NO_BASE:
                    self._num_bases[k] = value
                offset = value - self._num_bases[k]
                if _TEXT_LABEL < offset < 2**15:
                    num = offset
            if num == _TEXT_LABEL:
                self._text[i] = label
        self._times[k][j] = mark.at
        self._kinds_at[k][j] = kind
        self._nums[k][j] = num
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def _at(self, i: int) -> float:
        k, j = divmod(i, MARK_CHUNK)
        times = self._times[k]
        return times[j] if times.typecode == "d" else self._bases[k] + times[j]

    def _mark(self, i: int) -> Mark:
        k, j = divmod(i, MARK_CHUNK)
        num = self._nums[k][j]
        label = "" if num == _NO_LABEL else self._text.get(i, "") if num == _TEXT_LABEL else str(self._num_bases[k] + num)
        return Mark(self._at(i), self._kinds[self._kinds_at[k][j]], label)

    def __getitem__(self, i: int) -> Mark:
        return self._mark(range(self._count)[i])

    def __iter__(self) -> Iterator[Mark]:
        return (self._mark(i) for i in range(self._count))

    def _bisect(self, at: float) -> int:
        """Position of the first mark at or after ``at``."""
        lo, hi = 0, self._count
        while lo < hi:
            mid = (lo + hi) // 2
            if self._at(mid) < at:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def between(self, start: float, end: float) -> list[Mark]:
        """Marks with ``start <= at < end``."""
        lo = self._bisect(start)
        hi = self._bisect(end)
        return [self._mark(i) for i in range(lo, hi)]


GAP_ROWS = 3
"""Timeline rows for gaps: 0 speech stop -> eager_end, 1 speech stop -> end, 2 reply gaps."""

GAP_LABELS = {
    "stop_eager": "stop→eager",
    "stop_end": "stop→end",
    "end_audio": "end→audio",
    "barge_in": "cut",
}


KEEP_LIVE = 200
"""Newest turns and replies kept as objects; older ones are folded into typed columns."""

_TURN_STATES: tuple[TurnState, ...] = ("open", "eager", "ended")
# Moments are TIME (32-bit offsets from the record's first moment), lengths DURATION (32-bit).
_TURN_SPEC = (("turn", INT), ("start_t", TIME), ("start_audio_t", TIME), ("text", STR), ("end_t", TIME),
              ("end_audio_t", TIME), ("resumes", INT), ("version", INT))
_REPLY_SPEC = (("reply", INT), ("text", STR), ("origin", ENUM), ("turn", OPT_INT), ("queued_t", TIME),
               ("queued_audio_t", TIME), ("request_t", TIME), ("request_audio_t", TIME),
               ("first_audio_t", TIME), ("first_audio_audio_t", TIME), ("ttfa_s", DURATION),
               ("synth_done", BOOL), ("duration_s", DURATION), ("play_start_t", TIME),
               ("play_start_audio_t", TIME), ("play_end_t", TIME), ("play_end_audio_t", TIME),
               ("played_s", DURATION), ("interrupted", BOOL), ("cancelled", BOOL), ("failed", OPT_STR),
               ("version", INT))


def _opt(value: float) -> float | None:
    return None if value != value else value


class TurnHistory(FoldedMap[TurnEntry]):
    """Turns by number (a ``dict`` to readers); old ones folded, with their state and eager spans."""

    def __init__(self, keep: int = KEEP_LIVE) -> None:
        super().__init__(_TURN_SPEC, self._rebuild, keep=keep, pack=self._pack_extra)
        self._state = ChunkedArray("B")
        self._eager_end_at = ChunkedArray("I")  # end of each folded turn's spans in the span columns
        # span moments as 32-bit offsets from the turn's start (read back within microseconds)
        self._eager_start = ChunkedArray("f")
        self._eager_end = ChunkedArray("f")

    def _pack_extra(self, entry: TurnEntry, i: int) -> None:
        self._state.append(_TURN_STATES.index(entry.state))
        base = entry.start_audio_t
        for span in entry.eager_spans:
            self._eager_start.append(span.start - base)
            self._eager_end.append(math.nan if span.end is None else span.end - base)
        self._eager_end_at.append(len(self._eager_start))

    def _rebuild(self, fields: dict[str, Any], i: int) -> TurnEntry:
        lo = self._eager_end_at[i - 1] if i else 0
        base = fields["start_audio_t"]
        spans = [Span(base + self._eager_start[k], _opt(base + self._eager_end[k])) for k in range(lo, self._eager_end_at[i])]
        return TurnEntry(state=_TURN_STATES[self._state[i]], eager_spans=spans, **fields)


class ReplyHistory(FoldedMap[ReplyEntry]):
    """Replies by number (a ``dict`` to readers); old ones folded (word timings kept only if any)."""

    def __init__(self, pinned: Any, keep: int = KEEP_LIVE) -> None:
        super().__init__(_REPLY_SPEC, self._rebuild, keep=keep, pack=self._pack_extra, pinned=pinned)
        self._words: dict[int, list[WordTiming]] = {}

    def _pack_extra(self, entry: ReplyEntry, i: int) -> None:
        if entry.words:  # only replies cut or still unheard keep their timings
            self._words[i] = list(entry.words)

    def _rebuild(self, fields: dict[str, Any], i: int) -> ReplyEntry:
        return ReplyEntry(words=list(self._words.get(i, ())), **fields)


class SpanList:
    """Spans appended in start order, stored as two chunked typed arrays (``nan``: still open)."""

    __slots__ = ("_start", "_end")

    def __init__(self) -> None:
        self._start = ChunkedArray("d")
        self._end = ChunkedArray("d")

    def append(self, span: Span) -> None:
        """Add a span (after the others)."""
        self._start.append(span.start)
        self._end.append(math.nan if span.end is None else span.end)

    def __len__(self) -> int:
        return len(self._start)

    def __bool__(self) -> bool:
        return len(self._start) > 0

    def __getitem__(self, i: int) -> Span:
        j = range(len(self._start))[i]
        return Span(self._start[j], _opt(self._end[j]))

    def __iter__(self) -> Iterator[Span]:
        return (Span(s, _opt(e)) for s, e in zip(self._start, self._end))

    def last_open(self) -> bool:
        """Whether the last span is still going on."""
        if not self._end:
            return False
        last = self._end[-1]
        return last != last

    def close_last(self, at: float) -> None:
        """End the last span at ``at``."""
        self._end[-1] = at

    def overlapping(self, start: float, end: float, now: float) -> list[Span]:
        """Spans overlapping ``[start, end)`` (open ones run to ``now``), in order."""
        starts, ends = self._start, self._end
        hi = bisect_right(starts, end)
        out: list[Span] = []
        for k in range(hi - 1, -1, -1):
            e = ends[k]
            span_end = now if e != e else e
            if span_end >= start:
                out.append(Span(starts[k], _opt(e)))
            elif e == e:
                break
        out.reverse()
        return out


class GapRow:
    """The stored gaps of one timeline row ordered by start, as typed columns (recent gaps only:
    older ones are frozen, see :class:`GapStore`, so these stay a few hundred long)."""

    __slots__ = ("start", "end", "kind", "ms", "num")

    def __init__(self) -> None:
        self.start = array("d")
        self.end = array("d")
        self.kind = array("B")
        self.ms = array("i")  # widened to 64 bits if a value needs it
        self.num = array("i")

    def __len__(self) -> int:
        return len(self.start)

    def insert(self, start: float, end: float, kind: int, ms: int, num: int) -> None:
        """Add a gap after those starting at or before ``start``."""
        i = bisect_right(self.start, start)
        self.start.insert(i, start)
        self.end.insert(i, end)
        self.kind.insert(i, kind)
        self.ms = inserted(self.ms, i, ms)
        self.num = inserted(self.num, i, num)

    def find(self, kind: int, num: int) -> int:
        """Position of the gap of ``(kind, num)`` searching from the newest, or -1."""
        kinds, nums = self.kind, self.num
        for i in range(len(nums) - 1, -1, -1):
            if nums[i] == num and kinds[i] == kind:
                return i
        return -1

    def remove(self, i: int) -> None:
        """Drop the gap at position ``i``."""
        for col in (self.start, self.end, self.kind, self.ms, self.num):
            del col[i]


FROZEN_KINDS = {"stop_eager": 0, "stop_end": 1, "end_audio": 2}
"""Gap kinds computed from a turn's metrics (and its reply), with their rows: an old one is
kept as its turn number only and computed again when read (see :class:`GapStore`)."""
_FREEZE_SLACK_S = 1e-4


class _FrozenKind:
    """The turn numbers of the frozen gaps of one kind, in freezing order (their starts ascend)."""

    __slots__ = ("nums", "thawed", "last_start")

    def __init__(self) -> None:
        self.nums = NumberIndex()
        self.thawed: set[int] = set()  # frozen once, stored again since (changed after all)
        self.last_start = -INF

    def has(self, num: int) -> bool:
        return num not in self.thawed and self.nums.find(num) >= 0


class GapStore(Mapping[tuple[Any, ...], Gap]):
    """Measured gaps by key ``(kind, number)`` (a ``dict`` to readers).

    New gaps are stored in per-row columns. Once a turn is old (its metrics are folded) its gaps
    are *frozen* (:meth:`freeze`): a gap that ``derive(kind, number)`` computes again from the
    metrics (to within microseconds, the same milliseconds) is dropped from the columns and only
    its turn number is kept (4 bytes instead of ~29), in the order of their starts; reading it
    computes it again. A frozen gap that is put again is stored again (thawed).
    """

    KINDS: tuple[str, ...] = tuple(GAP_LABELS)

    def __init__(self, derive: Callable[[str, int], Gap | None] | None = None) -> None:
        self.rows = [GapRow() for _ in range(GAP_ROWS)]
        self._derive = derive
        self._stored: dict[tuple[str, int], int] = {}  # key -> row (recent gaps only)
        self._frozen: dict[str, _FrozenKind] = {kind: _FrozenKind() for kind in FROZEN_KINDS}
        self._frozen_count = 0

    def _gap(self, r: int, i: int) -> Gap:
        row = self.rows[r]
        kind = self.KINDS[row.kind[i]]
        return Gap(r, row.start[i], row.end[i], kind, row.ms[i], (kind, row.num[i]))

    def _stored_gap(self, key: tuple[str, int]) -> Gap | None:
        r = self._stored.get(key)
        if r is None:
            return None
        i = self.rows[r].find(self.KINDS.index(key[0]), key[1])
        return self._gap(r, i)

    def _frozen_gap(self, kind: str, num: int) -> Gap | None:
        frozen = self._frozen.get(kind)
        if frozen is None or self._derive is None or not frozen.has(num):
            return None
        return self._derive(kind, num)

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        if not (isinstance(key, tuple) and len(key) == 2):
            return default
        gap = self._stored_gap(key)
        if gap is None:
            gap = self._frozen_gap(*key)
        return default if gap is None else gap

    def __getitem__(self, key: tuple[Any, ...]) -> Gap:
        gap = self.get(key)
        if gap is None:
            raise KeyError(key)
        return gap

    def __contains__(self, key: object) -> bool:
        if not (isinstance(key, tuple) and len(key) == 2):
            return False
        if key in self._stored:
            return True
        frozen = self._frozen.get(key[0])
        return frozen is not None and isinstance(key[1], int) and frozen.has(key[1])

    def __len__(self) -> int:
        return len(self._stored) + self._frozen_count

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for r in range(GAP_ROWS):
            for gap in self.in_row(r, -INF, INF):
                yield gap.key

    def put(self, gap: Gap) -> Gap | None:
        """Store ``gap`` under its key; returns the gap it replaced (``None``: new)."""
        kind, num = gap.key
        old = self._stored_gap(gap.key)
        if old is not None:
            row = self.rows[old.row]
            row.remove(row.find(self.KINDS.index(kind), num))
        else:
            old = self._frozen_gap(kind, num)
            if old is not None:
                self._frozen[kind].thawed.add(num)
                self._frozen_count -= 1
        self._stored[gap.key] = gap.row
        self.rows[gap.row].insert(gap.start, gap.end, self.KINDS.index(kind), gap.ms, num)
        return old

    def freeze(self, num: int) -> None:
        """Freeze the gaps of turn ``num`` that its metrics give again (see the class doc)."""
        if self._derive is None:
            return
        for kind, r in FROZEN_KINDS.items():
            key = (kind, num)
            stored = self._stored_gap(key)
            frozen = self._frozen[kind]
            if stored is None or stored.row != r or stored.start < frozen.last_start or num in frozen.thawed:
                continue
            if frozen.nums.find(num) >= 0:
                continue
            again = self._derive(kind, num)
            if again is None or again.ms != stored.ms or again.row != r or abs(again.start - stored.start) > _FREEZE_SLACK_S \
                    or abs(again.end - stored.end) > _FREEZE_SLACK_S or again.start < frozen.last_start:
                continue
            row = self.rows[r]
            row.remove(row.find(self.KINDS.index(kind), num))
            del self._stored[key]
            frozen.nums.append(num)
            frozen.last_start = again.start
            self._frozen_count += 1

    def _frozen_in(self, kind: str, start: float, end: float) -> list[Gap]:
        """Frozen gaps of ``kind`` starting in ``[start, end)``, by start."""
        frozen = self._frozen[kind]
        nums = frozen.nums.nums
        if self._derive is None or not nums or start > frozen.last_start:
            return []
        derive = self._derive

        def start_of(i: int) -> float:
            gap = derive(kind, nums[i])
            return -INF if gap is None else gap.start

        lo, hi = 0, len(nums)
        while lo < hi:  # the first one starting at or after start
            mid = (lo + hi) // 2
            if start_of(mid) < start:
                lo = mid + 1
            else:
                hi = mid
        out: list[Gap] = []
        for i in range(lo, len(nums)):
            if nums[i] in frozen.thawed:
                continue
            gap = derive(kind, nums[i])
            if gap is None:
                continue
            if gap.start >= end:
                break
            out.append(gap)
        return out

    def in_row(self, row: int, start: float, end: float) -> list[Gap]:
        """Gaps of ``row`` whose start lies in ``[start, end)``, ordered by start."""
        cols = self.rows[row]
        lo = bisect_left(cols.start, start)
        hi = bisect_left(cols.start, end)
        stored = [self._gap(row, i) for i in range(lo, hi)]
        frozen = [g for kind, r in FROZEN_KINDS.items() if r == row for g in self._frozen_in(kind, start, end)]
        if not frozen:
            return stored
        # frozen gaps are older: a stable sort keeps them before stored ones of the same start
        return sorted(frozen + stored, key=lambda g: g.start)


@dataclass
class Dirt:
    """What changed since the UI last looked."""

    transcript: set[tuple[str, int]] = field(default_factory=set)
    transcript_added: bool = False
    replies: set[int] = field(default_factory=set)
    timeline_from: float = INF
    """Audio time from which the timeline must be redrawn (``inf``: nothing)."""
    levels_from: float = INF
    """The earliest audio time of the level readings taken in (they may land behind "now"; the
    frames draw them: this alone does not make the dirt true)."""
    status: bool = False
    metrics: bool = False
    errors: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.transcript or self.transcript_added or self.replies or self.timeline_from < INF
            or self.status or self.metrics or self.errors
        )


class ConsoleModel:
    """Everything the console shows, as plain data. Feed it events with :meth:`apply`."""

    def __init__(self, keep: int = KEEP_LIVE) -> None:
        """``keep``: newest turns and replies kept as objects (older ones are folded)."""
        self.session: SessionStarted | None = None
        self.stopped: SessionStopped | None = None
        self.engines: dict[str, EngineInfo] = {}
        self.devices: dict[str, DeviceState] = {}
        self.errors: list[ErrorInfo] = []
        self.warnings = 0
        self.xruns = 0
        self.muted = False
        self.auto_barge_in: bool | None = None
        self._playing: dict[int, ReplyEntry] = {}  # started and not yet finished, in start order
        self.turns = TurnHistory(keep)
        """Turns by number (reads like a ``dict``; old turns are folded into columns)."""
        self.replies = ReplyHistory(pinned=self._playing.__contains__, keep=keep)
        """Replies by number (reads like a ``dict``; old replies are folded into columns)."""
        self.order = KeyList()
        """Transcript entries in the order they appeared: ``("turn", n)`` or ``("reply", n)``."""
        self.mic = LevelTrack()
        self.speaker = LevelTrack()
        self.last_level: dict[str, AudioLevel] = {}
        self.vad = SpanList()
        self.mutes = SpanList()
        self.turn_marks = MarkList()
        self.reply_marks = MarkList()
        self.gaps = GapStore(self._derived_gap)
        """Measured gaps by key (reads like a ``dict``); those of old turns computed from their metrics."""
        self.longest_gap_s = 0.0
        self._gaps_frozen = 0  # folded metrics turns whose gaps were offered to the store to freeze
        # Metrics fold a turn right after the model does: they share its text (stored once).
        self.metrics = MetricsBuilder(keep, text=self.turns.columns.text)
        self.interrupt_audio_t: list[float] = []
        self.now_t = 0.0
        self.now_audio_t = 0.0
        self.events = 0
        self.dirt = Dirt()

    @classmethod
    def from_events(cls, events: Iterable[Event], keep: int = KEEP_LIVE) -> ConsoleModel:
        """A model rebuilt from a list of events (e.g. to seek in a replay)."""
        model = cls(keep)
        for event in events:
            model.apply(event)
        return model

    def take_dirt(self) -> Dirt:
        """What changed since the last call (and forget it)."""
        dirt, self.dirt = self.dirt, Dirt()
        return dirt

    # --- applying events ------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Update the state with one event."""
        self.events += 1
        if event.t > self.now_t:
            self.now_t = event.t
        if event.audio_t > self.now_audio_t:
            self.now_audio_t = event.audio_t
            if type(event) is not AudioLevel:  # levels only move "now" (the view tracks that)
                self._timeline_from(event.audio_t)
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
        if self.metrics.add(event):
            self.dirt.metrics = True
            self._update_gaps(event)
            folded = self.metrics.folded_turns
            while self._gaps_frozen < folded:  # a turn's metrics were folded: its gaps can be too
                self.gaps.freeze(self.metrics.folded_turn(self._gaps_frozen))
                self._gaps_frozen += 1

    def _timeline_from(self, at: float) -> None:
        if at < self.dirt.timeline_from:
            self.dirt.timeline_from = at

    def _touch_entry(self, kind: str, number: int) -> None:
        self.dirt.transcript.add((kind, number))

    # session, engines, devices

    def _on_session_start(self, e: SessionStarted) -> None:
        self.session = e
        self.auto_barge_in = bool(e.settings.get("auto_barge_in", True))
        for role, name in (("stt", e.stt), ("tts", e.tts)):
            self.engines.setdefault(role, EngineInfo(role, name))
        self.dirt.status = True

    def _on_session_stop(self, e: SessionStopped) -> None:
        self.stopped = e
        self.dirt.status = True

    def _on_engine_state(self, e: EngineState) -> None:
        info = self.engines.setdefault(e.role, EngineInfo(e.role, e.engine))
        info.engine, info.state, info.detail = e.engine or info.engine, e.state, e.detail
        self.dirt.status = True

    def _on_engine_error(self, e: EngineError) -> None:
        self.errors.append(ErrorInfo(e.role, e.engine, e.message, e.hint, e.fatal, e.t))
        if e.fatal:
            info = self.engines.setdefault(e.role, EngineInfo(e.role, e.engine))
            info.state = "failed"
        self.dirt.errors = self.dirt.status = True

    def _on_device(self, e: DeviceState) -> None:
        self.devices[e.stream] = e
        self.dirt.status = True

    def _on_level(self, e: AudioLevel) -> None:
        track = self.mic if e.source == "mic" else self.speaker
        track.add(e.audio_t, e.rms_dbfs, e.peak_dbfs)
        self.last_level[e.source] = e
        if e.audio_t < self.dirt.levels_from:
            self.dirt.levels_from = e.audio_t

    # reference VAD and mute

    def _on_speech_start(self, e: SpeechStarted) -> None:
        self.vad.append(Span(e.speech_audio_t))
        self._timeline_from(e.speech_audio_t)

    def _on_speech_stop(self, e: SpeechStopped) -> None:
        if self.vad.last_open():
            self.vad.close_last(e.speech_audio_t)
        else:
            self.vad.append(Span(e.speech_audio_t, e.speech_audio_t))
        self._timeline_from(min(e.speech_audio_t, self.vad[-1].start))

    def _on_mute(self, e: MuteCommand) -> None:
        self.muted = e.muted
        if e.muted:
            self.mutes.append(Span(e.audio_t))
        elif self.mutes.last_open():
            self.mutes.close_last(e.audio_t)
        self.reply_marks.append(Mark(e.audio_t, "mute" if e.muted else "unmute"))
        self._timeline_from(e.audio_t)
        self.dirt.status = True

    # turns

    def _turn_entry(self, e: Event, number: int) -> TurnEntry:
        entry = self.turns.mutable(number)
        if entry is None:
            entry = TurnEntry(number, e.t, e.audio_t)
            self.turns.add(number, entry)
            self.order.append(("turn", number))
            self.dirt.transcript_added = True
        entry.version += 1
        self._touch_entry("turn", number)
        return entry

    def _mark_turn(self, e: Event, kind: str, label: str = "") -> None:
        self.turn_marks.append(Mark(e.audio_t, kind, label))
        self._timeline_from(e.audio_t)

    def _on_turn_start(self, e: TurnStart) -> None:
        self._turn_entry(e, e.turn)
        self._mark_turn(e, "start", str(e.turn))

    def _on_turn_update(self, e: TurnUpdate) -> None:
        entry = self._turn_entry(e, e.turn)
        entry.text = e.transcript
        if entry.state == "eager":
            entry.state = "open"
            entry.close_eager(e.audio_t)
        self._mark_turn(e, "update")

    def _on_turn_eager(self, e: TurnEagerEnd) -> None:
        entry = self._turn_entry(e, e.turn)
        entry.text = e.transcript or entry.text
        entry.state = "eager"
        entry.close_eager(e.audio_t)
        entry.eager_spans.append(Span(e.audio_t))
        self._mark_turn(e, "eager_end")

    def _on_turn_resume(self, e: TurnResume) -> None:
        entry = self._turn_entry(e, e.turn)
        entry.state = "open"
        entry.resumes += 1
        entry.close_eager(e.audio_t)
        self._mark_turn(e, "resume")

    def _on_turn_end(self, e: TurnEnd) -> None:
        entry = self._turn_entry(e, e.turn)
        entry.text = e.transcript
        entry.state = "ended"
        entry.end_t, entry.end_audio_t = e.t, e.audio_t
        entry.close_eager(e.audio_t)
        self._mark_turn(e, "end", str(e.turn))

    # replies

    def _reply(self, number: int) -> ReplyEntry | None:
        entry = self.replies.mutable(number)
        if entry is not None:
            entry.version += 1
            self.dirt.replies.add(number)
            self._touch_entry("reply", number)
        return entry

    def _mark_reply(self, e: Event, kind: str, label: str = "") -> None:
        self.reply_marks.append(Mark(e.audio_t, kind, label))
        self._timeline_from(e.audio_t)

    def _on_queued(self, e: TtsQueued) -> None:
        self.replies.add(e.reply, ReplyEntry(e.reply, e.text, e.origin, e.turn, e.t, e.audio_t))
        self.order.append(("reply", e.reply))
        self.dirt.transcript_added = True
        self.dirt.replies.add(e.reply)
        self._mark_reply(e, "queued", str(e.reply))

    def _on_request(self, e: TtsRequestSent) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.request_t, entry.request_audio_t = e.t, e.audio_t
            self._mark_reply(e, "request")

    def _on_first_audio(self, e: TtsFirstAudio) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.first_audio_t, entry.first_audio_audio_t = e.t, e.audio_t
            entry.ttfa_s = e.latency_s
            self._mark_reply(e, "first_audio")

    def _on_words(self, e: TtsWordTimings) -> None:
        entry = self._reply(e.reply)
        if entry is not None and not (entry.play_end_t is not None and not entry.interrupted):
            entry.words.extend(e.words)

    def _on_tts_done(self, e: TtsDone) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.synth_done = True
            entry.duration_s = e.duration_s

    def _on_cancelled(self, e: TtsCancelled) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.cancelled = True

    def _on_failed(self, e: TtsFailed) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.failed = e.message or "failed"
            entry.synth_done = True

    def _on_play_start(self, e: PlaybackStarted) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.play_start_t, entry.play_start_audio_t = e.t, e.audio_t
            self._playing.pop(e.reply, None)
            self._playing[e.reply] = entry
            self._timeline_from(e.audio_t)

    def _on_play_finish(self, e: PlaybackFinished) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.play_end_t, entry.play_end_audio_t = e.t, e.audio_t
            entry.played_s = e.samples_played / e.sample_rate if e.sample_rate else None
            self._playing.pop(e.reply, None)
            entry.words = []  # heard in full: the timings are no longer needed
            self._timeline_from(entry.play_start_audio_t or e.audio_t)

    def _on_play_interrupt(self, e: PlaybackInterrupted) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.play_end_t, entry.play_end_audio_t = e.t, e.audio_t
            entry.played_s = e.samples_played / e.sample_rate if e.sample_rate else None
            entry.interrupted = True
            self._playing.pop(e.reply, None)
            self._mark_reply(e, "cut", str(e.reply))

    # commands

    def _on_interrupt(self, e: InterruptCommand) -> None:
        self.interrupt_audio_t.append(e.audio_t)
        self._mark_reply(e, "interrupt", e.reason)

    def _on_say(self, e: SayCommand) -> None:
        self._mark_reply(e, "say")

    # gaps (from the metrics)

    def _update_gaps(self, event: Event) -> None:
        turn: TurnMetrics | None = None
        if isinstance(event, (TurnEnd, TurnEagerEnd)):
            turn = self.metrics.turn(event.turn)
        elif isinstance(event, SpeechStopped):
            turn = self.metrics.latest_ended()
        elif isinstance(event, PlaybackStarted):
            entry = self.replies.get(event.reply)
            if entry is not None and entry.turn is not None:
                turn = self.metrics.turn(entry.turn)
        elif isinstance(event, PlaybackInterrupted):
            self._add_barge_in_gap(event)
        if turn is not None and turn.ended:
            self._add_turn_gaps(turn)

    def _derived_gap(self, kind: str, number: int) -> Gap | None:
        """The gap ``(kind, number)`` as :meth:`_add_turn_gaps` computes it now (frozen gaps)."""
        tm = self.metrics.turn(number)
        if tm is None or not tm.ended:
            return None
        key = (kind, number)
        if kind == "stop_eager":
            return _make_gap(0, tm.speech_stop_audio_t, tm.eager_end_audio_t, kind, tm.eager_end_delay, key)
        if kind == "stop_end":
            return _make_gap(1, tm.speech_stop_audio_t, tm.end_audio_t, kind, tm.end_of_turn_delay, key)
        entry = self.replies.get(tm.reply) if kind == "end_audio" and tm.reply is not None else None
        if entry is None:
            return None
        return _make_gap(2, tm.end_audio_t, entry.play_start_audio_t, kind, tm.response_latency, key)

    def _add_gap(self, row: int, start: float | None, end: float | None, kind: str, seconds: float | None, key: tuple[Any, ...]) -> None:
        gap = _make_gap(row, start, end, kind, seconds, key)
        if gap is None:
            return
        if key in self.gaps and self.gaps[key] == gap:
            return
        old = self.gaps.put(gap)
        if old is not None:
            self._timeline_from(old.start)
        self.longest_gap_s = max(self.longest_gap_s, gap.end - gap.start)
        self._timeline_from(min(start, end))

    def _add_turn_gaps(self, tm: TurnMetrics) -> None:
        stop = tm.speech_stop_audio_t
        self._add_gap(0, stop, tm.eager_end_audio_t, "stop_eager", tm.eager_end_delay, ("stop_eager", tm.turn))
        self._add_gap(1, stop, tm.end_audio_t, "stop_end", tm.end_of_turn_delay, ("stop_end", tm.turn))
        if tm.reply is not None:
            entry = self.replies.get(tm.reply)
            if entry is not None:
                self._add_gap(
                    2, tm.end_audio_t, entry.play_start_audio_t, "end_audio", tm.response_latency, ("end_audio", tm.turn)
                )

    def _add_barge_in_gap(self, e: PlaybackInterrupted) -> None:
        cut = next((c for c in reversed(self.metrics.interruptions) if c.reply == e.reply and c.latency is not None), None)
        if cut is None or not self.interrupt_audio_t:
            return
        start = self.interrupt_audio_t[-1]
        self._add_gap(2, start, e.audio_t, "barge_in", cut.latency, ("barge_in", e.reply))

    # --- queries ---------------------------------------------------------------------------------

    def vad_in(self, start: float, end: float) -> list[Span]:
        """VAD speech spans overlapping ``[start, end)`` (open spans run to now)."""
        return self.vad.overlapping(start, end, self.now_audio_t)

    def mutes_in(self, start: float, end: float) -> list[Span]:
        """Muted stretches overlapping ``[start, end)``."""
        return self.mutes.overlapping(start, end, self.now_audio_t)

    def marks_in(self, marks: MarkList, start: float, end: float) -> list[Mark]:
        """Marks with ``start <= at < end`` (marks are in time order)."""
        return marks.between(start, end)

    def gaps_in(self, row: int, start: float, end: float) -> list[Gap]:
        """Gaps of ``row`` that start before ``end`` and reach ``start`` or later."""
        return self.gaps.in_row(row, start - self.longest_gap_s, end)

    def latest_turn(self) -> TurnEntry | None:
        """The turn started last."""
        return self.turns[max(self.turns)] if self.turns else None

    def playing_reply(self) -> ReplyEntry | None:
        """The reply being heard now, if any."""
        for number in reversed(self._playing):
            entry = self._playing[number]
            if entry.play_start_t is not None and entry.play_end_t is None:
                return entry
        return None

    def latest_error(self) -> ErrorInfo | None:
        """The most recent engine error."""
        return self.errors[-1] if self.errors else None


def _make_gap(row: int, start: float | None, end: float | None, kind: str, seconds: float | None,
              key: tuple[Any, ...]) -> Gap | None:
    if start is None or end is None or seconds is None:
        return None
    return Gap(row, start, max(start, end), kind, round(seconds * 1000), key)


_HANDLERS: dict[type[Event], Any] = {
    SessionStarted: ConsoleModel._on_session_start,
    SessionStopped: ConsoleModel._on_session_stop,
    EngineState: ConsoleModel._on_engine_state,
    EngineError: ConsoleModel._on_engine_error,
    DeviceState: ConsoleModel._on_device,
    AudioLevel: ConsoleModel._on_level,
    SpeechStarted: ConsoleModel._on_speech_start,
    SpeechStopped: ConsoleModel._on_speech_stop,
    MuteCommand: ConsoleModel._on_mute,
    TurnStart: ConsoleModel._on_turn_start,
    TurnUpdate: ConsoleModel._on_turn_update,
    TurnEagerEnd: ConsoleModel._on_turn_eager,
    TurnResume: ConsoleModel._on_turn_resume,
    TurnEnd: ConsoleModel._on_turn_end,
    TtsQueued: ConsoleModel._on_queued,
    TtsRequestSent: ConsoleModel._on_request,
    TtsFirstAudio: ConsoleModel._on_first_audio,
    TtsWordTimings: ConsoleModel._on_words,
    TtsDone: ConsoleModel._on_tts_done,
    TtsCancelled: ConsoleModel._on_cancelled,
    TtsFailed: ConsoleModel._on_failed,
    PlaybackStarted: ConsoleModel._on_play_start,
    PlaybackFinished: ConsoleModel._on_play_finish,
    PlaybackInterrupted: ConsoleModel._on_play_interrupt,
    InterruptCommand: ConsoleModel._on_interrupt,
    SayCommand: ConsoleModel._on_say,
}


__all__ = [
    "ConsoleModel",
    "Dirt",
    "EngineInfo",
    "ErrorInfo",
    "Gap",
    "GAP_LABELS",
    "GAP_ROWS",
    "GapStore",
    "KEEP_LIVE",
    "LevelTrack",
    "Mark",
    "MarkList",
    "ReplyEntry",
    "ReplyHistory",
    "ReplyState",
    "Span",
    "SpanList",
    "TurnEntry",
    "TurnHistory",
]
