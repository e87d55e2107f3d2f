"""Random stream-stream join cases for the differential suite: ``case(seed)`` is one seeded ``StreamsCase``.

Two inputs, ``impressions(ts, ad, n)`` (alias ``i``) and ``clicks(ts, ad, m)`` (alias ``c``); event times in
whole seconds (so rows land exactly on range bounds and window edges), keys from a small set with NULLs and
duplicates, batches whose rows trail each input's clock by up to 12 s (so some are late, some behind the
watermark but within the range). The query: a join type Spark allows in streaming (inner, left / right / full
outer, left semi), a time condition in one of the forms users write (BETWEEN, >= and <, bounds written the other
way round, window equality over subqueries, none), sometimes an extra predicate over the non-time columns,
a projection with expressions over both sides, sometimes an aggregation over the join (a chained operator).
Each input's watermark delay is drawn (now and then none), and the policy (min or max).

Some draws are queries Spark refuses (an outer join without a watermark or a range, update mode over an outer
join...): the test then expects stream_nb to refuse too. ``python -m tests.differential.fuzz_joins SEED`` prints
a case.
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace

from tests.differential.cases import t
from tests.differential.streams import Input, StreamsCase

LEFT_SCHEMA = "ts timestamp, ad string, n int"
RIGHT_SCHEMA = "ts timestamp, ad string, m int"
KEYS = ("a", "b", "c", None)
JOINS = ("JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL OUTER JOIN", "LEFT SEMI JOIN")
DELAYS = (None, "0 seconds", "2 seconds", "5 seconds", "10 seconds")


def _rows(rng: random.Random, clock: int) -> tuple[tuple, ...]:
    rows = []
    for _ in range(rng.randint(0, 6)):
        ts = max(0, clock - rng.choice((0, 0, 1, 2, 3, 5, 8, 10, 12)))
        key = rng.choice(KEYS)
        value = rng.choice((None, 0, 1, 2, 3, 4, 5)) if rng.random() < 0.15 else rng.randint(0, 5)
        rows.append((t(ts), key, value))
    if rows and rng.random() < 0.2:
        rows.append(rows[0])  # an exact duplicate row
    return tuple(rows)


def _batches(rng: random.Random) -> tuple[dict, ...]:
    batches = []
    clocks = {"impressions": rng.randint(0, 10), "clicks": rng.randint(0, 10)}
    for _ in range(rng.randint(3, 6)):
        batch = {}
        for name, clock in clocks.items():
            clocks[name] = clock + rng.choice((0, 2, 4, 5, 8, 10, 15))
            rows = _rows(rng, clocks[name])
            if rows:
                batch[name] = rows
        batches.append(batch)
    if rng.random() < 0.5:  # a final batch far ahead, so state is flushed and outer rows come out
        far = max(clocks.values()) + 60
        batches.append({"impressions": ((t(far), "z", 0),), "clicks": ((t(far + 1), "z", 0),)})
    return tuple(batches)


def _time_condition(rng: random.Random) -> tuple[str, str]:
    """(kind, condition over i.ts and c.ts); kind 'window' means the sides are windowed subqueries."""
    n = rng.choice((0, 1, 3, 5, 10))
    lo = rng.choice((0, 0, 2, 5))
    lower = f"i.ts - INTERVAL {lo} SECONDS" if lo else "i.ts"
    forms = [
        ("between", f"c.ts BETWEEN {lower} AND i.ts + INTERVAL {n} SECONDS"),
        ("half_open", f"c.ts >= {lower} AND c.ts < i.ts + INTERVAL {max(n, 1)} SECONDS"),
        ("open", f"c.ts > {lower} AND c.ts < i.ts + INTERVAL {max(n, 1) + lo} SECONDS"),
        ("reversed", f"i.ts > c.ts - INTERVAL {max(n, 1)} SECONDS AND i.ts <= c.ts + INTERVAL {lo} SECONDS"),
        ("reversed_closed", f"i.ts + INTERVAL {n} SECONDS >= c.ts AND {lower} <= c.ts"),
        ("window", "i.w = c.w"),
        ("none", ""),
    ]
    weights = (4, 3, 2, 3, 2, 3, 1)
    return rng.choices(forms, weights=weights)[0]


def _extra(rng: random.Random) -> str:
    return rng.choice(("", "", "", "", "i.n <= c.m", "c.m % 2 = 0", "i.n + c.m < 6", "i.n <> 3",
                       "coalesce(c.m, 0) > 1", "i.ad <> 'b'", "c.ad IN ('a', 'c')", "i.n IS NOT NULL"))


def _projection(rng: random.Random, join: str, windowed: bool) -> str:
    if join == "LEFT SEMI JOIN":
        cols = ["i.ad", "i.n"] + (["i.ts" if not windowed else "i.w"] if rng.random() < 0.8 else [])
        if rng.random() < 0.5:
            cols.append("i.n * 2 + 1 AS n2")
        return ", ".join(cols)
    time_cols = ["i.w"] if windowed else ["i.ts AS shown", "c.ts AS clicked"]
    if rng.random() < 0.25:  # a time column the query never reads: Spark prunes it before the join
        time_cols = time_cols[:rng.randint(0, len(time_cols) - 1)]
    cols = ["i.ad", *time_cols, "i.n", "c.m"]
    case_when = "CASE WHEN c.m IS NULL THEN 'none' WHEN c.m > i.n THEN 'more' ELSE 'less' END AS cmp"
    extras = ["coalesce(i.ad, c.ad) AS k", "i.n + c.m AS s", case_when, "coalesce(c.m, -1) * 10 AS m10",
              "c.ad AS cad"]
    cols += rng.sample(extras, rng.randint(0, 3))
    return ", ".join(cols)


def case(seed: int) -> StreamsCase:
    rng = random.Random(seed)
    join = rng.choices(JOINS, weights=(4, 3, 2, 2, 2))[0]
    kind, time_cond = _time_condition(rng)
    windowed = kind == "window"
    extra = _extra(rng)
    delays = [rng.choice(DELAYS) for _ in range(2)]
    if join != "JOIN" and rng.random() < 0.85:  # mostly the watermarks an outer join needs, now and then not
        delays = [d or "5 seconds" for d in delays]
    policy = rng.choice(("min", "min", "max"))
    conditions = ["i.ad = c.ad"] + [c for c in (time_cond, extra) if c]
    condition = " AND ".join(conditions)
    if windowed:
        size = rng.choice((5, 10))
        # the event time beside its window now and then: Spark prunes it unless the query reads it
        left = f"(SELECT {rng.choice(('', '', 'ts, '))}ad, n, window(ts, '{size} seconds') AS w FROM impressions) i"
        right = f"(SELECT {rng.choice(('', '', 'ts, '))}ad, m, window(ts, '{size} seconds') AS w FROM clicks) c"
    else:
        left, right = "impressions i", "clicks c"
    aggregate = join != "LEFT SEMI JOIN" and rng.random() < 0.2
    output_mode = "append"
    key: tuple[str, ...] = ()
    if aggregate:
        group = "i.w" if windowed else "window(i.ts, '10 seconds')"
        value = rng.choice(("count(c.m) AS clicked", "sum(c.m) AS total", "max(i.n) AS top"))
        sql = (f"SELECT {group} AS win, count(*) AS cnt, {value} FROM {left} {join} {right} ON {condition} "
               f"GROUP BY {group}")
        if rng.random() < 0.3:  # a second window over the first's window_time
            sql = (f"SELECT window(window_time(win), '30 seconds') AS w30, sum(cnt) AS cnt FROM ({sql}) "
                   "GROUP BY window(window_time(win), '30 seconds')")
            key = ("w30",)
        else:
            key = ("win",)
        if rng.random() < 0.2:
            output_mode = "update"
    else:
        sql = f"SELECT {_projection(rng, join, windowed)} FROM {left} {join} {right} ON {condition}"
        if rng.random() < 0.15:  # a join's update rows are the rows append emits: compared as such
            output_mode = "update"
    inputs = (Input("impressions", LEFT_SCHEMA, delays[0] and ("ts", delays[0])),
              Input("clicks", RIGHT_SCHEMA, delays[1] and ("ts", delays[1])))
    return StreamsCase(name=f"fuzz_{seed}", sql=sql, output_mode=output_mode, inputs=inputs,
                       batches=_batches(rng), key=key, watermark_policy=policy,
                       why=f"random join case, seed {seed}")


def as_compared(c: StreamsCase) -> StreamsCase:
    """The case as its output is compared: a join's update-mode rows are the rows append emits (no key)."""
    return replace(c, output_mode="append") if c.output_mode == "update" and not c.key else c


def describe(c: StreamsCase) -> str:
    lines = [f"{c.name}: {c.sql}", f"  mode {c.output_mode}, policy {c.watermark_policy}, watermarks {c.watermark}"]
    for k, batch in enumerate(c.batches):
        lines.append(f"  batch {k}:")
        for name, rows in batch.items():
            shown = ", ".join(f"({int(r[0].timestamp()) - 1704067200}, {r[1]!r}, {r[2]})" for r in rows)
            lines.append(f"    {name}: {shown}")
    return "\n".join(lines)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(describe(case(int(arg))))
