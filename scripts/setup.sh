#!/usr/bin/env bash
# Set up voiceconsole on a fresh Debian/Ubuntu machine: system audio libraries, then the package
# in a virtual environment, .venv (the system Python is "externally managed", PEP 668: pip may
# not install into it). Run it as root or as a user with sudo.
#   scripts/setup.sh          the app (offline engines included)
#   scripts/setup.sh --test   the app and the test tools, plus the virtual audio server packages
# Then: .venv/bin/voiceconsole ... (or `. .venv/bin/activate` and voiceconsole ...).
# The venv is made with $PYTHON (default: python3 on PATH). Safe to run again: it installs only
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
venv=.venv

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi

packages=(libportaudio2)
((want_test)) && packages+=(pulseaudio pulseaudio-utils)
# Debian and Ubuntu ship the venv module (ensurepip) separately: python3-venv.
if [ ! -x "$venv/bin/python" ] && ! "$python" -c "import ensurepip, venv" >/dev/null 2>&1; then
    version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    if [ "$(command -v "$python")" = "/usr/bin/python3" ] || [ "$(command -v "$python")" = "/usr/bin/python$version" ]; then
        packages+=(python3-venv "python$version-venv")
    else
        echo "setup: $python has no venv module (ensurepip); install it, or run with PYTHON=/usr/bin/python3" >&2
        exit 1
    fi
fi
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

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import sys" >/dev/null 2>&1; then
    echo "setup: creating the virtual environment $venv with $("$python" --version 2>&1)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)

extra=""
((want_test)) && extra="[test,llm,smart-turn]"
"${pip[@]}" -e ".${extra}"
# The tap/serve tests run Pipecat's Cartesia services unmodified: the pipecat-ai wheel without its
# dependencies (its Cartesia services need only what the test extra lists).
if ((want_test)); then
    "${pip[@]}" --no-deps "pipecat-ai==1.14.0"
fi
# LiveKit's Cartesia plugin needs the whole livekit-agents runtime: it gets a venv of its own, which
# tests/test_serve_livekit.py runs as a subprocess (about a minute to make, once).
if ((want_test)); then
    livekit_venv="${VC_LIVEKIT_VENV:-$HOME/.cache/voiceconsole/livekit-venv}"
    if ! "$livekit_venv/bin/python" -c "import livekit.plugins.cartesia, aiohttp" >/dev/null 2>&1; then
        echo "setup: making the LiveKit venv $livekit_venv" >&2
        { "$python" -m venv "$livekit_venv" \
            && "$livekit_venv/bin/python" -m pip install --quiet --disable-pip-version-check "livekit-plugins-cartesia==1.8.9"; } \
            || echo "setup: could not make the LiveKit venv $livekit_venv; tests/test_serve_livekit.py will be skipped" >&2
    fi
fi
# The tests run Smart Turn for real: its model comes out of the pipecat-ai wheel (no hub, no deps).
if ((want_test)); then
    "$venv/bin/python" -m voiceconsole fetch-model smart-turn
fi
