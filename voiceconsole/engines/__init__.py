"""Speech engines: STT with turn detection and TTS, local and Cartesia."""
