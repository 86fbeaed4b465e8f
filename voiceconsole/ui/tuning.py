"""The live tuning panel (key ``c``): edit the turn settings of the STT engine in use.

Which fields it shows depends on the engine named in ``session.start``:

* ``cartesia-turns`` (Ink-2): ``turn_start_threshold``, ``turn_eager_end_threshold``,
  ``turn_end_threshold``, ``turn_end_timeout_ms`` (sent as Ink-2's ``config`` message);
* every other engine (``local``, ``cartesia-whisper``, which ends turns with the same local VAD
  rule): start ms, eager ms, end ms and the VAD threshold, plus the Smart Turn threshold when
  Smart Turn is the turn detector (``--turn-detector smart-turn``).

A value that does not parse or that :meth:`TurnSettings.validate` refuses is shown in the panel
with the reason and nothing is sent. Apply (enter in a field, or the button) calls
``controller.update_turn_settings``: the session emits ``turn.config`` and the engine uses the
new settings from the next audio block. Presets (:data:`PRESETS`) fill the fields and apply them;
save and load write and read the same keys as the config file's long option names
(``end-ms = 400``), keeping the file's other keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from voiceconsole.engines.base import TurnSettings
from voiceconsole.errors import ConfigError
from voiceconsole.session.controller import Controller
from voiceconsole.ui.tuning_fields import (
    INK2_ENGINE,
    INK2_FIELDS,
    LOCAL_FIELDS,
    PRESETS,
    SMART_TURN_FIELDS,
    Preset,
    TuningField,
    config_path_for,
    fields_for,
    load_tuning,
    parse_fields,
    save_tuning,
    settings_from_dict,
)


class TuningScreen(ModalScreen[None]):
    """The tuning panel. ``controller`` None (a replay): values can be saved but not applied."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "close"),
        Binding("ctrl+s", "save", "save"),
        Binding("ctrl+l", "load", "load"),
    ]

    def __init__(
        self,
        stt: str,
        current: TurnSettings,
        controller: Controller | None,
        config_path: Path,
    ) -> None:
        super().__init__()
        self.stt = stt
        self.tuning = current
        """The settings last applied (or shown at open)."""
        self.controller = controller
        self.config_path = config_path
        self.fields = fields_for(stt, current)

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        family = (
            "Ink-2 thresholds (sent as a config message)"
            if self.fields is INK2_FIELDS
            else "VAD turn rule"
        )
        if SMART_TURN_FIELDS[0] in self.fields:
            family += " + Smart Turn"
        with Vertical(id="tuning-box"):
            yield Static(
                f"engine [b]{self.stt or '?'}[/b] · {family}", id="tuning-engine"
            )
            for spec in self.fields:
                with Horizontal(classes="tuning-row"):
                    yield Label(spec.label, classes="tuning-label")
                    yield Input(
                        self._text(spec),
                        type="integer" if spec.kind is int else "number",
                        id=f"tune-{spec.setting}",
                        classes="tuning-input",
                        compact=True,
                    )
                    yield Label(spec.hint, classes="tuning-hint")
            yield Static("", id="tuning-message")
            with Horizontal(classes="tuning-buttons"):
                yield Label("presets", classes="tuning-label")
                for name in PRESETS:
                    yield Button(name, id=f"preset-{name}", compact=True)
            with Horizontal(classes="tuning-buttons"):
                yield Button("apply", id="tune-apply", variant="primary", compact=True)
                yield Button("save", id="tune-save", compact=True)
                yield Button("load", id="tune-load", compact=True)
                yield Button("close", id="tune-close", compact=True)
            yield Static(
                f"[dim]enter applies · ctrl+s saves · ctrl+l loads · esc closes\nconfig: {self.config_path}[/]",
                id="tuning-help",
            )

    def on_mount(self) -> None:
        self.query_one("#tuning-box").border_title = "tune turn detection"
        self._say_idle()
        self.query_one(f"#tune-{self.fields[0].setting}", Input).focus()

    def _say_idle(self) -> None:
        if self.controller is None:
            self._say(
                "tuning needs a live session (this is a replay); save still writes the config file",
                error=True,
            )
        else:
            self._say(
                "edit a value and press enter; it applies from the next audio block"
            )

    def _text(self, spec: TuningField) -> str:
        return str(getattr(self.tuning, spec.setting))

    def _input(self, spec: TuningField) -> Input:
        return self.query_one(f"#tune-{spec.setting}", Input)

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#tuning-message", Static)
        message.update(Content(text))
        message.set_class(error, "-error")

    # --- reading and applying -------------------------------------------------------------------

    def typed(self) -> TurnSettings:
        """The settings the fields describe; raises ``ValueError`` with the reason."""
        texts = {spec.setting: self._input(spec).value for spec in self.fields}
        return parse_fields(self.tuning, texts, self.fields)

    def _fill(self, settings: TurnSettings) -> None:
        for spec in self.fields:
            self._input(spec).value = str(getattr(settings, spec.setting))

    def apply(self, settings: TurnSettings | None = None, what: str = "") -> bool:
        """Send the typed settings (or ``settings``) to the session; False (and the reason in the
        panel) if they are refused or there is no live session."""
        try:
            new = settings if settings is not None else self.typed()
        except ValueError as exc:
            self._say(f"not sent: {exc}", error=True)
            return False
        if self.controller is None:
            self._say(
                "tuning needs a live session (this is a replay): nothing was sent",
                error=True,
            )
            return False
        try:
            self.controller.update_turn_settings(new)
        except ValueError as exc:
            self._say(f"not sent: {exc}", error=True)
            return False
        self.tuning = new
        shown = ", ".join(
            f"{spec.label} {getattr(new, spec.setting)}" for spec in self.fields
        )
        self._say(f"applied{what}: {shown}")
        return True

    @on(Input.Changed, ".tuning-input")
    def _changed(self) -> None:
        try:
            typed = self.typed()
        except ValueError as exc:
            self._say(f"invalid: {exc}", error=True)
            return
        if typed != self.tuning:
            self._say("changed: enter applies")
        elif self.query_one("#tuning-message").has_class("-error"):
            self._say_idle()
        # else: the fields were filled by a preset or a load, whose message stays

    @on(Input.Submitted, ".tuning-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button.id or ""
        if button.startswith("preset-"):
            self.action_preset(button.removeprefix("preset-"))
        elif button == "tune-apply":
            self.apply()
        elif button == "tune-save":
            self.action_save()
        elif button == "tune-load":
            self.action_load()
        elif button == "tune-close":
            self.action_close()

    # --- actions --------------------------------------------------------------------------------

    def action_preset(self, name: str) -> None:
        """Fill the fields with a preset and apply it."""
        new = PRESETS[name].apply(self.tuning)
        self._fill(new)
        self.apply(new, f" preset {name}")

    def action_save(self) -> None:
        """Write the typed values to the config file (refused with the reason if invalid)."""
        try:
            new = self.typed()
            save_tuning(self.config_path, new, self.fields)
        except (ValueError, ConfigError) as exc:
            self._say(f"not saved: {exc}", error=True)
            return
        self._say(f"saved to {self.config_path}")

    def action_load(self) -> None:
        """Read the turn settings from the config file into the fields and apply them."""
        try:
            new = load_tuning(self.config_path, self.tuning)
        except ConfigError as exc:
            self._say(f"not loaded: {exc}", error=True)
            return
        self._fill(new)
        self.apply(new, f" from {self.config_path.name}")

    def action_close(self) -> None:
        """Close the panel."""
        self.dismiss(None)


__all__ = [
    "INK2_ENGINE",
    "INK2_FIELDS",
    "LOCAL_FIELDS",
    "PRESETS",
    "SMART_TURN_FIELDS",
    "Preset",
    "TuningField",
    "TuningScreen",
    "config_path_for",
    "fields_for",
    "load_tuning",
    "parse_fields",
    "save_tuning",
    "settings_from_dict",
]
