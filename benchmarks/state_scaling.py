"""Case ``state_scaling``: does a batch cost what it changes, or what the state holds?

``SELECT key, count(*) AS n, sum(value) AS total FROM events GROUP BY key`` in update mode. The state is grown
(untimed) to 10 thousand, 100 thousand, 1 million and 5 million keys (quick: up to 200 thousand) with batches of
new keys; at each size a few batches of the same shape are timed one by one: 100,000 rows over 10,000 keys, of
which 9,900 are already in state (drawn at random from all of it) and 100 are new, so the state keeps growing.
A keyed state store should take the same time for them at every size.

For contrast, ``duckdb rewrite of the whole state`` keeps the state as a DuckDB table and merges each batch's
partial aggregates into it with a full outer join, writing a new table: what an engine that rewrites its state
every batch would pay, in proportion to the state.

Both write their output nowhere the state is held twice: stream_nb goes to a ``foreach_batch`` sink that counts
rows (the memory sink would keep a second copy of every key, and compacts it, at a cost that follows the keys
it holds; that is the sink's cost, not the state's).

Then what a key of state costs in memory (``state_memory``, in a fresh process): RSS per key and the engine's
``memoryUsedBytes`` per key for ``SELECT key, count(*) FROM events GROUP BY key`` over 5 M int64 keys (quick: 2 M).
"""

from __future__ import annotations

import statistics

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from . import state_memory, workload
from .harness import Contender, Report, Stopwatch, Target, check_same, table

NAME = "state_scaling"
TITLE = "batch time as the state grows, each batch touching 10,000 keys"
SIZES = {False: (10_000, 100_000, 1_000_000, 5_000_000), True: (10_000, 100_000, 200_000)}
ROWS, KEYS, NEW = 100_000, 10_000, 100   # a timed batch: rows, keys it touches, of which new
STEPS = 5                                # timed batches at each state size
GROW = 1_000_000                         # new keys per untimed batch while growing the state
MEMORY_KEYS = {False: 5_000_000, True: 2_000_000}  # keys of the RSS-per-key measurement

SCHEMA = "key bigint, value double"
SQL = "SELECT key, count(*) AS n, sum(value) AS total FROM events GROUP BY key"
MERGE = ("SELECT key, coalesce(s.n, 0) + coalesce(b.n, 0) AS n, coalesce(s.total, 0) + coalesce(b.total, 0) "
         "AS total FROM state s FULL OUTER JOIN (SELECT key, count(*) AS n, sum(value) AS total FROM batch "
         "GROUP BY key) b USING (key)")

STREAM_NB, REWRITE = "stream_nb q.step()", "duckdb rewrite of the whole state"


