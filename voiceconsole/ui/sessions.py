"""The console for ``tap`` and ``serve``: each agent connection is a session, a picker switches.

:class:`WatchConsoleApp` is the console on a :class:`~voiceconsole.serve.controller.WatchController`:
it shows the selected connection (the first one opened, until the user picks another with
``v``, or ``n`` for the next one) and replays that session's history when switching.
:class:`SessionPicker` lists every connection with its endpoint, mode and state.
"""

from __future__ import annotations

import argparse
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from voiceconsole.errors import ConfigError
from voiceconsole.events import Event
from voiceconsole.serve.controller import WatchController
from voiceconsole.serve.runner import WatchRun
from voiceconsole.serve.watch import WatchSession
from voiceconsole.ui.app import ConsoleSettings, VoiceConsoleApp
from voiceconsole.ui.themes import ThemeSet, load_themes


def session_line(session: WatchSession, selected: bool) -> str:
    """One picker line: number, endpoint, mode, state, turns or replies so far."""
    turns = sum(1 for e in session.history if e.TYPE == "turn.end")
    replies = sum(1 for e in session.history if e.TYPE == "tts.queued")
    count = (
        _plural(replies, "reply", "replies")
        if session.request.kind == "tts"
        else _plural(turns, "turn", "turns")
    )
    state = (
        "open"
        if session.running
        else f"closed {session.close_code}"
        if session.close_code
        else "closed"
    )
    mark = "▶" if selected else " "
    return f"{mark} #{session.number:<3} {session.request.path:<22} {session.mode:<5} {state:<12} {count}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class SessionPicker(ModalScreen[int | None]):
    """Every watched connection; enter shows one, escape keeps the current one."""

    DEFAULT_CSS = """
    SessionPicker { align: center middle; }
    #sessions-box { width: 78; height: auto; max-height: 80%; border: round $primary; background: $surface; padding: 0 1; }
    #sessions-list { height: auto; max-height: 20; border: none; background: $surface; padding: 0; }
    #sessions-help { color: $text-muted; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape,v,q", "close", "close")
    ]

    def __init__(
        self, sessions: list[WatchSession], selected: WatchSession | None, url: str
    ) -> None:
        super().__init__()
        self.sessions = sessions
        self.selected = selected
        self.url = url

    def compose(self) -> ComposeResult:
        options = [
            Option(session_line(s, s is self.selected), id=str(s.number))
            for s in self.sessions
        ]
        with Vertical(id="sessions-box"):
            yield OptionList(*options, id="sessions-list")
            hint = (
                "no agent has connected yet"
                if not options
                else "enter shows a session, escape closes"
            )
            yield Static(f"agents connect to {self.url}: {hint}", id="sessions-help")

    def on_mount(self) -> None:
        self.query_one(
            "#sessions-box"
        ).border_title = f"sessions ({len(self.sessions)})"
        listing = self.query_one(OptionList)
        if self.selected is not None and self.selected in self.sessions:
            listing.highlighted = self.sessions.index(self.selected)
        listing.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Show the chosen session."""
        self.dismiss(int(event.option.id or 0) or None)

    def action_close(self) -> None:
        """Keep the current session."""
        self.dismiss(None)


class WatchConsoleApp(VoiceConsoleApp):
    """The console on the connections of ``tap`` or ``serve``."""

    HELP_TITLE = "Watching agents"
    HELP_KEYS = (
        ("v", "session picker: every connection, enter shows one"),
        ("n", "next session"),
    )

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("v", "sessions", "sessions"),
        Binding("n", "next_session", "next session"),
    ]

    def __init__(
        self,
        controller: WatchController,
        *,
        settings: ConsoleSettings | None = None,
        themes: ThemeSet | None = None,
    ) -> None:
        selected = controller.selected
        super().__init__(
            controller,
            settings=settings,
            clock=controller.clock,
            events=list(selected.history) if selected is not None else (),
            themes=themes,
        )
        self.watched = controller
        controller.on_switch.append(self._switched)
        controller.on_open.append(self._opened)

    def on_mount(self) -> None:
        # Textual also calls VoiceConsoleApp.on_mount (handlers run along the class's MRO),
        # which names the panels: the session's name goes on after it.
        self.call_later(self._show_title)

    def _show_title(self) -> None:
        session = self.watched.selected
        mode = self.watched.hub.mode
        where = (
            f"#{session.number} {session.request.path}"
            if session is not None
            else "waiting for an agent"
        )
        self.transcript.border_title = f"transcript · {mode} {where}"

    def _switched(self, session: WatchSession, history: list[Event]) -> None:
        if not self.is_running:
            return
        self.reset(history)
        self._show_title()

    def _opened(self, session: WatchSession) -> None:
        if self.is_running and session is not self.watched.selected:
            self.notify(
                f"#{session.number} {session.request.path} connected: v lists the sessions",
                timeout=4,
            )

    def action_sessions(self) -> None:
        """List the sessions; enter shows one."""
        if isinstance(self.screen, SessionPicker):
            return

        def chosen(number: int | None) -> None:
            if number is not None:
                self.watched.select(number)

        self.push_screen(
            SessionPicker(
                list(self.watched.hub.sessions), self.watched.selected, self.watched.url
            ),
            chosen,
        )

    def action_next_session(self) -> None:
        """Show the next session (wrapping around)."""
        sessions = self.watched.hub.sessions
        if not sessions:
            return
        current = self.watched.selected
        index = sessions.index(current) if current in sessions else -1
        self.watched.select(sessions[(index + 1) % len(sessions)].number)


class _Settings:
    """What the console reads of the options."""

    def __init__(self, theme: str | None, record: str | None) -> None:
        self.theme = theme
        self.record = record


def run_watch_console(run: WatchRun, args: argparse.Namespace) -> int:
    """Run the console on ``tap``/``serve``; returns the exit code."""
    if args.events == "-":
        raise ConfigError(
            "--events - writes to the terminal the console draws on; give a file path or add --no-ui"
        )
    themes = load_themes()
    if args.theme and args.theme not in themes.themes and themes.themes:
        raise ConfigError(
            f"unknown theme {args.theme!r}; choose one of {', '.join(themes.names)}"
        )
    app = WatchConsoleApp(
        WatchController(run), settings=_Settings(args.theme, args.record), themes=themes
    )
    result = app.run()
    return int(result if result is not None else app.exit_code)
