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

``untracked_template`` goes further for the dicts of a window column: the few distinct ones are taken out of the
collector's lists, and the copies made of them for each row stay out (see there).
"""

from __future__ import annotations

import ctypes
import gc
import sys
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


def _gc_untrack():
    """CPython's ``PyObject_GC_UnTrack`` (None elsewhere)."""
    if sys.implementation.name != "cpython":
        return None
    try:
        function = ctypes.pythonapi.PyObject_GC_UnTrack
    except AttributeError:
        return None
    function.argtypes, function.restype = [ctypes.py_object], None
    return function


_untrack = _gc_untrack()


def untracked_template(row: dict) -> dict:
    """``row``, taken out of the cyclic collector's lists, to be copied for many rows: CPython's ``dict.copy``
    keeps the original's tracking, so its copies are never walked by a collection either (a batch's 20 k window
    dicts cost three collections each otherwise: the young one after the build, then one per older generation).
    Only for a dict whose values hold no reference to it (window bounds: shared Timestamps); a copy that later
    gains a container is tracked again by CPython itself. What the collector then cannot free is a cycle a user
    closes through a bound's own attributes (``row["start"].note = row``), which the shared Timestamps'
    cache keeps alive anyway. Elsewhere than CPython, ``row`` as it is.

    >>> row = untracked_template({"start": 0, "end": 1})
    >>> row == {"start": 0, "end": 1}
    True
    """
    if _untrack is not None and gc.is_tracked(row):
        _untrack(row)
    return row
