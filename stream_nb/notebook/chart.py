"""The live chart: a bokeh figure in a one-way ``jupyter_bokeh`` widget, fed with deltas of the result table.

Every model is made before the figure is displayed (``chart_slots``: a slot per series, taken as series
appear), so what changes after display are properties and data of those models, never the set of models
(adding models to a displayed document is a fragile path in bokeh + jupyter_bokeh, bokeh/bokeh#7590).
Updates follow the output mode: append streams the new rows (``source.stream`` with a rollover), update
patches the rows of changed keys (``source.patch``, through a key -> row index map) and streams new keys,
complete replaces ``source.data``; one update goes to the page as one message
(``bokeh_widget.OneWayBokehModel``). While the chart holds no point, a hidden anchor point keeps its ranges
valid (an empty DataRange1d is NaN: BokehJS warns and the axes go blank). A duration (a day-time interval) is
drawn in seconds, on an x or a y axis; a map (a dict) as an x category or a series is drawn as its table text.
This module is the one place that turns result rows into a chart update.
"""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from stream_nb.notebook.chart_slots import Series, SeriesSlots
from stream_nb.notebook.chart_spec import ChartSpec
from stream_nb.notebook.formatting import cell_text, epoch_ms
from stream_nb.notebook.results import CATEGORY, DURATION, NUMBER, TIME, ResultDelta

ANCHOR = "stream_nb-empty-anchor"   # the hidden renderer that keeps an empty chart's ranges valid
DEFAULT_SPAN_MS = 10_000   # a time axis around a single x value spans this, so its ticks read as times


