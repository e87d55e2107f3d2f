"""The kernel side of JupyterLab's Streams panel: a comm that lists this kernel's queries and acts on them.

The comm's target is ``stream_nb.panel``; ``import stream_nb`` registers it when it runs inside an IPython
kernel (elsewhere this module does nothing). The protocol, all JSON:

* kernel → front end: at ``import stream_nb`` the kernel opens a comm of its own, with
  ``{"hello": VERSION, "queries": [QUERY, ...]}``, and keeps it open. On it go the queries whenever something
  changed, coalesced (at most ``1 / INTERVAL`` a second, latest state wins): ``{"queries": [QUERY, ...]}``.
  Nothing of this waits for the kernel's main thread: the comm is opened and the updates are sent from the
  engine's loop (``engine/loop.py``) over IOPub, which reaches every client of the kernel, so the panel fills
  while a cell (or Run All) keeps the kernel busy. Two tabs or a reloaded page read the same updates from IOPub
  (by their shape, whatever the comm): no second copy.
* front end → kernel: a comm of the front end's own, opened with ``{"action": "subscribe"}`` (when it hears the
  hello, or sees an update, or finds the kernel's comm with ``comm_info`` after a reload). The kernel sends
  the queries again on its comm. Then ``{"action": "pause" | "resume" | "step" | "stop", "name": NAME}`` on
  it; the kernel replies on that comm with ``{"done": ACTION, "name": NAME, "message": "paused averages at
  batch 438"}`` or ``{"error": MESSAGE, "name": NAME, "action": ACTION}`` (``notebook/actions.py`` says
  which), and the queries follow at once. The kernel only ever replies on a front end's comm from the handler
  of its message: ipykernel 7 routes a comm's next messages to the thread the comm last spoke from, and a
  front end that opens its comm on a subshell (JupyterLab 4.4+ does, per comm target) thus keeps getting its
  clicks handled while the main thread runs a cell. Without subshells a click waits for the cell to end; the
  panel says so.

* kernel → front end, on the same comm: ``{"notify": {"query", "message", "type", "key"}}``, a row of a
  ``sn.sinks.notify`` sink, sent only while a front end has subscribed; the extension shows it with JupyterLab's
  Notification API (``type``: info, success, warning, error), updating the one it showed for the same ``key``
  (a summary of held-back rows) instead of adding another.

A QUERY is ``record(query)``: name, id, engine (stream_nb or spark), state (``q.state``'s value), label, message, running (batches run by
themselves), buttons (what the panel shows: ``engine/lifecycle.buttons``), batchId, input and
processed rows a second, watermark (ISO, or None before event time has landed), stateRows, error, and
``rates``, the processed rows a second of the recent batches (oldest first) for the panel's sparkline; for a
continuous query (``continuous``) batchId is its epoch, ``rates`` the input rows a second of the recent epochs,
and ``latencyMs`` the last epoch's arrival-to-sink p50 / p99 / max.
Queries that ended stay listed (stopped or failed, with their error) until a query of the same name
replaces them; the ``KEEP_ENDED`` most recent ones are kept.
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
    continuous = query.trigger.kind == "continuous"
    # a continuous query's "processed" rate is rows over busy time (the row thread idles between rows): its
    # sparkline follows the rows arriving instead
    shown_rate = "inputRowsPerSecond" if continuous else "processedRowsPerSecond"
    return {
        "name": query.name,
        "id": query.id,
        "engine": query.engine,   # "stream_nb" (in the kernel) or "spark"
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
        "rates": [_rate(p.get(shown_rate)) or 0.0 for p in recent[-RATES:]],
        "continuous": continuous,                       # rows as they arrive: epochs, no batches
        "latencyMs": (progress or {}).get("latencyMs"),   # a continuous epoch's p50 / p99 / max (else None)
    }


def _rate(value) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), 1)


class PanelLink:
    """This kernel's end of the panel: its own comm (updates out), the front ends' comms (actions in), the
    queries seen, the updater on the engine loop."""

    def __init__(self, version: str):
        self._version = version
        self._lock = threading.RLock()
        self._own = None                          # the comm this kernel opened; updates go out on it
        self._comms: dict[str, Any] = {}          # comm id -> a front end's comm, for its actions
        self._active: dict[str, Any] = {}         # query id -> query, as of the last look
        self._ended: dict[str, dict] = {}         # name -> the record of an ended query, oldest first
        self._last_sent: list[dict] | None = None
        self._updating = False

    # -- the comms -------------------------------------------------------------------------------------

    def announce(self) -> None:
        """Open the kernel's comm with the queries as they are, and start the updates on the engine loop."""
        import comm

        with self._lock:
            queries = self.snapshot()
            self._own = comm.create_comm(target_name=TARGET, data={"hello": self._version, "queries": queries})
            self._last_sent = queries
            own = self._own
        own.on_close(lambda msg: self._lost(own))
        self._start_updates()

    def started(self, query) -> None:
        """A query registered: the next look lists it, even if it has ended by then (``available_now``)."""
        with self._lock:
            self._active[query.id] = query

    def _lost(self, own) -> None:
        # a front end that does not know the target closed it: updates wait until a panel subscribes again
        with self._lock:
            if self._own is own:
                self._own = None

    def open(self, comm, message: dict) -> None:
        """The comm target: a front end subscribes; its comm carries its actions."""
        with self._lock:
            self._comms[comm.comm_id] = comm
            self._last_sent = None       # the new subscriber needs everything
            reopen = self._own is None
        comm.on_msg(lambda msg: self.on_message(comm, msg["content"]["data"]))
        comm.on_close(lambda msg: self._drop(comm))
        if reopen:
            self.announce()
        self.publish()

    def _drop(self, comm) -> None:
        with self._lock:
            self._comms.pop(comm.comm_id, None)

    def on_message(self, comm, data: dict) -> None:
        """An action from the panel's buttons, run at once, on the thread the message came in on (a subshell's
        while a cell runs, when the front end opened its comm on one). The reply goes on the same comm."""
        from stream_nb.engine import registry
        from stream_nb.notebook.actions import perform

        action, name = data.get("action"), data.get("name")
        if action == "subscribe":
            with self._lock:
                self._last_sent = None
            self.publish()
            return
        query = registry.active_query(name) if isinstance(name, str) else None
        try:
            if query is None:
                raise KeyError(f"no active query named {name!r}")
            comm.send({"done": action, "name": name, "message": perform(query, action)})
        except Exception as err:  # noqa: BLE001 - the panel shows the error; the kernel goes on
            message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            comm.send({"error": message, "name": name, "action": action})
        self.publish()

    @property
    def subscribed(self) -> bool:
        """Whether a front end with the panel (JupyterLab with the extension) has subscribed."""
        with self._lock:
            return bool(self._comms)

    def notify(self, notice: dict) -> bool:
        """Send a notification (``sinks/notify.py``) on the kernel's comm: ``{"notify": NOTICE}``, which the
        extension shows with JupyterLab's Notification API. False when no panel has subscribed (no JupyterLab
        with the extension listens): the caller logs it instead."""
        with self._lock:
            own = self._own if self._comms else None
        if own is None:
            return False
        own.send({"notify": notice})
        return True

    # -- updates ---------------------------------------------------------------------------------------

    def snapshot(self) -> list[dict]:
        """The queries the panel lists: active ones, oldest first, then the ended ones kept."""
        from stream_nb.engine import registry

        with self._lock:
            active = {q.id: q for q in registry.queries()}
            closing = {}
            for query_id, query in self._active.items():
                if query_id in active:
                    continue
                if query.is_active:
                    # unregistered but still closing (its sink, checkpoint and sources, after the batch in
                    # flight): listed as it is, and looked at again until it has ended; a query refused while
                    # it started (never stopping) was never active and goes
                    if getattr(query, "_stopping", False):
                        closing[query_id] = query
                else:
                    # ended since the last look (or started after it and already over): keep its last word; a
                    # query refused while it started was never active
                    self._ended.pop(query.name, None)
                    self._ended[query.name] = record(query)
            registered = {q.name for q in active.values()}
            active.update((i, q) for i, q in closing.items() if q.name not in registered)  # (else replaced)
            self._active = active
            names = {q.name for q in active.values()}
            for name in [n for n in self._ended if n in names]:
                del self._ended[name]       # a query of that name runs again
            while len(self._ended) > KEEP_ENDED:
                del self._ended[next(iter(self._ended))]
            return [record(q) for q in active.values()] + list(self._ended.values())

    def publish(self) -> None:
        """Send the queries on the kernel's comm if they changed since the last update (IOPub reaches all)."""
        with self._lock:
            if self._own is None:
                return
            queries = self.snapshot()
            if queries == self._last_sent:
                return
            own = self._own
            self._last_sent = queries
        own.send({"queries": queries})

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
                    if self._own is None:
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
    """In an IPython kernel: register the comm target and open the kernel's comm to the front ends.

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
        from stream_nb.engine import registry

        _link = PanelLink(__version__)
        manager.register_target(TARGET, _link.open)
        registry.on_start(_link.started)
        _link.announce()
    except Exception as err:  # noqa: BLE001 - without the panel, everything else still works
        print(f"stream_nb: the Streams panel is not available in this kernel: {err!r}", file=sys.__stderr__)


def link() -> PanelLink | None:
    """This kernel's panel link, once ``register()`` has run in a kernel (for tests)."""
    return _link
