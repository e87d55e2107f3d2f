"""The live chart: a bokeh figure in a ``jupyter_bokeh.BokehModel``, fed with deltas of the result table.

One ``ColumnDataSource`` per series (a value of ``--by``; the whole result without it), with columns ``x``,
``y0``, ``y1``, ... (one per ``--y``) and one glyph per ``--y`` column. Updates follow the output mode:
append streams the new rows (``source.stream`` with a rollover), update patches the rows of changed keys
(``source.patch``, through a key -> row index map) and streams new keys, complete replaces ``source.data``.
This module is the one place that turns result rows into a chart update.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from stream_nb.notebook.formatting import epoch_ms
from stream_nb.notebook.results import CATEGORY, NUMBER, TIME, ResultDelta

KINDS = ("line", "bar", "scatter", "area")
ROLLOVER = 2_000       # points kept per series
MAX_SERIES = 20        # series drawn; keys beyond these are left out (and said so)


class ChartOptionError(ValueError):
    """A chart option that does not fit the query's output (an unknown column, a chart kind)."""


@dataclass(frozen=True)
class ChartSpec:
    """What to draw: ``kind`` of chart, ``x`` column, ``y`` columns, one series per value of ``by``.

    >>> ChartSpec.parse("line", x="w.start", y="avg_temp,max_temp", by="device").y
    ('avg_temp', 'max_temp')
    """

    kind: str = "line"
    x: str | None = None
    y: tuple[str, ...] = ()
    by: str | None = None
    rollover: int = ROLLOVER

    @classmethod
    def parse(cls, kind: str | None = None, *, x: str | None = None, y: str | list[str] | None = None,
              by: str | None = None, rollover: int = ROLLOVER) -> ChartSpec | None:
        """A spec from the magic's or ``q.show``'s options; None when no chart is asked for."""
        if kind is None and x is None and not y and by is None:
            return None
        kind = kind or "line"
        if kind not in KINDS:
            raise ChartOptionError(f"unknown chart {kind!r}: choose one of {', '.join(KINDS)}")
        ys = y.split(",") if isinstance(y, str) else list(y or [])
        return cls(kind, x, tuple(c.strip() for c in ys if c.strip()), by, rollover)

    def resolve(self, kinds: dict[str, str], query_name: str) -> ChartSpec:
        """Check the columns against the query's output; fill in ``x`` and ``y`` when they are left out."""
        for option, column in [("--x", self.x), ("--by", self.by), *(("--y", c) for c in self.y)]:
            if column is not None and column not in kinds:
                raise ChartOptionError(_unknown_column(option, column, kinds, query_name))
        x = self.x or next((c for c, k in kinds.items() if k == TIME), None) or next(iter(kinds))
        y = self.y or tuple(c for c, k in kinds.items() if k == NUMBER and c not in (x, self.by))[:1]
        if not y:
            raise ChartOptionError(f"--y: the output of {query_name!r} has no numeric column to plot; "
                                   f"its columns are {', '.join(kinds)}")
        bad = [c for c in y if kinds[c] != NUMBER]
        if bad:
            numeric = ", ".join(c for c, k in kinds.items() if k == NUMBER)
            raise ChartOptionError(f"--y: column {bad[0]!r} is not a number ({kinds[bad[0]]}); "
                                   f"numeric columns: {numeric}")
        return replace(self, x=x, y=y)


def _unknown_column(option: str, column: str, kinds: dict[str, str], query_name: str) -> str:
    message = (f"{option}: the output of {query_name!r} has no column {column!r}; "
               f"its columns are {', '.join(kinds)}")
    fields = [c for c in kinds if c.startswith(column + ".")]
    if fields:
        message += f" ({column!r} is a struct, e.g. a window: use {' or '.join(fields)})"
    return message


class _Series:
    """One series: its source, its glyphs, and (update mode) which key sits at which row."""

    def __init__(self, source, label: str):
        self.source = source
        self.label = label
        self.glyphs: list = []
        self.keys: list[tuple] = []
        self.where: dict[tuple, int] = {}

    def __len__(self) -> int:
        return len(self.source.data["x"])

    def reindex(self, keys: list[tuple]) -> None:
        self.keys = keys
        self.where = {k: i for i, k in enumerate(keys)}


