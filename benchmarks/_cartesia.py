"""The scripted local Cartesia server (tests/cartesia_server.py) as its own process on 127.0.0.1,
so that its CPU time and event loop stay out of what the benchmarks measure.

``python -m benchmarks._cartesia [--turn-every S]`` prints ``PORT <n>`` and serves until its
standard input closes. With ``--turn-every S`` the Ink-2 turns endpoint scripts one turn every
S seconds of received audio (start, an update every 0.3 s, eager end, end).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

API_KEY = "bench-key"


def turns_script(every_s: float, total_s: float = 900.0) -> list[tuple[float, dict[str, Any]]]:
    script: list[tuple[float, dict[str, Any]]] = []
    n, t = 0, 1.0
    while t < total_s:
        n += 1
        script.append((t, {"type": "turn.start", "request_id": "bench"}))
        words = ["turn", str(n), "is", "being", "said", "now"]
        for k in range(1, len(words) + 1):
            script.append((t + 0.3 * k, {"type": "turn.update", "transcript": " ".join(words[:k])}))
        script.append((t + 2.1, {"type": "turn.eager_end", "transcript": " ".join(words)}))
        script.append((t + 2.5, {"type": "turn.end", "transcript": " ".join(words) + "."}))
        t += every_s
    return script


async def _serve(turn_every: float | None) -> None:
    sys.path.insert(0, ".")
    from tests.cartesia_server import CartesiaServer

    script = turns_script(turn_every) if turn_every else []
    async with CartesiaServer(api_key=API_KEY, turns_script=script, tts_seconds_per_char=0.06) as server:
        print(f"PORT {server.port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        for conn in server.connections:
            conn.binary.clear()


@contextmanager
def cartesia_server(turn_every: float | None = None) -> Iterator[str]:
    """Start the server process; yields its ``ws://127.0.0.1:PORT`` URL."""
    from benchmarks.common import repo_root

    cmd = [sys.executable, "-m", "benchmarks._cartesia"] + (["--turn-every", str(turn_every)] if turn_every else [])
    proc = subprocess.Popen(cmd, cwd=repo_root(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the local Cartesia server did not start: {line!r}")
        yield f"ws://127.0.0.1:{int(line.split()[1])}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--turn-every", type=float, default=None)
    args = p.parse_args()
    asyncio.run(_serve(args.turn_every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
