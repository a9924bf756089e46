"""Serving the web view with uvicorn, and writing one run's page as a self-contained file."""

from __future__ import annotations

import os
from pathlib import Path

import uvicorn

from petsard_status.store.browse import Browser
from petsard_status.ui import _pages
from petsard_status.ui._app import create_app
from petsard_status.ui._render import render_page

__all__ = ["serve", "write_report"]


def serve(db: str | os.PathLike[str] | None, host: str, port: int) -> None:
    """Serve the store read-only until interrupted."""
    browser = Browser(db)
    try:
        uvicorn.run(create_app(browser), host=host, port=port, log_level="warning",
                    access_log=False)
    finally:
        browser.close()


def write_report(db: str | os.PathLike[str] | None, run: str, path: Path) -> Path:
    """Write run ``run``'s page, scripts inlined, as one HTML file that needs no network."""
    browser = Browser(db)
    try:
        data = _pages.run_page(browser, _pages.ResultCache(browser), run)
    finally:
        browser.close()
    path.write_text(render_page("run.html", data, standalone=True), encoding="utf-8")
    return path
