"""Layers: the core (audio, engines, session) never imports textual, the UI or the commands;
the commands live in voiceconsole/commands; the audio modules import each other one way only;
--version stays light."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import voiceconsole
from voiceconsole.cli import SUBCOMMANDS

CORE_PACKAGES = ("voiceconsole.audio", "voiceconsole.engines", "voiceconsole.session")
PACKAGE_DIR = Path(voiceconsole.__file__).resolve().parent
# What the core must never import: at module level, inside a function or under TYPE_CHECKING.
FORBIDDEN_IN_CORE = ("textual", "voiceconsole.ui", "voiceconsole.commands")


def core_modules() -> list[str]:
    names = ["voiceconsole.events", "voiceconsole.clock", "voiceconsole.config", "voiceconsole.errors"]
    for info in pkgutil.walk_packages(voiceconsole.__path__, "voiceconsole."):
        if info.name.startswith(CORE_PACKAGES):
            names.append(info.name)
    return names


def module_path(name: str) -> Path | None:
    """The source file of a voiceconsole module, or None when there is none."""
    rel = Path(*name.split(".")[1:])
    for candidate in (PACKAGE_DIR / rel.with_suffix(".py"), PACKAGE_DIR / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(name: str) -> set[str]:
    """Every module a voiceconsole module imports anywhere in its source (relative imports resolved;
    ``from package import sub`` counts as importing ``package.sub`` when that is a module)."""
    path = module_path(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub.startswith("voiceconsole.") and module_path(sub) is not None:
                    found.add(sub)
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_core_never_imports_textual() -> None:
    modules = core_modules()
    assert "voiceconsole.session.session" in modules and "voiceconsole.audio.io" in modules
    code = (
        "import sys, importlib\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual'"
        " or m.startswith(('voiceconsole.ui', 'voiceconsole.commands')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imported: {out.stdout.strip()}"


def test_core_source_never_names_the_ui_or_the_commands() -> None:
    # The run-time check above cannot see imports inside functions; this one reads every import.
    bad = {
        f"{name} imports {target}"
        for name in core_modules()
        for target in imported_names(name)
        if any(within(target, forbidden) for forbidden in FORBIDDEN_IN_CORE)
    }
    assert not bad, sorted(bad)


def test_the_scan_sees_imports_inside_functions() -> None:
    # Guard against a scan that finds nothing: known lazy imports must show up.
    assert "voiceconsole.commands.console" in imported_names("voiceconsole.cli")
    assert "voiceconsole.audio.streams" in imported_names("voiceconsole.audio.open_devices")


def test_every_subcommand_is_a_module_of_voiceconsole_commands() -> None:
    for name, (module_name, _help) in SUBCOMMANDS.items():
        assert within(module_name, "voiceconsole.commands"), f"{name}: {module_name} is outside voiceconsole/commands"
        assert callable(importlib.import_module(module_name).main), module_name


def audio_import_graph() -> dict[str, set[str]]:
    modules = [
        info.name for info in pkgutil.walk_packages(voiceconsole.__path__, "voiceconsole.")
        if within(info.name, "voiceconsole.audio") and info.name != "voiceconsole.audio"
    ]
    return {m: {t for t in imported_names(m) if t in modules and t != m} for m in modules}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as a path that returns to its start, or [] when there is none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return []


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_audio_modules_import_each_other_one_way() -> None:
    graph = audio_import_graph()
    assert "voiceconsole.audio.devices" in graph["voiceconsole.audio.streams"]
    cycle = find_cycle(graph)
    assert not cycle, "import cycle in voiceconsole/audio: " + " -> ".join(cycle)


def test_version_imports_neither_numpy_nor_textual() -> None:
    code = (
        "import sys\n"
        "from voiceconsole.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'textual') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]"), out.stdout
    assert f"voiceconsole {voiceconsole.__version__}" in out.stdout
