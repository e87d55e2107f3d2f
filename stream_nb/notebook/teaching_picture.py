"""The Spark guide's picture of windowed aggregation with a watermark, drawn with bokeh, batch by batch.

Processing time (the batch) runs along x, event time up y. Each row that came in is a dot at its event time
in its batch's column (in arrival order across the column); late rows, dropped by the watermark, are red
crosses; the watermark each batch ran with is a red step line; the windows held in state after the chosen
batch are bands across the picture with their counts, those the batch emitted in green; the chosen batch is
shaded. Every glyph and source is made up front and only the sources' ``data`` changes afterwards: adding
models to a displayed document is the fragile path of bokeh/bokeh#7590.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pyarrow as pa

from stream_nb.notebook.formatting import format_clock, plural

_US_PER_MS = 1_000
_COLUMN = 0.6         # the part of a batch's column the dots spread over
_STATE, _EMITTED = "#1f77b4", "#2ca02c"
_WINDOW_COLUMNS = ("left", "right", "bottom", "top", "start", "end", "count", "color", "emitted", "label",
                   "label_x")
LABELLED = 8          # windows labelled with their counts; with more, only the hover says them


class TeachingPicture:
    """The figure and its sources; ``draw`` shows a list of traces up to a chosen batch, ``show`` gives the
    widget once the first batch is drawn."""

    def __init__(self):
        from bokeh.models import ColumnDataSource, HoverTool, LabelSet, Legend, LegendItem
        from bokeh.plotting import figure

        # named, so that a page (and a browser test) can find them in the figure's document
        self.on_time = ColumnDataSource(_empty("x", "y", "batch"), name="teaching_on_time")
        self.late = ColumnDataSource(_empty("x", "y", "batch"), name="teaching_late")
        self.watermark = ColumnDataSource(_empty("x", "y"), name="teaching_watermark")
        self.windows = ColumnDataSource(_empty(*_WINDOW_COLUMNS), name="teaching_windows")
        self.selected = ColumnDataSource(_empty("left", "right", "bottom", "top"), name="teaching_selected")
        p = figure(height=340, sizing_mode="stretch_width", x_axis_type="linear", y_axis_type="datetime",
                   tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="above")
        p.xaxis.axis_label = "processing time: batch"
        p.yaxis.axis_label = "event time (UTC)"
        p.xaxis[0].ticker.min_interval = 1
        p.xgrid.grid_line_color = None
        shade = p.quad(left="left", right="right", bottom="bottom", top="top", source=self.selected,
                       fill_color="#fff3c4", fill_alpha=0.6, line_color=None)
        bands = p.quad(left="left", right="right", bottom="bottom", top="top", source=self.windows,
                       fill_color="color", fill_alpha=0.14, line_color="color", line_alpha=0.6)
        p.add_layout(LabelSet(x="label_x", y="bottom", text="label", source=self.windows,
                              text_font_size="11px", text_align="right", text_color="color", x_offset=-3,
                              y_offset=2))
        line = p.line("x", "y", source=self.watermark, color="#d62728", line_width=2, line_dash="dashed")
        dots = p.scatter("x", "y", source=self.on_time, size=8, color=_STATE, alpha=0.85)
        crosses = p.scatter("x", "y", source=self.late, size=11, marker="x", color="#d62728", line_width=2)
        p.add_tools(HoverTool(renderers=[dots, crosses],
                              tooltips=[("event time", "@y{%F %T.%3N}"), ("batch", "@batch")],
                              formatters={"@y": "datetime"}))  # the page formats: no string per dot
        p.add_tools(HoverTool(renderers=[bands], tooltips=[("window", "@start – @end"), ("count", "@count")]))
        legend = Legend(items=[LegendItem(label="row, by event time", renderers=[dots]),
                               LegendItem(label="late row, dropped", renderers=[crosses]),
                               LegendItem(label="watermark", renderers=[line]),
                               LegendItem(label="window: count", renderers=[bands]),
                               LegendItem(label="chosen batch", renderers=[shade])],
                        location="top_left", label_text_font_size="11px", spacing=2)
        p.add_layout(legend, "right")  # beside the data, never over it
        self.figure = p
        self.widget = None

    def show(self, layout):
        """The widget that displays the figure: made after the first ``draw``, so that the page never draws
        it empty (bokeh warns that it could not set initial ranges)."""
        from bokeh.document import Document

        from stream_nb.notebook.bokeh_widget import OneWayBokehModel

        if self.widget is None:  # one way, as the live chart: the page's echoes are not applied
            document = Document()
            document.add_root(self.figure)
            OneWayBokehModel.make_one_way(document)
            self.widget = OneWayBokehModel(self.figure, layout=layout)
        return self.widget

    def draw(self, traces: list, state_windows: pa.Table | None, counted: str = "rows") -> None:
        """Draw ``traces`` (oldest first; the last is the chosen batch) and the windows after the last:
        ``state_windows`` (start, end, count; held in state) and the ones it emitted; ``counted`` says what
        a window's count counts."""
        on_time = _dots([(t.batch_id, t.picture.on_time) for t in traces if t.picture is not None])
        late = _dots([(t.batch_id, t.picture.late) for t in traces if t.picture is not None])
        watermark = {"x": [], "y": []}
        for trace in traces:
            b = trace.batch_id
            if trace.watermark is not None and trace.watermark.value > 0:  # the epoch: no event time yet
                y = trace.watermark.value / 1e6  # ns -> ms
                watermark["x"] += [b - 0.5, b + 0.5]
                watermark["y"] += [y, y]
            else:
                watermark["x"].append(b)
                watermark["y"].append(np.nan)  # a gap in the line
        chosen = traces[-1] if traces else None
        left = traces[0].batch_id - 0.5 if traces else 0.0
        right = chosen.batch_id + 0.5 if traces else 1.0
        windows = _windows(state_windows, chosen.picture.windows if chosen and chosen.picture else None,
                           left, right, counted)
        ys = np.concatenate([on_time["y"], late["y"], windows["bottom"], windows["top"], watermark["y"]])
        ys = ys[~np.isnan(ys)]
        with self.widget.combined() if self.widget is not None else nullcontext():  # one message to the page
            self._set(on_time, late, watermark, windows, ys, right)

    def _set(self, on_time, late, watermark, windows, ys: np.ndarray, right: float) -> None:
        self.on_time.data = on_time
        self.late.data = late
        self.watermark.data = {k: np.array(v, dtype=float) for k, v in watermark.items()}
        self.windows.data = windows
        # always somewhere, so that the ranges have bounds before any event time is seen
        low, high = (ys.min(), ys.max()) if len(ys) else (0.0, 1000.0)
        self.selected.data = {"left": [right - 1.0], "right": [right], "bottom": [low], "top": [high]}


