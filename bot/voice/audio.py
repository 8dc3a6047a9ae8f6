"""Decoding voice notes (OGG/Opus, WAV, FLAC, anything libsndfile reads) to 16 kHz mono."""

from __future__ import annotations

import io
from math import gcd

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from bot.voice.errors import VoiceNoteTooLong, VoiceNoteUnreadable

SAMPLE_RATE = 16_000
MAX_SECONDS = 120.0


def probe_duration(audio: bytes) -> float:
    """The note's length in seconds, read from its header without decoding it."""
    try:
        info = sf.info(io.BytesIO(audio))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise VoiceNoteUnreadable("the audio could not be read") from exc
    if info.samplerate <= 0:
        raise VoiceNoteUnreadable("the audio has no sample rate")
    return float(info.frames) / float(info.samplerate)


def check_length(seconds: float, limit: float = MAX_SECONDS) -> None:
    """Raise :class:`VoiceNoteTooLong` when a note is over ``limit`` seconds."""
    if seconds > limit:
        raise VoiceNoteTooLong(seconds, limit)


def decode(audio: bytes, limit: float = MAX_SECONDS) -> np.ndarray:
    """16 kHz mono float32 samples in [-1, 1]; the length is checked before decoding."""
    if not audio:
        raise VoiceNoteUnreadable("the audio is empty")
    check_length(probe_duration(audio), limit)
    try:
        samples, rate = sf.read(io.BytesIO(audio), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise VoiceNoteUnreadable("the audio could not be decoded") from exc
    mono = samples.mean(axis=1, dtype=np.float32)
    if rate != SAMPLE_RATE:
        step = gcd(int(rate), SAMPLE_RATE)
        mono = resample_poly(mono, SAMPLE_RATE // step, int(rate) // step).astype(np.float32)
    if mono.size == 0:
        raise VoiceNoteUnreadable("the audio has no samples")
    return np.clip(mono, -1.0, 1.0)
