"""A seeded generator of random single-stream stateful cases for the Spark differential runner.

``random_case(seed)`` draws one ``Case`` over the stream ``events(ts timestamp, k string, g int, v double,
n bigint)``: 3-7 small batches (0-8 rows each) whose event times run ahead and fall back behind the watermark,
land on window boundaries, repeat earlier rows, and carry NULL keys, NULL / NaN / negative values; and one query
among GROUP BY with or without a tumbling, sliding (with a start offset) or session window (static or dynamic
gap), with or without a watermark, over a random set of aggregates, with HAVING, WHERE, expressions in the SELECT
and the GROUP BY, or SELECT DISTINCT, in a random output mode. Spark is the reference: where it runs the query,
stream_nb must emit the same; where it refuses, stream_nb must refuse too (``spark_runner`` compares both).

Only shapes whose Spark output is deterministic are drawn: no first/last (their value within a batch depends on
the order Spark's partitions meet), max_by/min_by ordered by ``n``, which is unique per row but for exact
duplicate rows; collect_list/collect_set read through ``array_sort``; doubles are multiples of 0.25, so sums
are exact whatever the order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.differential.cases import t
from tests.differential.spark_runner import Case

SCHEMA = "ts timestamp, k string, g int, v double, n bigint"
KEYS = ("a", "b", "c", "A", "")


@dataclass(frozen=True)
class _Window:
    sql: str           # the window expression, e.g. window(ts, '10 seconds', '5 seconds', '2 seconds')
    kind: str          # tumbling | sliding | session
    size: int          # seconds (the gap for a session window)
    slide: int
    offset: int


def _draw_window(rng: random.Random) -> _Window | None:
    kind = rng.choice(["none", "none", "tumbling", "tumbling", "sliding", "session"])
    if kind == "none":
        return None
    if kind == "session":
        gap = rng.choice([2, 3, 5, 8])
        if rng.random() < 0.35:
            other = rng.choice([1, 4, 6])
            gap_sql = rng.choice([
                f"CASE WHEN k = 'a' THEN '{other} seconds' ELSE '{gap} seconds' END",
                f"CASE WHEN g > 1 THEN '{other} seconds' WHEN g < 0 THEN '0 seconds' ELSE '{gap} seconds' END",
            ])
            return _Window(f"session_window(ts, {gap_sql})", kind, max(gap, other), 0, 0)
        return _Window(f"session_window(ts, '{gap} seconds')", kind, gap, 0, 0)
    size = rng.choice([4, 5, 6, 10, 10, 15])
    if kind == "tumbling":
        offset = rng.choice([0, 0, 0, 1, 2, 3]) % size
        if offset:
            return _Window(f"window(ts, '{size} seconds', '{size} seconds', '{offset} seconds')", kind, size,
                           size, offset)
        return _Window(f"window(ts, '{size} seconds')", kind, size, size, 0)
    slide = rng.choice([d for d in range(1, size) if size % d == 0 and size // d <= 5])
    offset = rng.choice([0, 0, 1, 2]) % slide
    text = f"window(ts, '{size} seconds', '{slide} seconds'" + (f", '{offset} seconds')" if offset else ")")
    return _Window(text, kind, size, slide, offset)


def _draw_batches(rng: random.Random, window: _Window | None) -> tuple[tuple[tuple, ...], ...]:
    size = window.size if window else 10
    boundaries = [window.offset + i * window.slide for i in range(12)] if window and window.kind != "session" \
        else [i * size for i in range(8)]
    rows_so_far: list[tuple] = []
    serial = list(range(-40, 60))
    rng.shuffle(serial)
    horizon = 0.0
    batches = []
    for i in range(rng.randint(3, 7)):
        horizon += rng.choice([0, 3, 5, 8, 12, 20])
        batch = []
        # not the first batch empty: Spark runs a batch for an empty file (a global aggregate then emits its
        # empty row), stream_nb's memory source none for no rows
        for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 6, 8] if i else [1, 2, 3, 4, 5, 6, 8])):
            if rows_so_far and rng.random() < 0.12:
                batch.append(rng.choice(rows_so_far))  # an exact duplicate of an earlier row
                continue
            r = rng.random()
            if r < 0.2:
                sec = float(rng.choice(boundaries))
            elif r < 0.4:
                sec = max(0.0, horizon - rng.choice([5, 10, 15, 25, 40]))  # behind: late, maybe dropped
            elif r < 0.5:
                sec = horizon + rng.choice([0.5, 1.25, 0.001])
            else:
                sec = float(rng.randint(max(0, int(horizon) - 6), int(horizon) + 6))
            ts = None if rng.random() < 0.04 else t(sec)
            k = None if rng.random() < 0.12 else rng.choice(KEYS[:3] if rng.random() < 0.8 else KEYS)
            g = None if rng.random() < 0.1 else rng.choice([0, 1, 2, -1, 3])
            r = rng.random()
            v = None if r < 0.12 else float("nan") if r < 0.18 else rng.choice([-2.5, -1.0, 0.0, 0.25, 1.5, 3.0,
                                                                                  10.75, -0.0])
            n = None if rng.random() < 0.08 else serial.pop()
            row = (ts, k, g, v, n)
            rows_so_far.append(row)
            batch.append(row)
        batches.append(tuple(batch))
    return tuple(batches)


_AGGREGATES = [
    "count(*)", "count(v)", "count(k)", "sum(v)", "sum(n)", "avg(v)", "avg(n)", "min(v)", "max(v)", "min(k)",
    "max(k)", "min(n)", "max(g)", "sum(g)", "count(*) * 2", "sum(v) + 1", "max(v) - min(v)",
    "array_sort(collect_list(v))", "array_sort(collect_set(k))", "array_sort(collect_list(n))",
    "size(collect_set(g))", "stddev(v)", "variance(n)", "stddev_pop(n)", "var_pop(v)", "approx_count_distinct(k)",
    "approx_count_distinct(v)", "max_by(k, n)", "min_by(v, n)", "max_by(g, n)", "count_if(v > 0)",
    "bool_and(v >= 0)", "bool_or(g = 1)", "sum(CASE WHEN k = 'a' THEN v ELSE 0 END)", "avg(v) * count(*)",
    "isnan(max(v))", "coalesce(sum(n), 0)", "round(avg(v), 1)", "max(ts)", "min(ts)", "max(length(k))",
    "bit_or(g)",
]
# Not drawn: count(DISTINCT ...) (Spark refuses distinct aggregates on a stream; stream_nb runs them as a
# documented extension), first/last/any_value (which row comes first in a batch is Spark's partitions' affair).
_DRAWN = _AGGREGATES

_GROUP_KEYS = ["k", "g", "g % 2", "upper(k)", "coalesce(k, 'none')", "k IS NULL", "n > 0", "ts"]
_WHERES = ["v > 0", "k IS NOT NULL", "g <> 1", "NOT isnan(v)", "n % 3 <> 0", "k IN ('a', 'b')",
           "v IS NULL OR v < 5", "ts >= TIMESTAMP '2024-01-01 00:00:03'"]


def _draw_query(rng: random.Random, window: _Window | None) -> tuple[str, tuple[str, ...], bool]:
    """The SQL, the output columns that key an update-mode row, and whether the query aggregates."""
    where = f" WHERE {rng.choice(_WHERES)}" if rng.random() < 0.3 else ""
    if rng.random() < 0.12:  # SELECT DISTINCT: Spark plans it as an aggregation over its columns
        cols = rng.sample(["k", "g", "v", "ts"], rng.randint(1, 2))
        if window is not None and window.kind != "session" and rng.random() < 0.5:
            cols = [f"{window.sql} AS w", *cols]
        names = tuple(c.split(" AS ")[-1] for c in cols)
        return f"SELECT DISTINCT {', '.join(cols)} FROM events{where}", names, True
    keys = rng.sample(_GROUP_KEYS[:-1] if rng.random() < 0.85 else _GROUP_KEYS, rng.choice([0, 1, 1, 1, 2]))
    if window is not None and window.kind == "session" and not keys and rng.random() < 0.8:
        keys = ["k"]
    select, group, key_names = [], [], []
    if window is not None:
        wname = rng.choice(["w", "win", "window"]) if window.kind != "session" else rng.choice(["s", "session"])
        group.append(window.sql)
        if rng.random() < 0.15 and window.kind != "session":
            select += [f"{window.sql}.start AS ws", f"{window.sql}.end AS we"]
            key_names += ["ws", "we"]
        else:
            select.append(f"{window.sql} AS {wname}" if wname not in ("window", "session") or rng.random() < 0.5
                          else window.sql)
            key_names.append(wname if " AS " in select[-1] else ("window" if window.kind != "session"
                                                                  else "session_window"))
    for i, key in enumerate(keys):
        alias = key if key in ("k", "g", "ts") else f"key{i}"
        group.append(key)
        select.append(key if alias == key else f"{key} AS {alias}")
        key_names.append(alias)
    drawn = _DRAWN
    if window is not None and window.kind == "session":  # stream_nb refuses collect_list over sessions (yet)
        drawn = [a for a in _DRAWN if "collect_list" not in a]
    aggs = rng.sample(drawn, rng.randint(1, 4))
    select += [f"{a} AS a{i}" for i, a in enumerate(aggs)]
    if rng.random() < 0.15 and "k" in keys:
        select.append("concat(k, '!') AS kk")
    sql = f"SELECT {', '.join(select)} FROM events{where}"
    if group:
        sql += " GROUP BY " + ", ".join(group)
    if rng.random() < 0.2:
        sql += " HAVING " + rng.choice(["count(*) > 1", "sum(v) > 0", "max(n) > 0", "min(k) <> 'b'",
                                        "count(v) >= 1 OR count(*) = 3"])
    return sql, tuple(key_names), True


def random_case(seed: int) -> Case:
    rng = random.Random(seed)
    window = _draw_window(rng)
    batches = _draw_batches(rng, window)
    sql, key, _ = _draw_query(rng, window)
    watermark = None
    if rng.random() < 0.7:
        watermark = ("ts", f"{rng.choice([0, 1, 2, 3, 5, 8, 10, 15])} seconds")
    mode = rng.choice(["append", "update", "complete"])
    if watermark is not None and mode == "complete" and rng.random() < 0.5:
        mode = "append"
    return Case(name=f"fuzz_{seed}", sql=sql, output_mode=mode, batches=batches, schema=SCHEMA,
                watermark=watermark, key=key, why=f"random case, seed {seed}")


# -- deduplication: Spark's DataFrame dropDuplicates / dropDuplicatesWithinWatermark -------------------------
# Spark SQL has no words for them; stream_nb's SQL does (SELECT DISTINCT ON (keys) *, with the WITHIN_WATERMARK
# hint). The Spark side runs the DataFrame method over the same stream, through ``DataFrameSpark``.


@dataclass(frozen=True)
class Dedup:
    keys: tuple[str, ...]
    within_watermark: bool


def random_dedup_case(seed: int) -> tuple[Case, Dedup]:
    """A deduplication case: stream_nb's SQL in the case, what Spark runs for it in the ``Dedup``."""
    rng = random.Random(seed)
    batches = _draw_batches(rng, None)
    within = rng.random() < 0.35
    keys = rng.sample(["k", "g", "v", "ts"], rng.randint(1, 2))
    if not within and "ts" not in keys and rng.random() < 0.5:
        keys.append("ts")  # the event time among the keys: the watermark evicts them
    watermark = ("ts", f"{rng.choice([0, 2, 5, 10])} seconds") if within or rng.random() < 0.7 else None
    hint = "/*+ WITHIN_WATERMARK */ " if within else ""
    sql = f"SELECT {hint}DISTINCT ON ({', '.join(keys)}) * FROM events"
    mode = "append" if rng.random() < 0.8 else "update"
    case = Case(name=f"fuzz_dedup_{seed}", sql=sql, output_mode=mode, batches=batches, schema=SCHEMA,
                watermark=watermark, key=tuple(keys), why=f"random deduplication, seed {seed}")
    return case, Dedup(tuple(keys), within)


