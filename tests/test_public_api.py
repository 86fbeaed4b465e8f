"""voiceconsole uses its dependencies' public APIs only.

Scanned in every module of ``voiceconsole/``:
- no import of a private module (a dotted path with a ``_name`` part) of another package;
- no class that subclasses a class of textual, rich or websockets reads, writes or overrides one
  of that class's ``_underscore`` attributes (``self._x`` where a base class from those packages
  has ``_x``: that is their internals, even when reached through ``self``);
- no ``obj._x`` on anything but ``self``/``cls`` where ``_x`` is a private name used inside
  textual, rich or websockets (their objects' internals);
- no subclass of a private class (one whose name starts with ``_``) of another package.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "voiceconsole"
GUARDED = ("textual", "rich", "websockets")
PRIVATE = re.compile(r"\._([A-Za-z][A-Za-z0-9_]*)")
DOCUMENTED = {"_asdict", "_replace", "_fields", "_make", "_field_defaults"}
"""Underscored names that are public API (named tuples' methods)."""


def _sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_private_part(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


@cache
def _guarded_private_names() -> frozenset[str]:
    """Every ``_name`` written after a dot anywhere in textual, rich and websockets."""
    names: set[str] = set()
    for package in GUARDED:
        module = importlib.import_module(package)
        for path in Path(module.__file__).parent.rglob("*.py"):
            names.update("_" + m for m in PRIVATE.findall(path.read_text(encoding="utf-8", errors="replace")))
    return frozenset(names)


def _class_private_names(cls: type) -> set[str]:
    """The ``_underscore`` attributes a dependency's class defines or sets on its instances."""
    names = {n for n in vars(cls) if _is_private_part(n)}
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return names
    names.update("_" + m for m in re.findall(r"self\._([A-Za-z][A-Za-z0-9_]*)", source))
    return names


def _guarded_bases(cls: type) -> list[type]:
    return [base for base in cls.__mro__[1:] if base.__module__.split(".")[0] in GUARDED]


def private_import_violations(source: str, own: str) -> list[str]:
    """Imports in ``source`` of a private module (a ``_name`` part) of any package but ``own``."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != own and any(_is_private_part(p) for p in parts):
                bad.append(f"line {node.lineno}: import of {name}")
    return bad


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_no_private_module_is_imported(path: Path) -> None:
    assert private_import_violations(path.read_text(encoding="utf-8"), "voiceconsole") == []


def attribute_violations(source: str, namespace: dict[str, object]) -> list[str]:
    """Private attributes of textual, rich or websockets touched in ``source`` (its classes
    looked up in ``namespace``, the module's globals)."""
    tree = ast.parse(source)
    private = _guarded_private_names()
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            cls = namespace.get(node.name)
            if not isinstance(cls, type):
                continue
            if any(_is_private_part(b.__name__) and b.__module__.split(".")[0] != "voiceconsole" for b in cls.__bases__):
                bad.append(f"class {node.name} subclasses a private class")
            theirs = set().union(*(_class_private_names(b) for b in _guarded_bases(cls)))
            for inner in ast.walk(node):
                if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id in ("self", "cls"):
                    if inner.attr in theirs:
                        bad.append(f"line {inner.lineno}: self.{inner.attr} is {node.name}'s base class's own")
                elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and inner.name in theirs:
                    bad.append(f"line {inner.lineno}: {node.name} overrides the private {inner.name}")
        elif isinstance(node, ast.Attribute) and _is_private_part(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if node.attr in private and node.attr not in DOCUMENTED:
                bad.append(f"line {node.lineno}: {ast.unparse(node)}")
    return bad


@pytest.mark.parametrize("path", [p for p in _sources() if p.name != "__main__.py"],
                         ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_no_private_attribute_of_textual_rich_or_websockets_is_touched(path: Path) -> None:
    module = importlib.import_module(_module_name(path))
    assert attribute_violations(path.read_text(encoding="utf-8"), vars(module)) == []


def test_the_scan_catches_internals_reached_through_self_an_override_or_an_object() -> None:
    source = """
class Lines(ScrollView):
    def grow(self, size):
        self._scroll_update(size)

    def _on_mouse_scroll_down(self, event):
        pass

def hook(app):
    app._display = print
"""
    from textual.scroll_view import ScrollView

    namespace: dict[str, object] = {"ScrollView": ScrollView}
    exec(compile(source, "<scan-check>", "exec"), namespace)
    found = attribute_violations(source, namespace)
    assert any("self._scroll_update" in line for line in found)
    assert any("overrides the private _on_mouse_scroll_down" in line for line in found)
    assert any("app._display" in line for line in found)


def test_the_scan_finds_what_it_should() -> None:
    """The scan's own check: the names it guards include the internals the console once used."""
    private = _guarded_private_names()
    assert {"_compositor", "_styles_cache", "_dirty_regions", "_display"} <= private
    from textual.scroll_view import ScrollView

    assert "_scroll_update" in set().union(*(_class_private_names(b) for b in ScrollView.__mro__
                                             if b.__module__.startswith("textual")))
    assert "voiceconsole" in sys.modules


# --- the tests themselves ---------------------------------------------------------------------

TESTS = Path(__file__).resolve().parent
SCANNERS = {"test_public_api.py", "test_benchmarks_public_api.py"}
"""These two hold samples of what the scans must catch."""
OWN_PRIVATE = re.compile(r"(?:self\.|def )(_[A-Za-z][A-Za-z0-9_]*)")


@cache
def _own_private_names() -> frozenset[str]:
    """``_names`` the project defines itself (``self._x = ...``, ``def _x``): a test may look
    at voiceconsole's or its own helpers' internals, never at a dependency's."""
    names: set[str] = set()
    for path in [*ROOT.rglob("*.py"), *TESTS.glob("*.py")]:
        names.update(OWN_PRIVATE.findall(path.read_text(encoding="utf-8")))
    return frozenset(names)


@pytest.mark.parametrize("path", sorted(p for p in TESTS.glob("*.py") if p.name not in SCANNERS),
                         ids=lambda p: p.name)
def test_tests_use_public_apis_of_dependencies_only(path: Path) -> None:
    """What a user's test could do: no private module imported, no internal of textual, rich or
    websockets read (the screen's text comes from :func:`tests.screen.screen_text`)."""
    source = path.read_text(encoding="utf-8")
    found = private_import_violations(source, "tests")
    found += [v for v in attribute_violations(source, {}) if v.split(".")[-1] not in _own_private_names()]
    assert not found, f"{path.name}: " + "; ".join(found)
