"""Which BokehJS files the server extension serves, and how a kernel learns that its page has BokehJS.

The files are the installed bokeh package's own (``bokeh.resources``' minified bundles), named with their
version so that a browser may cache them for good: ``bokeh-3.9.2.min.js``, ``bokeh-gl-3.9.2.min.js``, ...
MathJax's bundle (1.7 MB, for TeX in labels) is left out: stream_nb's charts have none.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

BUNDLES = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables")  # in load order: bokeh first
ENV = "STREAM_NB_BOKEHJS"   # set by the server extension for the kernels it starts: the BokehJS version served


def version() -> str:
    import bokeh

    return bokeh.__version__


@cache
def files() -> dict[str, Path]:
    """File name served -> path in the bokeh package, in load order.

    >>> list(files())[0] == f"bokeh-{version()}.min.js"
    True
    """
    from bokeh.util.paths import bokehjs_path

    js = Path(bokehjs_path()) / "js"
    return {f"{bundle}-{version()}.min.js": js / f"{bundle}.min.js" for bundle in BUNDLES
            if (js / f"{bundle}.min.js").is_file()}


def announce() -> None:
    """Tell the kernels the server starts from now on (they inherit its environment) that the page loads
    BokehJS: the front end does it at startup, through the server extension."""
    os.environ[ENV] = version()


def page_has_bokehjs() -> bool:
    """In a kernel: whether its page loads BokehJS itself, so a view need not display it inline.

    True when the kernel was started by a Jupyter server running this extension, with the same bokeh
    version as the kernel's (a kernel of another environment may have another bokeh).
    """
    return os.environ.get(ENV) == version()
