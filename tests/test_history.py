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
    Columns,
    FoldedMap,
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


def test_moments_read_back_within_microseconds_the_first_exactly() -> None:
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
    assert [b.at for b in back] == [d.at for d in data]  # the first moment of each record: exact
    assert [b.gap is None for b in back] == [d.gap is None for d in data]
    got = list(cols.iter_column("gap"))
    same_within([None if v != v else v for v in got], [d.gap for d in data], slack=1e-5)
