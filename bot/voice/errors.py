"""Why a voice note could not be transcribed."""

from __future__ import annotations


class VoiceNoteError(Exception):
    """A voice note that cannot be turned into words."""


class VoiceNoteUnreadable(VoiceNoteError):
    """The audio is empty, damaged or in a format we cannot read, or no words were heard."""


class VoiceNoteTooLong(VoiceNoteError):
    """The note is longer than we transcribe (two minutes)."""

    def __init__(self, seconds: float, limit: float) -> None:
        super().__init__(f"the note is {seconds:.0f} s long; the limit is {limit:.0f} s")
        self.seconds = seconds
        self.limit = limit
