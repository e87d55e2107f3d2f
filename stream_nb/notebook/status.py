"""The status bar: what the stream is doing now, in one line (Spark's status and last progress)."""

from __future__ import annotations

import html

from stream_nb.engine.lifecycle import QueryState
from stream_nb.notebook.formatting import format_rate, format_time, watermark_time

_COLORS = {QueryState.RUNNING: "#2e7d32", QueryState.WAITING: "#2e7d32", QueryState.PAUSED: "#ef6c00",
           QueryState.STOPPED: "#616161", QueryState.FAILED: "#c62828", QueryState.MANUAL: "#1565c0"}


def state_of(query) -> tuple[QueryState, str]:
    """(``q.state``, Spark's status message): what the status bar shows and the controls follow."""
    state = query.state  # read once: the message says the same as the state
    return state, query.status["message"] if state is QueryState.FAILED else state.message


def latency_text(progress: dict) -> str:
    """A continuous query's arrival-to-sink latency in its last epoch, as the status bar says it.

    >>> latency_text({"latencyMs": {"p50": 0.21, "p99": 0.8, "max": 2.0}})
    'latency p50 0.21 ms, p99 0.8 ms'
    >>> latency_text({"latencyMs": None, "numInputRows": 0})
    'no rows this epoch'
    >>> latency_text({"latencyMs": None, "numInputRows": 5})
    'latency not measured (the source does not say when rows arrive)'
    """
    latency = progress.get("latencyMs")
    if not latency:
        if progress.get("numInputRows"):  # MQTT and Kafka: the arrival time is inside the record
            return "latency not measured (the source does not say when rows arrive)"
        return "no rows this epoch"
    return f"latency p50 {latency['p50']:.3g} ms, p99 {latency['p99']:.3g} ms"


def status_html(query, *, note: str = "") -> str:
    """The status bar's HTML: state, batch, rates, duration, watermark, state rows, and the input rows the
    watermark dropped since the query started (``q.late_rows_dropped``: rows, where Spark's
    ``numRowsDroppedByWatermark`` counts an aggregation's late groups)."""
    state, message = state_of(query)
    progress = query.last_progress
    label = state.label
    badge = (f'<span style="background:{_COLORS[state]};color:white;border-radius:3px;padding:1px 6px;'
             f'font-weight:600">{label}</span>')
    parts = [f"<b>{html.escape(query.name)}</b>", badge]
    if progress is None:
        parts.append("no batch yet")
    else:
        durations = progress.get("durationMs") or {}
        operators = progress.get("stateOperators") or []
        if "latencyMs" in progress:  # a continuous query's epoch: no batches, each row's latency instead
            parts += [f"epoch {progress.get('batchId')}",
                      f"in {format_rate(progress.get('inputRowsPerSecond'))} rows/s", latency_text(progress)]
        else:
            parts += [
                f"batch {progress.get('batchId')}",
                f"in {format_rate(progress.get('inputRowsPerSecond'))} rows/s",
                f"processed {format_rate(progress.get('processedRowsPerSecond'))} rows/s",
                f"batch took {durations.get('triggerExecution', '—')} ms",
            ]
        watermark = watermark_time(progress)
        if watermark is not None:
            parts.append(f"watermark {format_time(watermark)}")
        if operators:
            parts.append(f"state {int(operators[0].get('numRowsTotal') or 0):,} rows")
            parts.append(f"late rows dropped {query.late_rows_dropped:,}")
    if state in (QueryState.RUNNING, QueryState.WAITING):  # the others say it all in the badge
        parts.append(f'<span style="color:#888">{html.escape(message.lower())}</span>')
    line = " · ".join(parts)
    if note:
        line += f' · <span style="color:#888">{html.escape(note)}</span>'
    if state is QueryState.FAILED:
        error = query.exception or message
        line += ('<pre style="color:#c62828;background:#fdecea;padding:4px 8px;margin:4px 0 0;'
                 f'white-space:pre-wrap">{html.escape(str(error))}</pre>')
    return f'<div style="font-size:12px;line-height:1.6">{line}</div>'
