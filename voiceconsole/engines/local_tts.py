"""Offline text to speech: espeak-ng in-process through ctypes.

The library and its voice data come from the ``espeakng-loader`` wheel. espeak-ng keeps one
global synthesizer per process and is not thread-safe, so every engine in the process shares
one :class:`_Espeak` (reference counted: the first ``start`` initializes it, the last ``close``
terminates it) and every call into it holds ``_Espeak.lock``. Each engine runs those calls on
its own single worker thread, never on the event loop.

espeak runs in synchronous mode: ``espeak_Synth`` returns when the utterance is done, calling
our callback with each buffer (about 60 ms of audio) as it is produced. The callback hands
the buffer to the event loop at once and returns 1 to abort a cancelled reply.
"""

from __future__ import annotations

import asyncio
import bisect
import ctypes
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voiceconsole.engines.base import Emit, TtsChunk, TtsError
from voiceconsole.errors import ConfigError, UserError
from voiceconsole.events import EngineState, WordTiming

# Constants of espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0
_EE_NOT_FOUND = 2
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3

RATE_RANGE = (80, 450)
"""Speaking rates espeak accepts, in words per minute."""
PITCH_RANGE = (0, 100)
"""Base pitches espeak accepts (50 is normal)."""

_INSTALL_HINT = "pip install espeakng-loader"


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _EspeakEvent(ctypes.Structure):
    """``espeak_EVENT``: 40 bytes on 64-bit (``user_data`` is pointer-aligned at offset 24)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, in characters (code points), not bytes
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms from the start of this espeak_Synth call
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent)
)

_END = object()
"""Queue marker: the reply's stream is over."""

_TOKEN = re.compile(r"\S+")
_EDGE_PUNCTUATION = ".,;:!?\"'()[]{}<>«»“”‘’…–—"


def _to_float32(wav: Any, count: int) -> np.ndarray:
    """Copy ``count`` int16 samples from espeak's buffer (reused after the callback) to float32."""
    return np.ctypeslib.as_array(wav, shape=(count,)).astype(np.float32) * np.float32(1 / 32768)


def _load_library() -> tuple[ctypes.CDLL, str]:
    """The espeak-ng library and its data directory, with argument types declared."""
    try:
        import espeakng_loader

        path = espeakng_loader.get_library_path()
        data = espeakng_loader.get_data_path()
        lib = ctypes.CDLL(path)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Terminate.argtypes = []
        lib.espeak_Terminate.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
    except (ImportError, OSError, AttributeError, RuntimeError) as exc:
        raise UserError(
            f"the local voice needs the espeak-ng library, which could not be loaded ({exc}): "
            f"{_INSTALL_HINT}"
        ) from None
    return lib, data


@dataclass(eq=False)
class _Job:
    """One reply being synthesized. ``cancelled`` is written on the loop, read by the worker."""

    reply: int
    text: str
    loop: asyncio.AbstractEventLoop
    sample_rate: int
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    cancelled: bool = False
    error: BaseException | None = None
    # Worker-thread state below.
    samples: int = 0
    held: np.ndarray | None = None
    spoken: int = 0  # tokens before this one have their timings
    open_token: int | None = None  # token of the last word event
    open_start: float = 0.0
    words: list[WordTiming] = field(default_factory=list)
    token_starts: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for match in _TOKEN.finditer(self.text):
            if match.group().strip(_EDGE_PUNCTUATION):  # a lone dash or ellipsis is not a word
                self.token_starts.append(match.start())
                self.tokens.append(match.group().strip(_EDGE_PUNCTUATION))

    def post(self, item: Any) -> None:
        """Hand an item to the generator on the event loop (from the worker thread)."""
        if self.cancelled:
            return
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop was closed under us: nobody is listening any more
            self.cancelled = True

    def on_word(self, text_position: int, audio_ms: int) -> None:
        """espeak started a word at ``text_position`` (1-based character index)."""
        # espeak's word events do not map one to one onto the text: it reports "123" as three
        # words, gives no event for some function words ("of the" is one), and its lengths
        # stop at apostrophes and hyphens. So each event is mapped to the whitespace-delimited
        # token it starts in, and the tokens up to the next event share the time in between.
        token = bisect.bisect_right(self.token_starts, text_position - 1) - 1
        if token < self.spoken or (self.open_token is not None and token <= self.open_token):
            return
        at = audio_ms / 1000
        if self.open_token is None:
            self.open_start = at
        else:
            self._close_words(token, at)
        self.open_token = token

    def _close_words(self, stop: int, end: float) -> None:
        """Time tokens ``spoken`` to ``stop - 1`` over open_start-end, split by their length."""
        tokens = self.tokens[self.spoken : stop]
        end = max(end, self.open_start)
        total = sum(len(t) for t in tokens)
        start, done = self.open_start, 0
        for token in tokens:
            done += len(token)
            word_end = self.open_start + (end - self.open_start) * done / total
            self.words.append(WordTiming(token, start, word_end))
            start = word_end
        self.spoken, self.open_start = stop, end

    def on_audio(self, samples: np.ndarray) -> None:
        """A buffer of audio. One buffer is held back so the last one can carry the last word."""
        self.samples += samples.size
        if self.held is not None:
            self._flush()
        self.held = samples

    def _flush(self) -> None:
        assert self.held is not None
        self.post(TtsChunk(self.held, tuple(self.words)))
        self.held = None
        self.words = []

    def finish(self) -> None:
        """The utterance is complete: the last word ends with the audio."""
        if self.open_token is not None:
            self._close_words(len(self.tokens), self.samples / self.sample_rate)
        if self.held is not None:
            self._flush()


