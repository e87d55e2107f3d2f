"""The kernel side of JupyterLab's Streams panel: a comm that lists this kernel's queries and acts on them.

The comm's target is ``stream_nb.panel``; ``import stream_nb`` registers it when it runs inside an IPython
kernel (elsewhere this module does nothing). The protocol, all JSON:

* kernel → front end, at registration: a comm opened with ``{"hello": VERSION}`` and closed at once. A front
  end that registered the target on its side hears that stream_nb is loaded, and opens its own comm.
* front end → kernel: open a comm with ``{"action": "subscribe"}``. The kernel answers with the queries at
  once, then whenever something changed, coalesced (at most ``1 / INTERVAL`` a second, latest state wins):
  ``{"queries": [QUERY, ...]}``. IOPub goes to every client of the kernel, so the kernel sends each update on
  one comm (the newest) and every front end reads it from the IOPub stream: two tabs or a reloaded page cost
  no second copy. A reloaded page finds a kernel that already runs stream_nb by the comms it lists
  (``comm_info``), and subscribes again.
* front end → kernel: ``{"action": "pause" | "resume" | "step" | "stop", "name": NAME}``; on failure the kernel
  replies on that comm with ``{"error": MESSAGE, "name": NAME, "action": ACTION}``; either way the
  queries follow at once.

A QUERY is ``record(query)``: name, id, state (``q.state``'s value), label, message, running (batches run by
themselves), buttons (what the panel shows: ``engine/lifecycle.buttons``), batchId, input and
processed rows a second, watermark (ISO, or None before event time has landed), stateRows, error, and
``rates``, the processed rows a second of the recent batches (oldest first) for the panel's sparkline.
Queries that ended stay listed (stopped or failed, with their error) until a query of the same name
replaces them; the ``KEEP_ENDED`` most recent ones are kept.

The updates are computed and sent from a task on the engine's loop (``engine/loop.py``), never the kernel's
main thread, so the panel moves while a cell blocks.
"""

from __future__ import annotations

import math
import sys
import threading
from typing import Any

TARGET = "stream_nb.panel"
INTERVAL = 0.25          # seconds between looks for a change: at most four updates a second
RATES = 30               # batches in a sparkline
KEEP_ENDED = 20          # ended queries the panel keeps listing


def record(query) -> dict[str, Any]:
    """One query as the panel shows it (plain JSON).

    >>> import stream_nb as sn
    >>> readings = sn.sources.memory("ts timestamp, device string, temp double")
    >>> q = sn.start("SELECT device, count(*) AS n FROM readings GROUP BY device", name="per_device_doc",
    ...              trigger="manual")
    >>> _ = readings.add_data([{"ts": "2026-11-24 10:00:00", "device": "a", "temp": 20.0}]); _ = q.step()
    >>> r = record(q)
    >>> r["name"], r["state"], r["batchId"], r["stateRows"], r["watermark"], len(r["rates"])
    ('per_device_doc', 'manual', 0, 1, None, 1)
    >>> r["buttons"]
    [{'action': 'pause', 'enabled': False}, {'action': 'step', 'enabled': True}, {'action': 'stop', 'enabled': True}]
    >>> q.stop(); record(q)["state"], record(q)["running"]
    ('stopped', False)
    """
    from stream_nb.engine.lifecycle import QueryState, buttons
    from stream_nb.notebook.formatting import watermark_time
    from stream_nb.notebook.status import state_of

    state, message = state_of(query)
    recent = query.recent_progress
    progress = recent[-1] if recent else None
    operators = (progress or {}).get("stateOperators") or []
    watermark = watermark_time(progress)
    error = query.exception
    return {
        "name": query.name,
        "id": query.id,
        "state": state.value,
        "label": state.label,
        "message": message,
        "running": state in (QueryState.RUNNING, QueryState.WAITING),   # the status bar counts these
        "buttons": [{"action": action, "enabled": enabled} for action, enabled in buttons(state)],
        "batchId": progress["batchId"] if progress else None,
        "inputRowsPerSecond": _rate((progress or {}).get("inputRowsPerSecond")),
        "processedRowsPerSecond": _rate((progress or {}).get("processedRowsPerSecond")),
        "watermark": watermark.isoformat() if watermark is not None else None,
        "stateRows": int(operators[0].get("numRowsTotal") or 0) if operators else None,
        "error": str(error.__cause__ or error) if error is not None else None,
        "rates": [_rate(p.get("processedRowsPerSecond")) or 0.0 for p in recent[-RATES:]],
    }


def _rate(value) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), 1)


