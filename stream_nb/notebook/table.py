"""The table of the latest rows: a light ``ipywidgets.HTML``, re-rendered (a few rows) on each change.

append: the last rows emitted (and how many rows the memory sink dropped, if its ``max_rows`` did); update:
the rows most recently changed, newest first; complete: the table. Kept from the deltas alone: a refresh costs
the rows a batch changed, not the size of the result.
"""

from __future__ import annotations

import pandas as pd

from stream_nb.notebook.formatting import format_cell
from stream_nb.notebook.results import ResultDelta

_CELL = "padding:2px 8px;border-bottom:1px solid #e0e0e0;text-align:right;white-space:nowrap"
_HEAD = _CELL + ";font-weight:600;border-bottom:1px solid #999"


def rows_html(frame: pd.DataFrame, caption: str = "", max_rows: int = 10) -> str:
    """A small HTML table of the first ``max_rows`` rows, formatted for people.

    >>> "<td" in rows_html(pd.DataFrame({"n": [1]}))
    True
    """
    return _html(list(frame.columns), _rows(frame.head(max_rows)), caption)


def _rows(frame: pd.DataFrame) -> list[list]:
    return frame.to_numpy(dtype=object).tolist()


def _html(columns: list[str], rows: list, caption: str) -> str:
    head = "".join(f'<th style="{_HEAD}">{format_cell(c)}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{format_cell(v)}</td>' for v in row) + "</tr>" for row in rows)
    if not rows:
        span = max(1, len(columns))
        body = f'<tr><td style="{_CELL};color:#888" colspan="{span}">no rows yet</td></tr>'
    title = (f'<caption style="caption-side:top;text-align:left;color:#666;font-size:90%">{caption}'
             '</caption>') if caption else ""
    return (f'<table style="border-collapse:collapse;font-size:12px;font-family:var(--jp-code-font-family,'
            f'monospace)">{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


class Table:
    """The latest rows of a query's result, kept from the deltas alone (a few rows, not the whole result)."""

    def __init__(self, output_mode: str, rows: int = 10):
        import ipywidgets as widgets

        self.mode = output_mode
        self.rows = rows
        self._latest: list[list] = []            # append: the newest rows, oldest first
        self._recent: dict[tuple, list] = {}     # update: key -> row, most recently changed last
        self._columns: list[str] = []
        self.widget = widgets.HTML(_html([], [], "no rows yet"))

    def apply(self, delta: ResultDelta) -> None:
        self._columns = list(delta.new.columns) or list(delta.changed.columns) or self._columns
        if self.mode == "append":
            if delta.replace:
                self._latest = []
            self._latest = (self._latest + _rows(delta.new.tail(self.rows)))[-self.rows:]
            shown = self._latest[::-1]
            caption = f"latest {len(shown)} of {delta.total + delta.dropped:,} rows emitted, newest first"
            if delta.dropped:
                caption += (f" (q.result keeps the newest {delta.total:,}: "
                            f"{delta.dropped:,} older rows dropped)")
        elif self.mode == "update" and not delta.replace:
            if delta.empty and self._recent:
                return
            shown = self._latest_changes(delta)
            caption = f"{len(shown)} most recently updated of {delta.total:,} rows, newest first"
        else:  # complete mode, or an update-mode result read whole: the table itself
            self._recent.clear()
            shown = _rows(delta.new.head(self.rows))
            caption = f"the result table: {len(delta.new):,} rows" + \
                (f" (first {self.rows})" if len(delta.new) > self.rows else "")
        self.widget.value = _html(self._columns, shown, caption)

    def _latest_changes(self, delta: ResultDelta) -> list[list]:
        for part, keys in ((delta.changed, delta.changed_keys), (delta.new, delta.new_keys)):
            if part.empty:
                continue
            newest = part.tail(self.rows)  # only the last few can still be shown
            for key, row in zip(keys[len(part) - len(newest):], _rows(newest)):
                self._recent.pop(key, None)
                self._recent[key] = row
        while len(self._recent) > self.rows:
            del self._recent[next(iter(self._recent))]
        return list(self._recent.values())[::-1]
