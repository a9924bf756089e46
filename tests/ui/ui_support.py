"""What the web view's tests share: a live server on a free loopback port, and real Chromium.

Chromium is Debian's package at ``/usr/bin/chromium``, driven by Playwright's
Python package (its own browser download is never used).  Without it the tests
skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ADULT_CSV = REPO / "examples" / "data" / "adult-income.csv"
EXAMPLE_YAML = REPO / "examples" / "adult-income.yaml"
# The run the session fixtures ``example_db`` and ``example_pg`` hold.
EXAMPLE_RUN = "adult-demo"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_chromium() -> None:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[test]')"
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true requires the browser tests to run: {reason}")
        pytest.skip(reason)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(db: str | os.PathLike[str]) -> Iterator[str]:
    """The web view of ``db`` served by uvicorn in a background thread; yields its base URL."""
    import uvicorn

    from petsard_status.store.browse import Browser
    from petsard_status.ui import create_app

    browser = Browser(db)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(browser), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web view's server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        browser.close()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A real headless Chromium (Playwright ``Browser``)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch_errors(page: Any) -> list[str]:
    """Collects the page's script errors, so a test can say there were none."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors
