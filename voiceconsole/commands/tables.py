"""Plain-text tables for the commands' terminal output."""

from __future__ import annotations

from collections.abc import Sequence

from voiceconsole.session.metrics import format_ms


def metric_cell(unit: str, value: float | None) -> str:
    """A metric as a table cell: a count as a number, a duration in ms, ``—`` when missing."""
    if value is None:
        return "—"
    return f"{value:g}" if unit == "count" else format_ms(value)


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: Sequence[int] = ()) -> list[str]:
    """Rows of columns padded to a common width; columns in ``left`` align left, the rest right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) if i in left else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return lines
