"""The run page's timeline: one bar per timing record (or per step), drawn by plotly."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any

__all__ = ["timeline_figure"]

STATE_COLOURS = {"done": "#3b7dd8", "failed": "#d83b3b", "running": "#e0a020"}


def timeline_figure(bars: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """A plotly.js figure (``data`` and ``layout``) as plain JSON data; None when nothing to draw.

    Each bar is ``{"label", "start", "end", "state"}``.  Labels have ``&``, ``<``
    and ``>`` escaped because plotly reads a subset of HTML in its texts (no tag
    can form without ``<``; plotly decodes these three entities, not quotes), so
    a name such as ``<b>`` shows as typed.
    """
    drawn = [b for b in bars if isinstance(b.get("start"), dt.datetime)
             and isinstance(b.get("end"), dt.datetime)]
    if not drawn:
        return None
    labels = [html.escape(b["label"], quote=False) for b in drawn]
    # A bar's length on a date axis is in milliseconds.
    lengths = [max((b["end"] - b["start"]).total_seconds() * 1000.0, 1.0) for b in drawn]
    # The figure is written as plotly.js's own data, not through plotly's Python
    # objects: validating 300 bars there costs 50 ms a page for nothing.
    return {
        "data": [{
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": lengths,
            "base": [b["start"].isoformat() for b in drawn],
            "marker": {"color": [STATE_COLOURS.get(b.get("state", "done"), "#3b7dd8")
                                 for b in drawn]},
            "hovertext": [f"{label}: {length / 1000.0:.3f}s"
                          for label, length in zip(labels, lengths)],
            "hoverinfo": "text",
        }],
        "layout": {
            "height": max(220, 28 * len(drawn) + 90),
            "margin": {"l": 20, "r": 20, "t": 20, "b": 40},
            "xaxis": {"type": "date", "title": {"text": "time"}},
            "yaxis": {"autorange": "reversed", "automargin": True, "type": "category"},
            "showlegend": False,
            "plot_bgcolor": "#fafafa",
        },
    }
