"""Case ``kernel_latency``: does the notebook stay responsive while a query streams flat out?

A real kernel (jupyter_client, the ``python3`` kernelspec: this venv's python). A trivial cell (``1+1``) runs
many times and each round trip is timed from the execute request to the kernel's reply and its return to idle,
first with nothing running, then while a ``%%stream`` query aggregates simulated sensors as fast as the engine
can (the source is always ahead of it) with its live view displayed: a bar chart and a table, updated from the
engine's thread. The headline numbers are the round trip's p50 and p95, and the view's updates per second.

Then the same round trips while ONE and while FOUR live charts stream in the kernel, as a notebook with a few
quickstart cells would have them: each a windowed average per device (``sensors(devices=5,
rows_per_second=200)``) drawn as a line chart ``--by device`` with a table. The target is a p95 under 50 ms
with four. Nothing here draws the charts or answers for a page (no browser): the load measured is the
kernel's own (batches, views, the messages it sends), not what a page sends back.
"""

from __future__ import annotations

import queue
import statistics
import time

from .harness import Contender, Report, Stopwatch, Target, Unavailable

NAME = "kernel_latency"
TITLE = "a trivial cell's round trip in a real kernel"
SIZES = {False: 200, True: 60}  # quick -> round trips per run
TARGET_P95_MS = 50.0

IDLE, STREAMING = "idle kernel", "streaming flat out + live view"
ONE_CHART, FOUR_CHARTS, FOUR_QUERIES = "1 live chart", "4 live charts", "the 4 queries, no view"

SETUP = """
%load_ext stream_nb
import time
import stream_nb as sn
from stream_nb.notebook import views
"""
SOURCE = "readings = sn.sources.sensors(devices=100, rows_per_second=200_000)"  # fresh: no backlog

START = """%%stream flat_out --chart bar --x device --y avg_temp --table
SELECT device, avg(temperature) AS avg_temp, max(humidity) AS top_humidity, count(*) AS n
FROM readings GROUP BY device
"""

# The view's updates and the rows the query read over the timed part (from marks set in the kernel).
STATS = """
_v, _span, _p = views('flat_out')[-1], time.monotonic() - _mark, flat_out.last_progress
print(len([u for u in _v.updates if u[0] >= _mark]) / _span,
      (_p['sources'][0]['endOffset'] - _mark_offset) / _span, (_p['batchId'] - _mark_batch) / _span)
"""

# A live chart as the quickstart draws it; {i} numbers the query and its own source.
CHART_SOURCE = ("readings_{i} = sn.sources.sensors(devices=5, rows_per_second=200, disorder='1 second', "
                "seed={i})")
CHART = """%%stream averages_{i} --chart line --x w.start --y avg_temp --by device --table --rows 6
{sql}"""
CHART_SQL = """SELECT window(ts, '5 seconds') AS w, device, round(avg(temperature), 2) AS avg_temp,
       count(*) AS readings
FROM readings_{i} WATERMARK ts DELAY OF INTERVAL 5 SECONDS
GROUP BY window(ts, '5 seconds'), device
"""
NO_VIEW = "averages_{i} = sn.start({sql!r}, name='averages_{i}')"
CHARTS_MARK = """
_qs = [sn.get(f'averages_{{i}}') for i in range({n})]
_mark, _mark_batches = time.monotonic(), [q.last_progress['batchId'] for q in _qs]
"""
CHARTS_STATS = """
_vs, _span = [v for q in _qs for v in views(q)[-1:]], time.monotonic() - _mark
print(sum(len([u for u in v.updates if u[0] >= _mark]) for v in _vs) / _span,
      sum(q.last_progress['batchId'] - b for q, b in zip(_qs, _mark_batches)) / _span)
"""


