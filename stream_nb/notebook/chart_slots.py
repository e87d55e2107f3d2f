"""A live chart's series slots: every model a series needs, made before the figure is displayed.

``MAX_SERIES`` slots with ``--by`` (one without): each a ``ColumnDataSource`` with columns ``x``, ``y0``,
``y1``, ... (one per ``--y``), one glyph per ``--y`` column and a hidden legend item. A series that appears takes
the next free slot and shows its legend item; later values are left out (and counted). Only properties of these
models change after display, never the set of models (bokeh/bokeh#7590).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stream_nb.notebook.chart_spec import ChartSpec
from stream_nb.notebook.results import CATEGORY

MAX_SERIES = 20        # series slots made up front; keys beyond these are left out (and said so)


class Series:
    """One series slot: its source, its glyphs and legend items, and (update mode) which key sits at which row."""

    def __init__(self, slot: int, source, renderers: list, items: list, dodges: list):
        self.slot = slot
        self.source = source
        self.renderers = renderers
        self.items = items
        self.dodges = dodges
        self.label: str | None = None
        self.keys: list[tuple] = []
        self.where: dict[tuple, int] = {}

    def __len__(self) -> int:
        return len(self.source.data["x"])

    @property
    def glyphs(self) -> list:
        return self.renderers

    def reindex(self, keys: list[tuple]) -> None:
        self.keys = keys
        self.where = {k: i for i, k in enumerate(keys)}


class SeriesSlots:
    """The series slots of one figure, and which --by value holds which."""

    def __init__(self, figure, spec: ChartSpec, x_kind: str):
        from bokeh.models import Legend

        self.figure = figure
        self.spec = spec
        self.x_kind = x_kind
        self._slots = [self._make(slot) for slot in range(MAX_SERIES if spec.by is not None else 1)]
        self.legend = None
        if spec.by is not None or len(spec.y) > 1:  # beside the plot, not over the data
            items = [item for s in self._slots for item in s.items]
            self.legend = Legend(items=items, click_policy="hide", visible=False)
            self.figure.add_layout(self.legend, "right")
        self.series: dict[Any, Series] = {}
        self.left_out: set = set()       # by-values beyond MAX_SERIES
        self.bar_span: float | None = None  # the x width a bar stands for, once the first rows tell
        if spec.by is None:
            self._take(None)

    def _make(self, slot: int) -> Series:
        from bokeh.models import ColumnDataSource, LegendItem
        from bokeh.palettes import Category10_10, Category20_20
        from bokeh.transform import dodge

        x = np.array([], dtype=object) if self.x_kind == CATEGORY else np.array([], dtype=float)
        data = {"x": x, **{f"y{i}": np.array([], dtype=float) for i in range(len(self.spec.y))}}
        source = ColumnDataSource(data=data)
        palette = Category10_10 + Category20_20[1::2]   # ten strong colours, then their light twins
        renderers, items, dodges = [], [], []
        for i in range(len(self.spec.y)):
            color = palette[(slot * len(self.spec.y) + i) % len(palette)]
            y = f"y{i}"
            drawn_with = []
            if self.spec.kind == "line":
                renderer = self.figure.line("x", y, source=source, color=color, line_width=2)
                # a line needs two points: markers show a series from its first point (a first window)
                drawn_with.append(self.figure.scatter("x", y, source=source, color=color, size=5))
            elif self.spec.kind == "scatter":
                renderer = self.figure.scatter("x", y, source=source, color=color, size=6, alpha=0.7)
            elif self.spec.kind == "area":
                renderer = self.figure.varea("x", y1=0, y2=y, source=source, color=color, alpha=0.35)
            else:  # bars of several series stand side by side within each x: a dodge per glyph
                x_dodged = dodge("x", 0, range=self.figure.x_range if self.x_kind == CATEGORY else None)
                renderer = self.figure.vbar(x=x_dodged, top=y, width=0.8, source=source, color=color,
                                            alpha=0.8)
                dodges.append(x_dodged.transform)
            renderers.append(renderer)
            items.append(LegendItem(label="", renderers=[renderer, *drawn_with], visible=False))
        return Series(slot, source, renderers, items, dodges)

    def for_value(self, value, columns: dict[str, Any]) -> Series | None:
        """The series of this --by value (None without --by), taking the next free slot for a new one; None
        once every slot is taken (the value is left out, and counted)."""
        if self.x_kind == CATEGORY:
            self.add_factors(columns["x"])
        series = self.series.get(value)
        if series is not None:
            return series
        if len(self.series) >= len(self._slots):
            self.left_out.add(value)
            return None
        return self._take(value)

    def _take(self, value) -> Series:
        from bokeh.core.properties import value as text

        series = self.series[value] = self._slots[len(self.series)]
        series.label = None if self.spec.by is None else (str(value) if value is not None else "null")
        several_y = len(self.spec.y) > 1
        for item, name in zip(series.items, self.spec.y, strict=True):
            # a label, not a column name: a bare string set after construction would name a column
            item.label = text(" · ".join(p for p in (series.label, name if several_y else None) if p))
            item.visible = self.legend is not None
        if self.legend is not None:
            self.legend.visible = True
        if self.spec.kind == "bar":
            self.lay_out_bars()
        return series

    def lay_out_bars(self) -> None:
        """Bars of the series drawn so far side by side within each x: one slot of the width per glyph."""
        dodges = [d for s in self.series.values() for d in s.dodges]
        renderers = [r for s in self.series.values() for r in s.renderers]
        span = 1.0 if self.x_kind == CATEGORY else (self.bar_span or 1.0)
        width = 0.8 * span / max(1, len(dodges))
        for slot, (dodge, renderer) in enumerate(zip(dodges, renderers, strict=True)):
            dodge.value = (slot - (len(dodges) - 1) / 2) * width
            renderer.glyph.width = width

    def add_factors(self, xs: np.ndarray) -> None:
        """The x categories in ``xs`` the axis lacks joined to it, the axis kept sorted."""
        known = list(self.figure.x_range.factors)
        seen = set(known)
        new = [x for x in dict.fromkeys(xs.tolist()) if x not in seen]
        if new:
            self.figure.x_range.factors = sorted(known + new)
