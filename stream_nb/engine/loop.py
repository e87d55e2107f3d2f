"""The engine's event loop: one anyio loop on a daemon thread of the kernel process (DESIGN §3).

Each query is a task on it; a batch's work runs in a worker thread, so the loop (and the notebook) stay
responsive while DuckDB computes, and a cell that blocks does not stop the streams.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import anyio
from anyio.from_thread import BlockingPortal

_lock = threading.Lock()
_portal: BlockingPortal | None = None


def portal() -> BlockingPortal:
    """The engine loop's portal, starting the loop on first use."""
    global _portal
    with _lock:
        if _portal is None:
            ready = threading.Event()
            box: dict[str, BlockingPortal] = {}

            async def serve() -> None:
                async with BlockingPortal() as p:
                    box["portal"] = p
                    ready.set()
                    await p.sleep_until_stopped()

            threading.Thread(target=anyio.run, args=(serve,), name="stream_nb-engine", daemon=True).start()
            ready.wait()
            _portal = box["portal"]
        return _portal


def spawn(task: Callable[[], Awaitable[Any]]) -> Future:
    """Run a coroutine function as a task on the engine loop."""
    return portal().start_task_soon(task)


def in_loop_thread() -> bool:
    return threading.current_thread().name == "stream_nb-engine"