class Chart:
    """A live chart of a query's result; ``apply(delta)`` sends the change, never the whole figure."""

    def __init__(self, spec: ChartSpec, kinds: dict[str, str], output_mode: str):
        from bokeh.document import Document
        from bokeh.models import ColumnDataSource, DataRange1d, FactorRange
        from bokeh.plotting import figure
        from ipywidgets import Layout

        from stream_nb.notebook.bokeh_widget import OneWayBokehModel

        self.spec = spec
        self.mode = output_mode
        self.kinds = kinds
        self.x_kind = kinds[spec.x]
        end = spec.x[: -len(".start")] + ".end" if spec.x.endswith(".start") else None
        self._end_column = end if end in kinds and kinds[end] == kinds[spec.x] else None
        if self.x_kind == CATEGORY:  # the axis type follows the range: a categorical axis, labelled
            axis = {"x_range": FactorRange(), "x_axis_type": "auto"}
        elif self.x_kind == TIME:
            axis = {"x_range": DataRange1d(default_span=DEFAULT_SPAN_MS), "x_axis_type": "datetime"}
        else:
            axis = {"x_axis_type": "linear"}
        self.figure = figure(height=300, sizing_mode="stretch_width",
                             tools="pan,wheel_zoom,box_zoom,reset,save", **axis)
        self.figure.xaxis.axis_label = _axis_label(spec.x, kinds)
        self.figure.yaxis.axis_label = ", ".join(_axis_label(name, kinds) for name in spec.y)
        if self.x_kind == TIME:
            self.figure.xaxis.formatter = _time_formatter()
        for axis, columns in ((self.figure.xaxis, [spec.x]), (self.figure.yaxis, spec.y)):
            if any(kinds[c] == DURATION for c in columns):
                axis.formatter = _seconds_formatter()
        self.slots = SeriesSlots(self.figure, spec, self.x_kind)
        self._anchor = self.figure.scatter("x", "y", source=ColumnDataSource(data=self._anchor_point()), size=0,
                                           visible=False, name=ANCHOR)
        self._lock = threading.RLock()   # apply on the engine's thread, a resync on the kernel's
        document = Document()
        document.add_root(self.figure)
        OneWayBokehModel.make_one_way(document)
        self.widget = OneWayBokehModel(self.figure, layout=Layout(width="100%"))  # else no width in a box
        # patches sent before the page has made the widget's view are lost (jupyter_bokeh keeps none): the
        # first view gets the whole figure again
        self.widget._view_count = 0
        self.widget.observe(self._on_views, "_view_count")

    @property
    def series(self) -> dict[Any, Series]:
        """The series drawn so far, by their --by value (None without --by)."""
        return self.slots.series

    @property
    def left_out(self) -> set:
        """The --by values beyond the slots, not drawn."""
        return self.slots.left_out

    @property
    def legend(self):
        return self.slots.legend

    @property
    def points(self) -> int:
        """Points now held by the chart's sources (the browser holds the same)."""
        return sum(len(s) for s in self.series.values())

    def apply(self, delta: ResultDelta) -> None:
        """Draw one delta of the result: one message to the page, whatever it changes."""
        with self._lock, self.widget.combined():
            if self.spec.kind == "bar" and self.slots.bar_span is None and not delta.new.empty:
                self.slots.bar_span = self._span(delta.new)
                self.slots.lay_out_bars()
            if delta.replace:
                self._replace(delta.new)
            elif self.mode == "append":
                self._stream(delta.new, None)
            else:
                self._patch(delta.changed, delta.changed_keys)
                self._stream(delta.new, delta.new_keys)
            anchored = len(self._anchor.data_source.data["x"]) > 0
            if anchored != (self.points == 0):
                self._anchor.data_source.data = {"x": [], "y": []} if anchored else self._anchor_point()

    def resync(self) -> None:
        """Send the whole figure again (a view displayed anew after the patches it missed)."""
        with self._lock:
            self.widget.update_from_model(self.figure)

    def _on_views(self, change) -> None:
        if change["new"] and not change["old"]:
            self.resync()

    def _anchor_point(self) -> dict[str, list]:
        """One point where the first data is likely: now on a time axis, 0 on others (a number is a place on
        a categorical axis too)."""
        return {"x": [time.time() * 1000 if self.x_kind == TIME else 0.0], "y": [0.0]}

    # -- the three kinds of update ---------------------------------------------------------------------

    def _replace(self, frame: pd.DataFrame) -> None:
        seen = set()
        for value, columns, _ in self._groups(frame, None):
            series = self.slots.for_value(value, columns)
            if series is None:
                continue
            seen.add(value)
            if self.mode == "append":  # the rollover holds as when the rows came one batch at a time
                columns = {name: values[-self.spec.rollover:] for name, values in columns.items()}
            columns = _sorted(columns) if self.kind_is_connected else columns
            series.source.data = columns
        for value, series in self.series.items():
            if value not in seen and len(series):
                series.source.data = {name: values[:0] for name, values in series.source.data.items()}

    def _stream(self, rows: pd.DataFrame, keys: list[tuple] | None) -> None:
        for value, columns, positions in self._groups(rows, keys):
            series = self.slots.for_value(value, columns)
            if series is None:
                continue
            row_keys = None if keys is None else [keys[i] for i in positions]
            old_x = series.source.data["x"]
            backwards = self.kind_is_connected and len(old_x) and self.x_kind != CATEGORY \
                and np.min(columns["x"]) < np.max(old_x)
            if row_keys is not None and backwards:  # a late key: put it in its place, keep the key map true
                self._rebuild(series, columns, row_keys)
                continue
            if backwards:  # append mode: sort within what arrives; rows already drawn stay
                columns = _sorted(columns)
            series.source.stream(columns, rollover=self.spec.rollover)
            if row_keys is not None:  # the rollover drops the oldest rows, and their keys with them
                series.reindex((series.keys + row_keys)[-self.spec.rollover:])

    def _patch(self, rows: pd.DataFrame, keys: list[tuple]) -> None:
        """Changed keys' points patched where they are: y, and x too (x need not be a key: a count, a latest
        time), a line's points put back in x order if that moved; a key whose --by value changed leaves its
        old series for its new one."""
        missing_at = []
        for value, columns, positions in self._groups(rows, keys):
            series = self.series.get(value)
            if series is None:
                missing_at += positions
                continue
            if self.x_kind == CATEGORY:
                self.slots.add_factors(columns["x"])
            patches: dict[str, list] = {name: [] for name in columns}
            old_x, moved = series.source.data["x"], False
            for i, position in enumerate(positions):
                index = series.where.get(keys[position])
                if index is None:
                    missing_at.append(position)
                    continue
                moved = moved or old_x[index] != columns["x"][i]
                for name, patch in patches.items():
                    patch.append((index, _plain(columns[name][i])))
            if any(patches.values()):
                series.source.patch({k: v for k, v in patches.items() if v})
            if moved and self.kind_is_connected:
                self._resort(series)
        if missing_at:  # keys that moved series or rolled out: out of the series they were in, drawn as new
            for key in (keys[i] for i in missing_at):
                for series in self.series.values():
                    if key in series.where:
                        self._leave(series, series.where[key])
                        break
            self._stream(rows.iloc[missing_at], [keys[i] for i in missing_at])

    def _leave(self, series: Series, index: int) -> None:
        """The point at ``index`` out of ``series`` (its key's --by value is another series' now)."""
        series.source.data = {name: np.delete(np.asarray(values), index)
                              for name, values in series.source.data.items()}
        series.reindex(series.keys[:index] + series.keys[index + 1:])

    def _rebuild(self, series: Series, columns: dict[str, Any], keys: list[tuple]) -> None:
        old = series.source.data
        merged = {name: np.concatenate([np.asarray(old[name]), np.asarray(values)])
                  for name, values in columns.items()}
        all_keys = series.keys + keys
        order = np.argsort(merged["x"], kind="stable") if self.kind_is_connected else np.arange(len(all_keys))
        order = order[-self.spec.rollover:]
        series.source.data = {name: values[order] for name, values in merged.items()}
        series.reindex([all_keys[i] for i in order])

    def _resort(self, series: Series) -> None:
        """A line's points back in x order after a patch moved some x."""
        data = {name: np.asarray(values) for name, values in series.source.data.items()}
        order = np.argsort(data["x"], kind="stable")
        series.source.data = {name: values[order] for name, values in data.items()}
        series.reindex([series.keys[i] for i in order])

    # -- rows to columns -------------------------------------------------------------------------------

    @property
    def kind_is_connected(self) -> bool:
        return self.spec.kind in ("line", "area")

    def _groups(self, rows: pd.DataFrame, keys: list[tuple] | None):
        """(series value, {x, y0, ...}, positions in rows) for each series present in ``rows``."""
        if rows.empty:
            return
        columns = {"x": self._x(rows[self.spec.x])}
        for i, name in enumerate(self.spec.y):
            columns[f"y{i}"] = _writable(_numbers(rows[name], self.kinds[name]))
        if self.spec.by is None:
            yield None, columns, list(range(len(rows)))
            return
        # a map's series is named by its text (a dict is unhashable: no series value)
        by = np.array([cell_text(v, True) if isinstance(v, _AS_TEXT) else v
                       for v in rows[self.spec.by].astype(object).where(rows[self.spec.by].notna(), None)],
                      dtype=object)
        for value in dict.fromkeys(by):
            positions = np.flatnonzero(by == value) if value is not None else \
                np.flatnonzero(pd.isna(rows[self.spec.by]).to_numpy())
            yield value, {n: v[positions] for n, v in columns.items()}, positions.tolist()

    def _x(self, values: pd.Series) -> np.ndarray:
        if self.x_kind == TIME:
            return _writable(epoch_ms(values).to_numpy(dtype=float, na_value=np.nan))
        if self.x_kind in (NUMBER, DURATION):
            return _writable(_numbers(values, self.x_kind))
        return _writable(np.array([_category(v) for v in values], dtype=object))

    def _span(self, frame: pd.DataFrame) -> float:
        """The width a bar stands for: the window's length when x is its start; else the spacing of x."""
        if self.x_kind == CATEGORY:
            return 1.0
        x = self._x(frame[self.spec.x])
        if self._end_column is not None:
            lengths = self._x(frame[self._end_column]) - x
            if np.isfinite(lengths).any():
                return float(np.nanmedian(lengths))
        gaps = np.diff(np.unique(x[~np.isnan(x)]))
        return float(gaps.min()) if len(gaps) else (1000.0 if self.x_kind == TIME else 1.0)


