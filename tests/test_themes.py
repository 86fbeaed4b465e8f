"""Theme files: schema validation, fallbacks, and stylesheets that use theme variables only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.themes import (
    VC_VARIABLES,
    ThemeError,
    builtin_fallback,
    load_themes,
    theme_dirs,
    validate,
)

ROOT = Path(__file__).resolve().parent.parent
THEMES_DIR = ROOT / "themes"
HEX = re.compile(r"#[0-9a-fA-F]{3,8}\b")

MINIMAL = {"name": "mini", "dark": True, "colors": {"primary": "#336699", "background": "#000000", "foreground": "#ffffff"}}


def test_repo_themes_validate_and_define_every_console_variable() -> None:
    themes = load_themes([THEMES_DIR])
    assert themes.problems == []
    assert len(themes.names) >= 4 and themes.names[0] == "dark"
    for name in themes.names:
        spec = themes.themes[name]
        assert set(VC_VARIABLES) <= set(spec.variables), name
        theme = spec.to_textual()
        assert theme.name == name and set(VC_VARIABLES) <= set(theme.variables)


def test_missing_console_variables_are_derived_from_the_base_colours() -> None:
    theme = validate(MINIMAL).to_textual()
    assert set(VC_VARIABLES) <= set(theme.variables)
    assert builtin_fallback().variables.keys() >= VC_VARIABLES.keys()


@pytest.mark.parametrize(
    "change,message",
    [
        ({"dark": "yes"}, "'dark' must be a bool"),
        ({"name": "Bad Name"}, "lower-case letters"),
        ({"colors": {"primary": "#123456", "background": "#000000"}}, "missing colors.foreground"),
        ({"colors": {**MINIMAL["colors"], "primary": "blurple"}}, "is not a colour"),
        ({"colors": {**MINIMAL["colors"], "glow": "#ffffff"}}, "unknown colour colors.glow"),
        ({"variables": {"vc-mic": "nope"}}, "variables.vc-mic = 'nope' is not a colour"),
        ({"extra": 1}, "unknown key 'extra'"),
    ],
)
def test_schema_violations_are_explained(change: dict, message: str) -> None:
    with pytest.raises(ThemeError, match=re.escape(message)):
        validate({**MINIMAL, **change}, "t.toml")


def test_broken_and_misnamed_files_are_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('name = "broken"\ndark = true\n[colors\n', encoding="utf-8")
    (tmp_path / "other.toml").write_text(
        'name = "not-other"\ndark = true\n[colors]\nprimary = "#111111"\nbackground = "#000000"\nforeground = "#eeeeee"\n',
        encoding="utf-8",
    )
    themes = load_themes([THEMES_DIR, tmp_path])
    assert len(themes.problems) == 2
    assert "not valid TOML" in themes.problems[0] and "must match the file name" in themes.problems[1]
    assert themes.resolve("broken") == "dark"


def test_user_folder_overrides_a_repo_theme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "light.toml").write_text(
        'name = "light"\ndark = false\n[colors]\nprimary = "#aa0000"\nbackground = "#ffffff"\nforeground = "#000000"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("VOICECONSOLE_THEMES", str(tmp_path))
    assert tmp_path in theme_dirs()
    themes = load_themes()
    assert themes.themes["light"].colors["primary"] == "#aa0000"


async def test_app_reports_a_broken_theme_once_and_runs_on_the_fallback(tmp_path: Path) -> None:
    (tmp_path / "neon.toml").write_text('name = "neon"\ndark = 3\n', encoding="utf-8")
    themes = load_themes([THEMES_DIR, tmp_path])
    settings = type("S", (), {"theme": "neon", "record": None})()
    app = VoiceConsoleApp(None, settings=settings, themes=themes)
    notices: list[str] = []
    show = app.notify

    def noticed(message: str, **kwargs) -> None:
        notices.append(message)
        show(message, **kwargs)

    app.notify = noticed  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "dark"
        assert len(notices) == 1 and "neon.toml" in notices[0]
        await pilot.press("t")
        await pilot.pause()
        assert app.theme != "dark"


def test_no_colour_literals_in_stylesheets_or_ui_code() -> None:
    ui = ROOT / "voiceconsole" / "ui"
    offenders = []
    for path in sorted(ui.glob("*.tcss")) + sorted(ui.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HEX.search(line) and "#rrggbb" not in line:
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []
    css = (ui / "app.tcss").read_text(encoding="utf-8")
    assert re.search(r"\brgb\(|\bhsl\(", css) is None
    for name in VC_VARIABLES:
        assert f"${name}" in css, f"{name} is never used"
