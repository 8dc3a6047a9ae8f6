"""Voice notes: offline transcription for the Telegram bot and the web chat.

``transcribe(audio_bytes)`` returns a :class:`Transcript`; the wording for confirming it
with the person is in :mod:`bot.voice.wording`.
"""

from bot.voice.audio import MAX_SECONDS, SAMPLE_RATE, decode
from bot.voice.errors import VoiceNoteError, VoiceNoteTooLong, VoiceNoteUnreadable
from bot.voice.transcriber import Transcript, transcribe

__all__ = [
    "MAX_SECONDS",
    "SAMPLE_RATE",
    "Transcript",
    "VoiceNoteError",
    "VoiceNoteTooLong",
    "VoiceNoteUnreadable",
    "decode",
    "transcribe",
]
