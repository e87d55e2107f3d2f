"""``HashSlots``' lookups, inserts and removals as compiled loops (numba): one pass over a batch's hashes, each
walking its probe chain once, where the numpy path makes a pass per probe step and several temporary arrays.

Same table, same rules (linear probing from ``hash & mask``, a removed entry a tombstone, the first empty or
removed entry of a chain taken by an insert), so either path reads what the other wrote.

numba costs ~1.3 s of CPU to import and load the kernels (a first compile, once per machine, ~2 s: then kept on
disk, ``cache=True``), which a user's first small query must not pay: a background thread loads them once a
batch of ``threshold`` hashes shows the state is big enough to gain, and the numpy path serves until they are
ready, and wherever numba cannot run. Once loaded they serve every size (20,000 hashes: get 0.25 ms against
numpy's 1.0 ms, add 0.66 against 2.1, pop 0.22 against 1.1; 200: 6 us against 96). Results are the same either way.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import NamedTuple

import numpy as np

# A batch of this many hashes starts loading the kernels: at 10,000 they save ~3 ms a batch of keyed state's
# work, and a notebook's first small queries (and most tests) never load numba.
threshold = 10_000
_kernels = None            # the loaded kernels, once ready
_failed = False            # numba could not be loaded or compile: numpy it is, for the process
_loading: threading.Thread | None = None
_lock = threading.Lock()


class Kernels(NamedTuple):
    find: object    # (table_hashes, table_values, mask, hashes, positions) -> None
    get: object     # (table_hashes, table_values, mask, hashes, values) -> None
    insert: object  # (table_hashes, table_values, mask, hashes, values) -> (entries newly used, a hash met)
    pop: object     # (table_hashes, table_values, mask, hashes, values, positions) -> entries removed
    live_entries: object  # (table_hashes, table_values, hashes, values) -> how many live entries copied out
    has_repeats: object  # (hashes) -> whether one occurs twice
    same_bytes: object  # (heap, starts, data, offsets, lengths, same) -> None (``slot_strings``)
    gather: object      # (source, starts, lengths, out, offsets) -> None (``slot_strings``)


def ready(size: int, start: bool = True) -> Kernels | None:
    """The kernels, or None: use numpy (not loaded yet, or unavailable). A batch of ``size`` hashes at or above
    ``threshold`` starts loading them if ``start`` (a restore does not: its process does nothing else
    meanwhile, and would only be slowed down)."""
    if _kernels is None and start and size >= threshold and not _failed:
        _start_loading()
    return _kernels


def load() -> Kernels | None:
    """Load the kernels now (tests, and anyone who wants them before the first big batch); None if they
    cannot be."""
    _start_loading()
    thread = _loading
    if thread is not None:
        thread.join()
    return _kernels


def _start_loading() -> None:
    global _loading
    with _lock:
        if _loading is None and _kernels is None and not _failed:
            _loading = threading.Thread(target=_load, name="stream_nb-hashslots-kernels", daemon=True)
            _loading.start()


def _finish_loading_before_fork() -> None:
    """A process forked while the kernels load would copy numba's import half done, its module locks held by a
    thread the child does not have: the child's next ``import numba`` (or of a module numba was importing) would
    wait forever. So a fork waits for the load to end (a second or two, once a process); not forever, should
    the forking thread hold what the load waits for."""
    thread = _loading
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout=60)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_finish_loading_before_fork)


def _load() -> None:
    global _kernels, _failed
    try:
        kernels = _compile()
        _warm(kernels)
        _kernels = kernels
    except Exception:  # e.g. numba missing, or no writable cache: the numpy path serves
        logging.getLogger(__name__).debug("hash table kernels unavailable; numpy serves", exc_info=True)
        _failed = True


def _warm(kernels: Kernels) -> None:
    """One call of each on a tiny table: compiles (or loads from the disk cache) their one signature."""
    hashes = np.zeros(16, np.uint64)
    values = np.full(16, np.iinfo(np.int32).min, np.int32)
    some = np.arange(3, dtype=np.uint64)
    kernels.insert(hashes, values, 15, some, np.arange(3, dtype=np.int32))
    kernels.find(hashes, values, 15, some, np.empty(3, np.int64))
    kernels.get(hashes, values, 15, some, np.empty(3, np.int64))
    kernels.pop(hashes, values, 15, some, np.empty(3, np.int64), np.empty(3, np.int64))
    kernels.has_repeats(some)
    kernels.live_entries(hashes, values, np.empty(16, np.uint64), np.empty(16, np.int32))
    heap, starts = np.arange(8, dtype=np.uint8), np.array([0, 4], np.int64)
    kernels.same_bytes(heap, starts, heap, starts, np.array([2, 2], np.int64), np.empty(2, bool))
    kernels.gather(heap, starts, np.array([2, 2], np.int64), np.empty(4, np.uint8), np.empty(3, np.int64))


def _compile() -> Kernels:
    from stream_nb.engine import hashslots_compiled as c  # imports numba

    return Kernels(c.find, c.get, c.insert, c.pop, c.live_entries, c.has_repeats, c.same_bytes, c.gather)
