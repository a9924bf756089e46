"""A run started in the background shows up, and its page follows it without a reload."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from ui_support import EXAMPLE_YAML, chromium, live_server, watch_errors

from petsard_status.errors import PetsardStatusError

RUN = "live-demo"


def _wait_for_run(db: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    from petsard_status.store.browse import Browser

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the pipeline exited early: {process.stderr.read()}")
        if db.exists():
            try:
                browser = Browser(db)
            except PetsardStatusError:
                pass  # the schema is still being created
            else:
                try:
                    if browser.runs(None, 0, 1)[1]:
                        return
                finally:
                    browser.close()
        time.sleep(0.1)
    pytest.fail("the background run did not appear in the store")


@pytest.mark.slow
def test_a_background_run_appears_and_its_page_updates_itself(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "petsard_status.cli", "run", str(EXAMPLE_YAML), "--db", str(db),
         "--run", RUN, "--seed", "1", "--output", str(tmp_path / "out"), "--plain"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_run(db, process)
        with chromium() as browser, live_server(db) as site:
            from playwright.sync_api import TimeoutError as PlaywrightTimeout

            page = browser.new_page()
            errors = watch_errors(page)
            page.goto(f"{site}/")
            row = page.locator("#runs tr.run")
            assert row.locator(".run-name").inner_text() == RUN
            assert "running" in row.inner_text()
            page.click(f"text={RUN}")
            first = page.locator("#steps tr.step").count()
            assert first < 8, "the run finished before its page could watch it"
            # Set on this document: a reload would start a new one without it.
            page.evaluate("window.__sameDocument = 'yes'")
            try:
                page.wait_for_function(
                    "() => document.querySelectorAll('#steps tr.step').length === 8"
                    " && document.querySelector('h1 .state').textContent === 'completed'",
                    timeout=180_000,
                )
            except PlaywrightTimeout:
                pytest.fail(f"the page did not follow the run (pipeline exit code "
                            f"{process.poll()}); it shows:\n{page.locator('body').inner_text()}")
            assert page.evaluate("window.__sameDocument") == "yes"
            assert page.locator("#flow .state").all_inner_texts() == ["done"] * 8
            assert page.locator("#timeline svg.main-svg").count() >= 1
            assert errors == []
        assert process.wait(timeout=180) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
