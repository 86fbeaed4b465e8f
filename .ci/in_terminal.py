#!/usr/bin/env python3
"""Run a command in a pseudo-terminal as a user would, for CI: wait for the console to draw
(the alternate screen), press ``q``, and check that it exits 0 with the terminal restored.

Usage: in_terminal.py [--ready-timeout S] -- COMMAND...   (standard library only: it runs with
the distribution's own /usr/bin/python3 before anything is installed)
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import subprocess
import sys
import time

ENTER_ALT = b"\x1b[?1049h"
LEAVE_ALT = b"\x1b[?1049l"


def read_until(
    fd: int,
    proc: subprocess.Popen[bytes],
    needle: bytes | None,
    timeout: float,
    echo: bool,
) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if echo and ENTER_ALT not in out:
                sys.stdout.buffer.write(
                    chunk
                )  # setup's own output, before the console draws
                sys.stdout.flush()
            if needle is not None and needle in out:
                break
        elif proc.poll() is not None:
            break
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=900.0,
        help="setup plus first paint, seconds",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    primary, secondary = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    proc = subprocess.Popen(
        command,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        start_new_session=True,
    )
    os.close(secondary)
    try:
        seen = read_until(primary, proc, ENTER_ALT, args.ready_timeout, echo=True)
        if ENTER_ALT not in seen:
            print(
                f"\nin_terminal: the console never drew (exit {proc.poll()}); last output:",
                file=sys.stderr,
            )
            print(seen[-3000:].decode("utf-8", "replace"), file=sys.stderr)
            return 1
        time.sleep(3.0)  # let it run a little: the demo streams its conversation
        os.write(primary, b"q")
        rest = read_until(primary, proc, None, 60.0, echo=False)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    if code != 0 or LEAVE_ALT not in rest or b"Traceback" in seen + rest:
        print(
            f"in_terminal: exit {code}, terminal restored: {LEAVE_ALT in rest}",
            file=sys.stderr,
        )
        print(rest[-3000:].decode("utf-8", "replace"), file=sys.stderr)
        return 1
    print("in_terminal: the console drew, quit on q and restored the terminal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
