"""Open a local HTML page in headless Chromium (Debian's, driven by selenium) and read what loaded.

`make test` installs Chromium and ChromeDriver from the distribution when they are
missing; where that was not possible, ``chromium_or_skip`` skips with the reason.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# Chromium as root, without a screen and on a closed network: no sandbox, no GPU, no background connections.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync")

IMAGES_SCRIPT = """
return Array.from(document.images).map(img => ({src: img.getAttribute('src'), loaded: img.complete &&
    img.naturalWidth > 0, width: img.naturalWidth, height: img.naturalHeight}));
"""


def chromium_or_skip() -> tuple[str, str]:
    """Paths of chromium and chromedriver, or skip the test saying what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[test])")
    del webdriver
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip("headless Chromium is not installed (`make test` installs Debian's chromium and "
                    "chromium-driver as root; elsewhere: apt-get install chromium chromium-driver)")
    return browser, driver


def open_page(path: Path) -> dict:
    """Load ``path`` (file://) in headless Chromium: its images (src, loaded, size) and its tables' ids."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chromium_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        session.get(Path(path).resolve().as_uri())
        session.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "Promise.all(Array.from(document.images).map(img => img.decode().catch(() => null))).then(done);")
        return {
            "title": session.title,
            "images": session.execute_script(IMAGES_SCRIPT),
            "tables": session.execute_script("return Array.from(document.querySelectorAll('table')).map(t => t.id);"),
        }
    finally:
        session.quit()
