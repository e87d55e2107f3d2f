"""``q.show(...)`` and friends: build a live view of a query and display it."""

from __future__ import annotations

from stream_nb.notebook.bokehjs import load_bokehjs
from stream_nb.notebook.chart_spec import ROLLOVER, ChartOptionError, ChartSpec
from stream_nb.notebook.view import LiveView


def open_view(query, chart: str | None = None, *, x: str | None = None, y: str | list[str] | None = None,
              by: str | None = None, table: bool | None = None, rows: int = 10, explain: bool = False,
              rollover: int = ROLLOVER) -> LiveView:
    """Build a live view (not displayed yet); raises ``ChartOptionError`` for columns the output lacks."""
    spec = ChartSpec.parse(chart, x=x, y=y, by=by, rollover=rollover)
    if table is None:
        table = spec is None and not explain
    if rows < 1:
        raise ChartOptionError(f"rows is how many rows the table shows: a positive number, not {rows}")
    return LiveView(query, chart=spec, table=table, rows=rows, explain=explain)


def show(query, chart: str | None = None, *, x: str | None = None, y: str | list[str] | None = None,
         by: str | None = None, table: bool | None = None, rows: int = 10, explain: bool = False,
         rollover: int = ROLLOVER) -> None:
    """Display a live view of ``query``: status bar, controls, and a chart, a table and/or the teaching view.

    ``chart`` is line, bar, scatter or area; ``x`` a column (``w.start`` for a window's start), ``y`` one or
    more numeric columns (a list or ``"a,b"``), ``by`` a column with one series per value; ``table`` shows the
    latest rows (the default when there is no chart), ``rows`` of them; ``explain`` adds the teaching view;
    ``rollover`` is how many points each series keeps.
    """
    from IPython.display import display

    view = open_view(query, chart, x=x, y=y, by=by, table=table, rows=rows, explain=explain,
                     rollover=rollover)
    if view.has_chart:
        load_bokehjs()
    display(view.widget)
    view.start()


def side_by_side(*queries, rows: int = 10, explain: bool = False) -> None:
    """Display the tables of several queries next to each other (e.g. one query in the three output modes)."""
    import ipywidgets as widgets
    from IPython.display import display

    opened = [open_view(q, table=True, rows=rows, explain=explain) for q in queries]
    for view in opened:
        view.widget.layout = widgets.Layout(flex="1 1 0", min_width="260px", margin="0 8px 0 0")
    display(widgets.HBox([v.widget for v in opened], layout=widgets.Layout(flex_flow="row wrap")))
    for view in opened:
        view.start()
