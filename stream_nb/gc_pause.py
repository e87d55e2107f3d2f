"""Pause Python's cyclic garbage collector while a result is built out of many small objects.

A batch handed to pandas holds a dict per row for each struct column (a window), and a dict holding a
``pd.Timestamp`` is tracked by the cyclic collector. Built with the collector on, 20,000 of them set off about
30 young collections, and the rows they promote while still being built set off full collections, each one a
walk over everything the kernel holds: in the ``peers`` benchmark (whose ``foreach_batch`` function keeps every
batch's DataFrame) these full collections cost about 28 ms a 200 k-row batch, more than the conversion itself.
The dicts are acyclic and alive until the caller drops them, so nothing is lost by collecting after they are
built: the allocations still count, and the first one after the pause runs one young collection over them.

The collector's switch is process-wide: ``paused()`` turns it off while any conversion in any thread is in
one, back on when the last leaves, and only if it was on when the first entered (a user who turned it off
keeps it off). A user switching it by hand inside that window of milliseconds may see it switched back.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0              # conversions in a paused() block now, in all threads
_switched_off = False    # whether the first of them turned the collector off (it was on)


@contextmanager
def paused() -> Iterator[None]:
    """The cyclic collector off for the block (reentrant, any number of threads).

    >>> with paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    global _inside, _switched_off
    with _lock:
        if _inside == 0:
            _switched_off = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _switched_off:
                gc.enable()
