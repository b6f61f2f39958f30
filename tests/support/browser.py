"""A real browser for the member pages: Debian's headless Chromium driven through its
WebDriver (``chromium-driver``) by Selenium.

:func:`chromium` skips the test, saying what to install, when either is missing; Selenium
Manager is never asked for anything (it would download a browser): the driver's path is given.
The browser's console is recorded, so a test can assert that a page logged no error (a
Content-Security-Policy violation and an uncaught script error both show there).
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

PHONE = (390, 844)
DESKTOP = (1280, 900)
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
]
MISSING = (
    "Chromium and its WebDriver are not installed (apt-get install chromium chromium-driver); "
    "the browser tests are skipped"
)


def executables() -> tuple[str, str] | None:
    """Chromium and chromedriver, when both are installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class Browser:
    """One Chromium window: :meth:`open` a page, read what its console logged, resize it."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.console: list[dict[str, Any]] = []  # every entry logged so far
        self.width = DESKTOP[0]

    def open(self, url: str) -> None:
        self.driver.get(url)

    def errors(self) -> list[str]:
        """The console's errors since the last call (warnings and chatter left out)."""
        fresh = self.driver.get_log("browser")
        self.console += fresh
        return [entry["message"] for entry in fresh if entry.get("level") == "SEVERE"]

    def set_timezone(self, zone: str) -> None:
        """The zone the page's scripts see (``Intl``), as if the computer were there."""
        self.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": zone})

    def zone(self) -> str:
        return str(
            self.driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone")
        )

    def size(self, width: int, height: int) -> None:
        """The viewport (not the window) made ``width`` × ``height`` CSS pixels, as a phone's."""
        self.width = width
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )

    def scrolls_sideways(self) -> bool:
        """Whether the page is wider than the screen. Measured against the width set, not
        ``window.innerWidth``: a phone's browser zooms out to show a page that is too wide,
        and ``innerWidth`` (the visual viewport) grows with it."""
        wide = self.driver.execute_script(
            "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        )
        return bool(int(wide) > self.width)

    def in_view(self, element: Any) -> bool:
        """Whether ``element`` is shown and lies within the viewport's width."""
        box = self.driver.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return [r.left, r.right, r.width, r.height, window.innerWidth];",
            element,
        )
        left, right, width, height, inner = box
        return bool(element.is_displayed() and width > 0 and height > 0 and left >= 0) and (
            right <= inner
        )

    def screenshot(self, path: Path) -> Path:
        """The whole page (not only the viewport) as a PNG."""
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        content = metrics["cssContentSize"]
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": content["width"],
                    "height": content["height"],
                    "scale": 1,
                },
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@contextmanager
def chromium(*, width: int = DESKTOP[0], height: int = DESKTOP[1]) -> Iterator[Browser]:
    """A fresh headless Chromium (its own profile in a temporary folder), closed at the end;
    skips the test when Chromium or chromedriver is not installed."""
    found = executables()
    if found is None:
        pytest.skip(MISSING)
    browser_path, driver_path = found
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="calroulette-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser_path
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=driver_path, log_output=os.devnull)
        driver = webdriver.Chrome(options=options, service=service)
        try:
            driver.set_page_load_timeout(60)
            browser = Browser(driver)
            browser.size(width, height)
            yield browser
        finally:
            driver.quit()
