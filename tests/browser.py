"""Debian's Chromium for page tests, driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHURN_CHROMIUM", "/usr/bin/chromium"))
# Headless, and nothing reaching out: this machine's network is closed to all but loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Fail in CI (a missing browser is a broken setup), skip with a reason elsewhere."""
    if CHROMIUM.is_file():
        return
    message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium); .ci/run does"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)
