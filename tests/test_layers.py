"""The core (audio, engines, session) never imports textual; --version stays light."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import voiceconsole

CORE_PACKAGES = ("voiceconsole.audio", "voiceconsole.engines", "voiceconsole.session")


def core_modules() -> list[str]:
    names = ["voiceconsole.events", "voiceconsole.clock", "voiceconsole.config", "voiceconsole.errors"]
    for info in pkgutil.walk_packages(voiceconsole.__path__, "voiceconsole."):
        if info.name.startswith(CORE_PACKAGES):
            names.append(info.name)
    return names


def test_core_never_imports_textual() -> None:
    modules = core_modules()
    assert "voiceconsole.session.session" in modules and "voiceconsole.audio.io" in modules
    code = (
        "import sys, importlib\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imported textual: {out.stdout.strip()}"


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
