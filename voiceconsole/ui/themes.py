"""Theme files: TOML data validated against :data:`THEME_SCHEMA`, registered as Textual themes.

A theme file (``themes/NAME.toml``) looks like::

    name = "dark"              # letters, digits and dashes
    dark = true                # a dark or a light theme
    description = "..."        # optional

    [colors]                   # Textual's base colours; primary, background, foreground required
    primary = "#rrggbb"
    background = "#rrggbb"
    foreground = "#rrggbb"
    ...                        # secondary, accent, warning, error, success, surface, panel, boost

    [variables]                # the console's own colours (every vc-* name, see VC_VARIABLES)
    vc-mic = "#rrggbb"
    ...

Files are read from, in order (a later file of the same name wins): the repository's
``themes/`` folder, ``$VOICECONSOLE_THEMES`` (a folder, or several joined by the path
separator) and ``~/.config/voiceconsole/themes``. A file that does not validate is reported
(:attr:`ThemeSet.problems`) and skipped; the app then runs on with the next best theme. Missing
``vc-*`` variables are derived from the theme's own base colours, so a minimal theme works.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib
from rich.markup import escape as markup_escape
from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

import voiceconsole
from voiceconsole.config import home_directory
from voiceconsole.secrets import display_text

BASE_COLORS = ("primary", "secondary", "accent", "warning", "error", "success", "foreground", "background", "surface", "panel", "boost")
REQUIRED_COLORS = ("primary", "background", "foreground")

VC_VARIABLES: dict[str, str] = {
    "vc-mic": "success",
    "vc-speaker": "accent",
    "vc-vad": "success",
    "vc-muted": "warning",
    "vc-turn": "primary",
    "vc-eager": "warning",
    "vc-resume": "accent",
    "vc-end": "primary",
    "vc-reply": "secondary",
    "vc-heard": "success",
    "vc-interim": "foreground",
    "vc-interrupt": "error",
    "vc-gap": "foreground",
    "vc-meter-low": "success",
    "vc-meter-mid": "warning",
    "vc-meter-high": "error",
    "vc-clip": "error",
    "vc-signal": "secondary",
    "vc-threshold": "accent",
}
"""The console's own theme variables and the base colour each falls back to."""

THEME_SCHEMA: dict[str, Any] = {
    "name": {"type": str, "required": True, "pattern": r"^[a-z0-9][a-z0-9-]*$"},
    "dark": {"type": bool, "required": True},
    "description": {"type": str, "required": False},
    "colors": {"type": dict, "required": True, "keys": BASE_COLORS, "required_keys": REQUIRED_COLORS, "values": "color"},
    "variables": {"type": dict, "required": False, "values": "color-or-css"},
}
"""What a theme file holds: each top-level key, its type, and the rules for tables."""

FALLBACK_THEME = "dark"


class ThemeError(ValueError):
    """A theme file that does not match the schema."""


@dataclass(frozen=True)
class ThemeSpec:
    """A validated theme file."""

    name: str
    dark: bool
    colors: dict[str, str]
    variables: dict[str, str]
    description: str = ""
    path: Path | None = None

    def to_textual(self) -> Theme:
        """The Textual theme, with every ``vc-*`` variable filled in."""
        theme = Theme(name=self.name, dark=self.dark, **self.colors)
        variables = dict(self.variables)
        variables.update({k: v for k, v in derived_variables(theme).items() if k not in variables})
        theme.variables = variables
        return theme


def _is_color(value: str) -> bool:
    try:
        Color.parse(value)
    except ColorParseError:
        return False
    return True


def validate(data: Any, origin: str = "theme") -> ThemeSpec:
    """Check ``data`` (a parsed theme file) against :data:`THEME_SCHEMA`; raise :class:`ThemeError`."""
    if not isinstance(data, dict):
        raise ThemeError(f"{origin}: a theme file is a TOML table")
    unknown = sorted(set(data) - set(THEME_SCHEMA))
    if unknown:
        raise ThemeError(f"{origin}: unknown key {unknown[0]!r}; allowed: {', '.join(THEME_SCHEMA)}")
    for key, rule in THEME_SCHEMA.items():
        if key not in data:
            if rule["required"]:
                raise ThemeError(f"{origin}: missing {key!r}")
            continue
        value = data[key]
        if not isinstance(value, rule["type"]):
            raise ThemeError(f"{origin}: {key!r} must be a {rule['type'].__name__}, not {value!r}")
        if "pattern" in rule and not re.match(rule["pattern"], value):
            raise ThemeError(f"{origin}: {key} {value!r} must be lower-case letters, digits and dashes")
        if rule["type"] is dict:
            _validate_table(key, value, rule, origin)
    return ThemeSpec(
        name=data["name"],
        dark=data["dark"],
        colors=dict(data["colors"]),
        variables=dict(data.get("variables", {})),
        description=data.get("description", ""),
    )


