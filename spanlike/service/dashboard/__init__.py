"""The desk dashboard: one web page at ``/`` of the margin service, and the JSON routes it calls.

The page (``static/``: plain HTML, CSS and JavaScript, no build step and no
third-party code) loads a book, picks a parameter set and shows the margin
breakdown, the scenario heatmap, an order ticket and the efficiency view.
Charts are SVG drawn on the server (:mod:`.svg`) from the same data classes
the CLI's PNG charts use (:mod:`spanlike.efficiency.chart_data`), so the
numbers on the page are the library's and are tested in Python.

Modules: :mod:`.books` (uploaded or pasted books through the library's
readers), :mod:`.engines` (one prepared engine per bundled parameter set),
:mod:`.analysis` (the JSON the page draws), :mod:`.svg` (charts),
:mod:`.routes` (the endpoints, mounted by :func:`mount_dashboard`),
:mod:`.launch` (a demo server with the demo book).
"""

from __future__ import annotations

from spanlike.service.dashboard.routes import mount_dashboard

__all__ = ["mount_dashboard"]
