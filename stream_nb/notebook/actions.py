"""Pause, resume, step and stop a query, and say what was done: one place for the magics, the view's buttons
and the Streams panel (``engine/lifecycle.py`` decides what each state allows)."""

from __future__ import annotations

from stream_nb.engine.lifecycle import ActionRefused, check

__all__ = ["ActionRefused", "perform"]


def perform(query, action: str) -> str:
    """Do ``action`` if the query's state allows it; what was done, in words (``ActionRefused`` says why not).

    >>> import stream_nb as sn
    >>> src = sn.sources.memory("x long")
    >>> q = sn.start("SELECT x FROM src", sources={"src": src}, name="doc_actions", trigger="manual")
    >>> _ = src.add_data([{"x": 1}, {"x": 2}])
    >>> perform(q, "step").split(", ")[:2]
    ['doc_actions ran batch 0: 2 rows in', '2 rows out']
    >>> perform(q, "pause")
    Traceback (most recent call last):
    ...
    stream_nb.engine.lifecycle.ActionRefused: doc_actions runs on a manual trigger: it only runs a batch on \
step; nothing to pause
    >>> perform(q, "stop")
    'stopped doc_actions at batch 0'
    """
    pausing = action == "resume" and query.state.is_active and getattr(query, "is_paused", False)
    if not pausing:  # resume right after pause, while the batch in flight finishes (the state reads running)
        check(query.name, query.state, action)
    if action == "step":
        progress = query.step()
        if progress is None:
            return f"{query.name}: no new data, no batch ran"
        return (f"{query.name} ran batch {progress['batchId']}: {progress['numInputRows']:,} rows in, "
                f"{progress['sink']['numOutputRows']:,} rows out, {progress['durationMs']['triggerExecution']} ms")
    resumed_after = _where(query, action)  # read before resuming: the next batch may commit at once
    getattr(query, action)()
    done = {"pause": "paused", "resume": "resumed", "stop": "stopped"}[action]
    return f"{done} {query.name} {resumed_after if action == 'resume' else _where(query, action)}"


def _where(query, action: str) -> str:
    progress = query.last_progress
    if progress is None:
        return "before its first batch"
    batch = progress["batchId"]
    return f"after batch {batch}" if action == "resume" else f"at batch {batch}"
