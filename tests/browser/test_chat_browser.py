"""The web chat in headless Chromium (Debian's chromium + chromium-driver, via Selenium), with
the real Rasa and action servers on free ports.

A whole conversation on /chat from consent to the saved summary with the keyboard alone; one
turn with JavaScript turned off; the page at 360 and 320 pixels wide (320 is a 1280-pixel
screen at 400% zoom); an axe-core scan (injected from node_modules) of the chat page and the
summary with no serious or critical violations; ``<script>`` in a message shown as text; a
voice message through Chromium's fake microphone (an espeak-ng recording), confirmed and
stored marked as transcribed; "Finish and clear" leaving nothing on screen or in storage.
Saves chat.png and chat-phone.png in var/screenshots/ (docs/ with ``SCREENSHOTS=docs``).
Fails (does not skip) when Chromium, espeak-ng or the front-end files are missing.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.review import create_app
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Conversation, Person, Statement
from tests.assistant import fresh_assistant
from tests.browser.chromium import SCREENSHOTS, require, start_chromium, wait
from tests.ports import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VENDOR = ROOT / "bot" / "review" / "static" / "vendor"
SPOKEN = "I like walking my dog in the park every morning"
STORY = [
    "A good day is when my daughter comes round and we have a cup of tea in the garden.",
    "The carers turn up at different times every day so I never know when I'll get up.",
]
SCRIPT = "<script>alert('hi')</script> I like gardening"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Rasa, the action server and the web app, each on a free port, with fresh databases."""
    missing = [p for p in (AXE, VENDOR / "htmx.min.js") if not p.exists()]
    if missing:
        pytest.fail(f"missing {missing}: run `make web-assets`")
    var = tmp_path_factory.mktemp("chat-browser")
    with fresh_assistant(var) as (servers, db_url):
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": db_url,
                "SESSION_COOKIE_SECURE": False,
                "CHAT_RASA_URL": servers.rasa_url,
            }
        )
        httpd = make_server("127.0.0.1", free_port(), app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_port}", db_url
        httpd.shutdown()
        app.extensions["po_chat_rasa"].close()
        app.extensions["po_engine"].dispose()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require("espeak-ng")
    folder = tmp_path_factory.mktemp("chromium")
    voice = folder / "voice.wav"
    subprocess.run(["espeak-ng", "-v", "en-gb", "-w", str(voice), SPOKEN], check=True)
    driver = start_chromium(
        folder / "profile",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={voice}",
        page_load_timeout=30,
    )
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def fresh(browser, site):
    """The browser on the chat's start page, with no cookies from earlier tests."""
    url, _ = site
    browser.get(url + "/chat")
    browser.delete_all_cookies()
    browser.set_window_size(1100, 1400)
    browser.get(url + "/chat")
    return browser


# ---------------------------------------------------------------------------- helpers


def active(driver):
    return driver.switch_to.active_element


def press(driver, *keys) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def tab_to(driver, label: str, limit: int = 60) -> None:
    """Press Tab until the focused element's text is ``label`` (keyboard only)."""
    for _ in range(limit):
        press(driver, Keys.TAB)
        if active(driver).text.strip() == label:
            return
    raise AssertionError(f"could not reach {label!r} with the Tab key")