class Chart:
    """A live chart of a query's result; ``apply(delta)`` sends the change, never the whole figure."""

    def __init__(self, spec: ChartSpec, kinds: dict[str, str], output_mode: str):
        from bokeh.models import FactorRange
        from bokeh.plotting import figure
        from ipywidgets import Layout
        from jupyter_bokeh.widgets import BokehModel

        self.spec = spec
        self.mode = output_mode
        self.x_kind = kinds[spec.x]
        end = spec.x[: -len(".start")] + ".end" if spec.x.endswith(".start") else None
        self._end_column = end if end in kinds and kinds[end] == kinds[spec.x] else None
        categorical = {"x_range": FactorRange()} if self.x_kind == CATEGORY else {}
        self.figure = figure(
            height=300, sizing_mode="stretch_width", tools="pan,wheel_zoom,box_zoom,reset,save",
            x_axis_type="datetime" if self.x_kind == TIME else "linear", **categorical)
        self.figure.xaxis.axis_label = spec.x
        self.figure.yaxis.axis_label = ", ".join(spec.y)
        self.series: dict[Any, _Series] = {}
        self.left_out: set = set()       # by-values beyond MAX_SERIES
        self._bar_span: float | None = None
        self.widget = BokehModel(self.figure, layout=Layout(width="100%"))  # else it gets no width in a box

    @property
    def points(self) -> int:
        """Points now held by the chart's sources (the browser holds the same)."""
        return sum(len(s) for s in self.series.values())

    def apply(self, delta: ResultDelta) -> None:
        if self.spec.kind == "bar" and self._bar_span is None and not delta.frame.empty:
            self._bar_span = self._span(delta.frame)
        if delta.replace:
            self._replace(delta.frame)
        elif self.mode == "append":
            self._stream(delta.new, None)
        else:
            self._patch(delta.changed, delta.changed_keys)
            self._stream(delta.new, delta.new_keys)

    def resync(self) -> None:
        """Send the whole figure again (a view displayed anew after the patches it missed)."""
        self.widget.update_from_model(self.figure)

    # -- the three kinds of update ---------------------------------------------------------------------

    def _replace(self, frame: pd.DataFrame) -> None:
        seen = set()
        for value, columns, _ in self._groups(frame, None):
            series = self._series(value, columns)
            if series is None:
                continue
            seen.add(value)
            columns = _sorted(columns) if self.kind_is_connected else columns
            series.source.data = columns
        for value, series in self.series.items():
            if value not in seen and len(series):
                series.source.data = {name: [] for name in series.source.data}

    def _stream(self, rows: pd.DataFrame, keys: list[tuple] | None) -> None:
        for value, columns, positions in self._groups(rows, keys):
            series = self._series(value, columns)
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
        missing_at = []
        for value, columns, positions in self._groups(rows, keys):
            series = self.series.get(value)
            if series is None:
                missing_at += positions
                continue
            patches: dict[str, list] = {name: [] for name in columns if name != "x"}
            for i, position in enumerate(positions):
                index = series.where.get(keys[position])
                if index is None:
                    missing_at.append(position)
                    continue
                for name in patches:
                    patches[name].append((index, _plain(columns[name][i])))
            if any(patches.values()):
                series.source.patch({k: v for k, v in patches.items() if v})
        if missing_at:  # keys that moved series or rolled out: draw them as new rows
            self._stream(rows.iloc[missing_at], [keys[i] for i in missing_at])

    def _rebuild(self, series: _Series, columns: dict[str, Any], keys: list[tuple]) -> None:
        old = series.source.data
        merged = {name: np.concatenate([np.asarray(old[name]), np.asarray(values)])
                  for name, values in columns.items()}
        all_keys = series.keys + keys
        order = np.argsort(merged["x"], kind="stable") if self.kind_is_connected else np.arange(len(all_keys))
        order = order[-self.spec.rollover:]
        series.source.data = {name: values[order] for name, values in merged.items()}
        series.reindex([all_keys[i] for i in order])

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
            columns[f"y{i}"] = _writable(pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=float,
                                                                                         na_value=np.nan))
        if self.spec.by is None:
            yield None, columns, list(range(len(rows)))
            return
        by = rows[self.spec.by].astype(object).where(rows[self.spec.by].notna(), None).to_numpy()
        for value in dict.fromkeys(by):
            positions = np.flatnonzero(by == value) if value is not None else \
                np.flatnonzero(pd.isna(rows[self.spec.by]).to_numpy())
            yield value, {n: v[positions] for n, v in columns.items()}, positions.tolist()

    def _x(self, values: pd.Series) -> np.ndarray:
        if self.x_kind == TIME:
            return _writable(epoch_ms(values).to_numpy(dtype=float, na_value=np.nan))
        if self.x_kind == NUMBER:
            return _writable(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
        return _writable(values.astype(str).to_numpy(dtype=object))

    # -- series and glyphs -----------------------------------------------------------------------------

    def _series(self, value, columns: dict[str, Any]) -> _Series | None:
        if self.x_kind == CATEGORY:
            self._add_factors(columns["x"])
        series = self.series.get(value)
        if series is not None:
            return series
        if len(self.series) >= MAX_SERIES:
            self.left_out.add(value)
            return None
        from bokeh.models import ColumnDataSource

        label = self._label(value)
        empty = {name: (np.array([], dtype=object) if name == "x" and self.x_kind == CATEGORY
                        else np.array([], dtype=float)) for name in columns}
        series = self.series[value] = _Series(ColumnDataSource(data=empty), label)
        self._draw(series, len(self.series) - 1)
        if self.spec.kind == "bar":
            self._lay_out_bars()
        return series

    def _label(self, value) -> str | None:
        if self.spec.by is None:
            return None
        return str(value) if value is not None else "null"

    def _draw(self, series: _Series, number: int) -> None:
        from bokeh.palettes import Category10_10

        several_y = len(self.spec.y) > 1
        for i, name in enumerate(self.spec.y):
            color = Category10_10[(number * len(self.spec.y) + i) % len(Category10_10)]
            label = " · ".join(p for p in (series.label, name if several_y else None) if p)
            legend = {"legend_label": label} if label else {}
            y = f"y{i}"
            if self.spec.kind == "line":
                glyph = self.figure.line("x", y, source=series.source, color=color, line_width=2, **legend)
            elif self.spec.kind == "scatter":
                glyph = self.figure.scatter("x", y, source=series.source, color=color, size=6, alpha=0.7,
                                            **legend)
            elif self.spec.kind == "area":
                glyph = self.figure.varea("x", y1=0, y2=y, source=series.source, color=color, alpha=0.35,
                                          **legend)
            else:
                glyph = self.figure.vbar(x="x", top=y, width=1, source=series.source, color=color, alpha=0.8,
                                         **legend)
            series.glyphs.append(glyph)
        if self.figure.legend:
            self.figure.legend.click_policy = "hide"
            self.figure.legend.location = "top_left"

    def _lay_out_bars(self) -> None:
        """Bars of several series side by side within each x: one slot per glyph."""
        from bokeh.transform import dodge

        glyphs = [g for s in self.series.values() for g in s.glyphs]
        span = 1.0 if self.x_kind == CATEGORY else (self._bar_span or 1.0)
        width = 0.8 * span / len(glyphs)
        for slot, renderer in enumerate(glyphs):
            offset = (slot - (len(glyphs) - 1) / 2) * width
            target = self.figure.x_range if self.x_kind == CATEGORY else None
            renderer.glyph.x = dodge("x", offset, range=target) if len(glyphs) > 1 else "x"
            renderer.glyph.width = width

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

    def _add_factors(self, xs: np.ndarray) -> None:
        known = list(self.figure.x_range.factors)
        seen = set(known)
        new = [x for x in dict.fromkeys(xs.tolist()) if x not in seen]
        if new:
            self.figure.x_range.factors = sorted(known + new)


def _sorted(columns: dict[str, Any]) -> dict[str, Any]:
    order = np.argsort(columns["x"], kind="stable")
    return {name: np.asarray(values)[order] for name, values in columns.items()}


def _writable(values: np.ndarray) -> np.ndarray:
    """A copy bokeh may patch in place (pandas hands out read-only views)."""
    return np.array(values, copy=True)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
