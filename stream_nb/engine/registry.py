"""The queries active in this process, by name: ``sn.queries()``, ``sn.get(name)``, ``sn.stop_all()``."""

from __future__ import annotations

import atexit
import os
import threading

_lock = threading.Lock()
_active: dict[str, object] = {}
_started: list = []   # called with each query as it registers: the Streams panel lists even a short-lived one


def on_start(listener) -> None:
    """Call ``listener(query)`` whenever a query registers (from the thread that starts it)."""
    _started.append(listener)


def register(query) -> None:
    with _lock:
        if query.name in _active:
            raise ValueError(f"a query named {query.name!r} is already running: stop it first "
                             f"(sn.get({query.name!r}).stop()) or choose another name")
        _active[query.name] = query
    for listener in _started:
        listener(query)


def unregister(query) -> None:
    with _lock:
        if _active.get(query.name) is query:
            del _active[query.name]


def active_query(name: str):
    with _lock:
        return _active.get(name)


def namespace() -> dict[str, object]:
    """The active queries by name: the namespace in which the planner finds ``FROM <a running query>``."""
    with _lock:
        return dict(_active)


def queries() -> list:
    """The active queries, oldest first."""
    with _lock:
        return list(_active.values())


def get(name: str):
    """The active query with this name; a KeyError that lists the active ones otherwise."""
    query = active_query(name)
    if query is None:
        names = ", ".join(q.name for q in queries()) or "none"
        raise KeyError(f"no active query named {name!r} (active: {names})")
    return query


def stop_all() -> None:
    """Stop every active query."""
    for query in queries():
        query.stop()


# A kernel or script that exits stops its queries first, so no batch is cut off mid-write by the interpreter
# tearing down under the engine's threads (a checkpoint would survive that, but cleanly is better).
# Only in the process that imported the engine: a forked child has none of its threads to stop them with.
_pid = os.getpid()
atexit.register(lambda: stop_all() if os.getpid() == _pid else None)
