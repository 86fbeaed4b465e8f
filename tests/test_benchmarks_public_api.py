"""The benchmarks measure voiceconsole through public APIs only.

Scanned in every module of ``benchmarks/`` (and ``benchmarks/peer/``, not its virtualenv):
- the checks of :mod:`tests.test_public_api` (no private module of another package imported, no
  private attribute of textual, rich or websockets touched, no private base class);
- stricter, since a benchmark has no internals of its own: no ``_underscore`` attribute read,
  written or called on anything (``self`` included, so a subclass cannot reach its base's
  internals, voiceconsole's among them), no method named ``_underscore`` (no override of a private
  hook), no ``getattr``/``setattr``/``hasattr``/``delattr`` with an ``_underscore`` name, and no
  import of a private voiceconsole module. Dunders are public; the benchmarks' own private modules
  (``benchmarks._cartesia``) are theirs to import.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.test_public_api import (
    _guarded_private_names,
    _is_private_part,
    attribute_violations,
)
from tests.test_public_api import private_import_violations as private_imports

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"

DOCUMENTED_STDLIB = {("os", "_exit")}
"""Underscore names the Python library reference documents as public API
(https://docs.python.org/3/library/os.html#os._exit)."""

NAME_PROBES = ("getattr", "setattr", "hasattr", "delattr")


def _sources() -> list[Path]:
    return sorted([*BENCHMARKS.glob("*.py"), *(BENCHMARKS / "peer").glob("*.py")])


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def private_import_violations(source: str) -> list[str]:
    """Imports of a private module of anything but the benchmarks themselves."""
    return private_imports(source, "benchmarks")


def strict_violations(source: str) -> list[str]:
    """Every ``_underscore`` attribute touched, private method defined or private name probed."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _is_private_part(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and (owner.id, node.attr) in DOCUMENTED_STDLIB:
                continue
            bad.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ClassDef):
            bad.extend(f"line {item.lineno}: method {item.name}" for item in node.body
                       if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_private_part(item.name))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NAME_PROBES
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str) and _is_private_part(node.args[1].value)):
            bad.append(f"line {node.lineno}: {ast.unparse(node)}")
    return bad


def _namespace(path: Path) -> dict[str, object]:
    """The module's globals, for the class checks; empty for the peer's pipeline when Pipecat is
    not installed here (it runs in the peer's virtualenv; the strict checks still cover it)."""
    try:
        return vars(importlib.import_module(_module_name(path)))
    except ImportError:
        if path.name != "tail_pipeline.py":
            raise
        return {}


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_benchmarks_use_public_apis_only(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert private_import_violations(source) == []
    assert [v for v in attribute_violations(source, _namespace(path)) if "os._exit" not in v] == []
    assert strict_violations(source) == []


def test_the_benchmarks_are_all_scanned() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _sources()}
    assert {"benchmarks/live.py", "benchmarks/bench_ui_latency.py", "benchmarks/_firstpaint.py",
            "benchmarks/bench_capture.py", "benchmarks/peer/render_driver.py"} <= names
    assert not [n for n in names if ".venv" in n]


def test_the_scan_catches_what_the_benchmarks_once_did() -> None:
    """The hooks the benchmarks used before they moved to public seams are all found."""
    source = '''
from textual.app import App
from textual._compositor import Compositor
from voiceconsole.audio import streams

def render_like_terminal(app):
    original = app._display
    app._display = original
    return app._batch_count

def first_paint():
    App._display = print

class TimedDeviceSource(streams.DeviceSource):
    def _callback(self, indata, frames, time_info, status):
        times[self._written] = 0.0
        super()._callback(indata, frames, time_info, status)

async def stop(app):
    await app._session_task
    return getattr(app, "_session_task")
'''
    found = "\n".join(private_import_violations(source) + strict_violations(source))
    for needle in ("textual._compositor", "app._display", "app._batch_count", "App._display",
                   "method _callback", "self._written", "super()._callback", "app._session_task",
                   "getattr(app, '_session_task')"):
        assert needle in found, needle
    assert "_display" in _guarded_private_names()


def test_documented_stdlib_names_and_dunders_pass() -> None:
    source = '''
import os

class Box:
    def __init__(self):
        self.__dict__.update(a=1)

def leave():
    os._exit(0)
'''
    assert strict_violations(source) == []
    assert private_import_violations("from benchmarks._cartesia import API_KEY") == []
    assert private_import_violations("import voiceconsole._internal") != []
