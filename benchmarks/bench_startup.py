"""Start-up: ``voiceconsole --version`` wall time, and the app's first paint.

First paint: the real ``voiceconsole --mic silence --speaker null`` (offline engines) started
as a new process; the child (:mod:`benchmarks._firstpaint`) selects a Textual driver with the
public ``TEXTUAL_DRIVER`` variable (:class:`benchmarks._firstpaint_driver.FirstPaintDriver`),
which renders every frame to terminal bytes as a real terminal driver would (there is no
terminal) and writes the CLOCK_MONOTONIC time at which the first frame was written. The figure
is that time minus the moment just before the process was spawned.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks.common import Figure, distribution, repo_root


def _version_cmd() -> list[str]:
    exe = shutil.which("voiceconsole")
    return [exe, "--version"] if exe else [sys.executable, "-m", "voiceconsole", "--version"]


def run(quick: bool) -> list[Figure]:
    env = dict(os.environ)
    env["PYTHONPATH"] = repo_root() + os.pathsep + env.get("PYTHONPATH", "")
    cmd = _version_cmd()
    version: list[float] = []
    for _ in range(3 if quick else 15):
        t0 = time.monotonic()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=repo_root())
        version.append(time.monotonic() - t0)
    paint: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(2 if quick else 5):
            out = os.path.join(tmp, f"paint{i}")
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "benchmarks._firstpaint", out], check=True, capture_output=True,
                           env=env, cwd=repo_root(), timeout=60)
            with open(out, encoding="ascii") as f:
                paint.append(float(f.read()) - t0)
    how = "console script" if shutil.which("voiceconsole") else "python -m voiceconsole (no console script installed)"
    return [
        distribution("start-up: voiceconsole --version", "s", version, target=0.3, target_stat="p95", note=how),
        distribution("start-up: first paint of the app", "s", paint, target=1.5, target_stat="p95",
                     note="process spawn -> first frame; offline engines, --mic silence"),
    ]
