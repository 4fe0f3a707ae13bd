"""Headless Chromium for the dashboards' browser tests: the driver and the wait they share.

Debian's ``chromium`` + ``chromium-driver`` (the README's test command installs them) drive the
pages through selenium.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

import pytest

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="chromium/chromium-driver missing"
)


def chromium(window: str, *, performance_log: bool = False) -> Any:
    """A headless Chromium of ``window`` size (``"1280,1800"``) keeping the console's log (and
    the network's, with ``performance_log``); the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={window}",
                "--disable-dev-shm-usage", "--lang=en-US"):  # fmt: skip
        options.add_argument(arg)
    logs = {"browser": "ALL", **({"performance": "ALL"} if performance_log else {})}
    options.set_capability("goog:loggingPrefs", logs)
    return webdriver.Chrome(service=Service(str(DRIVER)), options=options)


def wait_for(condition: Any, timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``condition`` until it is true; an element the page re-rendered between being found
    and read (stale) or not drawn yet counts as not yet, as in selenium's own waits."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (StaleElementReferenceException, NoSuchElementException):
            value = None
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what or condition}")
