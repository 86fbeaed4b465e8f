"""The status line (engines, devices, clock, mic, recording, barge-in, timeline state) and the
error banner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from voiceconsole.ui.entries import ErrorInfo
from voiceconsole.ui.model import ConsoleModel

"""From this many columns on, the right part of the status line gets more room."""
DEFAULT_HINTS = {
    "stt": "check --stt and its settings; the offline engine (--stt local) needs no network or key",
    "tts": "check --tts and its settings; replies still show here; try --tts local",
    "responder": "check --responder (echo, or script:FILE with one reply per line)",
    "audio": "check the device (voiceconsole --list-devices) or use --mic FILE.wav / --speaker null",
}
ENGINE_STATES = ("connecting", "connected", "reconnecting", "closed", "failed")


class StatusBar(Widget):
    """One line: engines and devices on the left; clock, mic, recording, barge-in and the
    timeline's state on the right. The console sets the reactives; :meth:`show` takes the
    engines and devices from the model."""

    DEFAULT_CSS = """
    StatusBar { height: 1; }
    """
    COMPONENT_CLASSES = {
        "status--label",
        "status--value",
        "status--connecting",
        "status--connected",
        "status--reconnecting",
        "status--closed",
        "status--failed",
        "status--on",
        "status--off",
        "status--alert",
        "status--clock",
    }

    muted: reactive[bool] = reactive(False)
    recording: reactive[bool] = reactive(False)
    barge_in: reactive[bool | None] = reactive(None)
    follow: reactive[bool] = reactive(True)
    zoom_ms: reactive[int] = reactive(50)
    stopping: reactive[bool] = reactive(False)
    clock_text: reactive[str] = reactive("00:00")

    def __init__(self, model: ConsoleModel, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.clock = clock
        self._shown_version = -1

    def on_mount(self) -> None:
        # The clock shows whole seconds; the console's frames stop at rest, so it keeps its own.
        self.set_interval(1.0, self.tick_clock)
        self.tick_clock()

    def tick_clock(self) -> None:
        """Show the session clock (whole seconds)."""
        minutes, seconds = divmod(int(max(0.0, self.clock())), 60)
        self.clock_text = f"{minutes:02d}:{seconds:02d}"

    def show(self, model: ConsoleModel) -> None:
        """Show ``model``'s engines, devices and stop state if they changed."""
        if model is not self.model or model.versions.status != self._shown_version:
            self.model = model
            self._shown_version = model.versions.status
            self.refresh()

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"status--{name}")

    def render(self) -> Text:
        width = self.size.width
        right = self._right()
        right.truncate(max(0, width - 2), overflow="ellipsis")
        left = self._left()
        # The left part gets what the right leaves, less a space on each side of it.
        left.truncate(max(0, width - right.cell_len - 2), overflow="ellipsis", pad=True)
        return Text.assemble(" ", left, " ", right, no_wrap=True, overflow="ellipsis")

    def _left(self) -> Text:
        style = self._style
        text = Text()
        for role in ("stt", "tts"):
            info = self.model.engines.get(role)
            if info is None:
                continue
            text.append(f"{role} ", style("label"))
            text.append(f"{info.engine} ", style("value"))
            state = info.state if info.state in ENGINE_STATES else "connecting"
            text.append(f"● {info.state}", style(state))
            text.append("  ")
        text.append_text(self._devices())
        return text

    def _devices(self) -> Text:
        style = self._style
        text = Text()
        session = self.model.session
        if session is None:
            return text
        settings = session.settings
        mic = self.model.devices.get("input")
        spk = self.model.devices.get("output")
        mic_name = mic.device if mic is not None else settings.get("source_description", session.source)
        mic_rate = mic.sample_rate if mic is not None else settings.get("source_rate", session.sample_rate)
        spk_name = spk.device if spk is not None else settings.get("sink_description", session.sink)
        spk_rate = spk.sample_rate if spk is not None else settings.get("sink_rate", 0)
        text.append(" mic ", style("label"))
        text.append(f"{_short(str(mic_name))} {_khz(mic_rate)}".rstrip(), style("value"))
        if mic is not None and mic.state != "open":
            text.append(f" {mic.state}", style("failed"))
        text.append(" → stt ", style("label"))
        text.append(_khz(session.sample_rate), style("value"))
        text.append("  speaker ", style("label"))
        text.append(f"{_short(str(spk_name))} {_khz(spk_rate)}".rstrip(), style("value"))
        if spk is not None and spk.state != "open":
            text.append(f" {spk.state}", style("failed"))
        return text

    def _right(self) -> Text:
        style = self._style
        text = Text()
        text.append(self.clock_text, style("clock"))
        text.append(" │ mic ", style("label"))
        text.append("muted" if self.muted else "live", style("alert" if self.muted else "on"))
        text.append(" │ ", style("label"))
        text.append("● rec" if self.recording else "rec off", style("alert" if self.recording else "off"))
        aec = self.model.aec
        if aec is not None:
            text.append(" │ aec ", style("label"))
            text.append(aec.state, style({"on": "on", "off": "off"}.get(aec.state, "alert")))
        text.append(" │ barge-in ", style("label"))
        text.append("auto" if self.barge_in else "off", style("on" if self.barge_in else "off"))
        text.append(" │ ", style("label"))
        text.append("live" if self.follow else "paused", style("on" if self.follow else "alert"))
        text.append(f" {self.zoom_ms}ms", style("label"))
        if self.stopping:
            text.append(" │ stopping…", style("alert"))
        elif self.model.stopped is not None:
            text.append(f" │ stopped: {self.model.stopped.reason}", style("alert"))
        return text


class ErrorBanner(Static):
    """The latest engine error and what to do about it; hidden when there is none to show."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._model: ConsoleModel | None = None
        self._shown_version = -1  # the model's errors version shown
        self._dismissed = 0  # errors of the model hidden with esc

    def show(self, model: ConsoleModel) -> None:
        """Show the newest error of ``model`` not dismissed, if its errors changed."""
        if model is self._model and model.versions.errors == self._shown_version:
            return
        if model is not self._model:  # another session (a replay seeking back): nothing dismissed
            self._model, self._dismissed = model, 0
        self._shown_version = model.versions.errors
        self._draw(model.errors[self._dismissed :])

    def dismiss(self) -> None:
        """Hide the errors shown so far (a new one shows again)."""
        if self._model is not None:
            self._dismissed = len(self._model.errors)
        self._draw([])

    def _draw(self, errors: list[ErrorInfo]) -> None:
        if not errors:
            self.remove_class("-visible")
            return
        error = errors[-1]
        who = f"{error.role.upper()} engine {error.engine}" if error.engine else error.role
        hint = error.hint or DEFAULT_HINTS.get(error.role, "see the message above; restart the session when fixed")
        more = f"  (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        state = "failed" if error.fatal else "error"
        self.update(
            Text.assemble(
                (f"✖ {who} {state}: ", "bold"), error.message, more, "\n",
                ("What to do: ", "bold"), hint, "   (esc hides this)",
            )
        )
        self.add_class("-visible")


def _khz(rate: Any) -> str:
    try:
        value = int(rate)
    except (TypeError, ValueError):
        return ""
    return f"{value / 1000:g} kHz" if value > 0 else ""


def _short(name: str, limit: int = 28) -> str:
    """A device or file name without its folder and its parenthesised details."""
    name = name.split(" (", 1)[0].rsplit("/", 1)[-1]
    return name if len(name) <= limit else name[: limit - 1] + "…"


__all__ = ["DEFAULT_HINTS", "ErrorBanner", "StatusBar"]
