"""``sweep --ui`` as a snapshot (a sweep result made by hand, so nothing runs), and the sweep
package's layering: it never imports textual, the UI or the commands.

Regenerate the snapshot after a deliberate change with
``python -m pytest tests/test_sweep_ui.py --snapshot-update`` and look at the SVG.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from voiceconsole.sweep.grid import parse_grid
from voiceconsole.sweep.results import PointResult, SweepResult, pareto_frontier
from voiceconsole.sweep.truth import GroundTruth, RunScore
from voiceconsole.ui.sweep import SweepApp
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])


def made_result() -> SweepResult:
    """Five end-ms points over two recordings: fewer cut-offs as the delay grows."""
    points = parse_grid("end-ms=300:700:100,eager-end-ms=150")
    scores = {
        "call-1": [
            (3, 0, 330.0),
            (2, 1, 430.0),
            (2, 1, 540.0),
            (1, 1, 620.0),
            (1, 1, 735.0),
        ],
        "call-2": [
            (2, 1, 345.0),
            (1, 0, 440.0),
            (1, 0, 520.0),
            (1, 0, 640.0),
            (0, 0, 720.0),
        ],
    }
    results = [PointResult(i, p) for i, p in enumerate(points)]
    for name, runs in scores.items():
        for result, (cutoffs, resumes, delay) in zip(results, runs):
            result.add(
                name, RunScore(4 + cutoffs, cutoffs, resumes, (delay, delay + 40.0))
            )
    truth = GroundTruth(resume_ms=1000)
    return SweepResult(
        "local",
        truth.describe(),
        truth.short(),
        results,
        pareto_frontier(results),
        [],
        list(scores),
    )


def test_sweep_screen_with_the_second_point_selected(snap_compare) -> None:
    async def select(pilot) -> None:
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()

    app = SweepApp(made_result(), theme="dark", themes=THEMES)
    assert snap_compare(app, terminal_size=(140, 42), run_before=select)


def test_the_sweep_package_imports_no_textual_ui_or_commands() -> None:
    code = (
        "import importlib, pkgutil, sys, voiceconsole.sweep as s\n"
        "for info in pkgutil.walk_packages(s.__path__, 'voiceconsole.sweep.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'"
        " or m.startswith(('voiceconsole.ui', 'voiceconsole.commands')))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
