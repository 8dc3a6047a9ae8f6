"""Voice messages in the web chat: the browser records, we transcribe, the person confirms.

The page records PCM with the Web Audio API and uploads a 16-bit WAV. We transcribe it and
ask "I heard: '...' — is that right?" with "Yes" and "No, I'll type it". Only a confirmed
transcript goes into the conversation, marked as transcribed; the audio is never kept. The
transcript awaiting confirmation travels in the page, signed for this conversation.
"""

from __future__ import annotations

import hashlib
import logging

from flask import render_template, request

from bot.voice import VoiceNoteTooLong, VoiceNoteUnreadable, transcribe, wording

from . import identity
from .conversation import Entry
from .views import bp, deliver, is_htmx, notice_only, require_sender, restart_page

logger = logging.getLogger(__name__)


@bp.post("/voice")
def voice():
    """A recorded voice message: transcribe it and ask whether we heard it right."""
    sender = require_sender()
    if sender is None:
        return restart_page()
    upload = request.files.get("audio")
    audio = upload.read() if upload else b""
    try:
        transcript = transcribe(audio)
    except VoiceNoteTooLong:
        return notice_only(sender, wording.TOO_LONG)
    except VoiceNoteUnreadable:
        return notice_only(sender, wording.UNREADABLE)
    logger.info("Transcribed a web chat voice message (%.1f s)", transcript.duration)
    signed = identity.sign("heard", sender, transcript.text)
    return render_template(
        "chat/_heard.html",
        prompt=wording.heard_prompt(transcript.text),
        signed=signed,
        prompt_id=prompt_id(signed),
        wording=wording,
    )


@bp.post("/voice/confirm")
def confirm():
    """The person's answer to "is that right?": send the transcript, or ask them to type."""
    sender = require_sender()
    if sender is None:
        return restart_page()
    signed = request.form.get("heard", "")
    text = identity.unsign("heard", sender, signed)
    if not isinstance(text, str) or not text:
        return notice_only(sender, wording.EXPIRED)
    if request.form.get("answer") != "yes":
        if is_htmx():
            return render_template(
                "chat/_entries.html",
                entries=[Entry("notice", wording.TYPE_IT_REPLY)],
                answered=(prompt_id(signed), wording.TYPE_IT),
            )
        return notice_only(sender, wording.TYPE_IT_REPLY)
    # The same id however often "Yes" is pressed for this transcript: stored once.
    message_id = hashlib.sha256(signed.encode()).hexdigest()[:32]
    return deliver(
        sender,
        text,
        text,
        message_id,
        transcribed=True,
        answered=(prompt_id(signed), wording.CONFIRMED),
    )


def prompt_id(signed: str) -> str:
    """The element id of the "is that right?" buttons for one transcript."""
    return "heard-" + hashlib.sha256(signed.encode()).hexdigest()[:12]
