"""The web chat's pages: start, talk, download a document, finish and clear the screen.

Every page works with HTML alone: a message is a form post and the reply is a page (post,
then redirect). With htmx, the same posts answer with only the new messages (appended to the
``role="log"`` live region) and a fresh message form. No conversation text is ever kept in
the browser; the page is rebuilt from Rasa's tracker.
"""

from __future__ import annotations

import re
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from bot.channels.rasa_client import BotMessage, Button, RasaUnavailable
from bot.channels.typed import BUTTON_EXPIRED, as_words

from . import identity
from .conversation import (
    CONTROLS,
    START_PAYLOAD,
    ChatRasa,
    Entry,
    History,
    find_document,
    reply_entries,
)

bp = Blueprint("chat", __name__, url_prefix="/chat")

# Only ``'self'`` scripts (htmx and ours), and the microphone for voice messages.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# The only texts the web chat writes itself; everything else comes from Rasa.
EMPTY = "Take your time. Type a message when you're ready."
UNAVAILABLE = (
    "Sorry, the assistant isn't answering just now, so your message hasn't been sent. "
    "It is still in the message box: please try sending it again in a minute."
)
NOT_LOADED = (
    "Sorry, I can't show our conversation just now. Please try again in a minute; "
    "nothing you've said has been lost."
)
START_FAILED = "Sorry, the assistant isn't answering just now. Please try again in a minute."
MESSAGE_ID = re.compile(r"[0-9a-f]{32}")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Permissions-Policy"] = "microphone=(self), camera=(), geolocation=()"
    return response


def rasa() -> ChatRasa:
    """The app's connection to Rasa."""
    return current_app.extensions["po_chat_rasa"]


def is_htmx() -> bool:
    """Whether htmx sent this request (it wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def composer(
    sender: str,
    buttons: tuple[Button, ...],
    *,
    text: str = "",
    message_id: str | None = None,
    focus: bool = False,
) -> dict:
    """What the message form shows: signed choices, the text box and its message id."""
    return {
        "choices": [
            (identity.sign("choice", sender, [b.payload, b.title]), b.title) for b in buttons
        ],
        "text": text,
        "message_id": message_id or uuid.uuid4().hex,
        "focus": focus,
    }


def render_chat(
    sender: str,
    *,
    notice: str | None = None,
    text: str = "",
    message_id: str | None = None,
    retry: tuple[Button, ...] = (),
    status: int = 200,
    focus: bool = False,
):
    """The whole chat page, rebuilt from Rasa's tracker."""
    try:
        history = rasa().history(sender)
        loaded = True
    except RasaUnavailable:
        history, loaded = History(), False
    entries = list(history.entries)
    if not loaded:
        entries.append(Entry("notice", NOT_LOADED))
    if notice:
        entries.append(Entry("notice", notice))
    form = composer(sender, retry or history.buttons, text=text, message_id=message_id, focus=focus)
    return render_template("chat/page.html", entries=entries, composer=form), status


def notice_only(sender: str, notice: str, **kept):
    """Tell the person something: htmx gets one line for the log (the form stays as it is),
    a page load gets the whole page."""
    if is_htmx():
        return render_template("chat/_entries.html", entries=[Entry("notice", notice)])
    return render_chat(sender, notice=notice, focus=True, **kept)


def deliver(
    sender: str,
    payload: str,
    shown: str,
    message_id: str,
    *,
    kept: str = "",
    retry: tuple[Button, ...] = (),
    transcribed: bool = False,
    answered: tuple[str, str] | None = None,
):
    """Send a message to Rasa and answer with what the person sees next.

    ``answered``: (element id, words) replacing the voice prompt's buttons once it is sent.
    """
    try:
        replies: list[BotMessage] = rasa().send(
            sender, payload, message_id, transcribed=transcribed
        )
    except RasaUnavailable:
        return notice_only(
            sender, UNAVAILABLE, text=kept, message_id=message_id, retry=retry, status=503
        )
    if not is_htmx():
        return redirect(url_for("chat.page", sent=1, _anchor="message"), 303)
    entries = [Entry("person", shown, transcribed=transcribed)] if shown else []
    entries += reply_entries(replies)
    buttons = next((r.buttons for r in reversed(replies) if r.buttons), ())
    return render_template(
        "chat/_update.html",
        entries=entries,
        composer=composer(sender, buttons, focus=True),
        answered=answered,
    )


def require_sender() -> str | None:
    """The sender for this browser's conversation cookie, if it has one."""
    token = identity.current_token()
    return identity.sender_for(token) if token else None


def restart_page() -> Response:
    """No conversation cookie (cleared, expired): back to the start page."""
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = url_for("chat.page")
        return response
    return redirect(url_for("chat.page"), 303)


@bp.get("")
def page():
    """The chat: the start page without a conversation cookie, else the conversation."""
    sender = require_sender()
    if sender is None:
        return render_template("chat/start.html")
    return render_chat(sender, focus=request.args.get("sent") == "1")


@bp.post("/start")
def start():
    """Begin a conversation: a new cookie (unless there is one) and the assistant's hello."""
    token = identity.current_token() or identity.new_token()
    try:
        rasa().send(identity.sender_for(token), START_PAYLOAD, uuid.uuid4().hex)
    except RasaUnavailable:
        return render_template("chat/start.html", notice=START_FAILED), 503
    response = redirect(url_for("chat.page", sent=1, _anchor="message"), 303)
    identity.set_cookie(response, token)
    return response


@bp.post("/send")
def send():
    """A typed message, a choice button or one of the page's controls."""
    sender = require_sender()
    if sender is None:
        return restart_page()
    form = request.form
    message_id = form.get("message_id", "")
    if not MESSAGE_ID.fullmatch(message_id):
        message_id = uuid.uuid4().hex
    typed = form.get("message", "")
    if form.get("control") in CONTROLS:
        payload, shown = CONTROLS[form["control"]]
        return deliver(sender, payload, shown, message_id, kept=typed)
    if form.get("choice"):
        chosen = identity.unsign("choice", sender, form["choice"])
        if not (isinstance(chosen, list) and len(chosen) == 2):
            return notice_only(sender, BUTTON_EXPIRED, text=typed)
        payload, title = (str(v) for v in chosen)
        retry = (Button(title, payload),)
        return deliver(sender, payload, title, message_id, kept=typed, retry=retry)
    text = typed.strip()
    if not text:
        return notice_only(sender, EMPTY)
    return deliver(sender, as_words(text), text, message_id, kept=typed)


@bp.post("/finish")
def finish():
    """Finish and clear this screen: forget the cookie here (the conversation is kept)."""
    response = redirect(url_for("chat.finished"), 303)
    identity.clear_cookie(response)
    session.clear()
    return response


@bp.get("/finished")
def finished():
    """The cleared screen."""
    return render_template("chat/finished.html")


DOCUMENT_KINDS = {"html": (".html", "text/html"), "markdown": (".md", "text/markdown")}


@bp.get("/document/<kind>/<filename>")
def document(kind: str, filename: str):
    """A document the assistant made in this conversation (the PA plan), as a download."""
    sender = require_sender()
    if sender is None or kind not in DOCUMENT_KINDS:
        abort(404)
    try:
        found = find_document(rasa().events(sender), filename)
    except RasaUnavailable:
        abort(503)
    if not found or not found.get(kind):
        abort(404)
    suffix, mimetype = DOCUMENT_KINDS[kind]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", filename) + suffix
    return Response(
        found[kind],
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
