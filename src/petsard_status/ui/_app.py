"""The web view as a Starlette application: GET-only routes over a read-only store.

Names travel in query strings (``/run?name=...``), never in paths, so a run
or column called ``a/b?<c>`` needs no special routing.  Every response carries
a Content-Security-Policy that allows scripts only from this server: even a
name that escaped escaping could not run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from petsard_status.errors import PetsardStatusError, RunNotFoundError, SnapshotError
from petsard_status.store.browse import Browser
from petsard_status.ui import _pages
from petsard_status.ui._render import plotly_js, render_page, ui_js

__all__ = ["create_app"]

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class BadRequest(ValueError):
    """A query parameter the page cannot use."""


def _int(request: Request, name: str, default: int | None = None) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        if default is None:
            raise BadRequest(f"the page needs ?{name}=NUMBER")
        return default
    if not text.isdigit() or len(text) > 12:
        raise BadRequest(f"?{name} must be a whole number, not {text!r}")
    return int(text)


def _text(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if value is None:
        raise BadRequest(f"the page needs ?{name}=...")
    return value


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def create_app(browser: Browser) -> Starlette:
    """The application serving ``browser``'s store; the caller closes the browser."""
    cache = _pages.ResultCache(browser)
    lock = threading.Lock()

    def page(template: str, build: Callable[[Request], dict[str, Any]]) -> Callable:
        def endpoint(request: Request) -> Response:
            try:
                with lock:
                    data = build(request)
            except BadRequest as exc:
                return _html(render_page("error.html", {"message": str(exc)}), 400)
            except (RunNotFoundError, SnapshotError) as exc:
                return _html(render_page("error.html", {"message": str(exc)}), 404)
            except PetsardStatusError as exc:
                return _html(render_page("error.html", {"message": str(exc)}), 500)
            return _html(render_page(template, data))

        return endpoint

    def progress(request: Request) -> Response:
        try:
            with lock:
                row = browser.run(_text(request, "run"))
                data = browser.progress(row.id)
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, 400, headers=HEADERS)
        except PetsardStatusError as exc:
            return JSONResponse({"error": str(exc)}, 404, headers=HEADERS)
        return JSONResponse(data, headers=HEADERS)

    def script(text: Callable[[], str]) -> Callable:
        def endpoint(_request: Request) -> Response:
            headers = {**HEADERS, "Cache-Control": "public, max-age=86400"}
            return Response(text(), media_type="text/javascript", headers=headers)

        return endpoint

    routes = [
        Route("/", page("runs.html", lambda r: _pages.runs_page(
            browser, r.query_params.get("state"), _int(r, "page", 1)))),
        Route("/run", page("run.html", lambda r: _pages.run_page(
            browser, cache, _text(r, "name"), _int(r, "page", 1)))),
        Route("/snapshot", page("snapshot.html", lambda r: _pages.snapshot_page(
            browser, _text(r, "run"), _int(r, "seq")))),
        Route("/diff", page("diff.html", lambda r: _pages.diff_page(
            browser, _text(r, "run"), _int(r, "seq")))),
        Route("/field", page("field.html", lambda r: _pages.field_page(
            browser, _text(r, "run"), _text(r, "name")))),
        Route("/result", page("result.html", lambda r: _pages.result_page(
            browser, cache, _text(r, "run"), _int(r, "seq"), r.query_params.get("part", ""),
            _int(r, "page", 1)))),
        Route("/api/progress", progress),
        Route("/static/plotly.min.js", script(plotly_js)),
        Route("/static/ui.js", script(ui_js)),
    ]
    return Starlette(routes=routes)
