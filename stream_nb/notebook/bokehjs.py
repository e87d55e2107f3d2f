"""BokehJS, loaded into the page from the installed bokeh package (no CDN), so charts render offline."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_loaded = False


def load_bokehjs() -> None:
    """Make sure the page has BokehJS once per kernel: jupyter_bokeh's widget draws with the page's BokehJS.

    Under a Jupyter server with stream_nb's server extension, the front end loads it from the installed
    bokeh package already, so nothing goes into the notebook; elsewhere (nbclient, another front end) it is
    displayed inline, which works offline but makes the saved notebook large."""
    global _loaded
    with _lock:
        if _loaded:
            return
        from stream_nb.server import page_has_bokehjs

        if not page_has_bokehjs():
            from bokeh.io.notebook import load_notebook
            from bokeh.resources import INLINE

            load_notebook(resources=INLINE, hide_banner=True)
        _loaded = True


def warm_up() -> None:
    """Build, serialise and patch a small chart once, untimed, so that the first ``%%stream`` cell returns at
    once (bokeh prepares each model class on first use, a few hundred milliseconds in all)."""
    import numpy as np
    from bokeh.document import Document
    from bokeh.embed.util import standalone_docs_json_and_render_items
    from bokeh.models import ColumnDataSource, FactorRange
    from bokeh.plotting import figure
    from bokeh.protocol import Protocol

    for categorical in (False, True):
        extra = {"x_range": FactorRange(factors=["a"])} if categorical else {"x_axis_type": "datetime"}
        p = figure(height=100, **extra)
        document = Document()
        document.add_root(p)
        standalone_docs_json_and_render_items([p], suppress_callback_warning=True)
        document.on_change(lambda event: Protocol().create("PATCH-DOC", [event]))
        x = ["a"] if categorical else np.array([1.0])
        source = ColumnDataSource(data={"x": x, "y0": np.array([1.0])})
        p.line("x", "y0", source=source, legend_label="a")
        p.scatter("x", "y0", source=source, legend_label="b")
        p.vbar(x="x", top="y0", width=1, source=source)
        p.varea("x", y1=0, y2="y0", source=source)
        source.stream({"x": ["b"] if categorical else np.array([2.0]), "y0": np.array([2.0])}, rollover=10)
        source.patch({"y0": [(0, 3.0)]})
