"""The help screen: every key and the timeline's legend."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from voiceconsole.ui.lanes import LANES

KEYS: tuple[tuple[str, str], ...] = (
    ("i", "interrupt: silence the reply now and cancel the queue (barge-in)"),
    ("m", "mute / unmute the mic (a muted mic streams silence)"),
    ("s", "type a line for the bot to say (enter speaks, escape cancels)"),
    ("b", "automatic barge-in on / off (interrupt when you start talking)"),
    ("a", "raw mic level on / off in the mic lane (before echo cancellation)"),
    ("p", "pause the timeline / follow live again"),
    ("+  -", "zoom the timeline in / out (ms per column)"),
    ("←  →", "scroll the timeline back / forward (pauses it)"),
    ("home  end", "start of the session / back to live"),
    ("t", "next theme"),
    ("w", "latency waterfall: where each turn's time went, p50 / p95 (escape closes)"),
    ("c", "tune turn detection live (presets, save / load the config file)"),
    ("esc", "hide the error banner"),
    ("?  f1", "this help"),
    ("q", "quit (stops the session, closes the engines)"),
)


def help_markup() -> str:
    """The help text in Textual markup (theme variables only)."""
    lines = ["[b $primary]Keys[/]", ""]
    lines += [f"  [b $accent]{key:<10}[/] {what}" for key, what in KEYS]
    lines += ["", "[b $primary]Turn timeline[/] (audio time runs left to right)", ""]
    lines += [f"  [b $accent]{lane.label:<10}[/] {lane.help}" for lane in LANES if lane.help]
    lines += [
        "",
        "[b $primary]Turn metrics[/] (ms; last turn, p50 and p95 of the session)",
        "",
        "  [b $accent]stop→eager[/] VAD speech stop → turn.eager_end that stood",
        "  [b $accent]stop→end  [/] VAD speech stop → turn.end (end-of-turn delay)",
        "  [b $accent]eager→end [/] head start an agent gets by answering on eager end",
        "  [b $accent]end→queued[/] turn.end → reply text ready (responder)",
        "  [b $accent]end→audio [/] turn.end → first reply sample played (response latency)",
        "  [b $accent]TTS TTFA  [/] TTS request → first audio",
        "  [b $accent]barge-in  [/] interrupt → speaker silent",
        "",
        "[dim]escape, q or ? closes this screen[/]",
    ]
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    """Keys and legend; any of escape, q, ? closes it. A console with keys of its own (a replay,
    the watch console) lists them on top under ``title``."""

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "close"),
    ]

    def __init__(self, title: str = "", keys: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__()
        self.own_title = title
        self.own_keys = keys

    def compose(self) -> ComposeResult:
        lines = []
        if self.own_keys:
            lines = [f"[b $primary]{self.own_title}[/]", ""]
            lines += [f"  [b $accent]{key:<10}[/] {what}" for key, what in self.own_keys]
            lines += ["", ""]
        with VerticalScroll(id="help-box"):
            yield Static("\n".join(lines) + help_markup(), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "voiceconsole help"

    def action_close(self) -> None:
        self.dismiss(None)