class PanelLink:
    """This kernel's end of the comm: the subscribed comms, the queries seen, the updater on the engine loop."""

    def __init__(self):
        self._lock = threading.RLock()
        self._comms: dict[str, Any] = {}          # comm id -> comm, oldest first
        self._active: dict[str, Any] = {}         # query id -> query, as of the last look
        self._ended: dict[str, dict] = {}         # name -> the record of an ended query, oldest first
        self._last_sent: list[dict] | None = None
        self._updating = False

    # -- the comm --------------------------------------------------------------------------------------

    def open(self, comm, message: dict) -> None:
        """The comm target: a front end subscribes."""
        with self._lock:
            self._comms[comm.comm_id] = comm
            self._last_sent = None       # the new subscriber needs everything
        comm.on_msg(lambda msg: self.on_message(comm, msg["content"]["data"]))
        comm.on_close(lambda msg: self._drop(comm))
        self.publish()
        self._start_updates()

    def _drop(self, comm) -> None:
        with self._lock:
            self._comms.pop(comm.comm_id, None)

    def on_message(self, comm, data: dict) -> None:
        """An action from the panel's buttons, run at once (the comm's messages come on a shell thread)."""
        from stream_nb.engine import registry

        action, name = data.get("action"), data.get("name")
        if action == "subscribe":
            with self._lock:
                self._last_sent = None
            self.publish()
            return
        query = registry.active_query(name) if isinstance(name, str) else None
        try:
            if action not in ("pause", "resume", "step", "stop"):
                raise ValueError(f"unknown action {action!r}: pause, resume, step or stop")
            if query is None:
                raise KeyError(f"no active query named {name!r}")
            getattr(query, action)()
        except Exception as err:  # noqa: BLE001 - the panel shows the error; the kernel goes on
            message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            comm.send({"error": message, "name": name, "action": action})
        self.publish()

    # -- updates ---------------------------------------------------------------------------------------

    def snapshot(self) -> list[dict]:
        """The queries the panel lists: active ones, oldest first, then the ended ones kept."""
        from stream_nb.engine import registry

        with self._lock:
            active = {q.id: q for q in registry.queries()}
            for query_id, query in self._active.items():
                if query_id not in active:  # ended since the last look: keep its last word
                    self._ended.pop(query.name, None)
                    self._ended[query.name] = record(query)
            self._active = active
            names = {q.name for q in active.values()}
            for name in [n for n in self._ended if n in names]:
                del self._ended[name]       # a query of that name runs again
            while len(self._ended) > KEEP_ENDED:
                del self._ended[next(iter(self._ended))]
            return [record(q) for q in active.values()] + list(self._ended.values())

    def publish(self) -> None:
        """Send the queries if they changed since the last update, on the newest comm (IOPub reaches all)."""
        with self._lock:
            if not self._comms:
                return
            queries = self.snapshot()
            if queries == self._last_sent:
                return
            comm = next(reversed(self._comms.values()))
            self._last_sent = queries
        comm.send({"queries": queries})

    def _start_updates(self) -> None:
        from stream_nb.engine import loop

        with self._lock:
            if self._updating:
                return
            self._updating = True
        loop.portal().start_task_soon(self._updates)

    async def _updates(self) -> None:
        import anyio

        try:
            while True:
                with self._lock:
                    if not self._comms:
                        return
                await anyio.to_thread.run_sync(self.publish)
                await anyio.sleep(INTERVAL)
        except Exception as err:  # noqa: BLE001 - the panel must not take the engine loop down
            print(f"stream_nb: the Streams panel stopped updating: {err!r}", file=sys.__stderr__)
        finally:
            with self._lock:
                self._updating = False


_link: PanelLink | None = None


def register() -> None:
    """In an IPython kernel: register the comm target and tell the front ends that stream_nb is here.

    Elsewhere (a script, a plain ``python``, IPython in a terminal) it does nothing, and IPython is not
    imported for it.
    """
    global _link
    if _link is not None or "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return
    try:
        import comm

        from stream_nb import __version__

        manager = comm.get_comm_manager()
        _link = PanelLink()
        manager.register_target(TARGET, _link.open)
        comm.create_comm(target_name=TARGET, data={"hello": __version__}).close()
    except Exception as err:  # noqa: BLE001 - without the panel, everything else still works
        print(f"stream_nb: the Streams panel is not available in this kernel: {err!r}", file=sys.__stderr__)


def link() -> PanelLink | None:
    """This kernel's panel link, once ``register()`` has run in a kernel (for tests)."""
    return _link
