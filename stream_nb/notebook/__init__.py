"""The notebook face of stream_nb: ``%%stream`` / ``%stream`` magics, live views, the teaching view.

``%load_ext stream_nb`` registers the magics; ``q.show(...)`` displays a live view from Python. Importing
this package is cheap: ipywidgets, bokeh and IPython load when a view or the magics are first used.
"""

from __future__ import annotations


def load_ipython_extension(ipython) -> None:
    """``%load_ext stream_nb``: register ``%%stream`` and ``%stream``, and load BokehJS into the page."""
    from stream_nb.notebook.magics import register

    register(ipython)


def show(query, chart=None, **options) -> None:
    """Display a live view of ``query`` (see ``StreamingQuery.show``)."""
    from stream_nb.notebook.live import show as _show

    _show(query, chart, **options)


def side_by_side(*queries, rows: int = 10, explain: bool = False) -> None:
    """Display the tables of several queries next to each other."""
    from stream_nb.notebook.live import side_by_side as _side_by_side

    _side_by_side(*queries, rows=rows, explain=explain)


def views(query=None) -> list:
    """The live views opened in this kernel (of ``query``, a query or its name, if given)."""
    from stream_nb.notebook.view import views as _views

    return _views(query)


__all__ = ["load_ipython_extension", "show", "side_by_side", "views"]
