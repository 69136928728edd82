"""What the browser tests share: where Chromium is, its flags, and the rule for a missing part."""
from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_browser() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing(reason: str):
    """Skip with the reason; with DLNOTES_REQUIRE_BROWSER=1 (set by CI) fail instead."""
    if os.environ.get("DLNOTES_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (DLNOTES_REQUIRE_BROWSER=1, so this is a failure, not a skip)")
    pytest.skip(reason)


