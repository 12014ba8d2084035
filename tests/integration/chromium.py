"""Headless Chromium for tests that open a page: Debian's ``chromium`` package, driven by
Playwright. Never skipped: where the browser is missing, the test fails and says how to
install it (``make test`` installs it where it can)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get install -y chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""Headless, without the sandbox (tests run as root in containers, where it cannot
start) and without anything the browser would fetch or start by itself."""


def launch(playwright: Playwright) -> Browser:
    """The system's Chromium, headless; a test failure naming the fix if it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium with `{INSTALL}`")
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=ARGS, chromium_sandbox=False
    )
