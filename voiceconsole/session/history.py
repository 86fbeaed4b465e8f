"""Compact, column-wise history for long sessions (no textual import).

A session of thousands of turns keeps every turn, reply and metric so scrolling back shows all
of them, but keeping each as a Python object costs kilobytes per turn. :class:`FoldedMap` keeps
the newest entries as the rich objects the model mutates and *folds* older ones into typed
arrays (one array per field, strings in one UTF-8 buffer); reading a folded entry rebuilds an
equal object, so readers see the same mapping as a plain ``dict`` in insertion order.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, ValuesView
from typing import Any, Generic, TypeVar

T = TypeVar("T")

NO_INT = -(2**63)
"""Stands for ``None`` in an integer column."""

# Field codes of a column spec: how a field is stored.
FLOAT, OPT_FLOAT, INT, OPT_INT, BOOL, STR, OPT_STR = "F", "f", "i", "I", "b", "s", "S"


def widened(col: array, value: int) -> array:  # type: ignore[type-arg]
    """``col`` with ``value`` appended: the same array, or a 64-bit copy if ``value`` overflows it.

    Integer columns start as 32-bit arrays (turn and reply numbers, versions, milliseconds fit)
    and are widened only if a value needs it; callers keep the returned array.
    """
    try:
        col.append(value)
    except OverflowError:
        col = array("q", col)
        col.append(value)
    return col


def inserted(col: array, i: int, value: int) -> array:  # type: ignore[type-arg]
    """``col`` with ``value`` inserted at ``i`` (widened to 64 bits like :func:`widened`)."""
    try:
        col.insert(i, value)
    except OverflowError:
        col = array("q", col)
        col.insert(i, value)
    return col


class TextBuffer:
    """Strings appended into one UTF-8 buffer; each is read back by its (start, length)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def add(self, text: str) -> tuple[int, int]:
        """Store ``text``; returns where it is."""
        data = text.encode()
        start = len(self._buf)
        self._buf += data
        return start, len(data)

    def get(self, start: int, length: int) -> str:
        """The string stored at ``start``."""
        return self._buf[start : start + length].decode()

    def __len__(self) -> int:
        return len(self._buf)


class NumberIndex:
    """Positions of integer keys appended in (usually) ascending order.

    Ascending keys are found by bisection over the key array alone; the first out-of-order key
    switches to a dict (correct for any order, bigger).
    """

    __slots__ = ("nums", "_pos")

    def __init__(self) -> None:
        self.nums = array("i")  # widened to 64 bits if a key needs it
        self._pos: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.nums)

    def append(self, num: int) -> int:
        """Add ``num`` at the end; returns its position."""
        nums = self.nums
        pos = len(nums)
        if self._pos is None and nums and num <= nums[-1]:
            self._pos = {n: i for i, n in enumerate(nums)}
        if self._pos is not None:
            self._pos.setdefault(num, pos)
        try:
            nums.append(num)
        except OverflowError:
            self.nums = array("q", nums)
            self.nums.append(num)
        return pos

    def find(self, num: int) -> int:
        """Position of ``num``, or -1."""
        if self._pos is not None:
            return self._pos.get(num, -1)
        nums = self.nums
        i = bisect_left(nums, num)
        return i if i < len(nums) and nums[i] == num else -1


