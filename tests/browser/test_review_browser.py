"""The review app in headless Chromium (Debian's chromium + chromium-driver, via Selenium).

Starts the app on a free port in a thread with a temporary SQLite database, signs in, opens
a person, follows a chart bar to its statements, checks markup in a person's words is shown
as text, and saves screenshots of the three main views in var/screenshots/ (docs/ with
``SCREENSHOTS=docs``). Fails (does not skip) when Chromium is missing: install it with
``apt-get install -y chromium chromium-driver``.
"""

from __future__ import annotations

import threading

import pytest
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server

from bot.review import create_app
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from tests.browser.chromium import SCREENSHOTS, start_chromium
from tests.ports import free_port
from tests.review_helpers import PASSWORD, SCRIPT_WORDS, add_practitioner, build_sample


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'review.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as s:
        build_sample(s)
        add_practitioner(s)
    engine.dispose()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SESSION_COOKIE_SECURE": False})
    port = free_port()
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    app.extensions["po_engine"].dispose()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def _screenshot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1100, min(max(height, 800), 3000))
    driver.save_screenshot(str(SCREENSHOTS / name))
    driver.set_window_size(1100, 1400)


def test_a_practitioner_reads_a_person_and_the_words_behind_a_bar(server, browser):
    browser.get(f"{server}/people/")
    assert "/auth/login" in browser.current_url  # nothing without signing in
    # The skip link is the first thing the keyboard reaches.
    skip = browser.find_element(By.CSS_SELECTOR, "a.skip-link")
    assert skip.get_attribute("href").endswith("#main")
    browser.find_element(By.ID, "name").send_keys("alex")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    assert browser.current_url.endswith("/people/")
    assert "5 people" in browser.find_element(By.CSS_SELECTOR, "p.count").text
    _screenshot(browser, "review-people.png")

    # One person: markup in their words is shown as text, and never runs.
    browser.find_element(By.LINK_TEXT, "Person 4").click()
    words = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "p.words")]
    assert SCRIPT_WORDS in words
    assert browser.execute_script("return document.querySelectorAll('main script').length") == 0
    browser.get(f"{server}/people/1")
    assert "I see my grandchildren every week now" in browser.page_source
    _screenshot(browser, "review-person.png")

    # Across people: follow the chart bar to the statements behind it.
    browser.get(f"{server}/overview/")
    _screenshot(browser, "review-overview.png")
    bar = browser.find_element(
        By.CSS_SELECTOR, 'svg a[href*="outcome=seeing_people"][href*="status=going_well"]'
    )
    href = bar.get_dom_attribute("href")
    assert href.startswith("/overview/statements?")
    bar.click()
    assert browser.current_url.endswith(href)
    assert browser.find_element(By.ID, "total-people").text == "1"
    quotes = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "blockquote.words")]
    assert quotes == ["I see my grandchildren every week now"]
