"""Headless Debian Chromium driven by Selenium, as the browser tests use it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

#: Where the browser tests save their screenshots: ``var/screenshots/``, so that a test run
#: leaves the work tree as it was; ``SCREENSHOTS=docs make test`` refreshes the README's own.
SCREENSHOTS = Path(__file__).resolve().parents[2] / (
    "docs" if os.environ.get("SCREENSHOTS") == "docs" else "var/screenshots"
)
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,1400",
)


def require(*programs: str) -> None:
    """Fail (not skip) when a program the browser tests need is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER, *programs) if not shutil.which(p)]
    if missing:
        pytest.fail(f"missing {missing}: make browser-deps installs them")


def start_chromium(profile: Path, *flags: str, page_load_timeout: float = 20) -> webdriver.Chrome:
    """A fresh headless Chromium with its own profile folder and any extra ``flags``."""
    require()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(page_load_timeout)
    return driver


def wait(driver: webdriver.Chrome, seconds: float) -> WebDriverWait:
    """A wait whose condition may read elements of a page that is being replaced (a form
    post, an htmx swap): an element gone stale means "not yet", not a failure."""
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))