def entries(driver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#log .chat-entry")]


def wait_for_reply(driver, before: int) -> list[str]:
    """Wait until new entries arrived and focus is back in the message box."""
    wait(driver, 60).until(
        lambda d: len(entries(d)) > before and active(d).get_attribute("id") == "message"
    )
    return entries(driver)


def choices(driver) -> list[str]:
    return [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#composer .chat-choice")]


def choose(driver, title: str) -> list[str]:
    before = len(entries(driver))
    tab_to(driver, title)
    press(driver, Keys.ENTER)
    return wait_for_reply(driver, before)


def type_and_send(driver, text: str) -> list[str]:
    """Type in the message box (focus is already there) and send with the keyboard."""
    assert active(driver).get_attribute("id") == "message"
    before = len(entries(driver))
    press(driver, text)
    tab_to(driver, "Send", limit=3)
    press(driver, Keys.ENTER)
    return wait_for_reply(driver, before)


def axe(driver) -> list[dict]:
    """axe-core's violations on the current page."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations)))"
        ".catch(e => done(JSON.stringify("
        "[{id: 'axe-error', impact: 'critical', help: String(e)}])));"
    )
    return json.loads(result)


def check_axe(driver, name: str) -> None:
    violations = axe(driver)
    counts = Counter(v["impact"] for v in violations)
    print(f"axe-core on {name}: {len(violations)} violations {dict(counts)}")
    bad = [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, bad


def only_local_requests(driver, base: str) -> None:
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert names and all(n.startswith(base) for n in names), names


def screenshot(driver, name: str, width: int, *, top: bool = False) -> None:
    """Save ``name`` in ``SCREENSHOTS``: the whole page if it fits in 2600 pixels, else its
    end (or its beginning with ``top``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(width, 1400)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 700), 2600))
    driver.execute_script("window.scrollTo(0, arguments[0] ? 0 : document.body.scrollHeight)", top)
    driver.save_screenshot(str(SCREENSHOTS / name))


# ------------------------------------------------------------------------------ tests


