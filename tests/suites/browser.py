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

OVERFLOW_SCRIPT = """
const page = document.documentElement;
const wide = Array.from(document.querySelectorAll('figure')).filter(figure => Array.from(figure.children).some(
    child => child.scrollWidth > figure.clientWidth + 1 || child.getBoundingClientRect().right >
    figure.getBoundingClientRect().right + 1)).map(figure => figure.textContent.trim().slice(0, 80));
return {page: page.scrollWidth > page.clientWidth + 1, figures: wide};
"""
"""Whether the page scrolls sideways, and the captions of figures whose image or text passes their edge."""

FINDINGS_SCRIPT = """
return Array.from(document.querySelectorAll('#findings li')).map(item => ({text: item.textContent,
    target: item.querySelector('a') && item.querySelector('a').getAttribute('href')}));
"""

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
    """Load ``path`` (file://) in headless Chromium at a laptop's window width: its images (src, loaded,
    size), its tables' ids, the findings box (text and link of each item) and what overflows."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = chromium_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        session.set_window_size(1280, 900)
        session.get(Path(path).resolve().as_uri())
        session.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "Promise.all(Array.from(document.images).map(img => img.decode().catch(() => null))).then(done);")
        return {
            "title": session.title,
            "images": session.execute_script(IMAGES_SCRIPT),
            "tables": session.execute_script("return Array.from(document.querySelectorAll('table')).map(t => t.id);"),
            "findings": session.execute_script(FINDINGS_SCRIPT),
            "overflow": session.execute_script(OVERFLOW_SCRIPT),
        }
    finally:
        session.quit()
