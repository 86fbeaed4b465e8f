"""Voice-to-voice with the LLM responder, speculation off vs on, same audio, one run.

The bundled conversation (voiceconsole/data/demo_turns.wav, three turns: two eager ends that
hold, one resumed) is played in real time through the offline engines and ``--responder llm``
against the scripted local OpenAI-compatible server of the tests (fixed time to first token
and token rate), with ``--speculate off``, ``llm`` and ``llm+tts`` in turn (A B C A B C).

Figures: voice-to-voice (reference-VAD speech stop -> first reply sample played) median/p95 for
each mode; on the turns whose eager guess held, the ms saved (v2v off - v2v on, same turn of the
same round) and that saving as a share of the turn's eager->end gap (target >= 0.8); the extra
LLM calls speculation made; and the console's own overhead from the LLM's first token (or the
commit, if later) to the TTS request (p95 <= 5 ms).
"""

from __future__ import annotations

import asyncio
import sys

from benchmarks.common import Figure, distribution, repo_root, single

TTFT_S = 0.3
TOKEN_S = 0.02
MODES = ("off", "llm", "llm+tts")


async def _run(url: str, speculate: str) -> list:
    from voiceconsole.config import Settings
    from voiceconsole.session.build import build_session

    settings = Settings(
        mic=f"{repo_root()}/voiceconsole/data/demo_turns.wav",
        speaker="null",
        stt="local",
        tts="local",
        responder="llm",
        llm_url=url,
        llm_model="bench",
        speculate=speculate,
    )
    session = build_session(settings)
    events: list = []
    session.bus.add_listener(events.append)
    await session.run()
    return events


def run(quick: bool) -> list[Figure]:
    sys.path.insert(0, repo_root())
    from tests.llm_server import LlmServer
    from voiceconsole.session.metrics import compute_metrics

    rounds = 1 if quick else 2
    v2v: dict[str, list[float]] = {m: [] for m in MODES}
    saved: dict[str, list[float]] = {m: [] for m in MODES[1:]}
    share: dict[str, list[float]] = {m: [] for m in MODES[1:]}
    requests = {m: 0 for m in MODES}
    wasted = {m: 0 for m in MODES}
    overhead: list[float] = []
    with LlmServer(ttft_s=TTFT_S, token_s=TOKEN_S) as server:
        for _ in range(rounds):
            by_mode = {}
            for mode in MODES:
                result = compute_metrics(asyncio.run(_run(server.base_url, mode)))
                by_mode[mode] = result
                requests[mode] += result.llm.requests
                wasted[mode] += result.llm.wasted_calls
                overhead += result.llm.overhead_ms
                v2v[mode] += [
                    tm.voice_to_voice_ms
                    for tm in result.turns
                    if tm.voice_to_voice_ms is not None
                ]
            off = {tm.turn: tm for tm in by_mode["off"].turns}
            for mode in MODES[1:]:
                for tm in by_mode[mode].turns:
                    base = off.get(tm.turn)
                    if (
                        tm.llm_saved is None
                        or base is None
                        or None in (tm.voice_to_voice_ms, base.voice_to_voice_ms)
                    ):
                        continue
                    gain = base.voice_to_voice_ms - tm.voice_to_voice_ms
                    saved[mode].append(gain)
                    if tm.eager_to_end:
                        share[mode].append(gain / (tm.eager_to_end * 1000.0))
    note = f"TTFT {TTFT_S * 1000:.0f} ms, {1 / TOKEN_S:.0f} tokens/s, offline engines, real time"
    figures = [
        distribution(f"voice-to-voice, speculate {m}", "ms", v2v[m], note=note)
        for m in MODES
    ]
    for mode in MODES[1:]:
        figures.append(
            distribution(
                f"ms saved on turns whose eager guess held ({mode})", "ms", saved[mode]
            )
        )
        if share[mode]:
            figures.append(
                distribution(
                    f"saved / eager->end gap ({mode})",
                    "ratio",
                    share[mode],
                    target=0.8,
                    target_stat="median",
                    target_op=">=",
                )
            )
        extra = (
            (requests[mode] - requests["off"]) / requests["off"]
            if requests["off"]
            else 0.0
        )
        figures.append(
            single(
                f"extra LLM calls with speculation ({mode})",
                "ratio",
                extra,
                note=f"{wasted[mode]} wasted in {rounds} rounds",
            )
        )
    figures.append(
        distribution(
            "console overhead: first token -> TTS request", "ms", overhead, target=5.0
        )
    )
    return figures
