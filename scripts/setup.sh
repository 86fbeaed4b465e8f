#!/usr/bin/env bash
# Set up voiceconsole on a fresh Debian/Ubuntu machine: system audio libraries, then the package.
#   scripts/setup.sh          the app (offline engines included)
#   scripts/setup.sh --test   the app and the test tools, plus the virtual audio server packages
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi

packages=(libportaudio2)
((want_test)) && packages+=(pulseaudio pulseaudio-utils)
missing=()
for pkg in "${packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing ${missing[*]}" >&2
        "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: please install ${missing[*]} with your package manager (PortAudio is needed for live audio)" >&2
    fi
fi

extra=""
((want_test)) && extra="[test,llm,smart-turn]"
python3 -m pip install --quiet --disable-pip-version-check -e ".${extra}"
# The tap/serve tests run Pipecat's Cartesia services unmodified: the pipecat-ai wheel without its
# dependencies (its Cartesia services need only what the test extra lists).
if ((want_test)); then
    python3 -m pip install --quiet --disable-pip-version-check --no-deps "pipecat-ai==1.14.0"
fi
# The tests run Smart Turn for real: its model comes out of the pipecat-ai wheel (no hub, no deps).
if ((want_test)); then
    python3 -m voiceconsole fetch-model smart-turn
fi
