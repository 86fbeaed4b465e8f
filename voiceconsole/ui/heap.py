"""Keeping the garbage collector's pauses out of the console's frames.

A full collection walks every object the collector tracks, holding the GIL, so it stalls the UI
and the session thread alike. Once the console is up, the process holds some 100,000 long-lived
objects (modules, Textual's widget tree and styles, themes, the engines' modules); measured
during a live session, each full collection walked them all: a 50 ms stall every few seconds.
Objects alive at that point live as long as the console does, so :func:`freeze_heap` moves them
to the collector's permanent generation (``gc.freeze``), which collections skip. The console
freezes after its first frame and again once its session has started (the engines are imported
by then), and calls :func:`thaw_heap` when it closes, so whatever dies after that (e.g. in a
test process that opens many consoles) is collected as usual.
"""

from __future__ import annotations

import gc

_holders = 0


def freeze_heap(first: bool) -> None:
    """Freeze what is alive now. ``first``: the caller's first freeze (one :func:`thaw_heap`
    per first freeze)."""
    global _holders
    if first:
        _holders += 1
    # Leave no garbage in the permanent generation; later, the young generations are enough
    # (what was old at the first freeze is frozen already).
    gc.collect(2 if first else 1)
    gc.freeze()


def thaw_heap() -> None:
    """Undo one holder's freeze; the last one returns the frozen objects to the collector."""
    global _holders
    if _holders == 0:
        return
    _holders -= 1
    if _holders == 0:
        gc.unfreeze()


__all__ = ["freeze_heap", "thaw_heap"]
