"""The session: wires source -> STT -> responder -> TTS -> sink by message passing."""