def _validate_table(key: str, table: dict[str, Any], rule: dict[str, Any], origin: str) -> None:
    allowed = rule.get("keys")
    for name, value in table.items():
        if allowed is not None and name not in allowed:
            raise ThemeError(f"{origin}: unknown colour {key}.{name}; allowed: {', '.join(allowed)}")
        if not isinstance(value, str):
            raise ThemeError(f"{origin}: {key}.{name} must be a string, not {value!r}")
        must_be_color = rule["values"] == "color" or name.startswith("vc-")
        if must_be_color and not _is_color(value):
            raise ThemeError(f"{origin}: {key}.{name} = {value!r} is not a colour (use e.g. \"#rrggbb\")")
    for name in rule.get("required_keys", ()):
        if name not in table:
            raise ThemeError(f"{origin}: missing {key}.{name}")


def load_theme_file(path: Path) -> ThemeSpec:
    """Read and validate one theme file."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_THEME_BYTES:
            raise ThemeError(f"{path}: not a regular theme file of at most {MAX_THEME_BYTES // 1024} KiB")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ThemeError(f"{path}: nested too deeply to be a theme") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{path}: cannot read ({exc})") from None
    spec = validate(data, str(path))
    if spec.name != path.stem:
        raise ThemeError(f"{path}: name {spec.name!r} must match the file name {path.stem!r}")
    return ThemeSpec(spec.name, spec.dark, spec.colors, spec.variables, spec.description, path)


def theme_dirs() -> list[Path]:
    """Folders searched for theme files, lowest precedence first."""
    dirs = [Path(voiceconsole.__file__).resolve().parent.parent / "themes"]
    # A regular (non-editable) install ships the theme files as data files under the prefix.
    installed = Path(sys.prefix) / "share" / "voiceconsole" / "themes"
    if installed not in dirs:
        dirs.append(installed)
    env = os.environ.get("VOICECONSOLE_THEMES")
    if env:
        dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    base = os.environ.get("XDG_CONFIG_HOME") or str(home_directory() / ".config")
    dirs.append(Path(base) / "voiceconsole" / "themes")
    return dirs


@dataclass
class ThemeSet:
    """The themes found, in a stable order, and the problems met loading them."""

    themes: dict[str, ThemeSpec] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Theme names: the fallback first, then alphabetical."""
        return sorted(self.themes, key=lambda n: (n != FALLBACK_THEME, n))

    def textual_themes(self) -> list[Theme]:
        """Every theme as a Textual theme, plus a built-in fallback when no file loaded."""
        themes = [self.themes[n].to_textual() for n in self.names]
        if not themes:
            themes.append(builtin_fallback())
        return themes

    def resolve(self, wanted: str | None) -> str:
        """The theme to use for ``wanted``: itself if it loaded, else the best fallback."""
        if wanted and wanted in self.themes:
            return wanted
        if FALLBACK_THEME in self.themes:
            return FALLBACK_THEME
        return self.names[0] if self.names else builtin_fallback().name


MAX_PROBLEMS_SHOWN = 3
"""Broken theme files reported one by one; the rest are counted in one line."""
MAX_THEME_BYTES = 256 * 1024


def _shown(problem: str) -> str:
    # The notice is drawn as markup: a value like "[/]" in it must print, not close a tag.
    return markup_escape(display_text(problem, 240))


def load_themes(dirs: list[Path] | None = None) -> ThemeSet:
    """Every valid theme file in ``dirs`` (default :func:`theme_dirs`); bad ones in ``problems``
    (safe to show as markup: escaped, capped, at most :data:`MAX_PROBLEMS_SHOWN` and a count)."""
    result = ThemeSet()
    broken: list[str] = []
    for folder in dirs if dirs is not None else theme_dirs():
        try:
            if not folder.is_dir():
                continue
            paths = sorted(folder.glob("*.toml"))
        except OSError as exc:
            broken.append(f"{folder}: cannot list themes ({exc.strerror or exc})")
            continue
        for path in paths:
            try:
                spec = load_theme_file(path)
            except ThemeError as exc:
                broken.append(str(exc))
                continue
            result.themes[spec.name] = spec
    result.problems = [_shown(p) for p in broken[:MAX_PROBLEMS_SHOWN]]
    if len(broken) > MAX_PROBLEMS_SHOWN:
        result.problems.append(f"... and {len(broken) - MAX_PROBLEMS_SHOWN} more broken theme files (skipped)")
    return result


def derived_variables(theme: Theme) -> dict[str, str]:
    """``vc-*`` variables from the theme's own base colours (used where a file sets none)."""
    system = theme.to_color_system().generate()
    return {name: system[base] for name, base in VC_VARIABLES.items()}


def builtin_fallback() -> Theme:
    """Textual's own dark theme with the console's variables derived from it."""
    base = BUILTIN_THEMES["textual-dark"]
    theme = Theme(
        name="voiceconsole-fallback",
        primary=base.primary,
        secondary=base.secondary,
        accent=base.accent,
        warning=base.warning,
        error=base.error,
        success=base.success,
        foreground=base.foreground,
        background=base.background,
        surface=base.surface,
        panel=base.panel,
        dark=True,
    )
    theme.variables = derived_variables(theme)
    return theme


__all__ = [
    "FALLBACK_THEME",
    "THEME_SCHEMA",
    "VC_VARIABLES",
    "ThemeError",
    "ThemeSet",
    "ThemeSpec",
    "builtin_fallback",
    "derived_variables",
    "load_theme_file",
    "load_themes",
    "theme_dirs",
    "validate",
]
