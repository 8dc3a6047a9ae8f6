"""Voice notes for tests, made offline: espeak-ng's en-gb voice to WAV, ffmpeg to OGG/Opus
(as Telegram sends them), and the word error rate of a transcript."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

# Two sentences each, the way people answer "what does a good day look like?".
SPOKEN = [
    "On a good day I go to the shops with my daughter and we have a cup of tea in the cafe. "
    "I like to see my friends at the lunch club on Thursdays.",
    "My son comes round on Sundays and helps me with the garden. "
    "I would like to get out of the house more, but my legs are not what they were.",
    "I want to feel safe at home, especially at night when I am on my own. "
    "The carers are kind, but they are always in a rush and I never know who is coming.",
    "I used to love painting and I would like to start doing that again. "
    "It would be nice to have something to look forward to every week.",
    "Looking after my husband is tiring and I need a break now and then. "
    "I would like someone to talk to who understands what it is like.",
    "I would like to learn to use the bus so I can get to town by myself. "
    "Then I could go to the library and meet people without asking for a lift.",
]

_CONTRACTIONS = {
    "i'm": "i am",
    "it's": "it is",
    "they're": "they are",
    "we're": "we are",
    "i'd": "i would",
    "i've": "i have",
    "i'll": "i will",
    "don't": "do not",
    "can't": "cannot",
    "that's": "that is",
    "he's": "he is",
    "she's": "she is",
    "café": "cafe",
}


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, contractions spelt out ("I'm" = "I am")."""
    raw = re.sub(r"[^\w' ]+", " ", text.lower().replace("\u2019", "'")).split()
    return " ".join(_CONTRACTIONS.get(w, w) for w in raw).replace("'", "").split()


def word_errors(reference: str, heard: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, words in the reference): Levenshtein on words."""
    ref, hyp = words(reference), words(heard)
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            above = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (ref[i - 1] != hyp[j - 1]))
            diagonal = above
    return row[len(hyp)], len(ref)


def word_error_rate(pairs: list[tuple[str, str]]) -> float:
    """Errors over all (reference, heard) pairs divided by all reference words."""
    errors = total = 0
    for reference, heard in pairs:
        e, n = word_errors(reference, heard)
        errors, total = errors + e, total + n
    return errors / total


def speak(text: str, folder: Path, name: str, fmt: str = "ogg") -> Path:
    """``text`` spoken by espeak-ng (en-gb) as ``folder/name.wav``, or OGG/Opus via ffmpeg."""
    wav = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(wav), text], check=True)
    if fmt == "wav":
        return wav
    ogg = folder / f"{name}.ogg"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "libopus", str(ogg)],
        check=True,
    )
    return ogg