class _Espeak:
    """The process-wide espeak-ng synthesizer, shared by all engines."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._lib: ctypes.CDLL | None = None
        self._users = 0
        self.sample_rate = 0
        self.version = ""
        self._voice: str | None = None  # voice currently selected in espeak
        self._job: _Job | None = None
        self._callback = _SynthCallback(self._on_synth)  # referenced here so it is never freed

    def acquire(self, voice: str) -> int:
        """Initialize espeak if no engine uses it yet, check ``voice``; return the sample rate."""
        with self.lock:
            if self._users == 0:
                lib, data = _load_library()
                rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INITIALIZE_DONT_EXIT)
                if rate <= 0:
                    raise UserError(f"espeak-ng failed to initialize with data from {data}: {_INSTALL_HINT}")
                lib.espeak_SetSynthCallback(self._callback)
                self._lib, self.sample_rate, self._voice = lib, rate, None
                self.version = (lib.espeak_Info(None) or b"").decode(errors="replace")
            self._users += 1
            try:
                self._select_voice(voice)
            except BaseException:
                self._release_locked()
                raise
            return self.sample_rate

    def release(self) -> None:
        """One engine stopped using espeak; the last one terminates it."""
        with self.lock:
            self._release_locked()

    def _release_locked(self) -> None:
        self._users -= 1
        if self._users == 0 and self._lib is not None:
            self._lib.espeak_Terminate()
            self._lib, self._voice = None, None

    def _select_voice(self, voice: str) -> None:
        assert self._lib is not None
        if voice == self._voice:
            return
        result = self._lib.espeak_SetVoiceByName(voice.encode())
        if result == _EE_NOT_FOUND:
            raise ConfigError(f"espeak-ng has no voice {voice!r}; try 'en-us' or 'en'")
        if result != _EE_OK:
            raise UserError(f"espeak-ng could not load voice {voice!r} (error {result}): {_INSTALL_HINT}")
        self._voice = voice

    def synthesize(self, job: _Job, voice: str, rate: int, pitch: int) -> None:
        """Speak ``job.text``, feeding ``job`` from the callback. Raises ``TtsError``."""
        with self.lock:
            if job.cancelled:
                return
            if self._lib is None:
                raise TtsError("the local TTS engine is closed")
            try:
                self._select_voice(voice)
            except UserError as exc:
                raise TtsError(str(exc)) from None
            # Selecting a voice resets the parameters, so they are set on every reply.
            self._lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            data = job.text.replace("\0", " ").encode("utf-8") + b"\0"
            self._job = job
            try:
                result = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            finally:
                self._job = None
        if job.error is not None:
            raise TtsError(f"espeak-ng synthesis failed: {job.error}") from job.error
        if result != _EE_OK:
            raise TtsError(f"espeak-ng synthesis failed (error {result})")
        if not job.cancelled:
            job.finish()

    def _on_synth(self, wav: Any, count: int, events: Any) -> int:
        job = self._job
        if job is None or job.cancelled:
            return 1
        try:
            if events:
                i = 0
                while events[i].type != _EVENT_LIST_TERMINATED:
                    if events[i].type == _EVENT_WORD:
                        job.on_word(events[i].text_position, events[i].audio_position)
                    i += 1
            if wav and count > 0:
                job.on_audio(_to_float32(wav, count))
        except Exception as exc:  # an exception must not cross into C: abort and report it
            job.error = exc
            return 1
        return 0


_ESPEAK = _Espeak()


class LocalTtsEngine:
    """Offline TTS with espeak-ng: streamed float32 audio with word timings, cancellable.

    ``sample_rate`` is espeak's output rate (22050 Hz), confirmed by :meth:`start`.
    """

    name = "local"
    streams_text = False  # a streamed reply is spoken sentence by sentence

    def __init__(self, voice: str = "en-us", rate: int = 175, pitch: int = 50) -> None:
        """``voice`` is an espeak voice name, ``rate`` in words per minute, ``pitch`` 0-100."""
        if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            raise ConfigError(f"local voice rate must lie in {RATE_RANGE[0]}-{RATE_RANGE[1]} words per minute")
        if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
            raise ConfigError(f"local voice pitch must lie in {PITCH_RANGE[0]}-{PITCH_RANGE[1]}")
        if not voice.strip():
            raise ConfigError("local voice name is empty; try 'en-us'")
        self.voice = voice
        self.rate = rate
        self.pitch = pitch
        self.sample_rate = 22050
        self._emit: Emit | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._jobs: dict[int, _Job] = {}
        # Replies cancelled before synthesize() ran for them (bounded: ids that never come).
        self._cancelled_early: OrderedDict[int, None] = OrderedDict()

    async def start(self, emit: Emit) -> None:
        """Load espeak-ng on the worker thread and emit ``connected``. Raises ``UserError``."""
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-tts")
        try:
            rate = await asyncio.get_running_loop().run_in_executor(executor, _ESPEAK.acquire, self.voice)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor, self._emit, self.sample_rate = executor, emit, rate
        emit(
            EngineState,
            role="tts",
            engine=self.name,
            state="connected",
            detail=f"espeak-ng {_ESPEAK.version}, voice {self.voice}, {rate} Hz",
        )

    async def synthesize(self, reply: int, text: str) -> AsyncIterator[TtsChunk]:
        """Stream the audio of ``reply`` as espeak produces it. Raises ``TtsError``."""
        if reply in self._cancelled_early:
            del self._cancelled_early[reply]
            return
        if not text.strip():
            return
        if self._executor is None:
            raise TtsError("the local TTS engine is not started")
        job = _Job(reply, text, asyncio.get_running_loop(), self.sample_rate)
        self._jobs[reply] = job
        self._executor.submit(self._run, job)
        try:
            while True:
                item = await job.queue.get()
                if job.cancelled or item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # Also reached when the consumer stops early: the worker aborts at its next buffer.
            job.cancelled = True
            if self._jobs.get(reply) is job:
                del self._jobs[reply]

    def _run(self, job: _Job) -> None:
        """Worker thread: synthesize and report the outcome through the job's queue."""
        try:
            _ESPEAK.synthesize(job, self.voice, self.rate, self.pitch)
        except TtsError as exc:
            job.post(exc)
        except Exception as exc:
            job.post(TtsError(f"local TTS failed: {exc}"))
        else:
            job.post(_END)

    async def cancel(self, reply: int) -> None:
        """Stop ``reply`` at once: its stream ends now, espeak aborts at its next buffer."""
        job = self._jobs.get(reply)
        if job is None:
            self._cancelled_early[reply] = None
            while len(self._cancelled_early) > 256:
                self._cancelled_early.popitem(last=False)
            return
        job.cancelled = True
        job.queue.put_nowait(_END)

    async def close(self) -> None:
        """Cancel every reply, release espeak (terminated with its last user), emit ``closed``."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        for reply in list(self._jobs):
            await self.cancel(reply)
        try:
            await asyncio.get_running_loop().run_in_executor(executor, _ESPEAK.release)
        finally:
            executor.shutdown(wait=True)
        if self._emit is not None:
            self._emit(EngineState, role="tts", engine=self.name, state="closed")
