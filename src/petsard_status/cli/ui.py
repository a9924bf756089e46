"""``petsard-status ui`` (a read-only web view of a store) and ``report RUN --html FILE``."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Any

import click

from petsard_status.cli.options import db_option, user_errors

INSTALL_HINT = "the web view needs its extra: pip install 'petsard-status[ui]'"
UI_PACKAGES = {"starlette", "uvicorn", "jinja2", "plotly", "markupsafe"}


def _load_ui() -> Any:
    try:
        import petsard_status.ui as ui
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in UI_PACKAGES:
            raise
        click.echo(f"Error: {INSTALL_HINT}", err=True)
        sys.exit(1)
    return ui


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("ui")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback exposes the store's contents.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@user_errors
def ui_command(db: str | None, host: str, port: int) -> None:
    """Serve a read-only web view of the store's runs (Ctrl-C stops it)."""
    ui = _load_ui()
    if not _is_loopback(host):
        click.echo(f"Warning: listening on {host}, not loopback: anyone who can reach this "
                   "address can read every run in the store, and the view has no login",
                   err=True)
    click.echo(f"petsard-status ui on http://{host}:{port}/ (read-only; Ctrl-C stops it)")
    ui.serve(db, host, port)


@click.command("report")
@click.argument("run", metavar="RUN")
@click.option("--html", "html_path", required=True, type=click.Path(dir_okay=False,
              path_type=Path), help="Write RUN's page to this file (self-contained HTML).")
@db_option
@user_errors
def report_command(run: str, html_path: Path, db: str | None) -> None:
    """Write RUN's page as one HTML file that opens offline and can be mailed."""
    ui = _load_ui()
    path = ui.write_report(db, run, html_path)
    click.echo(f"wrote {path}")
