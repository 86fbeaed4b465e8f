"""The compact history store (voiceconsole.session.history): what goes in comes back out."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tests.approx import same_within
from voiceconsole.session.history import (
    BOOL,
    CHUNK_ROWS,
    DURATION,
    TIME,
    FLOAT,
    INT,
    OPT_FLOAT,
    OPT_INT,
    OPT_STR,
    SPARSE,
    STR,
    CHUNK_ITEMS,
    ENUM,
    TEXT_CHUNK,
    ChunkedArray,
    Columns,
    FoldedMap,
    KeyList,
    TextBuffer,
)


@dataclass
class Row:
    n: int
    t: float
    end: float | None
    took: float | None
    big: int | None
    name: str
    note: str | None
    done: bool
    cut: bool
    rare: float | None


SPEC = (("n", INT), ("t", FLOAT), ("end", OPT_FLOAT), ("took", OPT_FLOAT), ("big", OPT_INT), ("name", STR),
        ("note", OPT_STR), ("done", BOOL), ("cut", BOOL), ("rare", SPARSE))


def rows(count: int) -> list[Row]:
    out = []
    for i in range(count):
        t = i * 0.37 + 1e-9 * i
        end = None if i % 7 == 3 else t + 0.1 * (i % 5)
        # ``took`` is ``end - t`` except in a few rows (and missing where ``end`` is)
        took = None if end is None else (end - t if i % 11 else 42.0)
        big = [None, 0, -1, 2**31 - 1, -(2**31), -(2**31) + 1, 2**40, -(2**45), 7][i % 9]
        out.append(Row(i if i % 13 else 3 * 2**31 + i, t, end, took, big, f"row {i} · é" * (i % 3), None if i % 4 else f"n{i}",
                       i % 2 == 0, i % 3 == 0, 1.5 if i % 97 == 5 else None))
    return out


def test_columns_give_back_every_field_across_chunks_and_32_bit_overflow() -> None:
    data = rows(2 * CHUNK_ROWS + 17)
    cols = Columns(SPEC, {"took": ("end", "t")})
    for row in data:
        cols.append(row)
    assert len(cols) == len(data)
    assert [Row(**cols.fields(i)) for i in range(len(data))] == data
    assert cols.value("big", 5) == data[5].big
    for name, _ in SPEC:
        expected = [getattr(r, name) for r in data]
        got = list(cols.iter_column(name))
        if name in ("t", "end", "took"):  # float columns read nan for None
            expected = [math.nan if v is None else v for v in expected]
            assert [("nan" if v != v else v) for v in got] == [("nan" if v != v else v) for v in expected], name
        else:
            assert got == expected, name


def test_a_folded_map_reads_like_a_dict_with_derived_and_sparse_fields() -> None:
    data = rows(CHUNK_ROWS + 40)
    folded: FoldedMap[Row] = FoldedMap(SPEC, lambda f, i: Row(**f), keep=3, derived={"took": ("end", "t")})
    plain: dict[int, Row] = {}
    for row in data:
        folded.add(row.n, row)
        plain[row.n] = row
    assert folded.folded == len(data) - 3
    assert dict(folded) == plain and list(folded.values()) == list(plain.values())
    assert list(folded.reversed_values()) == list(reversed(plain.values()))
    # a folded record changed again is revived; the column reads see the change
    first = folded.mutable(data[1].n)
    assert first is not None
    first.took = 9.0
    assert folded[data[1].n].took == 9.0
    assert list(folded.folded_column("took", lambda r: r.took))[1] == 9.0


@dataclass
class Timed:
    n: int
    at: float | None
    done: float | None
    took: float | None
    gap: float | None


def test_moments_read_back_within_microseconds_the_first_within_half_a_microsecond() -> None:
    spec = (("n", INT), ("at", TIME), ("done", TIME), ("took", DURATION), ("gap", DURATION))
    cols = Columns(spec, {"gap": ("done", "at")})
    data = []
    for i in range(CHUNK_ROWS + 9):
        at = None if i % 10 == 4 else 36_000.0 + i * 3.3337 + 1e-9 * i
        done = None if i % 5 == 2 else 36_000.0 + i * 3.3337 + 0.1234567 * (i % 7)
        gap = None if at is None or done is None else (done - at if i % 6 else 99.0)  # a few differ
        data.append(Timed(i, at, done, 0.25 + i * 1e-3 if i % 4 else None, gap))
        cols.append(data[-1])
    back = [Timed(**cols.fields(i)) for i in range(len(data))]
    same_within(back, data, slack=1e-5)
    same_within([b.at for b in back], [d.at for d in data], slack=5e-7)  # the first moment of each record
    # a record far from its chunk's first (beyond 32-bit microseconds) keeps its first moment in full
    far = Columns(spec)
    far.append(Timed(0, 1.0, 2.0, None, None))
    far.append(Timed(1, 1.0 + 3 * 3600.123456789, None, None, None))
    assert far.fields(1)["at"] == 1.0 + 3 * 3600.123456789 and far.fields(0)["done"] == 2.0
    assert list(far.iter_column("at")) == [1.0, 1.0 + 3 * 3600.123456789]
    assert [b.gap is None for b in back] == [d.gap is None for d in data]
    got = list(cols.iter_column("gap"))
    same_within([None if v != v else v for v in got], [d.gap for d in data], slack=1e-5)


def test_a_chunked_array_acts_like_a_list_across_chunks_widening_on_overflow() -> None:
    import bisect
    import random

    rng = random.Random(7)
    chunked, plain = ChunkedArray("i"), []
    for i in range(2 * CHUNK_ITEMS + 9):
        chunked.append(3 * i)
        plain.append(3 * i)
    for _ in range(30):  # sorted inserts (mostly at the end, as the history does) and deletes
        x = rng.choice([plain[-1] + 1, rng.randrange(0, plain[-1])])
        i = bisect.bisect_right(chunked, x)
        assert i == bisect.bisect_right(plain, x)
        chunked.insert(i, x)
        plain.insert(i, x)
    for i in (0, CHUNK_ITEMS, -1, 5):
        del chunked[i]
        del plain[i]
    chunked.append(2**40)  # does not fit 32 bits: the array widens
    plain.append(2**40)
    chunked[3] = -(2**50)
    plain[3] = -(2**50)
    assert chunked == plain and list(chunked) == plain and len(chunked) == len(plain)
    assert chunked[-1] == 2**40 and chunked[CHUNK_ITEMS - 2 : CHUNK_ITEMS + 3] == plain[CHUNK_ITEMS - 2 : CHUNK_ITEMS + 3]
    while chunked:  # deleting down to nothing gives the chunks back
        del chunked[-1]
    assert list(chunked) == [] and not chunked._chunks


def test_a_text_buffer_reads_back_strings_across_chunks_and_stores_a_repeat_once() -> None:
    buf = TextBuffer()
    words = [f"word {i} · é" * (i % 50) for i in range(2000)]
    where = [buf.add(w) for w in words]
    assert len(buf) > 2 * TEXT_CHUNK  # several chunks, strings running over their ends
    assert [buf.get(*pos) for pos in where] == words
    size = len(buf)
    assert buf.add(words[-1]) == where[-1] and len(buf) == size
    big = "x" * (3 * TEXT_CHUNK)
    assert buf.get(*buf.add(big)) == big


def test_enum_fields_and_a_shared_text_buffer() -> None:
    @dataclass
    class Reply:
        n: int
        origin: str | None
        text: str

    spec = (("n", INT), ("origin", ENUM), ("text", STR))
    a = Columns(spec)
    b = Columns((("n", INT), ("text", STR)), text=a.text)
    data = [Reply(i, [None, "responder", "typed", "say"][i % 4], f"reply {i // 2}") for i in range(40)]
    for r in data:
        a.append(r)
        b.append(r)  # the same text right after: stored once
    assert [Reply(**a.fields(i)) for i in range(40)] == data
    assert [b.value("text", i) for i in range(40)] == [r.text for r in data]
    assert len(a.text) == sum(len(f"reply {i}") for i in range(20))


def test_a_key_list_keeps_keys_in_chunks() -> None:
    keys = [("turn" if i % 2 else "reply", i // 2 if i % 5 else 2**40 + i) for i in range(CHUNK_ITEMS + 50)]
    kl = KeyList(keys)
    assert kl == keys and kl[-3:] == keys[-3:] and kl[7] == keys[7]
    assert kl.index_from_end(keys[10]) == 10 and kl.index_from_end(("turn", -5)) == -1