def plan(sizes: tuple[int, ...], seed: int = 7) -> list[tuple[str, pa.Table]]:
    """The batches, in order: ("grow", new keys once each) or ("timed", ROWS rows over KEYS keys), the timed
    ones STEPS at a time once the state has reached each size."""
    rng = np.random.default_rng(seed)
    batches, keys = [], 0
    for size in sizes:
        while keys < size:
            fresh = np.arange(keys, min(size, keys + GROW), dtype=np.int64)
            batches.append(("grow", _rows(fresh, rng)))
            keys += len(fresh)
        for _ in range(STEPS):
            touched = np.concatenate([rng.choice(keys, KEYS - NEW, replace=False),
                                      np.arange(keys, keys + NEW)]).astype(np.int64)
            keys += NEW
            batches.append(("timed", _rows(rng.permutation(np.repeat(touched, ROWS // KEYS)), rng)))
    return batches


def _rows(keys: np.ndarray, rng: np.random.Generator) -> pa.Table:
    return pa.table({"key": pa.array(keys, pa.int64()), "value": pa.array(rng.random(len(keys)), pa.float64())})


def run(quick: bool, repeats: int) -> Report:
    sizes = SIZES[quick]
    batches = plan(sizes)
    last = batches[-1][1]
    # what the last batch's touched keys must hold in the end: every row ever fed for them
    check = duckdb.connect()
    check.register("every", pa.concat_tables([b for _, b in batches]))
    check.register("last", last)
    reference = check.sql("SELECT key, count(*) AS n, sum(value) AS total FROM every "
                          "WHERE key IN (SELECT key FROM last) GROUP BY key").to_df()
    check.close()
    report = Report(NAME, f"{TITLE}: state of {', '.join(f'{s:,}' for s in sizes)} keys, {STEPS} timed batches "
                          f"of {ROWS:,} rows ({KEYS - NEW:,} known keys + {NEW} new) at each")

    def stream_nb_run(clock: Stopwatch, feed: list[tuple[str, pa.Table]] = batches):
        sn = workload.stream_nb()
        output: dict[str, pd.DataFrame] = {}

        def keep_last(df: pd.DataFrame, batch_id: int) -> None:
            output["last"] = df

        src = sn.sources.memory(SCHEMA)
        q = sn.start(SQL, sources={"events": src}, output_mode="update", trigger="manual",
                     sink=sn.sinks.foreach_batch(keep_last))
        try:
            for kind, batch in feed:
                src.add_data(batch)
                if kind == "timed":
                    with clock:
                        q.step()
                else:
                    q.step()
            state = q.last_progress["stateOperators"][0]["numRowsTotal"]
        finally:
            q.stop()
        return output["last"], state

    connection = duckdb.connect()

    def rewrite_run(clock: Stopwatch, feed: list[tuple[str, pa.Table]] = batches):
        connection.execute("CREATE OR REPLACE TABLE state (key BIGINT, n BIGINT, total DOUBLE)")
        for kind, batch in feed:
            connection.register("batch", batch)
            if kind == "timed":
                with clock:
                    connection.execute(f"CREATE OR REPLACE TABLE state AS {MERGE}")
            else:
                connection.execute(f"CREATE OR REPLACE TABLE state AS {MERGE}")
            connection.unregister("batch")
        connection.register("last", last)
        result = connection.sql("SELECT * FROM state WHERE key IN (SELECT key FROM last)").to_df()
        state = connection.execute("SELECT count(*) FROM state").fetchall()[0][0]
        connection.unregister("last")
        connection.execute("DROP TABLE state")
        return result, state

    def agrees(contender: str):
        what = f"{contender}: the keys of the last batch vs DuckDB over every row fed"
        return lambda output: check_same(output[0], reference, key="key", what=what)

    small = plan(sizes[:1])
    measured = report.run([
        Contender(STREAM_NB, stream_nb_run, STEPS * ROWS * len(sizes), agrees(STREAM_NB),
                  warmup=lambda: stream_nb_run(Stopwatch(), small)),
        Contender(REWRITE, rewrite_run, STEPS * ROWS * len(sizes), agrees(REWRITE),
                  warmup=lambda: rewrite_run(Stopwatch(), small)),
    ], repeats)

    per_size = {}
    for name, m in measured.items():
        laps = [1000 * s for s in m.lap_medians()]
        per_size[name] = [statistics.median(laps[i * STEPS:(i + 1) * STEPS]) for i in range(len(sizes))]
        first, final = per_size[name][0], per_size[name][-1]
        report.row(name).update({f"ms at {_short(s)}": ms for s, ms in zip(sizes, per_size[name])})
        report.row(name)["last / first ratio"] = final / first
        report.row(name)["final state"] = m.output[1]
    row = report.row(STREAM_NB)
    report.targets = [
        Target(f"stream_nb batch time at {_short(sizes[-1])} keys / at {_short(sizes[0])} keys "
               f"(state × {sizes[-1] // sizes[0]:,})", row and row["last / first ratio"]),
    ]
    memory = state_memory.in_fresh_process(MEMORY_KEYS[quick])
    report.targets += [
        Target(f"RSS per key of state, one count(*) over {_short(memory['keys'])} int64 keys (bytes)",
               memory["rss_per_key"], goal=150, at_least=False),
        Target("RSS per key, the allocators' free memory handed back (bytes)", memory["rss_per_key_trimmed"]),
        Target("the engine's memoryUsedBytes per key (bytes)", memory["engine_per_key"]),
    ]
    report.notes.append(
        f"Memory: `{state_memory.SQL}` over {memory['keys']:,} int64 keys in batches of {state_memory.BATCH:,}, "
        "in a fresh process with a foreach_batch sink: RSS after minus before (less the input rows the memory "
        "source holds), per key; the same once Arrow's pool and glibc's heap gave back what they kept freed; and "
        "the state's own `memoryUsedBytes` (lastProgress) per key.")
    report.notes.append(
        "`ms at N`: a timed batch's wall time with N keys in state, the median of its "
        f"{STEPS} batches there (each the median over the repeats). `rows/s` counts the timed batches' rows "
        "only; the untimed batches that grow the state are left out.")
    if STREAM_NB in per_size:
        rows = [{"state keys": f"{s:,}", **{f"{n} ms": per_size[n][i] for n in per_size}} for i, s in
                enumerate(sizes)]
        report.notes.append(table(list(rows[0]), rows))
    return report


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"
