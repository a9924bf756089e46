"""The pages' HTML: Jinja2 templates with autoescaping on, and the one self-contained run report.

Every text a store holds (run, experiment and column names, values, errors)
reaches the page through an autoescaped template or ``tojson`` (which escapes
``<``, ``>``, ``&`` and quotes), never through ``|safe``; the only raw text
inserted is the package's own JavaScript.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
import plotly.offline

from petsard_status import __version__

__all__ = ["plotly_js", "render_page", "ui_js"]


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("petsard_status.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    return env


def _link(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def _no_link(_path: str, **_params: Any) -> str:
    return ""


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """plotly.js as shipped inside the installed plotly package."""
    return plotly.offline.get_plotlyjs()


@functools.lru_cache(maxsize=1)
def ui_js() -> str:
    return resources.files("petsard_status.ui").joinpath("static/ui.js").read_text("utf-8")


def _inline(script: str) -> str:
    # Inside <script>, only "</script" (any case) can end the element early.
    return script.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def render_page(template: str, data: dict[str, Any], *, standalone: bool = False) -> str:
    """One page; ``standalone`` inlines the scripts and leaves out links to other pages."""
    context = {
        "data": data,
        "link": _no_link if standalone else _link,
        "standalone": standalone,
        "inline_scripts": (_inline(plotly_js()), _inline(ui_js())) if standalone else (),
    }
    return _environment().get_template(template).render(context)
