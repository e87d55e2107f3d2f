"""The teaching view: the Spark guide's picture of a stream, batch by batch, with a slider.

For the chosen batch: a bokeh picture (``teaching_picture.py``: rows by event time and batch, late rows,
the watermark, the windows with their counts), and beside it what came in, which rows were late, what the
state held after the batch and what it emitted, as readable tables; below, the plan as steps. Built from
``q.history`` (``engine/history.py``). The slider follows the newest batch until the user moves it, and
follows again once they move it back to the newest.
"""

from __future__ import annotations

import html
import threading

import pandas as pd
import pyarrow as pa

from stream_nb.engine.history import emitted_windows, picture_spec
from stream_nb.notebook.formatting import as_timestamp, format_clock, format_time, plural, watermark_time
from stream_nb.notebook.table import rows_html
from stream_nb.notebook.teaching_picture import TeachingPicture
from stream_nb.sql.explain import internal_names, student_steps
from stream_nb.types import to_pandas

KEEP = 50          # batches the slider reaches back over (those the view has seen)
SAMPLE_ROWS = 8    # rows shown of each table

_BOX = "flex:0 1 auto;border:1px solid #ddd;border-radius:4px;padding:4px 6px;max-width:100%;overflow-x:auto"


class TeachingPanel:
    """A slider over the last batches and, for the chosen one, the picture and its tables."""

    def __init__(self, query):
        import ipywidgets as widgets

        self.query = query
        self._traces: dict[int, object] = {}
        self._progress: dict[int, dict] = {}
        self._lock = threading.RLock()   # the engine's thread refreshes, the kernel's moves the slider
        self._moving = False             # the panel itself is setting the slider
        self.following = True            # the slider stays on the newest batch
        self.shown: int | None = None    # the batch the picture and the tables show
        # continuous_update off: with it on, the page's slider sends back the value it clamps to while the
        # kernel moves min, max and value (one batch behind the newest), which read as the user's move
        self.slider = widgets.IntSlider(value=0, min=0, max=0, description="batch", disabled=True,
                                        continuous_update=False, layout=widgets.Layout(width="420px"))
        self.picture: TeachingPicture | None = None   # built by the first batch, drawn before it is shown
        self._picture_box = widgets.Box(layout=widgets.Layout(flex="2 1 480px", min_width="360px"))
        self.panel = widgets.HTML(_waiting(), layout=widgets.Layout(flex="1 1 320px", min_width="260px"))
        self.plan = widgets.HTML(_plan_html(query.plan))
        body = widgets.Box([self._picture_box, self.panel],
                           layout=widgets.Layout(display="flex", flex_flow="row wrap", width="100%"))
        self.widget = widgets.VBox([self.slider, body, self.plan])
        self._spec = picture_spec(query.plan)
        self._names = internal_names(query.plan)
        self._counted = "rows" if self._spec.count_column is not None else "groups"
        if self._spec.event_time is None:  # nothing to place rows by
            self._picture_box.layout.display = "none"
        self.slider.observe(self._on_slider, "value")

    @property
    def batch_ids(self) -> list[int]:
        return sorted(self._traces)

    def refresh(self) -> None:
        """Take in the batches that ran since the last look; show the newest while following."""
        with self._lock:
            fresh = [t for t in self.query.history if t.batch_id not in self._traces]
            if not fresh:
                return
            for progress in self.query.recent_progress:
                self._progress[progress["batchId"]] = progress
            for trace in fresh:
                self._traces[trace.batch_id] = trace
            for old in self.batch_ids[:-KEEP]:
                self._traces.pop(old)
                self._progress.pop(old, None)
            ids = self.batch_ids
            target = ids[-1] if self.following else self.shown if self.shown in self._traces else ids[0]
            self._set_slider(target, (ids[0], ids[-1]), disabled=len(ids) < 2)
            self.render(target)

    def _on_slider(self, change) -> None:
        with self._lock:  # the user moved it: follow again only at the newest
            ids = self.batch_ids
            if self._moving:
                return
            if not ids:
                return
            chosen = max((i for i in ids if i <= change["new"]), default=ids[0])
            self.following = chosen == ids[-1]
            if chosen != change["new"]:  # a batch the view never saw: stand on the one before
                self._set_slider(chosen)
            self.render(chosen)

    def _set_slider(self, value: int, bounds: tuple[int, int] | None = None,
                    disabled: bool | None = None) -> None:
        self._moving = True  # our own moves are not the user's
        try:
            with self.slider.hold_sync():
                if bounds is not None:  # in an order that never puts min above max
                    low, high = bounds
                    if low > self.slider.max:
                        self.slider.max, self.slider.min = high, low
                    else:
                        self.slider.min, self.slider.max = low, high
                self.slider.value = value
                if disabled is not None:
                    self.slider.disabled = disabled
        finally:
            self._moving = False

    def render(self, batch_id: int) -> None:
        """Show ``batch_id``: the picture up to it, its tables, labels that say it."""
        with self._lock:
            trace = self._traces.get(batch_id)
            if trace is None:
                return
            self.shown = batch_id
            traces = [self._traces[i] for i in self.batch_ids if i <= batch_id]
            if self._spec.event_time is not None:
                self._draw(traces, trace.state)
            self.panel.value = tables(trace, self._progress.get(batch_id), self.query.plan.output_mode,
                                      self._left_out(trace), self._names)

    def _draw(self, traces: list, state: pa.Table | None) -> None:
        first = self.picture is None
        if first:
            self.picture = TeachingPicture()
        in_state = None if state is None else emitted_windows(state, self._spec)
        self.picture.draw(traces, in_state, self._counted)
        if first:
            import ipywidgets as widgets

            self._picture_box.children = (self.picture.show(widgets.Layout(width="100%")),)

    def _left_out(self, trace) -> list[str]:
        """What the picture leaves out of this batch, to say so (it stays small so a fast source is cheap)."""
        notes = []
        picture = trace.picture
        if picture is not None and picture.num_late != trace.num_late_rows:
            notes.append(f"sliding windows: a row is dropped from each window the watermark has passed "
                         f"({plural(trace.num_late_rows, 'drop')}); {plural(picture.num_late, 'row')} "
                         "dropped from all their windows are the red crosses")
        if self._spec.window_column is None:
            return notes
        if trace.state is None:
            held = plural(trace.num_state_rows, "row")
            notes.append(f"the windows in state are not drawn: the state holds {held}")
        if trace.picture is not None and trace.picture.windows is None and trace.num_output_rows:
            notes.append(f"the emitted windows are not drawn: {plural(trace.num_output_rows, 'row')} emitted")
        return notes


