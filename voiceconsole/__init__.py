"""voiceconsole: a terminal console for debugging voice-agent turn timing."""

__version__ = "0.1.0"
