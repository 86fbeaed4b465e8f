"""Regenerate screenshots/*.svg from deterministic scripted sessions (tests/scenes.py).

    python scripts/make_screenshots.py            # all of them
    python scripts/make_screenshots.py --list     # what would be written

One screenshot per theme (the three-turn conversation) and one per key UI state, including the
replay console (``voiceconsole replay``) paused on the conversation. Every run gives the same
files: scripted events, a virtual clock, no cursor blink, no wall-clock time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the scenes live in tests/, which is not installed

from tests.scenes import SCENES, ScriptedController  # noqa: E402
from tests.test_llm_metrics import llm_scene  # noqa: E402
from voiceconsole.session.recording import Recording  # noqa: E402
from voiceconsole.ui.app import VoiceConsoleApp  # noqa: E402
from voiceconsole.ui.replay import ReplayConsoleApp  # noqa: E402
from voiceconsole.ui.themes import load_themes  # noqa: E402

OUT = ROOT / "screenshots"
WIDE = (160, 48)


@dataclass(frozen=True)
class Shot:
    name: str
    scene: str
    theme: str = "dark"
    size: tuple[int, int] = WIDE
    keys: tuple[str, ...] = ()
    typed: str = ""
    replay_at: float | None = None
    """Open the scene as a recording in the replay console, paused at this session time."""


ALL_SCENES = {**SCENES, "llm": llm_scene}
"""The snapshot tests' scenes and the LLM conversation (speculation kept, wasted, interrupted)."""

SHOTS: tuple[Shot, ...] = (
    Shot("theme-dark", "conversation", "dark"),
    Shot("theme-light", "conversation", "light"),
    Shot("theme-high-contrast", "conversation", "high-contrast"),
    Shot("theme-phosphor", "conversation", "phosphor"),
    Shot("state-empty", "empty"),
    Shot("state-turn-in-progress", "turn_in_progress"),
    Shot("state-eager-end-then-resume", "eager_then_resume"),
    Shot("state-reply-playing", "reply_playing"),
    Shot("state-interrupted", "interrupted"),
    Shot("state-tts-queue", "tts_queue"),
    Shot("state-engine-error", "engine_error"),
    Shot("state-help", "conversation", keys=("question_mark",)),
    Shot("state-muted-paused-zoomed", "conversation", keys=("m", "b", "p", "minus", "left")),
    Shot("state-zoomed-in", "conversation", keys=("plus", "plus")),
    Shot("state-typing-a-line", "reply_playing", keys=("s",), typed="say this for me"),
    Shot("state-signal-lane", "signal_thresholds"),
    Shot("state-signal-lane-zoomed-in", "signal_thresholds", keys=("plus", "plus")),
    Shot("state-ink2-no-probabilities", "ink2_turns"),
    Shot("size-80x24", "conversation", size=(80, 24)),
    Shot("replay-paused", "conversation", replay_at=9.0),
    Shot("state-tuning-panel", "conversation", keys=("c",)),
    Shot("state-waterfall", "conversation", keys=("w",)),
    Shot("state-llm-lane", "llm"),
)


async def take(shot: Shot, themes) -> str:
    scene = ALL_SCENES[shot.scene]()
    app: VoiceConsoleApp
    if shot.replay_at is not None:
        recording = Recording(Path(shot.scene), list(scene.events), {"engines": {"stt": "scripted"}})
        app = ReplayConsoleApp(recording, paused=True, theme=shot.theme, themes=themes)
    else:
        clock = scene.clock()
        controller = ScriptedController(clock, scene.events)
        settings = type("ShotSettings", (), {"theme": shot.theme, "record": None})()
        app = VoiceConsoleApp(controller, settings=settings, clock=clock, events=scene.events, themes=themes)
    async with app.run_test(size=shot.size) as pilot:
        await pilot.pause()
        if isinstance(app, ReplayConsoleApp) and shot.replay_at is not None:
            app.seek(shot.replay_at)
        app.flush()
        for key in shot.keys:
            await pilot.press(key)
        for char in shot.typed:
            await pilot.press("space" if char == " " else char)
        await pilot.pause()
        app.flush()
        await pilot.pause()
        return app.export_screenshot(title=f"voiceconsole — {shot.name}")


async def main_async(shots: tuple[Shot, ...], out: Path) -> None:
    themes = load_themes([ROOT / "themes"])
    out.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        path = out / f"{shot.name}.svg"
        path.write_text(await take(shot, themes), encoding="utf-8")
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--list", action="store_true", help="list the screenshots and exit")
    p.add_argument("--out", type=Path, default=OUT, help="folder to write to (default screenshots/)")
    args = p.parse_args(argv)
    if args.list:
        for shot in SHOTS:
            print(f"{shot.name}.svg  ({shot.scene}, theme {shot.theme}, {shot.size[0]}x{shot.size[1]})")
        return 0
    run: Callable[[], Awaitable[None]] = lambda: main_async(SHOTS, args.out)  # noqa: E731
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
