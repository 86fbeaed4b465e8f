"""``voiceconsole fetch-model smart-turn``: put the Smart Turn v3.2 model in the model cache.

The model ships inside the ``pipecat-ai`` wheel. It is taken, without any of pipecat's
dependencies and from no model hub, from:

1. an installed ``pipecat-ai`` package's data folder (found without importing pipecat), when
   its file is the pinned one; else
2. the pinned ``pipecat-ai`` wheel, fetched with ``pip download --no-deps`` into a temporary
   folder, the one file read out of it (a wheel is a zip file).

Either way the file's SHA-256 must match :data:`~voiceconsole.engines.smart_turn.MODEL_SHA256`
before it is written (atomically) to the cache (``$VOICECONSOLE_MODEL_DIR``, else
``~/.cache/voiceconsole``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from voiceconsole.engines.smart_turn import (
    MODEL_IN_WHEEL,
    MODEL_NAME,
    MODEL_SHA256,
    PIPECAT_VERSION,
    file_sha256,
    model_dir,
)
from voiceconsole.errors import UserError

MODELS = ("smart-turn",)


def installed_model() -> Path | None:
    """The model file of an installed pipecat-ai package, if there is one (not imported)."""
    try:
        spec = importlib.util.find_spec("pipecat")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(folder) / Path(MODEL_IN_WHEEL).relative_to("pipecat")
        if candidate.is_file():
            return candidate
    return None


def model_from_wheel(wheel: Path) -> bytes:
    """The model's bytes read out of a pipecat-ai wheel."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(MODEL_IN_WHEEL)
    except KeyError:
        raise UserError(f"{wheel.name} holds no {MODEL_IN_WHEEL}") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise UserError(f"cannot read the wheel {wheel} ({exc})") from None


def download_wheel(folder: Path) -> Path:
    """``pip download pipecat-ai==PIPECAT_VERSION --no-deps`` into ``folder``; the wheel's path."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        f"pipecat-ai=={PIPECAT_VERSION}",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "-d",
        str(folder),
    ]
    print(
        f"fetch-model: pip download pipecat-ai=={PIPECAT_VERSION} --no-deps (the model ships in its wheel)",
        file=sys.stderr,
    )
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(
            f"could not run pip to download pipecat-ai=={PIPECAT_VERSION} ({exc})"
        ) from None
    wheels = sorted(folder.glob("pipecat_ai-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise UserError(
            f"could not download pipecat-ai=={PIPECAT_VERSION} with pip ({last}); "
            "check the connection to PyPI, or install pipecat-ai and run this again"
        )
    return wheels[0]


def fetch_smart_turn(target_dir: Path, source: str = "auto") -> tuple[Path, str]:
    """Put the pinned model in ``target_dir``; returns its path and where it came from."""
    target = target_dir / MODEL_NAME
    if target.is_file() and file_sha256(target) == MODEL_SHA256:
        return target, "already in the cache"
    data: bytes | None = None
    origin = ""
    found = installed_model() if source in ("auto", "installed") else None
    if found is not None and file_sha256(found) == MODEL_SHA256:
        data, origin = found.read_bytes(), f"installed pipecat-ai ({found})"
    elif source == "installed":
        raise UserError(
            f"no installed pipecat-ai holds the pinned {MODEL_NAME}; use --source pypi"
        )
    if data is None:
        with tempfile.TemporaryDirectory(prefix="voiceconsole-wheel-") as tmp:
            data = model_from_wheel(download_wheel(Path(tmp)))
        origin = f"the pipecat-ai {PIPECAT_VERSION} wheel"
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise UserError(
            f"{MODEL_NAME} from {origin} is not the pinned file (sha256 differs); nothing was written"
        )
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp_path = target.with_name(target.name + ".part")
        tmp_path.write_bytes(data)
        os.replace(tmp_path, target)
    except OSError as exc:
        raise UserError(
            f"cannot write {target} ({exc.strerror or exc}); set $VOICECONSOLE_MODEL_DIR or use --dir"
        ) from None
    return target, origin


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``voiceconsole fetch-model``."""
    p = argparse.ArgumentParser(
        prog="voiceconsole fetch-model",
        description="Put a model in voiceconsole's model cache ($VOICECONSOLE_MODEL_DIR, else ~/.cache/voiceconsole). "
        f"smart-turn: Smart Turn v3.2 ({MODEL_NAME}, BSD-2, by Pipecat's team), from an installed pipecat-ai "
        f"or the pipecat-ai {PIPECAT_VERSION} wheel (pip download --no-deps), SHA-256 checked.",
    )
    p.add_argument("model", choices=MODELS, help="the model to fetch")
    p.add_argument(
        "--dir",
        metavar="DIR",
        help="cache folder (default: $VOICECONSOLE_MODEL_DIR or ~/.cache/voiceconsole)",
    )
    p.add_argument(
        "--source",
        choices=("auto", "installed", "pypi"),
        default="auto",
        help="auto: an installed pipecat-ai if it holds the file, else the wheel from PyPI",
    )
    return p


def main(argv: Sequence[str]) -> int:
    """Entry point of ``voiceconsole fetch-model``."""
    args = build_parser().parse_args(list(argv))
    target_dir = Path(args.dir) if args.dir else model_dir()
    path, origin = fetch_smart_turn(target_dir, args.source)
    print(f"{path} ({origin}; sha256 {MODEL_SHA256[:12]}...)")
    return 0