def flat(table: pa.Table | None) -> pd.DataFrame:
    """A table for people: struct columns flattened (``w.start``, ``w.end``), every column kept."""
    if table is None:
        return pd.DataFrame()
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return to_pandas(table)


def _as_written(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Columns named by the planner (``__k0``, ``__k0.start``) renamed to what they hold, as written."""
    def name(column: str) -> str:
        head, dot, rest = column.partition(".")
        return names[head] + dot + rest if head in names else column
    return frame.rename(columns=name) if any(c.partition(".")[0] in names for c in frame.columns) else frame


def readable(frame: pd.DataFrame, clock: bool) -> pd.DataFrame:
    """Times as text (time of day alone when the view says the day once), the rest as it is."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = [format_clock(v) if clock else format_time(v) for v in out[column]]
    return out


def tables(trace, progress: dict | None, output_mode: str, notes: list[str] = (),
           names: dict[str, str] | None = None) -> str:
    """The chosen batch in words and four tables: came in, late, state after it, emitted; ``notes`` say what
    the picture leaves out; ``names`` the planner's column names as written (``internal_names``)."""
    watermark = trace.watermark if trace.watermark is not None else watermark_time(progress)
    if watermark is not None and as_timestamp(watermark).value == 0:
        watermark = None  # Spark's epoch: no event time seen yet
    frames = {"input": flat(trace.input), "late": flat(trace.late_input if trace.late_input is not None
                                                      else trace.late if trace.num_late_rows else None),
              "state": flat(trace.state), "output": flat(trace.output)}
    frames = {part: _as_written(frame, names or {}) for part, frame in frames.items()}
    days = {as_timestamp(v).date() for f in frames.values() for c in f.columns
            if pd.api.types.is_datetime64_any_dtype(f[c]) for v in f[c].dropna()}
    if watermark is not None:
        days.add(as_timestamp(watermark).date())
    clock = len(days) == 1
    day = f" · times are UTC on {next(iter(days))}" if clock else " · times are UTC"
    where = (f"watermark <b>{format_clock(watermark) if clock else format_time(watermark)}</b>: rows with an "
             "event time at or before it are late" if watermark is not None else
             "no watermark yet (no WATERMARK clause, or no event time seen)")
    picture = trace.picture
    notes = list(notes)
    if picture is not None and picture.sampled:
        notes.insert(0, f"the picture draws a sample: {len(picture.on_time):,} of {picture.num_on_time:,} "
                        f"rows on time, {len(picture.late):,} of {picture.num_late:,} late")
    drawn = "".join(f'<div style="color:#888">{html.escape(note)}</div>' for note in notes)
    header = (f'<div style="font-size:12px;margin:2px 0 6px"><b>batch {trace.batch_id}</b> · {where}{day}'
              f'{drawn}</div>')
    state_title = f"3 · state after the batch: {plural(trace.num_state_rows, 'row')}" + (
        f" (the watermark evicted {plural(trace.num_evicted_rows, 'row')})" if trace.num_evicted_rows else "")
    if trace.state is None:
        state = f'<div style="color:#888">{plural(trace.num_state_rows, "row")}: too many to show</div>'
    else:
        state = _table(frames["state"], clock)
    boxes = [
        _box(f"1 · came in: {plural(trace.num_input_rows, 'row')}", _table(frames["input"], clock,
                                                                          trace.num_input_rows)),
        _box(f"2 · late, dropped: {plural(trace.num_late_rows, 'row')}",
             _table(frames["late"], clock, trace.num_late_rows) if trace.num_late_rows else
             '<div style="color:#888">none</div>'),
        _box(state_title, state),
        _box(f"4 · emitted ({output_mode} mode): {plural(trace.num_output_rows, 'row')}",
             _table(frames["output"], clock, trace.num_output_rows)),
    ]
    # contain:inline-size: the panel's width is the room the row leaves it, not its widest table's (the
    # ipywidgets HTML content is a flex item sized by its content: wide tables ran past the output, cut off
    # with no scrollbar); each box then scrolls sideways within it
    return (f'<div style="contain:inline-size">{header}<div style="display:flex;flex-wrap:wrap;gap:6px">'
            + "".join(boxes) + "</div></div>")


def _table(frame: pd.DataFrame, clock: bool, total: int | None = None) -> str:
    total = len(frame) if total is None else total
    if not total:
        return '<div style="color:#888">none</div>'

    caption = f"the first {SAMPLE_ROWS} of {total:,}" if total > SAMPLE_ROWS else ""
    return rows_html(readable(frame.head(SAMPLE_ROWS), clock), caption, max_rows=SAMPLE_ROWS)


def _box(title: str, body: str) -> str:
    return (f'<div style="{_BOX}"><div style="font-size:12px;font-weight:600;margin-bottom:3px">'
            f'{html.escape(title)}</div>{body}</div>')


def _plan_html(plan) -> str:
    steps = "".join(
        f'<div style="font-weight:600;margin-top:4px">{html.escape(heading[:1].upper() + heading[1:])}</div>'
        '<ol style="margin:2px 0">' + "".join(f"<li>{html.escape(step)}</li>" for step in items) + "</ol>"
        for heading, items in student_steps(plan))
    technical = html.escape(plan.explain())
    return (f'<details><summary style="cursor:pointer;color:#555">the incremental plan</summary>'
            f'<div style="font-size:12px">{steps}</div>'
            '<details style="margin-top:4px"><summary style="cursor:pointer;color:#777;font-size:11px">'
            f'as the engine runs it (q.explain())</summary><pre style="font-size:11px">{technical}</pre>'
            '</details></details>')


def _waiting() -> str:
    return ('<div style="font-size:12px;color:#888">no batch yet: the picture appears after the first batch'
            '</div>')
