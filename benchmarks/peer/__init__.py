"""The peer of the CPU comparison, Pipecat Tail, seen from the project's side.

Tail and Pipecat live in their own virtualenv (benchmarks/peer/.venv, made by
``bash benchmarks/peer/setup.sh``) so that their pins stay out of the project's environment;
:mod:`benchmarks.peer.tail_pipeline` runs there as a subprocess and the benchmark measures its
process tree from outside. :mod:`benchmarks.peer.render_driver` is the Textual driver both tools
draw with in the benchmark.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETUP_HINT = "run `bash benchmarks/peer/setup.sh` (makes benchmarks/peer/.venv)"


def peer_python() -> Path:
    """The peer virtualenv's interpreter (``VC_BENCH_PEER_PYTHON`` overrides it)."""
    return Path(os.environ.get("VC_BENCH_PEER_PYTHON") or HERE / ".venv" / "bin" / "python")


def missing() -> str | None:
    """Why the peer cannot run here, in one line, or ``None`` when it can."""
    python = peer_python()
    if not python.exists():
        return f"Pipecat Tail is not set up ({python} is missing): {SETUP_HINT}"
    return None


def tail_command(wav: str) -> list[str]:
    """The command that runs Tail over the Pipecat pipeline with ``wav`` as the microphone."""
    return [str(peer_python()), str(HERE / "tail_pipeline.py"), wav]
