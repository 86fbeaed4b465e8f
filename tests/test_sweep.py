"""``voiceconsole sweep`` as a user runs it: a corpus built from the bundled speech clips, the CLI
as a subprocess, labels written by hand (tests/data/sweep_labels.json), the resume proxy, the
local pool against Ray, resuming a killed sweep, and bad corpus entries.

The corpus (tests/data/sweep_corpus.json) puts the clips of speech_turns.wav after 0.5 s of its
noise floor with chosen pauses: ``alpha`` has a 1.0 s pause inside its first turn, ``bravo`` a
0.45 s pause inside its only turn, ``charlie`` none; turns are 2.0 s apart. With
``eager-end-ms=150``, ``end-ms=300`` ends the turn in both inside pauses (2 cut-offs) and
``end-ms=700`` only in alpha's 1.0 s pause (1 cut-off); bravo's 0.45 s pause then gives an eager
end that resumes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voiceconsole.audio.wavio import read_wav, write_wav

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
LABELS = DATA / "sweep_labels.json"
GRID = "end-ms=300,700,eager-end-ms=150"
PROXY_MARGIN = 1
"""The proxy may differ from the labels by at most this many cut-offs per grid point."""
DELAY_MARGIN_MS = 100
"""...and its p50 delay (VAD speech stop -> turn.end) from the labelled one (true end -> turn.end)
by at most this (the VAD hears a clip's end up to a few frames late)."""


def build_corpus(out: Path) -> list[Path]:
    """Write the corpus WAVs (16 kHz mono) described by tests/data/sweep_corpus.json."""
    samples, rate = read_wav(DATA / "speech_turns.wav")
    samples = samples[:, 0] if samples.ndim == 2 else samples
    manifest = json.loads((DATA / "speech_turns.json").read_text(encoding="utf-8"))
    plan = json.loads((DATA / "sweep_corpus.json").read_text(encoding="utf-8"))
    noise = samples[
        : int(0.7 * rate)
    ]  # speech_turns.wav's lead: its -72 dBFS noise floor only

    def gap(seconds: float) -> np.ndarray:
        return np.resize(noise, round(seconds * rate))

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, parts in plan["recordings"].items():
        pieces = [gap(plan["lead_s"])]
        for clip, pause in parts:
            seg = manifest["segments"][clip]
            pieces += [
                samples[round(seg["start_s"] * rate) : round(seg["end_s"] * rate)],
                gap(pause),
            ]
        pieces.append(gap(plan["tail_s"]))
        write_wav(out / f"{name}.wav", np.concatenate(pieces), rate)
        paths.append(out / f"{name}.wav")
    return paths


def cli_env() -> dict[str, str]:
    env = {**os.environ, "VOICECONSOLE_CONFIG": os.devnull + ".absent"}
    env.pop("CARTESIA_API_KEY", None)
    return env


def run_sweep(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = cli_env()
    return subprocess.run(
        [sys.executable, "-m", "voiceconsole", "sweep", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def by_end_ms(result: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {p["settings"]["end-ms"]: p for p in result["points"]}


def cutoffs_by_recording(result: dict[str, Any], index: int) -> dict[str, int]:
    return {
        r["recording"]: r["cutoffs"]
        for r in result["per_recording"]
        if r["point"] == index
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """alpha.wav and bravo.wav, and charlie as a recording directory made with --record."""
    folder = tmp_path_factory.mktemp("sweep") / "corpus"
    build_corpus(folder)
    wav = folder / "charlie.wav"
    record = subprocess.run(
        [
            sys.executable,
            "-m",
            "voiceconsole",
            "--no-ui",
            "--mic",
            str(wav),
            "--fast",
            "--stt",
            "local",
            "--tts",
            "local",
            "--record",
            str(folder / "charlie"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=cli_env(),
    )
    assert record.returncode == 0, record.stderr
    wav.unlink()
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sweep-cache")


@pytest.fixture(scope="module")
def labelled(
    corpus: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The labelled sweep on the local pool (2 workers), with its JSON, CSV and output."""
    out = tmp_path_factory.mktemp("sweep-out")
    run = run_sweep(
        str(corpus),
        "--grid",
        GRID,
        "--labels",
        str(LABELS),
        "--workers",
        "2",
        "--cache",
        str(cache),
        "--json",
        str(out / "r.json"),
        "--csv",
        str(out / "r.csv"),
    )
    assert run.returncode == 0, run.stderr
    return {
        "run": run,
        "json": json.loads((out / "r.json").read_text(encoding="utf-8")),
        "csv": list(
            csv.DictReader(io.StringIO((out / "r.csv").read_text(encoding="utf-8")))
        ),
    }


def test_labels_give_the_expected_cutoffs_at_two_grid_points(
    labelled: dict[str, Any],
) -> None:
    result = labelled["json"]
    assert result["proxy"] is False and result["ground_truth"].startswith("labels:")
    assert sorted(result["recordings"]) == ["alpha", "bravo", "charlie"]
    points = by_end_ms(result)
    fast, slow = points[300], points[700]
    assert cutoffs_by_recording(result, fast["index"]) == {
        "alpha": 1,
        "bravo": 1,
        "charlie": 0,
    }
    assert cutoffs_by_recording(result, slow["index"]) == {
        "alpha": 1,
        "bravo": 0,
        "charlie": 0,
    }
    # 5 true turns; each cut-off adds a turn end.
    assert (fast["cutoffs"], fast["turns"]) == (2, 7) and (
        slow["cutoffs"],
        slow["turns"],
    ) == (1, 6)
    assert fast["cutoff_rate"] == pytest.approx(2 / 7, abs=1e-6) and slow[
        "cutoff_rate"
    ] == pytest.approx(1 / 6, abs=1e-6)
    assert (fast["eager_resumes"], slow["eager_resumes"]) == (0, 1)
    # The delays of the 5 right turn ends: at least the end silence, and about 400 ms apart.
    assert (
        300 <= fast["delay_p50_ms"] < 300 + DELAY_MARGIN_MS
        and 700 <= slow["delay_p50_ms"] < 700 + DELAY_MARGIN_MS
    )
    assert (
        fast["worst_recording"] == "alpha"
    )  # alpha and bravo tie at 1: the first by name
    # Neither point beats the other on both axes; 5 % / 10 % cut-offs are never reached here.
    assert (
        fast["pareto"]
        and slow["pareto"]
        and result["frontier"] == [fast["index"], slow["index"]]
    )
    assert result["latency_at_cutoff_rate_ms"] == {"5%": None, "10%": None}
    between = 600.0
    expected = fast["cutoff_rate"] + (slow["cutoff_rate"] - fast["cutoff_rate"]) * (
        (between - fast["delay_p50_ms"]) / (slow["delay_p50_ms"] - fast["delay_p50_ms"])
    )
    assert result["cutoff_rate_at_latency"]["600ms"] == pytest.approx(
        expected, abs=1e-6
    )
    assert result["cutoff_rate_at_latency"]["300ms"] is None  # no setting is that fast
    rows = {int(r["end-ms"]): r for r in labelled["csv"]}
    assert rows[300]["cutoffs"] == "2" and rows[700]["cutoffs"] == "1"
    assert {r["ground_truth"] for r in labelled["csv"]} == {"labels"}
    out = labelled["run"].stdout
    assert (
        "ground truth: labels" in out
        and "end-ms=300 eager-end-ms=150" in out
        and "cut-offs vs latency" in out
    )
    assert "6/6 runs" in labelled["run"].stderr and "ETA" in labelled["run"].stderr


def test_the_proxy_on_unlabelled_copies_agrees_with_the_labels(
    labelled: dict[str, Any], corpus: Path, cache: Path, tmp_path: Path
) -> None:
    copies = tmp_path / "unlabelled"
    copies.mkdir()
    for wav in sorted(corpus.glob("*.wav")):
        (copies / f"call-{wav.stem}.wav").write_bytes(wav.read_bytes())
    shutil.copytree(corpus / "charlie", copies / "call-charlie")
    run = run_sweep(str(copies), "--grid", GRID, "--cache", str(cache), "--json", "-")
    assert run.returncode == 0, run.stderr
    proxy = json.loads(run.stdout)
    assert proxy["proxy"] is True and proxy["ground_truth"].startswith("PROXY:")
    truth = by_end_ms(labelled["json"])
    for end_ms, point in by_end_ms(proxy).items():
        assert abs(point["cutoffs"] - truth[end_ms]["cutoffs"]) <= PROXY_MARGIN
        assert point["turns"] == truth[end_ms]["turns"]
        assert (
            abs(point["delay_p50_ms"] - truth[end_ms]["delay_p50_ms"])
            <= DELAY_MARGIN_MS
        )
    csv_run = run_sweep(
        str(copies), "--grid", GRID, "--cache", str(cache), "--csv", "-"
    )
    assert {r["ground_truth"] for r in csv.DictReader(io.StringIO(csv_run.stdout))} == {
        "proxy(resume<=1000ms)"
    }
    table = run_sweep(str(copies), "--grid", GRID, "--cache", str(cache))
    assert (
        "ground truth: PROXY" in table.stdout and "PROXY ground truth" in table.stdout
    )


def test_local_pool_and_ray_give_identical_results(
    labelled: dict[str, Any], corpus: Path
) -> None:
    pytest.importorskip("ray", reason="pip install 'voiceconsole[ray]'")
    run = run_sweep(
        str(corpus),
        "--grid",
        GRID,
        "--labels",
        str(LABELS),
        "--ray",
        "--workers",
        "2",
        "--no-cache",
        "--json",
        "-",
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == labelled["json"]


def _cache_files(cache: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in cache.glob("*/*.json")}


def test_a_killed_sweep_resumes_where_it_stopped(
    labelled: dict[str, Any], corpus: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    grid = "end-ms=300,500,700,eager-end-ms=150"  # 3 points x 3 recordings = 9 runs
    args = [
        str(corpus),
        "--grid",
        grid,
        "--labels",
        str(LABELS),
        "--workers",
        "2",
        "--cache",
        str(cache),
    ]
    env = cli_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceconsole", "sweep", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while (
            len(_cache_files(cache)) < 2
            and proc.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    finally:
        os.killpg(
            proc.pid, signal.SIGKILL
        )  # the sweep and its pool workers: a session of its own
        proc.wait()
    before = _cache_files(cache)
    assert 2 <= len(before) < 9, "the sweep was not stopped midway"
    run = run_sweep(*args, "--json", str(tmp_path / "r.json"))
    assert run.returncode == 0, run.stderr
    assert f"9 runs ({len(before)} cached)" in run.stderr
    after = _cache_files(cache)
    assert len(after) == 9
    assert all(after[p] == mtime for p, mtime in before.items()), (
        "a cached run was done again"
    )
    resumed = by_end_ms(json.loads((tmp_path / "r.json").read_text(encoding="utf-8")))
    for end_ms, point in by_end_ms(labelled["json"]).items():
        assert {
            k: v for k, v in resumed[end_ms].items() if k not in ("index", "pareto")
        } == {k: v for k, v in point.items() if k not in ("index", "pareto")}


def test_bad_corpus_entries_are_reported_one_line_each_and_skipped(
    corpus: Path, cache: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio\n", encoding="utf-8")
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    damaged = tmp_path / "damaged.wav"
    damaged.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(40))
    not_a_recording = tmp_path / "rec-without-events"
    not_a_recording.mkdir()
    (not_a_recording / "mic.wav").write_bytes((corpus / "bravo.wav").read_bytes())
    run = run_sweep(
        str(notes),
        str(empty),
        str(damaged),
        str(not_a_recording),
        str(corpus / "bravo.wav"),
        "--grid",
        GRID,
        "--labels",
        str(LABELS),
        "--cache",
        str(cache),
        "--json",
        "-",
    )
    assert run.returncode == 0, run.stderr
    skipped = [
        line
        for line in run.stderr.splitlines()
        if line.startswith("voiceconsole: skipped:")
    ]
    assert len(skipped) == 4, run.stderr
    for path in (notes, empty, damaged, not_a_recording):
        assert sum(str(path) in line for line in skipped) == 1, (path, skipped)
    result = json.loads(run.stdout)
    assert result["recordings"] == ["bravo"] and len(result["skipped"]) == 4
    assert cutoffs_by_recording(result, by_end_ms(result)[300]["index"]) == {"bravo": 1}


def test_nothing_usable_and_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("x", encoding="utf-8")
    for args, wanted in (
        ([str(notes), "--grid", GRID], "holds no usable recording"),
        ([str(notes), "--grid", "end-ms=300:200:100"], "STOP at least START"),
        ([str(notes), "--grid", "speed=1"], "unknown key"),
        (
            [str(notes), "--grid", GRID, "--labels", str(tmp_path / "none.json")],
            "no such file",
        ),
        ([str(notes), "--grid", GRID, "--ship"], "add --ray"),
    ):
        run = run_sweep(*args)
        assert run.returncode == 2, (args, run.stderr)
        errors = [
            line
            for line in run.stderr.splitlines()
            if line.startswith("voiceconsole: error:")
        ]
        assert len(errors) == 1 and wanted in errors[0], (args, run.stderr)


def test_help_warns_that_cartesia_engines_run_at_real_time_and_cost_money() -> None:
    run = run_sweep("--help")
    text = " ".join(run.stdout.split())
    assert (
        run.returncode == 0
        and "REAL TIME" in text
        and "billed" in text
        and "plotext" in text
    )


def in_process_result(corpus: Path, cache: Path) -> tuple[Any, Any]:
    """The labelled sweep again, in this process, from the cache the CLI filled (nothing runs)."""
    from voiceconsole.sweep.cache import ResultCache
    from voiceconsole.sweep.corpus import load_corpus
    from voiceconsole.sweep.grid import parse_grid
    from voiceconsole.sweep.run import collect, plan_sweep
    from voiceconsole.sweep.truth import load_labels

    loaded = load_corpus([str(corpus)])
    plan = plan_sweep(loaded, parse_grid(GRID), "local", ResultCache(cache))
    assert plan.tasks == []
    return collect(plan, load_labels(str(LABELS))), loaded


async def test_ui_shows_curve_and_table_and_o_asks_for_the_worst_recording(
    labelled: dict[str, Any], corpus: Path, cache: Path
) -> None:
    from textual.widgets import DataTable, Static

    from voiceconsole.ui.sweep import OpenRecording, SweepApp

    result, _ = in_process_result(corpus, cache)
    app = SweepApp(result)
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.pause()
        table = app.query_one("#sweep-table", DataTable)
        assert table.row_count == 2
        detail = str(app.query_one("#sweep-detail", Static).render())
        assert "end-ms = 300" in detail and "most cut-offs: alpha (1)" in detail
        assert "cut-offs vs latency" in str(
            app.query_one("#sweep-curve", Static).render()
        )
        await pilot.press("down")
        await pilot.pause()
        detail = str(app.query_one("#sweep-detail", Static).render())
        assert "end-ms = 700" in detail and "cut-offs 1 of 6 turn ends" in detail
        await pilot.press("o")
        await pilot.pause()
    assert app.return_value == OpenRecording("alpha", 1)


async def test_the_worst_recording_opens_in_the_replay_console_through_the_points_settings(
    labelled: dict[str, Any], corpus: Path, cache: Path
) -> None:
    from voiceconsole.commands.sweep import through_recording
    from voiceconsole.events import TurnEnd
    from voiceconsole.ui.replay import ReplayConsoleApp

    result, loaded = in_process_result(corpus, cache)
    point = result.points[by_end_ms(labelled["json"])[700]["index"]]
    recording = await asyncio.to_thread(
        through_recording, loaded.by_name()["alpha"], "local", point.point
    )
    assert recording.meta["turn_settings"]["end_silence_ms"] == 700
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["recordings"]["alpha"]
    ends = [e.audio_t for e in recording.events if isinstance(e, TurnEnd)]
    assert (
        sum(start < t < end for t in ends for start, end in labels) == 1
    )  # the cut-off the sweep counted
    app = ReplayConsoleApp(recording, speed=0)
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.pause(0.5)
        assert app.model.metrics.ended_turns >= 1


def test_frontier_and_the_interpolated_figures() -> None:
    from voiceconsole.sweep.grid import parse_grid
    from voiceconsole.sweep.results import (
        PointResult,
        latency_at_rate,
        pareto_frontier,
        rate_at_latency,
    )
    from voiceconsole.sweep.truth import RunScore

    points = []
    # (p50 delay ms, cut-offs of 100 turn ends): the third is beaten by the second on both.
    for i, (delay, cutoffs) in enumerate(
        [(200.0, 20), (400.0, 8), (500.0, 9), (800.0, 2)]
    ):
        p = PointResult(i, parse_grid(f"end-ms={int(delay)}")[0])
        p.add("r", RunScore(100, cutoffs, 0, (delay,)))
        points.append(p)
    frontier = pareto_frontier(points)
    assert [p.index for p in frontier] == [0, 1, 3] and not points[2].pareto
    # 10 % lies between 20 % at 200 ms and 8 % at 400 ms: 200 + 200 * (20 - 10) / (20 - 8).
    assert latency_at_rate(frontier, 0.10) == pytest.approx(
        200 + 200 * 10 / 12, abs=1e-3
    )
    assert latency_at_rate(frontier, 0.05) == pytest.approx(400 + 400 * 3 / 6, abs=1e-3)
    assert (
        latency_at_rate(frontier, 0.01) is None
        and latency_at_rate(frontier, 0.5) == 200.0
    )
    assert rate_at_latency(frontier, 300.0) == pytest.approx(0.14)
    assert rate_at_latency(frontier, 600.0) == pytest.approx(0.08 - 0.06 * 200 / 400)
    assert rate_at_latency(frontier, 100.0) is None and rate_at_latency(
        frontier, 900.0
    ) == pytest.approx(0.02)


def test_labels_as_csv_score_like_the_json(
    labelled: dict[str, Any], corpus: Path, cache: Path, tmp_path: Path
) -> None:
    turns = json.loads(LABELS.read_text(encoding="utf-8"))["recordings"]
    labels = tmp_path / "labels.csv"
    rows = ["recording,start_s,end_s"] + [
        f"{name},{s},{e}" for name, spans in turns.items() for s, e in spans
    ]
    labels.write_text("\n".join(rows) + "\n", encoding="utf-8")
    run = run_sweep(
        str(corpus),
        "--grid",
        GRID,
        "--labels",
        str(labels),
        "--cache",
        str(cache),
        "--json",
        "-",
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert (
        result["points"] == labelled["json"]["points"]
        and result["per_recording"] == labelled["json"]["per_recording"]
    )
    labels.write_text("recording,start_s,end_s\nalpha,2.0,1.0\n", encoding="utf-8")
    bad = run_sweep(
        str(corpus), "--grid", GRID, "--labels", str(labels), "--cache", str(cache)
    )
    assert (
        bad.returncode == 2
        and "labels.csv:2: a turn needs 0 <= start < end" in bad.stderr
    )


def test_an_unreachable_ray_cluster_is_a_one_line_error(tmp_path: Path) -> None:
    # A port nothing listens on (taken, then released): Ray itself would retry for minutes.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    speech = ROOT / "tests" / "data" / "speech_turns.wav"
    out = run_sweep(str(speech), "--grid", "end-ms=800", "--no-cache", "--ray", f"127.0.0.1:{port}", timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines[-1].startswith(f"voiceconsole: error: --ray 127.0.0.1:{port}: cannot reach a Ray cluster there"), out.stderr
