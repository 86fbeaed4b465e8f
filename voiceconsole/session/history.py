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
SPARSE, TIME, DURATION, ENUM = "x", "t", "d", "e"
"""``SPARSE``: a field that is ``None`` in nearly every record: only the values are kept (by
row). ``ENUM``: a string (or ``None``) from a small set, e.g. a reply's origin: stored as its
number in the set."""


def inserted(col: array, i: int, value: int) -> array:  # type: ignore[type-arg]
    """``col`` with ``value`` inserted at ``i``: the same array, or a 64-bit copy if ``value``
    overflows it (integer columns start as 32-bit arrays; callers keep the returned array)."""
    try:
        col.insert(i, value)
    except OverflowError:
        col = array("q", col)
        col.insert(i, value)
    return col


CHUNK_ITEMS = 1024
"""Items per storage chunk of a :class:`ChunkedArray`."""
_WIDER = {"b": "h", "h": "i", "i": "q", "B": "H", "H": "I", "I": "Q"}


def _filled(typecode: str, count: int) -> array:  # type: ignore[type-arg]
    """A zeroed typed array of ``count`` items, allocated once at its size (no temporary copy)."""
    return array(typecode, [0]) * count


class ChunkedArray:
    """A growable typed array kept in fixed chunks of :data:`CHUNK_ITEMS` items.

    Each chunk is allocated at its full size once, so the array grows without copying or
    reallocating what it holds (a regrown ``array`` moves as it grows and leaves its old block
    behind as a hole in the heap). Integer arrays are widened if a value does not fit. Supports
    what the history needs of a sequence: indexing (slices give lists), ``bisect``, iteration,
    ``append``, ``insert`` and ``del`` (cheap at the end, which is where they nearly always are).
    """

    __slots__ = ("typecode", "_chunks", "_len")

    def __init__(self, typecode: str, items: Iterable[Any] = ()) -> None:
        self.typecode = typecode
        self._chunks: list[array] = []  # type: ignore[type-arg]
        self._len = 0
        for item in items:
            self.append(item)

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def _widen(self) -> None:
        wider = _WIDER.get(self.typecode)
        if wider is None:
            raise OverflowError(f"value does not fit array type {self.typecode!r}")
        self.typecode = wider
        self._chunks = [array(wider, chunk) for chunk in self._chunks]

    def append(self, value: Any) -> None:
        """Add ``value`` at the end."""
        k, j = divmod(self._len, CHUNK_ITEMS)
        if k == len(self._chunks):
            self._chunks.append(_filled(self.typecode, CHUNK_ITEMS))
        while True:
            try:
                self._chunks[k][j] = value
                break
            except OverflowError:
                self._widen()
        self._len += 1

    def extend(self, values: Iterable[Any]) -> None:
        """Append every value of ``values``."""
        for value in values:
            self.append(value)

    def _index(self, i: int) -> int:
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError("ChunkedArray index out of range")
        return i

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._len))]
        i = self._index(i)
        return self._chunks[i // CHUNK_ITEMS][i % CHUNK_ITEMS]

    def __setitem__(self, i: int, value: Any) -> None:
        i = self._index(i)
        while True:
            try:
                self._chunks[i // CHUNK_ITEMS][i % CHUNK_ITEMS] = value
                return
            except OverflowError:
                self._widen()

    def __iter__(self) -> Iterator[Any]:
        left = self._len
        for chunk in self._chunks:
            if left <= 0:
                return
            yield from (chunk if left >= CHUNK_ITEMS else chunk[:left])
            left -= CHUNK_ITEMS

    def insert(self, i: int, value: Any) -> None:
        """Insert ``value`` before position ``i`` (items after it move up by one)."""
        i = max(0, min(i + self._len if i < 0 else i, self._len))
        self.append(value)
        for j in range(self._len - 1, i, -1):
            self[j] = self[j - 1]
        self[i] = value

    def __delitem__(self, i: int) -> None:
        i = self._index(i)
        for j in range(i, self._len - 1):
            self[j] = self[j + 1]
        self._len -= 1
        if self._len % CHUNK_ITEMS == 0 and len(self._chunks) > self._len // CHUNK_ITEMS:
            self._chunks.pop()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ChunkedArray, array, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __repr__(self) -> str:
        return f"ChunkedArray({self.typecode!r}, {list(self)!r})"


TEXT_CHUNK = 16384
"""Bytes per storage chunk of a :class:`TextBuffer`."""


class TextBuffer:
    """Strings appended as UTF-8 into fixed chunks of bytes; each is read back by (start, length).

    A string may run over into the next chunk. A string equal to the last one added is not
    stored again (two histories sharing a buffer, e.g. a turn's text and its metrics' transcript,
    store it once).
    """

    __slots__ = ("_chunks", "_len", "_last")

    def __init__(self) -> None:
        self._chunks: list[bytearray] = []
        self._len = 0
        self._last: tuple[str, int, int] | None = None

    def add(self, text: str) -> tuple[int, int]:
        """Store ``text``; returns where it is."""
        last = self._last
        if last is not None and last[0] == text:
            return last[1], last[2]
        data = text.encode()
        start = self._len
        pos = 0
        while pos < len(data):
            k, j = divmod(self._len, TEXT_CHUNK)
            if k == len(self._chunks):
                self._chunks.append(bytearray(TEXT_CHUNK))
            n = min(len(data) - pos, TEXT_CHUNK - j)
            self._chunks[k][j : j + n] = data[pos : pos + n]
            pos += n
            self._len += n
        self._last = (text, start, len(data))
        return start, len(data)

    def get(self, start: int, length: int) -> str:
        """The string stored at ``start``."""
        if length <= 0:
            return ""
        k, j = divmod(start, TEXT_CHUNK)
        if j + length <= TEXT_CHUNK:
            return self._chunks[k][j : j + length].decode()
        parts = []
        while length > 0:
            n = min(length, TEXT_CHUNK - j)
            parts.append(self._chunks[k][j : j + n])
            length -= n
            k, j = k + 1, 0
        return b"".join(parts).decode()

    def __len__(self) -> int:
        return self._len


class NumberIndex:
    """Positions of integer keys appended in (usually) ascending order.

    Ascending keys are found by bisection over the key array alone; the first out-of-order key
    switches to a dict (correct for any order, bigger).
    """

    __slots__ = ("nums", "_pos")

    def __init__(self) -> None:
        self.nums = ChunkedArray("i")  # widened to 64 bits if a key needs it
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
        nums.append(num)
        return pos

    def find(self, num: int) -> int:
        """Position of ``num``, or -1."""
        if self._pos is not None:
            return self._pos.get(num, -1)
        nums = self.nums
        i = bisect_left(nums, num)
        return i if i < len(nums) and nums[i] == num else -1


CHUNK_ROWS = 256
"""Rows per storage chunk of :class:`Columns`."""

_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1
_WIDE = _I32_MIN
"""In an integer slot: the value did not fit 32 bits and is kept in ``Columns._wide``."""
_NONE = _I32_MIN + 1
"""In an integer slot: ``None``."""


class Columns:
    """The fields of records of one type (see the field codes above), row-major in fixed chunks.

    Floats go to one ``array("d")`` per chunk of :data:`CHUNK_ROWS` rows, integers (string
    positions and lengths too, and all booleans of a row as one bit mask) to one ``array("i")``
    per chunk; an integer that does not fit 32 bits is kept aside. Each chunk is allocated at its
    full size once, so the history grows without ever copying (or reallocating) what it holds:
    growing one array per field left the allocator a trail of freed blocks as each array moved.

    ``TIME`` fields (moments of one record, all close together) are stored as 32-bit offsets from
    the record's first one (``DURATION`` fields as 32-bit floats); that first one is kept as
    32-bit microseconds from the first record's of its chunk (in full where that is more than
    ~35 minutes away): a moment of an old record reads back within a few microseconds (offsets up
    to minutes), the first one to half a microsecond.

    ``derived`` names float fields that are the difference of two others (``name: (a, b)``, i.e.
    ``a - b``, ``None`` if either is): a row whose value is that difference (to within the
    precision of the times) stores nothing for it; any other value is kept aside.
    ``SPARSE`` fields (mostly ``None``) are kept aside too, only where they have a value.
    """

    __slots__ = ("spec", "text", "_count", "_slots", "_codes", "_nf", "_ns", "_ni", "_floats", "_smalls", "_ints",
                 "_wide", "_optional", "_derived", "_odd", "_bools", "_times", "_enums", "_chunk_base", "_odd_base")

    def __init__(self, spec: Iterable[tuple[str, str]], derived: Mapping[str, tuple[str, str]] | None = None,
                 text: TextBuffer | None = None) -> None:
        """``text``: the buffer for string fields (one shared with another history stores a
        string they both add in a row once); a new one by default."""
        self.spec = tuple(spec)
        self.text = TextBuffer() if text is None else text
        self._enums: dict[str, list[str]] = {}
        self._count = 0
        self._codes = dict(self.spec)
        self._derived = dict(derived or {})
        self._odd: dict[str, dict[int, Any]] = {name: {} for name in self._derived}
        self._slots: dict[str, int] = {}  # field -> its slot in its row (STR: start; +1: length)
        self._bools: dict[str, int] = {}  # field -> its bit in the mask
        self._optional: dict[str, dict[int, Any]] = {}
        self._times = [name for name, code in self.spec if code == TIME and name not in self._derived]
        nf = ns = ni = 0
        if self._times:
            self._slots[" base"], ni = 0, 1
        for name, code in self.spec:
            if name in self._derived:
                continue
            if code in (FLOAT, OPT_FLOAT):
                self._slots[name], nf = nf, nf + 1
            elif code in (TIME, DURATION):
                self._slots[name], ns = ns, ns + 1
            elif code in (INT, OPT_INT, ENUM):
                self._slots[name], ni = ni, ni + 1
                if code == ENUM:
                    self._enums[name] = []
            elif code == STR:
                self._slots[name], ni = ni, ni + 2
            elif code == BOOL:
                self._bools[name] = len(self._bools)
            else:
                self._optional[name] = {}  # row -> value; rows without one hold None
        if self._bools:
            self._slots[""], ni = ni, ni + 1
        self._nf, self._ns, self._ni = nf, ns, ni
        self._floats: list[array] = []  # type: ignore[type-arg]
        self._smalls: list[array] = []  # type: ignore[type-arg]
        self._ints: list[array] = []  # type: ignore[type-arg]
        self._wide: dict[tuple[int, int], int] = {}
        self._chunk_base: list[float] = []  # per chunk: the first record's first moment
        self._odd_base: dict[int, float] = {}  # row -> first moment too far from its chunk's

    def __len__(self) -> int:
        return self._count

    def _put_int(self, row: array, base: int, slot: int, value: int | None) -> None:  # type: ignore[type-arg]
        if value is None:
            row[base + slot] = _NONE
        elif _NONE < value <= _I32_MAX:
            row[base + slot] = value
        else:
            row[base + slot] = _WIDE
            self._wide[(self._count, slot)] = value

    def _enum_code(self, name: str, value: str) -> int:
        values = self._enums[name]
        try:
            return values.index(value)
        except ValueError:
            values.append(value)
            return len(values) - 1

    def _put_base(self, ints: array, ib: int, k: int, i: int, base: float) -> float:  # type: ignore[type-arg]
        """Store row ``i``'s first moment as microseconds from its chunk's; returns what it reads
        back as (the row's other moments are kept as offsets from that)."""
        if base != base:
            ints[ib] = _NONE
            return base
        first = self._chunk_base[k]
        if first != first:
            first = self._chunk_base[k] = base
        us = round((base - first) * 1e6)
        if _NONE < us <= _I32_MAX:
            ints[ib] = us
            return first + us * 1e-6
        ints[ib] = _WIDE
        self._odd_base[i] = base
        return base

    def _base(self, us: int, k: int, i: int) -> float:
        if us == _NONE:
            return math.nan
        return self._odd_base[i] if us == _WIDE else self._chunk_base[k] + us * 1e-6

    def _get_int(self, i: int, slot: int) -> int | None:
        v = self._ints[i // CHUNK_ROWS][(i % CHUNK_ROWS) * self._ni + slot]
        if v == _NONE:
            return None
        return self._wide[(i, slot)] if v == _WIDE else v

    def append(self, obj: object) -> None:
        """Store the spec's fields of ``obj`` as one more row."""
        i = self._count
        k, r = divmod(i, CHUNK_ROWS)
        if k == len(self._floats):
            self._floats.append(_filled("d", CHUNK_ROWS * self._nf))
            self._smalls.append(_filled("f", CHUNK_ROWS * self._ns))
            self._ints.append(_filled("i", CHUNK_ROWS * self._ni))
            self._chunk_base.append(math.nan)
        floats, smalls, ints = self._floats[k], self._smalls[k], self._ints[k]
        fb, sb, ib = r * self._nf, r * self._ns, r * self._ni
        mask = 0
        slots = self._slots
        base = math.nan
        if self._times:
            base = next((v for v in (getattr(obj, t) for t in self._times) if v is not None), math.nan)
            base = self._put_base(ints, ib, k, i, base)
        for name, code in self.spec:
            if name in self._derived:
                continue
            value = getattr(obj, name)
            if code == FLOAT:
                floats[fb + slots[name]] = value
            elif code == OPT_FLOAT:
                floats[fb + slots[name]] = math.nan if value is None else value
            elif code == TIME:
                smalls[sb + slots[name]] = math.nan if value is None else value - base
            elif code == DURATION:
                smalls[sb + slots[name]] = math.nan if value is None else value
            elif code == INT or code == OPT_INT:
                self._put_int(ints, ib, slots[name], value)
            elif code == ENUM:
                self._put_int(ints, ib, slots[name], None if value is None else self._enum_code(name, value))
            elif code == BOOL:
                if value:
                    mask |= 1 << self._bools[name]
            elif code == STR:
                start, length = (-1, 0) if value is None else self.text.add(value)
                self._put_int(ints, ib, slots[name], start)
                self._put_int(ints, ib, slots[name] + 1, length)
            elif value is not None:
                self._optional[name][i] = value
        if self._bools:
            ints[ib + slots[""]] = mask
        self._count += 1
        if self._derived:
            stored = self.fields(i, derive=False)
            for name, (a, b) in self._derived.items():
                value = getattr(obj, name)
                expected = _difference(stored[a], stored[b])
                if value is None or expected is None:
                    if value is not expected:
                        self._odd[name][i] = value
                elif abs(value - expected) > _DERIVED_SLACK:
                    self._odd[name][i] = value

    def fields(self, i: int, derive: bool = True) -> dict[str, Any]:
        """Row ``i`` as keyword arguments."""
        out: dict[str, Any] = {}
        k, r = divmod(i, CHUNK_ROWS)
        floats, smalls, ints = self._floats[k], self._smalls[k], self._ints[k]
        fb, sb, ib = r * self._nf, r * self._ns, r * self._ni
        slots = self._slots
        mask = ints[ib + slots[""]] if self._bools else 0
        base = self._base(ints[ib], k, i) if self._times else 0.0
        for name, code in self.spec:
            if name in self._derived:
                continue
            if code == FLOAT:
                out[name] = floats[fb + slots[name]]
            elif code == OPT_FLOAT:
                v = floats[fb + slots[name]]
                out[name] = None if v != v else v
            elif code == TIME:
                v = smalls[sb + slots[name]]
                out[name] = None if v != v else base + v
            elif code == DURATION:
                v = smalls[sb + slots[name]]
                out[name] = None if v != v else v
            elif code == INT or code == OPT_INT:
                out[name] = self._get_int(i, slots[name])
            elif code == ENUM:
                v = ints[ib + slots[name]]
                out[name] = None if v == _NONE else self._enums[name][v]
            elif code == BOOL:
                out[name] = bool(mask >> self._bools[name] & 1)
            elif code == STR:
                start = self._get_int(i, slots[name])
                out[name] = None if start is None or start < 0 else self.text.get(start, self._get_int(i, slots[name] + 1) or 0)
            else:
                out[name] = self._optional[name].get(i)
        if derive:
            for name, (a, b) in self._derived.items():
                odd = self._odd[name]
                out[name] = odd[i] if i in odd else _difference(out[a], out[b])
        return out

    def value(self, name: str, i: int) -> Any:
        """One field of row ``i``."""
        return self.fields(i)[name]

    def iter_column(self, name: str) -> Iterator[Any]:
        """Field ``name`` of every row in order, without rebuilding rows; a float field (stored
        or derived) reads ``nan`` where it is ``None``."""
        count = self._count
        if name in self._derived:
            a, b = self._derived[name]
            odd = self._odd[name]
            for i, (x, y) in enumerate(zip(self.iter_column(a), self.iter_column(b))):
                v = odd[i] if i in odd else x - y
                yield math.nan if v is None else v
            return
        if name in self._optional:
            values = self._optional[name]
            yield from (values.get(i) for i in range(count))
            return
        code = self._codes[name]
        if code in (FLOAT, OPT_FLOAT):
            chunks, slot, width = self._floats, self._slots[name], self._nf
        elif code in (TIME, DURATION):
            chunks, slot, width = self._smalls, self._slots[name], self._ns
        elif code == BOOL:
            chunks, slot, width = self._ints, self._slots[""], self._ni
        elif code in (INT, OPT_INT):
            chunks, slot, width = self._ints, self._slots[name], self._ni
        else:
            yield from (self.value(name, i) for i in range(count))
            return
        for k, chunk in enumerate(chunks):
            rows = min(CHUNK_ROWS, count - k * CHUNK_ROWS)
            part = chunk[slot : rows * width : width]
            if code == BOOL:
                bit = 1 << self._bools[name]
                yield from (bool(m & bit) for m in part)
            elif code in (INT, OPT_INT):
                first = k * CHUNK_ROWS
                for j, v in enumerate(part):
                    yield v if v > _NONE else None if v == _NONE else self._wide[(first + j, slot)]
            elif code == TIME:
                first = k * CHUNK_ROWS
                bases = self._ints[k][0 : rows * self._ni : self._ni]
                yield from (self._base(us, k, first + j) + v for j, (us, v) in enumerate(zip(bases, part)))
            else:
                yield from part


_DERIVED_SLACK = 1e-3
"""Seconds a derived field may differ from the difference of its (stored) times and still be
stored as that difference (it only differs by the precision of the times)."""


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


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
        derived: Mapping[str, tuple[str, str]] | None = None,
        text: TextBuffer | None = None,
    ) -> None:
        self.columns = Columns(spec, derived, text)
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

    def folded_key(self, i: int) -> int:
        """The number of the ``i``-th folded record."""
        return self._index.nums[i]

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
        """Field ``name`` of every folded record in order (see :meth:`Columns.iter_column`;
        revived ones read with ``read``)."""
        values = self.columns.iter_column(name)
        if not self._revived:
            return values
        revived = self._revived
        return (read(revived[n]) if n in revived else v for v, n in zip(values, self._index.nums))

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
        self._kind = ChunkedArray("B")
        self._num = ChunkedArray("i")  # widened to 64 bits if a number needs it
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

    def index_from_end(self, key: tuple[str, int], before: int | None = None) -> int:
        """Position of ``key`` searching from the newest (recent keys are found at once), or -1;
        ``before``: only among the keys before that position."""
        kind, num = key
        try:
            code = self._names.index(kind)
        except ValueError:
            return -1
        kinds, nums = self._kind, self._num
        end = len(nums) if before is None else min(before, len(nums))
        for j in range(end - 1, -1, -1):
            if nums[j] == num and kinds[j] == code:
                return j
        return -1

    def __repr__(self) -> str:
        return f"KeyList({list(self)!r})"


__all__ = ["CHUNK_ITEMS", "CHUNK_ROWS", "DURATION", "ENUM", "SPARSE", "TIME", "ChunkedArray", "Columns", "FoldedMap", "KeyList",
           "NumberIndex", "TextBuffer", "inserted"]
