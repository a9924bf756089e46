"""A read-only web view of a store: runs, steps, timings, metadata, fields and results.

Needs the ``ui`` extra (``pip install 'petsard-status[ui]'``): Starlette, uvicorn,
Jinja2 and plotly, whose JavaScript is served from the installed package.
"""

from petsard_status.ui._app import create_app
from petsard_status.ui._serve import serve, write_report

__all__ = ["create_app", "serve", "write_report"]
