"""The engine's event loop: one anyio loop on a daemon thread of the kernel process (DESIGN §3).

Each query is a task on it; a batch's work runs in a worker thread, so the loop (and the notebook) stay
responsive while DuckDB computes, and a cell that blocks does not stop the streams.
"""

from __future__ import annotations

import sys
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

            _share_the_gil_finely()
            threading.Thread(target=anyio.run, args=(serve,), name="stream_nb-engine", daemon=True).start()
            ready.wait()
            _portal = box["portal"]
        return _portal


def spawn(task: Callable[[], Awaitable[Any]]) -> Future:
    """Run a coroutine function as a task on the engine loop."""
    return portal().start_task_soon(task)


def in_loop_thread() -> bool:
    return threading.current_thread().name == "stream_nb-engine"


KERNEL_SWITCH_INTERVAL = 0.0005  # seconds; Python's default is 0.005


def _share_the_gil_finely() -> None:
    """In a kernel, let the main thread (which answers the notebook) take the GIL back sooner from batch threads.

    Each time the kernel's main thread wakes (a message, a comm, a cell) while a batch thread runs Python, it
    waits up to the switch interval for the GIL, and a cell's round trip wakes it tens of times: with Python's
    5 ms, a few streaming queries made a trivial cell take 100-300 ms. Nothing changes outside a kernel.
    """
    if "ipykernel" in sys.modules and sys.getswitchinterval() > KERNEL_SWITCH_INTERVAL:
        sys.setswitchinterval(KERNEL_SWITCH_INTERVAL)
