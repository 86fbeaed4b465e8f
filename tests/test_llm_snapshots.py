"""The LLM lane and the LLM metrics on a scripted LLM conversation (tests/test_llm_metrics.py's
scene) on a virtual clock: lane cells, and snapshots at a fixed size.

The SVGs are made once by the lead with ``--snapshot-update``."""

from __future__ import annotations

from pathlib import Path

from rich.style import Style

from tests.scenes import Scene, ScriptedController
from tests.test_llm_metrics import llm_scene
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.cells import CellRow
from voiceconsole.ui.lanes import LlmLane, Window
from voiceconsole.ui.model import ConsoleModel
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])
WIDE = (160, 48)


def up_to(scene: Scene, now: float) -> Scene:
    """The scene as it stood at ``now``."""
    return Scene(scene.name, [e for e in scene.events if e.t <= now], now)


def llm_app(now: float) -> VoiceConsoleApp:
    scene = up_to(llm_scene(), now)
    clock = scene.clock()
    return VoiceConsoleApp(
        ScriptedController(clock, scene.events),
        clock=clock,
        events=scene.events,
        themes=THEMES,
    )


async def settle(pilot) -> None:
    await pilot.pause()
    pilot.app.flush()
    await pilot.pause()


def lane_cells(
    model: ConsoleModel, zoom_ms: int = 50, width: int = 300
) -> tuple[str, list[str]]:
    styles: dict[str, Style] = {}

    def style(name: str) -> Style:
        return styles.setdefault(name, Style(meta={"name": name}))

    now = model.now_audio_t
    win = Window(0, width, zoom_ms, int(now * 1000 // zoom_ms), now)
    cells = CellRow(width, Style())
    LlmLane().draw(cells, win, model, style)
    return "".join(cells.chars), [
        s.meta.get("name", "") if s.meta else "" for s in cells.styles
    ]


def test_the_llm_lane_draws_guesses_apart_and_marks_the_wasted_ones() -> None:
    model = ConsoleModel.from_events(llm_scene().events)
    chars, names = lane_cells(model)

    def col(t: float) -> int:
        return int(t / 0.05)

    # Request 1: a guess at the eager end (?), its first token, kept on turn.end (✓).
    assert chars[col(2.69)] == "?" and names[col(2.69)] == "eager"
    assert chars[col(3.29)] == "✓"
    # Requests 2 and 3: guesses thrown away (resume, then a changed transcript), marked ✗.
    assert chars[col(6.75)] == "✗" and names[col(6.75)] == "interrupt"
    assert (
        chars[col(9.93)] == "✗" and chars[col(9.93) + 1] == "4"
    )  # the answer asked then
    assert (
        names[col(6.6)] == "interrupt" and chars[col(6.6)] == "┄"
    )  # a wasted guess's line
    # Request 4: asked on turn.end, drawn solid in the reply colour.
    assert names[col(10.4)] == "reply" and chars[col(10.4)] == "─"
    # Request 5: committed before its first token: the dashed guess runs on to its first token.
    assert chars[col(13.17)] == "?" and chars[col(13.77)] == "✓"


def test_a_streamed_reply_gets_its_text_in_the_queue_when_done() -> None:
    from tests.scenes import SceneBuilder
    from voiceconsole.events import LlmDone, LlmFirstToken, LlmRequest, TtsQueued

    b = SceneBuilder().start()
    b.turn(1, 0.5, [(0.8, "hello")], end=1.0)
    b.add(LlmRequest, 1.0, request=1, turn=1, speculative=False, messages=2, model="m")
    b.add(LlmFirstToken, 1.3, request=1, turn=1, latency_s=0.3)
    b.add(TtsQueued, 1.3, reply=1, text="", origin="responder", turn=1)
    model = ConsoleModel.from_events(b.events)
    assert model.replies[1].text == ""
    model.apply(
        LlmDone(
            t=1.6, audio_t=1.6, request=1, turn=1, tokens=3, text="Hi there, friend."
        )
    )
    assert model.replies[1].text == "Hi there, friend."


def test_llm_lane_with_a_wasted_speculation(snap_compare) -> None:
    """Turn 2: a guess wasted on a resume, another on a changed transcript, then the answer."""
    assert snap_compare(llm_app(11.2), terminal_size=WIDE, run_before=settle)


def test_metrics_with_hit_rate(snap_compare) -> None:
    """The metrics table with the LLM rows: TTFT, ms saved, hits 2/4 and the waste."""
    assert snap_compare(llm_app(14.6), terminal_size=WIDE, run_before=settle)
