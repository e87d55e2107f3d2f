"""The teaching view: the unbounded-table picture of the Spark guide, batch by batch, with a slider.

For each of the last batches: what came in (a sample), which rows were late (dropped behind the watermark),
what the state held after the batch, what the batch emitted, and where the watermark stood; built from
``q.history`` (``engine/history.py``).
"""

from __future__ import annotations

import html

from stream_nb.notebook.formatting import format_time, watermark_time
from stream_nb.notebook.table import rows_html
from stream_nb.types import to_pandas

KEEP = 50          # batches the slider reaches back over (those the view has seen)
SAMPLE_ROWS = 8    # rows shown of each table

_BOX = ("flex:1 1 220px;min-width:200px;border:1px solid #ddd;border-radius:4px;padding:4px 6px;"
        "overflow-x:auto")


class TeachingPanel:
    """A slider over the last batches and, for the chosen one, input / late / state / output / watermark."""

    def __init__(self, query):
        import ipywidgets as widgets

        self.query = query
        self._traces: dict[int, object] = {}
        self._progress: dict[int, dict] = {}
        self.slider = widgets.IntSlider(value=0, min=0, max=0, description="batch", disabled=True,
                                        layout=widgets.Layout(width="420px"))
        self.panel = widgets.HTML(_waiting())
        plan = html.escape(query.plan.explain())
        self.plan = widgets.HTML(f'<details><summary style="cursor:pointer;color:#555">the incremental plan'
                                 f'</summary><pre style="font-size:11px">{plan}</pre></details>')
        self.widget = widgets.VBox([self.slider, self.panel, self.plan])
        self.slider.observe(lambda change: self.render(change["new"]), "value")

    @property
    def batch_ids(self) -> list[int]:
        return sorted(self._traces)

    def refresh(self) -> None:
        """Take in the batches that ran since the last look; follow the newest unless the slider was moved."""
        fresh = [t for t in self.query.history if t.batch_id not in self._traces]
        if not fresh:
            return
        for progress in self.query.recent_progress:
            self._progress[progress["batchId"]] = progress
        following = self.slider.disabled or self.slider.value == self.slider.max
        for trace in fresh:
            self._traces[trace.batch_id] = trace
        for old in self.batch_ids[:-KEEP]:
            self._traces.pop(old)
            self._progress.pop(old, None)
        ids = self.batch_ids
        with self.slider.hold_sync():
            self.slider.max = ids[-1]
            self.slider.min = ids[0]
            self.slider.disabled = len(ids) < 2
            if following and self.slider.value != ids[-1]:
                self.slider.value = ids[-1]  # renders, through the observer
                return
        self.render(self.slider.value)

    def render(self, batch_id: int) -> None:
        ids = [i for i in self.batch_ids if i <= batch_id] or self.batch_ids
        if not ids:
            return
        trace = self._traces[ids[-1]]
        self.panel.value = picture(trace, self._progress.get(trace.batch_id), self.query.plan.output_mode)


def picture(trace, progress: dict | None, output_mode: str) -> str:
    """One batch, as four tables side by side under a line that says where the watermark stood."""
    watermark = trace.watermark if trace.watermark is not None else watermark_time(progress)
    where = (f"watermark <b>{format_time(watermark)}</b>: rows with an event time before it are late"
             if watermark is not None else "no watermark yet (no WATERMARK clause, or no event time seen)")
    header = (f'<div style="font-size:12px;margin:2px 0 6px"><b>batch {trace.batch_id}</b> · {where}</div>')
    state_rows = trace.num_state_rows
    if trace.state is None:
        state = f'<div style="color:#888">{state_rows:,} rows: too many to show</div>'
    else:
        state = rows_html(to_pandas(trace.state), max_rows=SAMPLE_ROWS)
    boxes = [
        _box(f"1 · came in: {trace.num_input_rows:,} rows",
             rows_html(to_pandas(trace.input), max_rows=SAMPLE_ROWS)),
        _box(f"2 · late, dropped: {trace.num_late_rows:,} rows",
             rows_html(to_pandas(trace.late), max_rows=SAMPLE_ROWS) if trace.num_late_rows else
             '<div style="color:#888">none</div>'),
        _box(f"3 · state after the batch: {state_rows:,} rows", state),
        _box(f"4 · emitted ({output_mode} mode): {trace.num_output_rows:,} rows",
             rows_html(to_pandas(trace.output), max_rows=SAMPLE_ROWS)),
    ]
    return header + '<div style="display:flex;flex-wrap:wrap;gap:6px">' + "".join(boxes) + "</div>"


def _box(title: str, body: str) -> str:
    return (f'<div style="{_BOX}"><div style="font-size:12px;font-weight:600;margin-bottom:3px">'
            f'{html.escape(title)}</div>{body}</div>')


def _waiting() -> str:
    return ('<div style="font-size:12px;color:#888">no batch yet: the picture appears after the first batch'
            '</div>')
