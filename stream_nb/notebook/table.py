"""The table of the latest rows: a light ``ipywidgets.HTML``, re-rendered (a few rows) on each change.

append: the last rows emitted; update: the rows most recently changed, newest first; complete: the table.
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
    head = "".join(f'<th style="{_HEAD}">{format_cell(c)}</th>' for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{format_cell(v)}</td>' for v in row) + "</tr>"
        for row in frame.head(max_rows).itertuples(index=False, name=None))
    if frame.empty:
        span = max(1, len(frame.columns))
        body = f'<tr><td style="{_CELL};color:#888" colspan="{span}">no rows yet</td></tr>'
    title = (f'<caption style="caption-side:top;text-align:left;color:#666;font-size:90%">{caption}'
             '</caption>') if caption else ""
    return (f'<table style="border-collapse:collapse;font-size:12px;font-family:var(--jp-code-font-family,'
            f'monospace)">{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


class Table:
    """The latest rows of a query's result."""

    def __init__(self, output_mode: str, rows: int = 10):
        import ipywidgets as widgets

        self.mode = output_mode
        self.rows = rows
        self._recent: dict[tuple, tuple] = {}   # update mode: key -> row, most recently changed last
        self.widget = widgets.HTML(rows_html(pd.DataFrame(), "no rows yet", rows))

    def apply(self, delta: ResultDelta) -> None:
        frame = delta.frame
        total = len(frame)
        if self.mode == "append":
            shown = frame.tail(self.rows).iloc[::-1]
            caption = f"latest {len(shown)} of {total:,} rows emitted, newest first"
        elif self.mode == "update" and not delta.replace:
            if delta.empty and self._recent:
                return
            shown = self._latest_changes(delta)
            caption = f"{len(shown)} most recently updated of {total:,} rows, newest first"
        else:
            shown = frame.head(self.rows)
            caption = f"the result table: {total:,} rows" + \
                (f" (first {self.rows})" if total > self.rows else "")
        self.widget.value = rows_html(shown, caption, self.rows)

    def _latest_changes(self, delta: ResultDelta) -> pd.DataFrame:
        for part, keys in ((delta.changed, delta.changed_keys), (delta.new, delta.new_keys)):
            for key, row in zip(keys, part.itertuples(index=False, name=None)):
                self._recent.pop(key, None)
                self._recent[key] = row
        while len(self._recent) > self.rows:
            del self._recent[next(iter(self._recent))]
        newest_first = list(self._recent.values())[::-1]
        return pd.DataFrame.from_records(newest_first, columns=list(delta.frame.columns))
