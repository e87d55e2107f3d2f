"""The live view of a query: status bar, controls, chart, table and teaching panel in one ipywidgets VBox.

The view keeps itself up to date with a small task on the engine's loop (``engine/loop.py``), never the
kernel's main thread: every ``INTERVAL`` it reads the status, and when a new batch has committed it reads what
the batches since its last update changed (the memory sink's ``changes_since``, made a delta by
``ResultTracker``) and sends that (coalesced: at most ten updates a second, the latest state wins). Comm
messages sent from that thread go out on the kernel's IOPub at once, so the view moves while a cell blocks.
A view that is displayed nowhere any more (its output cleared, the notebook closed) does no work; the task
ends when the query has stopped and the view has shown it.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import anyio

from stream_nb.engine import loop
from stream_nb.notebook.chart import Chart
from stream_nb.notebook.chart_spec import ChartSpec
from stream_nb.notebook.controls import Controls
from stream_nb.notebook.results import (
    ResultDelta,
    ResultTracker,
    column_kinds,
    flat_frame,
    flatten,
    key_columns,
    struct_fields,
)
from stream_nb.notebook.status import state_of, status_html
from stream_nb.notebook.table import Table
from stream_nb.notebook.teaching import TeachingPanel
from stream_nb.sinks._protocol import sink_traits

INTERVAL = 0.1     # seconds between looks: at most ten updates a second per view
VIEWS_SHARE = 0.25  # of the kernel's time, at most, for all its views' updates together (the rest: cells, batches)
_views: list[LiveView] = []
_views_lock = threading.Lock()


class LiveView:
    """One displayed view of a query. Build it with ``q.show(...)`` or ``%%stream``."""

    def __init__(self, query, *, chart: ChartSpec | None = None, table: bool = False, rows: int = 10,
                 explain: bool = False):
        import ipywidgets as widgets

        self.query = query
        kinds = column_kinds(query.schema)
        spec = chart.resolve(kinds, query.name) if chart is not None else None
        mode = query.plan.output_mode
        self._sink_can = sink_traits(query.sink)  # what the sink declares: a result, its changes, a row limit
        self._has_result = self._sink_can.result
        self._structs = struct_fields(query.schema)
        self._tracker = ResultTracker(mode, key_columns(query) if mode == "update" else None)
        self.status = widgets.HTML()
        self.controls = Controls(query, on_action=lambda: self.refresh(status_only=True))
        # the chart is built by the first update, on the engine's thread: a bokeh figure takes a few
        # hundred milliseconds to build and serialise, and the cell should return at once
        self._chart_spec = (spec, kinds, mode) if spec is not None and self._has_result else None
        self.chart: Chart | None = None
        self._chart_box = widgets.Box(layout=widgets.Layout(width="100%")) if self._chart_spec else None
        self.table = Table(mode, rows) if table and self._has_result else None
        self.teaching = TeachingPanel(query) if explain else None
        parts = [self.status, self.controls.widget]
        parts += [p if isinstance(p, widgets.Widget) else p.widget
                  for p in (self._chart_box, self.table, self.teaching) if p is not None]
        self.widget = widgets.VBox(parts)
        self.widget._view_count = 0   # let the front end tell how many places show the view
        self.widget.observe(self._on_views, "_view_count")
        # (monotonic time, batch id, chart points or result rows) per update sent: for tests and benchmarks
        self.updates: deque[tuple[float, int, int]] = deque(maxlen=10_000)
        self.error: BaseException | None = None
        self._note = "" if self._has_result else "no chart or table: this query writes to " + \
            self._sink_can.description
        self._lock = threading.Lock()
        self._shown_batch: int | None = None
        self._ever_shown = False
        self._closed = False
        self._ticking = False
        self._built_in = 0.0      # seconds the last refresh spent building the chart
        self.refresh(status_only=True)  # the rows come with the first tick, off the kernel's main thread

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> LiveView:
        """Start the view's updates on the engine loop."""
        if not self._ticking:
            self._ticking = True
            loop.portal().start_task_soon(self._tick)
        with _views_lock:
            # views of an earlier query of the same name (a cell run again) are done with
            _views[:] = [v for v in _views if v.query.name != self.query.name or v.query.is_active]
            _views.append(self)
        return self

    def close(self) -> None:
        """Stop updating and close the widgets (the query goes on)."""
        self._closed = True
        with _views_lock:
            if self in _views:
                _views.remove(self)
        for part in (self.chart, self.table, self.teaching):
            if part is not None:
                part.widget.close()
        if self._chart_box is not None:
            self._chart_box.close()
        self.widget.close()

    @property
    def has_chart(self) -> bool:
        """Whether the view draws a chart (built by its first update)."""
        return self._chart_spec is not None

    @property
    def hidden(self) -> bool:
        """Shown once and displayed nowhere now (front ends that count views say so)."""
        return self._ever_shown and not self.widget._view_count

    def _on_views(self, change) -> None:
        if change["new"]:
            again = self._ever_shown and not change["old"]
            self._ever_shown = True
            if again:  # it missed what happened while nowhere on screen: send all of it
                with self._lock:
                    if self.chart is not None:
                        self.chart.resync()
                    self._shown_batch = None
                if not self._ticking:
                    self.refresh()

    async def _tick(self) -> None:
        try:
            while not self._closed:
                over = not self.query.is_active
                took = 0.0
                if not self.hidden:
                    started, self._built_in = time.perf_counter(), 0.0
                    await anyio.to_thread.run_sync(self.refresh)
                    took = time.perf_counter() - started - self._built_in
                if over:
                    return
                await self._wait(pause_after(took, busy_views()))
        except Exception as err:  # noqa: BLE001 - a view must not take the engine loop down
            self.error = err
            self.status.value += f'<div style="color:#c62828">the view stopped updating: {err!r}</div>'
        finally:
            self._ticking = False

    async def _wait(self, seconds: float) -> None:
        """Wait before the next look, but look at once when the query's state changes (a stop, a pause):
        the budget spaces out result updates, never what the buttons did."""
        shown, deadline = self.query.state.label, time.monotonic() + seconds  # running: batch or not
        while not self._closed and self.query.state.label == shown and time.monotonic() < deadline:
            await anyio.sleep(min(INTERVAL, max(0.0, deadline - time.monotonic())))

    # -- one update ------------------------------------------------------------------------------------

    def refresh(self, status_only: bool = False) -> None:
        """Bring the view up to date: status always, result parts when a new batch has committed."""
        with self._lock:
            query = self.query
            progress = query.last_progress
            batch = progress["batchId"] if progress else -1
            # a continuous query's rows reach the sink between epochs: show them as they come
            seen = (batch, query.deliveries) if query.trigger.kind == "continuous" else batch
            state, _ = state_of(query)
            self.status.value = status_html(query, note=self._note_text())
            self.controls.sync(state)
            if status_only or seen == self._shown_batch:
                return
            self._shown_batch = seen
            if self.teaching is not None:
                self.teaching.refresh()
            if self._chart_spec is not None and self.chart is None:
                building = time.perf_counter()
                self.chart = Chart(*self._chart_spec)
                self._chart_box.children = (self.chart.widget,)
                self._built_in = time.perf_counter() - building  # once: not what an update costs
            if self.chart is None and self.table is None:
                self.updates.append((time.monotonic(), batch, 0))
                return
            delta = self._read_delta()
            if self.chart is not None:
                self.chart.apply(delta)
            if self.table is not None:
                self.table.apply(delta)
            points = self.chart.points if self.chart is not None else delta.total
            self.updates.append((time.monotonic(), batch, points))

    def _read_delta(self) -> ResultDelta:
        """What changed since the last update: from the memory sink, the rows the batches emitted since the
        batch shown last (what they cost, not the result's size); from another sink, its whole result."""
        sink = self.query.sink
        if self._sink_can.changes:
            return self._tracker.advance(sink.changes_since(self._tracker.batch_id),
                                         whole=lambda: flat_frame(sink.table()))
        return self._tracker.advance(flatten(sink.result, self._structs))

    def _note_text(self) -> str:
        notes = [self._note] if self._note else []
        if self.chart is not None and getattr(self.chart, "left_out", None):
            drawn = len(self.chart.series)
            notes.append(f"chart: the first {drawn} series of {drawn + len(self.chart.left_out)}")
        sink = self.query.sink
        if self._sink_can.row_limit and sink.dropped_rows:  # its row limit: say what q.result lost
            dropped = sink.dropped_rows
            notes.append(f"q.result keeps the newest {sink.max_rows:,} rows: {dropped:,} older rows "
                         "dropped (sn.sinks.memory(max_rows=...))")
        return "; ".join(notes)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def pause_after(took: float, views: int) -> float:
    """Seconds before a view looks again, after an update that took ``took`` s with ``views`` views updating:
    at most ten looks a second, and all views' updates together within ``VIEWS_SHARE`` of the kernel's time,
    so expensive views (many series, four charts in a notebook) update less often instead of slowing cells.

    >>> pause_after(0.002, 1), pause_after(0.02, 4)
    (0.1, 0.32)
    """
    return max(INTERVAL, round(took * max(views, 1) / VIEWS_SHARE, 6))


def busy_views() -> int:
    """How many views are updating now (shown somewhere, query running)."""
    with _views_lock:
        return sum(1 for v in _views if v.query.is_active and not v.hidden and not v._closed)


def views(query=None) -> list[LiveView]:
    """The views opened in this kernel, oldest first; those of ``query`` (a query or its name) if given."""
    with _views_lock:
        found = list(_views)
    if query is None:
        return found
    if isinstance(query, str):
        return [v for v in found if v.query.name == query]
    return [v for v in found if v.query is query]
