"""The status bar: what the stream is doing now, in one line (Spark's status and last progress)."""

from __future__ import annotations

import html

from stream_nb.notebook.formatting import format_rate, format_time, watermark_time

_COLORS = {"running": "#2e7d32", "waiting": "#2e7d32", "paused": "#ef6c00", "stopped": "#616161",
           "failed": "#c62828", "step": "#1565c0"}


def state_of(query) -> tuple[str, str]:
    """(state, detail): running | waiting | step | paused | stopped | failed, and Spark's status message."""
    message = query.status["message"]
    if query.exception is not None or message.startswith("Failed"):
        return "failed", message
    if not query.is_active:
        return "stopped", message
    if message == "Paused":
        return "paused", message
    if message == "Waiting for q.step()":
        return "step", message
    if message == "Processing new data":
        return "running", message
    return "waiting", message


def state_label(state: str) -> str:
    """How a state reads in the view: waiting for data is still running."""
    return {"waiting": "running", "step": "waiting for step"}.get(state, state)


def late_rows(progress: dict | None) -> int:
    """Input rows the watermark dropped in the batch of this progress report (0 when stateless)."""
    operators = (progress or {}).get("stateOperators") or []
    return sum(int(op.get("numRowsDroppedByWatermark") or 0) for op in operators)


def status_html(query, *, late_total: int, note: str = "") -> str:
    """The status bar's HTML: state, batch, rates, duration, watermark, state rows, late rows dropped."""
    state, message = state_of(query)
    progress = query.last_progress
    label = state_label(state)
    badge = (f'<span style="background:{_COLORS[state]};color:white;border-radius:3px;padding:1px 6px;'
             f'font-weight:600">{label}</span>')
    parts = [f"<b>{html.escape(query.name)}</b>", badge]
    if progress is None:
        parts.append("no batch yet")
    else:
        durations = progress.get("durationMs") or {}
        operators = progress.get("stateOperators") or []
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
            parts.append(f"late rows dropped {late_total:,}")
    if state != "failed" and message not in ("Stopped", "Paused") and state != "step":
        parts.append(f'<span style="color:#888">{html.escape(message.lower())}</span>')
    line = " · ".join(parts)
    if note:
        line += f' · <span style="color:#888">{html.escape(note)}</span>'
    if state == "failed":
        error = query.exception or message
        line += ('<pre style="color:#c62828;background:#fdecea;padding:4px 8px;margin:4px 0 0;'
                 f'white-space:pre-wrap">{html.escape(str(error))}</pre>')
    return f'<div style="font-size:12px;line-height:1.6">{line}</div>'