def test_a_whole_conversation_by_keyboard_alone(fresh, site):
    driver = fresh
    url, db_url = site
    check_axe(driver, "the start page")
    tab_to(driver, "Start the chat")
    press(driver, Keys.ENTER)
    wait(driver, 60).until(lambda d: "Yes, that's fine" in choices(d))
    assert "Talking Points assistant" in entries(driver)[0]
    log = driver.find_element(By.ID, "log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    only_local_requests(driver, url)

    choose(driver, "Yes, that's fine")
    shown = choose(driver, "I get support")
    assert "what does a good day look like" in shown[-1]
    for line in STORY:
        shown = type_and_send(driver, line)
        assert line in shown[-2] or line in "\n".join(shown[-3:])
        if shown[-1].startswith("Assistant\nJust so I've got it right"):
            shown = choose(driver, choices(driver)[0])
    check_axe(driver, "the chat page")
    shown = type_and_send(driver, "that's all")
    for _ in range(10):
        if "Skip" not in choices(driver):
            break
        shown = choose(driver, "Skip")
    assert "Here's what I heard" in shown[-1]
    assert "\u201cThe carers turn up at different times every day" in shown[-1]
    check_axe(driver, "the summary")
    screenshot(driver, "chat.png", 1100)
    driver.set_window_size(1100, 1400)
    shown = choose(driver, "Yes, that's right")
    saved = "\n".join(shown[shown.index(next(e for e in shown if "Yes, that's right" in e)) :])
    assert "your reference is PO-" in saved

    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as s:
        person = s.execute(select(Person).where(Person.channel == "web")).scalars().first()
        assert person is not None and person.consent_at is not None
        conversation = s.execute(
            select(Conversation).where(Conversation.person_id == person.id)
        ).scalar_one()
        assert conversation.status == "saved" and conversation.reference in saved
        said = s.execute(
            select(Statement.text)
            .where(Statement.conversation_id == conversation.id)
            .order_by(Statement.position)
        ).scalars()
        assert list(said)[: len(STORY)] == STORY
    engine.dispose()


def test_one_turn_without_javascript(fresh, site):
    driver = fresh
    url, _ = site
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.get(url + "/chat")
        driver.find_element(By.XPATH, "//button[text()='Start the chat']").click()
        wait(driver, 60).until(lambda d: "Yes, that's fine" in choices(d))
        assert "Talking Points assistant" in entries(driver)[0]
        # The script would have shown the record button (the fake microphone is there).
        assert not driver.find_element(By.ID, "record").is_displayed()
        driver.find_element(By.XPATH, '//button[text()="Yes, that\'s fine"]').click()
        wait(driver, 60).until(lambda d: "I get support" in choices(d))
        assert "?sent=1" in driver.current_url  # a whole page, after a form post
        assert active(driver).get_attribute("id") == "message"  # autofocus
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_the_page_fits_a_phone_and_400_percent_zoom(fresh, site):
    driver = fresh
    tab_to(driver, "Start the chat")
    press(driver, Keys.ENTER)
    wait(driver, 60).until(lambda d: "Yes, that's fine" in choices(d))
    for width in (360, 320):
        driver.set_window_size(width, 900)
        inner = driver.execute_script("return window.innerWidth")
        scroll = driver.execute_script("return document.documentElement.scrollWidth")
        assert inner <= width and scroll <= inner, (width, inner, scroll)
        for element in driver.find_elements(By.CSS_SELECTOR, "#composer button, #message"):
            assert element.rect["x"] + element.rect["width"] <= inner
    screenshot(driver, "chat-phone.png", 360, top=True)
    driver.set_window_size(1100, 1400)


def test_markup_in_a_message_is_shown_as_text(fresh):
    driver = fresh
    tab_to(driver, "Start the chat")
    press(driver, Keys.ENTER)
    wait(driver, 60).until(lambda d: "Yes, that's fine" in choices(d))
    choose(driver, "Yes, that's fine")
    choose(driver, "I get support")
    shown = type_and_send(driver, SCRIPT)
    assert any(SCRIPT in e for e in shown)
    assert driver.execute_script("return document.querySelectorAll('#log script').length") == 0
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - nothing ran
    driver.refresh()
    assert any(SCRIPT in e for e in entries(driver))


def test_a_voice_message_is_confirmed_then_stored_as_transcribed(fresh, site):
    driver = fresh
    _, db_url = site
    tab_to(driver, "Start the chat")
    press(driver, Keys.ENTER)
    wait(driver, 60).until(lambda d: "Yes, that's fine" in choices(d))
    choose(driver, "Yes, that's fine")
    choose(driver, "I get support")
    before = len(entries(driver))
    tab_to(driver, "Record a voice message")
    press(driver, Keys.ENTER)
    wait(driver, 10).until(lambda d: active(d).text == "Stop and send")
    time.sleep(4)  # the fake microphone plays the recording
    press(driver, Keys.ENTER)
    wait(driver, 90).until(lambda d: active(d).text == "Yes")
    prompt = entries(driver)[-1]
    assert "I heard: \u201c" in prompt
    # A tiny offline model hearing a looped synthetic voice: most of the words, not all.
    assert sum(w in prompt.lower() for w in ("like", "walking", "dog", "park", "morning")) >= 2
    heard = prompt.split("\u201c", 1)[1].split("\u201d", 1)[0]
    press(driver, Keys.ENTER)
    shown = wait_for_reply(driver, before + 1)
    assert any("(spoken, written down by the assistant)" in e and heard in e for e in shown)
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as s:
        statement = s.execute(select(Statement).where(Statement.text == heard)).scalar_one()
        assert statement.transcribed
    engine.dispose()


def test_finish_and_clear_leaves_nothing_on_screen_or_in_storage(fresh, site):
    driver = fresh
    url, _ = site
    tab_to(driver, "Start the chat")
    press(driver, Keys.ENTER)
    wait(driver, 60).until(lambda d: "Yes, that's fine" in choices(d))
    choose(driver, "Yes, that's fine")
    choose(driver, "I get support")
    words = "My neighbour Sheila pops in on Sundays"
    type_and_send(driver, words)
    assert words in driver.page_source
    tab_to(driver, "Finish and clear this screen")
    press(driver, Keys.ENTER)
    wait(driver, 20).until(lambda d: d.current_url.endswith("/chat/finished"))
    assert words not in driver.page_source
    assert driver.get_cookies() == []
    storage = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "indexedDB.databases().then(dbs => done("
        "[localStorage.length, sessionStorage.length, dbs.length, document.cookie]));"
    )
    assert storage == [0, 0, 0, ""]
    driver.back()
    assert words not in driver.page_source
    assert "Start the chat" in driver.page_source
    driver.get(url + "/chat")
    assert words not in driver.page_source
