#!/usr/bin/env bash
# Creates benchmarks/peer/.venv with the peer of the CPU comparison: Pipecat Tail (a Textual
# dashboard) and Pipecat with its bundled Silero VAD, plus psutil. The peer lives in its own
# virtualenv so that its pins (textual<7, websockets<16, soxr~=1.0, ...) stay out of the
# project's environment. Run from anywhere: `bash benchmarks/peer/setup.sh`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
venv="$here/.venv"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# Pipecat's "silero" extra is empty since onnxruntime became a core dependency; it is named so
# that an older or newer Pipecat that needs it still gets it.
"$venv/bin/python" -m pip install --quiet "pipecat-ai-tail==0.0.5" "pipecat-ai[silero]" psutil
# The VAD model ships inside the wheel: loading it offline proves nothing is fetched at run time.
"$venv/bin/python" - <<'PY'
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat_tail.runner import TailRunner  # noqa: F401

SileroVADAnalyzer()
print("peer ready: pipecat-ai-tail and the bundled Silero VAD model load offline")
PY
