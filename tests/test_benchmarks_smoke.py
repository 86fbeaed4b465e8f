"""The benchmark runner works end to end in --quick mode: it prints the table and writes the
JSON with every figure. Only the shape is checked, never the numbers (speed belongs to the
benchmarks, not to tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_prints_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    md = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "resample,startup,offline",
         "--json", str(out), "--markdown", str(md)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "median" in proc.stdout and "p95" in proc.stdout and "target" in proc.stdout
    assert "voiceconsole --version" in proc.stdout
    data = json.loads(out.read_text())
    assert data["machine"]["nproc"] and data["machine"]["python"]
    names = [f["name"] for f in data["figures"]]
    assert not [n for n in names if n.endswith(": failed")], names
    assert any(n.startswith("resample:") for n in names)
    assert any(n.startswith("offline:") for n in names)
    first_paint = next(f for f in data["figures"] if f["name"] == "start-up: first paint of the app")
    assert first_paint["target"] == 1.5 and first_paint["median"] is not None
    assert "| figure |" in md.read_text()


def test_unknown_benchmark_is_a_one_line_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "unknown benchmark nope" in proc.stderr


def test_a_partial_run_leaves_the_full_results_alone() -> None:
    results = ROOT / "benchmarks" / "results.json"
    before = results.read_bytes() if results.exists() else None
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "resample"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "results.json is left as it is" in proc.stdout
    assert (results.read_bytes() if results.exists() else None) == before


def test_cpu_comparison_runs_without_the_peer_and_says_how_to_set_it_up(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "VC_BENCH_PEER_PYTHON": str(tmp_path / "no-venv" / "bin" / "python")}
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "cpu", "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    figures = {f["name"]: f for f in json.loads(out.read_text())["figures"]}
    assert not [n for n in figures if n.endswith(": failed")], list(figures)
    assert figures["CPU streaming with live meters: voiceconsole"]["median"] is not None
    assert figures["CPU: app idle (no mic stream)"]["target"] == 2.0
    skipped = figures["CPU streaming with live meters: Tail: skipped"]
    assert "benchmarks/peer/setup.sh" in skipped["note"]
    assert "benchmarks/peer/setup.sh" in proc.stdout