def _time_formatter():
    """Tick labels that read as times at every zoom (bokeh's defaults show "999000us" around one point)."""
    from bokeh.models import DatetimeTickFormatter

    fine = "%H:%M:%S.%3N"
    return DatetimeTickFormatter(microseconds=fine, milliseconds=fine, seconds="%H:%M:%S", minsec="%H:%M:%S",
                                 minutes="%H:%M", hourmin="%H:%M", hours="%H:%M", days="%Y-%m-%d",
                                 months="%Y-%m", years="%Y")


def _seconds_formatter():
    """Seconds written out: 172,800, not bokeh's 1.728e+5."""
    from bokeh.models import NumeralTickFormatter

    return NumeralTickFormatter(format="0,0.[000]")


_AS_TEXT = (dict, list, np.ndarray, pd.Timedelta, pd.DateOffset)   # values a category shows as the table does


def _category(value) -> str:
    """An x category or a series' value as text: a map (a dict) or an array as the table writes it, not Python's
    repr (``{a: 1}``, not ``{'a': 1}``)."""
    return cell_text(value, True) if isinstance(value, _AS_TEXT) else str(value)


def _numbers(values: pd.Series, kind: str) -> np.ndarray:
    """A column as floats: a duration in seconds (an interval with months, which has no length, as NaN)."""
    if kind == DURATION:
        seconds = [pd.Timedelta(v) / pd.Timedelta(seconds=1)
                   if isinstance(v, datetime.timedelta | np.timedelta64) and not pd.isna(v) else np.nan
                   for v in values]
        return np.array(seconds, dtype=float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _axis_label(column: str, kinds: dict[str, str]) -> str:
    return f"{column} (seconds)" if kinds[column] == DURATION else column


def _sorted(columns: dict[str, Any]) -> dict[str, Any]:
    order = np.argsort(columns["x"], kind="stable")
    return {name: np.asarray(values)[order] for name, values in columns.items()}


def _writable(values: np.ndarray) -> np.ndarray:
    """A copy bokeh may patch in place (pandas hands out read-only views)."""
    return np.array(values, copy=True)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
