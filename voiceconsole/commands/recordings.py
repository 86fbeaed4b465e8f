"""Opening a recording for a command, with the notes a user should see on stderr."""

from __future__ import annotations

import sys

from voiceconsole.session.recording import Recording, load_recording


def open_recording(directory: str) -> Recording:
    """Load the recording in ``directory``; note on stderr when its last event line was cut short."""
    recording = load_recording(directory)
    if recording.truncated_last_line:
        print(f"voiceconsole: note: {recording.path}: the last event line was cut short and is skipped", file=sys.stderr)
    return recording