class Columns:
    """Typed arrays for the fields of records of one type (see the field codes above)."""

    __slots__ = ("spec", "cols", "text", "_count")

    def __init__(self, spec: Iterable[tuple[str, str]]) -> None:
        self.spec = tuple(spec)
        self.text = TextBuffer()
        self._count = 0
        self.cols: dict[str, Any] = {}
        for name, code in self.spec:
            if code in (FLOAT, OPT_FLOAT):
                self.cols[name] = array("d")
            elif code == INT:
                self.cols[name] = array("i")  # widened to 64 bits by _put if a value needs it
            elif code == OPT_INT:
                self.cols[name] = array("q")
            elif code == BOOL:
                self.cols[name] = array("B")
            elif code == STR:
                self.cols[name] = (array("i"), array("H"))  # start in the buffer, length (widened)
            else:
                self.cols[name] = {}  # row -> text; rows without one hold None (optional texts are rare)

    def _put(self, name: str, value: int) -> None:
        """Append ``value`` to an integer column, widening it to 64 bits on overflow."""
        col = self.cols[name]
        try:
            col.append(value)
        except OverflowError:
            col = self.cols[name] = array("q", col)
            col.append(value)

    def append(self, obj: object) -> None:
        """Store the spec's fields of ``obj`` as one more row."""
        cols = self.cols
        for name, code in self.spec:
            value = getattr(obj, name)
            if code == FLOAT:
                cols[name].append(value)
            elif code == OPT_FLOAT:
                cols[name].append(math.nan if value is None else value)
            elif code == INT:
                self._put(name, value)
            elif code == OPT_INT:
                cols[name].append(NO_INT if value is None else value)
            elif code == BOOL:
                cols[name].append(1 if value else 0)
            elif code == STR:
                start, length = (-1, 0) if value is None else self.text.add(value)
                starts, lengths = cols[name]
                try:
                    starts.append(start)
                except OverflowError:
                    starts = array("q", starts)
                    starts.append(start)
                try:
                    lengths.append(length)
                except OverflowError:
                    lengths = array("I", lengths)
                    lengths.append(length)
                cols[name] = (starts, lengths)
            elif value is not None:
                cols[name][self._count] = value
        self._count += 1

    def fields(self, i: int) -> dict[str, Any]:
        """Row ``i`` as keyword arguments."""
        out: dict[str, Any] = {}
        cols = self.cols
        for name, code in self.spec:
            if code == FLOAT or code == INT:
                out[name] = cols[name][i]
            elif code == OPT_FLOAT:
                v = cols[name][i]
                out[name] = None if v != v else v
            elif code == OPT_INT:
                v = cols[name][i]
                out[name] = None if v == NO_INT else v
            elif code == BOOL:
                out[name] = bool(cols[name][i])
            elif code == STR:
                starts, lengths = cols[name]
                start = starts[i]
                out[name] = None if start < 0 else self.text.get(start, lengths[i])
            else:
                out[name] = cols[name].get(i)
        return out

    def value(self, name: str, i: int) -> Any:
        """One field of row ``i``."""
        code = dict(self.spec)[name]
        v = self.cols[name][i] if code not in (STR, OPT_STR) else None
        if code == OPT_FLOAT:
            return None if v != v else v
        if code == OPT_INT:
            return None if v == NO_INT else v
        if code == BOOL:
            return bool(v)
        if code in (STR, OPT_STR):
            return self.fields(i)[name]
        return v


class FoldedMap(Mapping[int, T], Generic[T]):
    """A ``dict`` of numbered records (insertion order) that folds old ones into columns.

    The newest ``keep`` records stay as objects (``mutable`` hands them out for updating);
    older ones are stored in :class:`Columns` and rebuilt on read by ``build(fields, i)``. A
    folded record that must change again is *revived*: rebuilt once and kept as an object at
    its place in the order. ``pinned(num)`` says a record must stay the same object (e.g. one
    the owner holds elsewhere); it is folded too but revived at once.
    """

    def __init__(
        self,
        spec: Iterable[tuple[str, str]],
        build: Callable[[dict[str, Any], int], T],
        *,
        keep: int = 200,
        pack: Callable[[T, int], None] | None = None,
        pinned: Callable[[int], bool] | None = None,
    ) -> None:
        self.columns = Columns(spec)
        self._build = build
        self._pack = pack
        self._pinned = pinned
        self.keep = keep
        self._index = NumberIndex()
        self._live: dict[int, T] = {}
        self._revived: dict[int, T] = {}

    # --- writing ---------------------------------------------------------------------------------

    def add(self, num: int, obj: T) -> None:
        """Add a new record (``num`` must not be present) and fold the oldest beyond ``keep``."""
        self._live[num] = obj
        if len(self._live) > self.keep:
            self._fold_oldest()

    def mutable(self, num: int) -> T | None:
        """The record as an object to update in place (reviving it if folded), or ``None``."""
        obj = self._live.get(num)
        if obj is not None:
            return obj
        obj = self._revived.get(num)
        if obj is not None:
            return obj
        i = self._index.find(num)
        if i < 0:
            return None
        obj = self._revived[num] = self._unpack(i)
        return obj

    def _fold_oldest(self) -> None:
        num = next(iter(self._live))
        obj = self._live.pop(num)
        i = self._index.append(num)
        self.columns.append(obj)
        if self._pack is not None:
            self._pack(obj, i)
        if self._pinned is not None and self._pinned(num):
            self._revived[num] = obj

    def _unpack(self, i: int) -> T:
        return self._build(self.columns.fields(i), i)

    # --- reading ---------------------------------------------------------------------------------

    @property
    def folded(self) -> int:
        """How many records are stored as columns."""
        return len(self._index)

    def __getitem__(self, num: int) -> T:
        obj = self.get(num)
        if obj is None:
            raise KeyError(num)
        return obj

    def get(self, num: int, default: Any = None) -> Any:
        obj = self._live.get(num)
        if obj is not None:
            return obj
        if self._revived:
            obj = self._revived.get(num)
            if obj is not None:
                return obj
        i = self._index.find(num)
        return default if i < 0 else self._unpack(i)

    def __contains__(self, num: object) -> bool:
        return num in self._live or (isinstance(num, int) and self._index.find(num) >= 0)

    def __len__(self) -> int:
        return len(self._index) + len(self._live)

    def __iter__(self) -> Iterator[int]:
        yield from self._index.nums
        yield from list(self._live)

    def values(self) -> ValuesView[T]:
        return _Values(self)

    def iter_values(self) -> Iterator[T]:
        """Every record in insertion order (folded ones rebuilt)."""
        revived = self._revived
        for i, num in enumerate(self._index.nums):
            obj = revived.get(num) if revived else None
            yield obj if obj is not None else self._unpack(i)
        yield from list(self._live.values())

    def reversed_values(self) -> Iterator[T]:
        """Every record, newest first."""
        yield from reversed(list(self._live.values()))
        revived = self._revived
        nums = self._index.nums
        for i in range(len(nums) - 1, -1, -1):
            obj = revived.get(nums[i]) if revived else None
            yield obj if obj is not None else self._unpack(i)

    def before(self, num: int) -> Iterator[T]:
        """Records added before ``num``, newest first (nothing if ``num`` is absent)."""
        if num in self._live:
            live = list(self._live)
            k = live.index(num)
            for other in reversed(live[:k]):
                yield self._live[other]
            start = len(self._index)
        else:
            start = self._index.find(num)
            if start < 0:
                return
        revived = self._revived
        nums = self._index.nums
        for i in range(start - 1, -1, -1):
            obj = revived.get(nums[i]) if revived else None
            yield obj if obj is not None else self._unpack(i)

    def folded_column(self, name: str, read: Callable[[T], Any]) -> Iterable[Any]:
        """Field ``name`` of every folded record in order (revived ones read with ``read``)."""
        col = self.columns.cols[name]
        if not self._revived:
            return col
        revived = self._revived
        nums = self._index.nums
        return [read(revived[n]) if n in revived else col[i] for i, n in enumerate(nums)]

    def keys_from(self, start: int) -> list[int]:
        """The numbers of the records from position ``start`` on (insertion order), without
        listing the older ones."""
        nums = self._index.nums
        keys = list(nums[start:]) if start < len(nums) else []
        live = list(self._live)
        return keys + live[max(0, start - len(nums)) :]

    def last_keys(self, n: int) -> list[int]:
        """The numbers of the newest ``n`` records, oldest first."""
        keys = list(self._live)[-n:]
        missing = n - len(keys)
        if missing > 0:
            keys = list(self._index.nums[-missing:]) + keys
        return keys

    def live_values(self) -> list[T]:
        """The records kept as objects, in order."""
        return list(self._live.values())