class DataFrameSpark:
    """A SparkSession as ``spark_runner.run_spark`` uses it, whose ``sql`` runs the deduplication instead."""

    def __init__(self, spark, case: Case, dedup: Dedup):
        self._spark, self._case, self._dedup = spark, case, dedup

    def __getattr__(self, name):
        return getattr(self._spark, name)

    def sql(self, _text):
        stream = self._spark.table(self._case.source)
        keys = list(self._dedup.keys)
        return stream.dropDuplicatesWithinWatermark(keys) if self._dedup.within_watermark \
            else stream.dropDuplicates(keys)


# The deduplications the random cases found wrong, minimised (hand-written; run by test_spark_aggregate_fuzz).
# Spark's deduplication drops an input row at or behind the watermark whenever its input has the watermarked
# column, a key or not (no key is then ever evicted); stream_nb dropped late rows only with ts among the keys
# (dedup seeds 10, 20, 42, ...). A row without an event time is never late (Spark's `ts <= watermark` is
# NULL); within the watermark its key expires at the delay, a NULL time reading as 0 (dedup seeds 0, 12).
_LATE_KEYS = (
    ((t(1), "a", 1, 1.0, 1), (t(20), "b", 1, 1.0, 2)),                      # wm 15
    ((t(16), "d", 1, 1.0, 3),                  # a new key behind the latest time, but on time
     (None, "e", 1, 1.0, 4)),                  # no event time: never late, emitted
    ((t(3), "c", 1, 1.0, 5),                   # a new key, but behind the watermark (15): late, dropped
     (t(30), "c", 1, 1.0, 6)),                 # so c's first row is this one
)
DEDUP_CASES: list[tuple[Case, Dedup]] = [
    (Case(name="drop_duplicates_drops_late_rows_of_any_key", sql="SELECT DISTINCT ON (k) * FROM events",
          output_mode="append", batches=_LATE_KEYS, schema=SCHEMA, watermark=("ts", "5 seconds"),
          why="late rows dropped though ts is not a key; a NULL time is never late"), Dedup(("k",), False)),
    (Case(name="drop_duplicates_within_watermark_null_times",
          sql="SELECT /*+ WITHIN_WATERMARK */ DISTINCT ON (g) * FROM events", output_mode="append",
          batches=(((t(1), "a", 1, 1.0, 1), (None, "b", 2, 1.0, 2)),           # g 2: kept, expires at 5 s
                   ((t(20), "c", 3, 1.0, 3), (None, "d", 2, 1.0, 4)),           # g 2 still held: dropped
                   ((None, "e", 2, 1.0, 5), (t(4), "f", 4, 1.0, 6))),           # wm 15: g 2 gone, e kept;
          schema=SCHEMA, watermark=("ts", "5 seconds"),                           # f late
          why="a NULL event time is never late; its key expires at the delay"), Dedup(("g",), True)),
]