def _empty(*names: str) -> dict[str, list]:
    return {name: [] for name in names}


def _dots(batches: list[tuple[int, np.ndarray]]) -> dict[str, np.ndarray]:
    """Each batch's event times (µs) as dots across its column, in arrival order: x, y (ms) and batch."""
    xs, ys, ids = [np.array([], float)], [np.array([], float)], [np.array([], np.int64)]
    for batch_id, times in batches:
        n = len(times)
        xs.append(batch_id - _COLUMN / 2 + _COLUMN * (np.arange(n) + 0.5) / max(n, 1))
        ys.append(times / _US_PER_MS)
        ids.append(np.full(n, batch_id, np.int64))
    return {"x": np.concatenate(xs), "y": np.concatenate(ys), "batch": np.concatenate(ids)}


def _windows(state: pa.Table | None, emitted: pa.Table | None, left: float, right: float,
             counted: str) -> dict[str, list]:
    """The windows after the chosen batch: those in state and those it emitted (emitted wins: in update mode
    an emitted window is in state too)."""
    found: dict[tuple[int, int], tuple[int, bool]] = {}
    for table, was_emitted in ((state, False), (emitted, True)):
        if table is None:
            continue
        for row in table.to_pylist():
            found[(row["start"], row["end"])] = (row["count"], was_emitted)
    columns: dict[str, list] = _empty(*_WINDOW_COLUMNS)
    for (start, end), (count, was_emitted) in sorted(found.items()):
        columns["left"].append(left)
        columns["right"].append(right)
        columns["bottom"].append(start / _US_PER_MS)
        columns["top"].append(end / _US_PER_MS)
        columns["start"].append(format_clock(start * 1000))
        columns["end"].append(format_clock(end * 1000))
        columns["count"].append(int(count))
        columns["color"].append(_EMITTED if was_emitted else _STATE)
        columns["emitted"].append(was_emitted)
        columns["label"].append(f"{format_clock(start * 1000)}: {plural(int(count), counted[:-1], counted)}"
                                + (", emitted" if was_emitted else ""))
        columns["label_x"].append(right)
    if len(found) > LABELLED:  # labels of many thin bands overprint each other: the hover tells them
        columns["label"] = [""] * len(found)
    return columns