class _Values(ValuesView):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[Any]:
        return self._mapping.iter_values()


class KeyList:
    """A list of ``(kind, number)`` keys stored as two typed arrays (kinds from a small set).

    Compares equal to a ``list`` of the same tuples; slicing returns a ``list`` of tuples.
    """

    __slots__ = ("_kind", "_num", "_names")

    def __init__(self, keys: Iterable[tuple[str, int]] = ()) -> None:
        self._kind = array("B")
        self._num = array("i")  # widened to 64 bits if a number needs it
        self._names: list[str] = []
        for key in keys:
            self.append(key)

    def append(self, key: tuple[str, int]) -> None:
        """Add one key at the end."""
        kind, num = key
        try:
            code = self._names.index(kind)
        except ValueError:
            code = len(self._names)
            self._names.append(kind)
        try:
            self._num.append(num)
        except OverflowError:
            self._num = array("q", self._num)
            self._num.append(num)
        self._kind.append(code)

    def __len__(self) -> int:
        return len(self._num)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            names, kinds, nums = self._names, self._kind, self._num
            return [(names[kinds[j]], nums[j]) for j in range(*i.indices(len(nums)))]
        j = range(len(self._num))[i]
        return (self._names[self._kind[j]], self._num[j])

    def __iter__(self) -> Iterator[tuple[str, int]]:
        names, kinds, nums = self._names, self._kind, self._num
        return ((names[kinds[j]], nums[j]) for j in range(len(nums)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (KeyList, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def index_from_end(self, key: tuple[str, int]) -> int:
        """Position of ``key`` searching from the newest (recent keys are found at once), or -1."""
        kind, num = key
        try:
            code = self._names.index(kind)
        except ValueError:
            return -1
        kinds, nums = self._kind, self._num
        for j in range(len(nums) - 1, -1, -1):
            if nums[j] == num and kinds[j] == code:
                return j
        return -1

    def __repr__(self) -> str:
        return f"KeyList({list(self)!r})"


__all__ = ["Columns", "FoldedMap", "KeyList", "NumberIndex", "TextBuffer", "inserted", "widened"]
