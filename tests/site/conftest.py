"""One headless Chromium per test module, for the browser tests."""
from __future__ import annotations

import pytest

from _browser import CHROMIUM_FLAGS, find_browser, missing


@pytest.fixture(scope="module")
def browser():
    executable = find_browser()
    if executable is None:
        missing("no chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chrome)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the Python package playwright is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield b
        b.close()