class _Kernel:
    """Just enough of jupyter_client to time round trips."""

    def __init__(self) -> None:
        try:
            from jupyter_client.manager import start_new_kernel
        except ImportError as err:
            raise Unavailable(f"jupyter_client is not installed ({err})") from None
        self.manager, self.client = start_new_kernel(kernel_name="python3", startup_timeout=60)
        self.sent = 0  # IOPub messages not of the cell run (the views' updates), read and dropped

    def run(self, code: str, timeout: float = 60) -> str:
        """Execute ``code``; wait for the kernel to go idle and for its reply; its stdout."""
        msg_id = self.client.execute(code)
        deadline = time.monotonic() + timeout
        out = []
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no answer to {code!r}") from None
            if message["parent_header"].get("msg_id") != msg_id:
                self.sent += 1
                continue  # the view's updates: read and dropped, as a front end would draw them
            if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
                out.append(message["content"]["text"])
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        reply = self.client.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"cell failed: {code!r}: {reply['content'].get('evalue')}")
        return "".join(out)

    def drain(self, seconds: float) -> None:
        """Read what the kernel sends for a while (the view's updates), as a front end would."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            try:
                self.client.get_iopub_msg(timeout=left)
            except queue.Empty:
                return
            self.sent += 1

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def run(quick: bool, repeats: int) -> Report:
    trips = SIZES[quick]
    report = Report(NAME, f"{TITLE}: `1+1` × {trips} per run, p50 / p95 over all runs")
    try:
        kernel = _Kernel()
    except Unavailable as err:
        report.failures.append(_skipped(err))
        return report
    stream_stats: list[list[float]] = []
    chart_stats: dict[str, list[tuple[float, float, float]]] = {n: [] for n in (ONE_CHART, FOUR_CHARTS,
                                                                                FOUR_QUERIES)}
    try:
        kernel.run(SETUP)

        def round_trips(clock: Stopwatch, count: int = trips) -> None:
            for _ in range(count):
                with clock:
                    kernel.run("1+1")

        def idle(clock: Stopwatch, count: int = trips) -> None:
            round_trips(clock, count)

        def streaming(clock: Stopwatch, count: int = trips) -> None:
            kernel.run(SOURCE)
            kernel.run(START)
            kernel.run("flat_out.process_all_available(timeout=30)")  # the first batches
            kernel.drain(1.0)  # and the chart built
            kernel.run("_mark, _p = time.monotonic(), flat_out.last_progress\n"
                       "_mark_batch, _mark_offset = _p['batchId'], _p['sources'][0]['endOffset']")
            round_trips(clock, count)
            stream_stats.append([float(v) for v in kernel.run(STATS).split()])
            kernel.run("%stream stop flat_out")

        def charts(clock: Stopwatch, n: int, count: int = trips, name: str = "") -> None:
            for i in range(n):
                kernel.run(CHART_SOURCE.format(i=i))
                sql = CHART_SQL.format(i=i)
                kernel.run(NO_VIEW.format(sql=sql, i=i) if name == FOUR_QUERIES else
                           CHART.format(i=i, sql=sql))
            kernel.run(f"[averages_{i}.process_all_available(timeout=30) for i in range({n})]")
            kernel.drain(1.5)  # the charts built and streaming
            kernel.run(CHARTS_MARK.format(n=n))
            sent, started = kernel.sent, time.monotonic()
            round_trips(clock, count)
            messages = (kernel.sent - sent) / (time.monotonic() - started)
            updates, batches = (float(v) for v in kernel.run(CHARTS_STATS.format(n=n)).split())
            chart_stats[name].append((updates, messages, batches))
            kernel.run("%stream stop --all")

        def one(clock: Stopwatch, count: int = trips) -> None:
            charts(clock, 1, count, ONE_CHART)

        def four(clock: Stopwatch, count: int = trips) -> None:
            charts(clock, 4, count, FOUR_CHARTS)

        def four_bare(clock: Stopwatch, count: int = trips) -> None:
            charts(clock, 4, count, FOUR_QUERIES)

        measured = report.run([
            Contender(IDLE, idle, trips, warmup=lambda: idle(Stopwatch(), 10)),
            Contender(STREAMING, streaming, trips, warmup=lambda: streaming(Stopwatch(), 10)),
            Contender(ONE_CHART, one, trips, warmup=lambda: one(Stopwatch(), 10)),
            Contender(FOUR_CHARTS, four, trips, warmup=lambda: four(Stopwatch(), 10)),
            Contender(FOUR_QUERIES, four_bare, trips, warmup=lambda: four_bare(Stopwatch(), 10)),
        ], repeats)
    finally:
        kernel.close()

    p95 = None
    p95_charts: dict[str, float] = {}
    for name, measurement in measured.items():
        laps = sorted(lap for clock in measurement.clocks for lap in clock.laps)
        row = report.row(name)
        row["p50 ms"] = 1000 * statistics.median(laps)
        row["p95 ms"] = 1000 * laps[int(0.95 * (len(laps) - 1))]
        row["max ms"] = 1000 * laps[-1]
        if name == STREAMING:
            p95 = row["p95 ms"]
            timed = stream_stats[-len(measurement.clocks):]  # the warm-up's numbers are not counted
            row["view updates/s"] = statistics.median(s[0] for s in timed)
            row["stream rows/s"] = statistics.median(s[1] for s in timed)
            row["batches/s"] = statistics.median(s[2] for s in timed)
        if name in chart_stats:
            p95_charts[name] = row["p95 ms"]
            timed = chart_stats[name][-len(measurement.clocks):]
            row["view updates/s"] = statistics.median(s[0] for s in timed)
            row["kernel msgs/s"] = statistics.median(s[1] for s in timed)
            row["batches/s"] = statistics.median(s[2] for s in timed)
    report.targets = [
        Target("p95 round trip while streaming, ms", p95, goal=TARGET_P95_MS, at_least=False),
        Target("p95 round trip with one live chart, ms", p95_charts.get(ONE_CHART)),
        Target("p95 round trip with four live charts, ms", p95_charts.get(FOUR_CHARTS), goal=TARGET_P95_MS,
               at_least=False),
    ]
    report.notes = [
        ("`seconds` is the time of all the round trips of a run; `rows/s` there counts round trips. The "
         "query reads `sensors(devices=100, rows_per_second=200_000)`, so batches run back to back on the "
         "engine's thread while the view sends at most ten updates a second (a bar chart patch and a table "
         "of the latest rows). `view updates/s`, `stream rows/s` and `batches/s` are over the timed round "
         "trips, measured in the kernel."),
        (f"`{ONE_CHART}` and `{FOUR_CHARTS}`: quickstart-like queries (a 5-second windowed average of "
         "`sensors(devices=5, rows_per_second=200)` per device, a line chart `--by device` and a table), all "
         "in one kernel; `view updates/s` and `batches/s` are summed over the views and queries, "
         "`kernel msgs/s` counts every IOPub message the kernel sent meanwhile that was not the cell's own "
         "(the views' updates, as a page would get them). No page answers them here. "
         f"`{FOUR_QUERIES}` runs the same four queries without views: what the batches alone cost."),
    ]
    return report


def _skipped(err: Exception):
    from .harness import Failure

    return Failure("kernel", "skipped", str(err))
