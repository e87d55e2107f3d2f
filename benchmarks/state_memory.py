"""What a key of state costs in memory: RSS per key, and the engine's own ``memoryUsedBytes`` per key.

``SELECT key, count(*) AS n FROM events GROUP BY key`` (update mode, a ``foreach_batch`` sink, so no second
copy of the keys is kept by a memory sink) over ``N`` distinct int64 keys fed in batches of ``BATCH`` new
keys. It runs in a fresh Python process (``python -m benchmarks.state_memory N``), so the RSS it sees grow is
this query's alone, not what earlier cases left in the allocators. RSS is read before the first of those
batches (after a warm-up batch: modules, DuckDB, the Arrow pool, and keyed state's compiled kernels, which a
batch of 10,000 keys would load) and after the last; the input rows the
memory source still holds are subtracted, they are the source's, not the state's. ``rss_per_key_trimmed`` is the
same after handing back what the allocators keep freed for reuse (Arrow's pool, glibc's heap): the state's own
memory without the batches' leftovers, which weigh ~100 MB at any state size. Used by ``state_scaling``.
"""

from __future__ import annotations

import ctypes
import gc
import json
import subprocess
import sys

import numpy as np
import pyarrow as pa

BATCH = 500_000
SQL = "SELECT key, count(*) AS n FROM events GROUP BY key"


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def measure(keys: int) -> dict:
    from . import workload

    sn = workload.stream_nb()
    src = sn.sources.memory("key bigint")
    q = sn.start(SQL, sources={"events": src}, output_mode="update", trigger="manual",
                 sink=sn.sinks.foreach_batch(lambda df, batch_id: None))
    try:
        src.add_data(pa.table({"key": pa.array([-1], pa.int64())}))  # warm-up: not one of the N keys
        q.step()
        _load_kernels()  # a module, as the warm-up loaded the others: its fixed cost is not a key's
        gc.collect()
        before = rss_bytes()
        for start in range(0, keys, BATCH):
            src.add_data(pa.table({"key": pa.array(np.arange(start, min(keys, start + BATCH)), pa.int64())}))
            q.step()
        gc.collect()
        held = sum(chunk.nbytes for chunk in src._chunks)  # the source's copy of the input
        after = rss_bytes() - held
        _release_free_memory()  # what the allocators keep for reuse after the batches, given back
        trimmed = rss_bytes() - held
        state = q.last_progress["stateOperators"][0]
    finally:
        q.stop()
    return {"keys": keys, "state_rows": state["numRowsTotal"], "rss_per_key": (after - before) / keys,
            "rss_per_key_trimmed": (trimmed - before) / keys, "engine_per_key": state["memoryUsedBytes"] / keys}


def _load_kernels() -> None:
    """Keyed state's compiled kernels (numba, ~60-120 MB of RSS once per process), which the first batch of
    10,000 keys starts loading in the background: loaded now, before RSS is read."""
    try:
        from stream_nb.engine import hashslots_kernels
    except ImportError:  # a stream_nb without them
        return
    hashslots_kernels.load()


def _release_free_memory() -> None:
    """Hand the memory freed after the batches back to the OS: Arrow's pool, and glibc's heap (malloc_trim)."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: its RSS is as it is
        pass


def in_fresh_process(keys: int) -> dict:
    """``measure(keys)`` in a new interpreter (this one's allocators hold what earlier cases used)."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.state_memory", str(keys)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
