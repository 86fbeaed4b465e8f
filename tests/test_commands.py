"""The subcommands as a user runs them: bad ``--through`` input is one line on stderr, exit 2,
before any recording is read; ``demo --help`` answers without loading the console."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.test_cli import run_cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--through", "local", "--end-ms", "soon"], "--through local: bad option in --end-ms soon;"),
        (["--through", "local", "--end-ms"], "--through local: bad option in --end-ms;"),
        (["--through", "whisperx"], "--through whisperx: unknown STT engine; choose one of local,"),
        (["--through"], "--through needs an engine name: local,"),
    ],
)
@pytest.mark.parametrize("command", ["replay", "report"])
def test_bad_through_input_is_one_line(command: str, args: list[str], message: str) -> None:
    out = run_cli(command, "no-such-recording", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"voiceconsole: error: {message}"), lines[0]


def test_demo_help_loads_no_ui() -> None:
    code = (
        "import sys\n"
        "from voiceconsole.cli import main\n"
        "try:\n    main(['demo', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('voiceconsole.ui')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "voiceconsole demo" in out and out.strip().endswith("[]"), out

