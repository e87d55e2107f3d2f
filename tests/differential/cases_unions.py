"""A UNION ALL of streams as the input of a stateful operator, for the differential suite
(``test_spark_unions.py``): what Spark runs for ``a.union(b).groupBy(...)``, in SQL.

Two sensor streams ``a`` and ``b`` of ``(ts, device, temp)``; event times are seconds after 2024-01-01
00:00:00 UTC. Spark's rules the comments lean on: each stream's watermark is its max event time minus its
delay, computed at the end of a batch, the query's the minimum over them (``multipleWatermarkPolicy`` min, or
the max) and used from the next batch; the union's columns are its first SELECT's, so the column the first
SELECT reads its watermarked ``ts`` into carries event time; the aggregation after the union drops a row at or
behind the watermark (a window's end, for a window) and evicts state behind it.
"""

from __future__ import annotations

from tests.differential.cases import t
from tests.differential.streams import Input, StreamsCase, feed

EVENTS = "ts timestamp, device string, temp double"
TEN = "window(ts, '10 seconds')"
BOTH = "(SELECT ts, device, temp FROM a UNION ALL SELECT ts, device, temp FROM b)"


def sensors(a: str | None = "5 seconds", b: str | None = "5 seconds") -> tuple[Input, Input]:
    """The two inputs, each with a watermark of that delay on ``ts`` (None: no watermark)."""
    return Input("a", EVENTS, a and ("ts", a)), Input("b", EVENTS, b and ("ts", b))


# Five batches; the comments give each stream's watermark (5-second delays) after the batch, and the query's.
READINGS = (
    feed(a=((t(1), "d1", 20.0), (t(2), "d2", 21.0), (t(12), "d1", 22.0)),
         b=((t(3), "d1", 19.0), (t(4), "d3", None))),                     # -- wm a 7 / b -1, query 0
    feed(a=((t(15), "d2", 23.0), (t(5), "d1", 18.0)),
         b=((t(20), "d3", 25.0), (t(9), "d2", 24.0))),                    # -- wm 10 / 15, query 10
    feed(a=((t(8), "d1", 17.0),     # late: window [0, 10) ends at the watermark (10)
            (t(26), "d2", 26.0)),
         b=((t(11), "d3", 27.0), (t(31), "d1", 28.0), (t(10), "d2", None))),  # -- wm 21 / 26, query 21
    feed(a=((t(45), "d1", 1.0),),
         b=((t(50), "d2", 2.0), (t(19), "d3", 3.0))),   # 19: late (window [10, 20) ended)  -- wm 40 / 45, 40
    feed(b=((t(60), "d3", 3.0), (t(41), "d1", 4.0))),   # only b: the query's watermark stays at a's (40)
)

# The same stream twice: each of its rows counted once per SELECT that keeps it.
ONE = (
    feed(a=((t(1), "d1", 20.0), (t(2), "d2", 30.0), (t(12), "d1", 22.0))),
    feed(a=((t(25), "d2", 26.0), (t(3), "d1", 31.0))),   # 3: late once the watermark is 7
    feed(a=((t(40), "d3", 1.0),)),
)

# The union joined with a third stream ``c`` (readings to match within 5 seconds after a or b's).
JOINED = (
    feed(a=((t(1), "d1", 20.0), (t(2), "d2", 21.0)), b=((t(3), "d1", 19.0), (t(4), "d3", 18.0)),
         c=((t(4), "d1", 1.0), (t(20), "d2", 2.0))),                       # -- wm a -3, b -1, c 15: query 0
    feed(a=((t(15), "d2", 23.0),), b=((t(22), "d3", 25.0),), c=((t(18), "d2", 3.0), (t(24), "d3", 4.0))),
    #                                                                         -- wm 10 / 17 / 19: query 10
    feed(a=((t(40), "d1", 1.0),), b=((t(41), "d2", 2.0),), c=((t(45), "d1", 5.0), (t(12), "d2", 6.0))),
    #                            c's 12: on time (the watermark is 10), but within 5 s after no row -- 35
    feed(a=((t(90), "d1", 1.0),), b=((t(90), "d2", 2.0),), c=((t(95), "d3", 7.0),)),  # -- 85: flush
)
JOIN_ON = " ON u.device = c.device AND c.ts BETWEEN u.ts AND u.ts + INTERVAL 5 SECONDS"


def three(delay: str = "5 seconds") -> tuple[Input, Input, Input]:
    return (*sensors(delay, delay), Input("c", EVENTS, ("ts", delay)))


CASES: list[StreamsCase] = [
    StreamsCase(
        name="union_then_group_count_update",
        sql=f"SELECT device, count(*) AS n, sum(temp) AS total FROM {BOTH} GROUP BY device",
        output_mode="update", key=("device",), inputs=sensors(None, None), batches=READINGS,
        why="a.union(b).groupBy('device'): each stream's rows in the same groups, merged batch by batch",
    ),
    StreamsCase(
        name="union_then_group_complete",
        sql=f"SELECT device, count(temp) AS n, avg(temp) AS mean, max(ts) AS latest FROM {BOTH} u GROUP BY device",
        output_mode="complete", inputs=sensors(None, None), batches=READINGS,
        why="complete mode over the union: every group so far, avg and max over both streams",
    ),
    StreamsCase(
        name="union_window_count_append_min_watermark",
        sql=f"SELECT {TEN} AS w, count(*) AS n, sum(temp) AS total FROM {BOTH} GROUP BY {TEN}",
        output_mode="append", inputs=sensors(), batches=READINGS,
        why="a window is emitted once the query's watermark (the min of the streams') passes its end; late "
            "rows of either stream dropped",
    ),
    StreamsCase(
        name="union_window_count_update_two_delays",
        sql=f"SELECT {TEN} AS w, device, count(*) AS n FROM {BOTH} GROUP BY {TEN}, device",
        output_mode="update", key=("w", "device"), inputs=sensors("5 seconds", "20 seconds"), batches=READINGS,
        why="b's longer delay holds the query's watermark back: fewer rows are late than with a's alone",
    ),
    StreamsCase(
        name="union_window_count_append_max_policy",
        sql=f"SELECT {TEN} AS w, count(*) AS n FROM {BOTH} GROUP BY {TEN}",
        output_mode="append", inputs=sensors("5 seconds", "20 seconds"), batches=READINGS,
        watermark_policy="max",
        why="watermark_policy max: the faster stream moves the watermark, so more of the slower one is late",
    ),
    StreamsCase(
        name="union_window_append_watermark_on_first_only",
        sql=f"SELECT {TEN} AS w, count(*) AS n FROM {BOTH} GROUP BY {TEN}",
        output_mode="append", inputs=sensors("5 seconds", None), batches=READINGS,
        why="only a declares a watermark: the query's is a's, and the union's ts (the first SELECT's) carries it",
    ),
    StreamsCase(
        name="union_with_filters_and_renames_update",
        sql="SELECT d, count(*) AS n, max(reading) AS top FROM (SELECT ts, device AS d, temp AS reading FROM a "
            "WHERE temp > 20 UNION ALL SELECT ts, upper(device), temp * 2 FROM b WHERE temp IS NOT NULL) "
            "GROUP BY d",
        output_mode="update", key=("d",), inputs=sensors(None, None), batches=READINGS,
        why="each SELECT its own filter and expressions; the union's names are the first SELECT's",
    ),
    StreamsCase(
        name="union_window_filter_below_watermark_append",
        sql=f"SELECT {TEN} AS w, count(*) AS n FROM (SELECT ts, device FROM a WHERE device <> 'd2' "
            f"UNION ALL SELECT ts, device FROM b) GROUP BY {TEN}",
        output_mode="append", inputs=sensors(), batches=READINGS,
        why="a's WHERE applies before its watermark (Spark pushes the filter below it): d2's rows do not move it",
    ),
    StreamsCase(
        name="union_distinct_device_update",
        sql=f"SELECT DISTINCT device FROM {BOTH}",
        output_mode="update", key=("device",), inputs=sensors(None, None), batches=READINGS,
        why="SELECT DISTINCT over the union: an aggregation over all its columns, as Spark SQL plans it",
    ),
    StreamsCase(
        name="union_distinct_rows_append",
        sql=f"SELECT DISTINCT ts, device FROM {BOTH}",
        output_mode="append", inputs=sensors(), batches=READINGS,
        why="a distinct (ts, device) comes out once the watermark passes its ts; a duplicate across streams once",
    ),
    StreamsCase(
        name="union_of_three_selects_global_count_complete",
        sql="SELECT count(*) AS n, sum(temp) AS total FROM (SELECT ts, temp FROM a UNION ALL SELECT ts, temp "
            "FROM b UNION ALL SELECT ts, temp FROM a WHERE device = 'd1')",
        output_mode="complete", inputs=sensors(None, None), batches=READINGS,
        why="three SELECTs, a stream read twice: a global aggregation over them all",
    ),
    StreamsCase(
        name="union_same_stream_twice_window_append",
        sql=f"SELECT {TEN} AS w, count(*) AS n, sum(temp) AS total FROM (SELECT ts, temp FROM a UNION ALL "
            f"SELECT ts, temp + 100 FROM a WHERE temp > 25) GROUP BY {TEN}",
        output_mode="append", inputs=(Input("a", EVENTS, ("ts", "5 seconds")),), batches=ONE,
        why="one stream read by both SELECTs: one source, its rows in the union once per SELECT",
    ),
    StreamsCase(
        name="union_cte_then_group_update",
        sql="WITH u AS (SELECT ts, device, temp FROM a UNION ALL SELECT ts, device, temp FROM b) "
            "SELECT device, count(*) AS n FROM u WHERE temp IS NOT NULL GROUP BY device",
        output_mode="update", key=("device",), inputs=sensors(None, None), batches=READINGS,
        why="the union as a CTE, a WHERE over its rows",
    ),
    StreamsCase(
        name="union_without_all_update",
        sql="SELECT device FROM a UNION SELECT device FROM b",
        output_mode="update", key=("device",), inputs=sensors(None, None), batches=READINGS,
        why="UNION without ALL: Spark's Distinct over the union, an aggregation over all its columns",
    ),
    StreamsCase(
        name="union_without_all_append_with_watermarks",
        sql="SELECT ts, device FROM a UNION SELECT ts, device FROM b",
        output_mode="append", inputs=sensors(), batches=READINGS,
        why="the distinct rows come out once the watermark passes their ts, as SELECT DISTINCT's do",
    ),
    StreamsCase(
        name="union_session_windows_append",
        sql="SELECT session_window(ts, '5 seconds') AS s, device, count(*) AS n FROM "
            f"{BOTH} GROUP BY session_window(ts, '5 seconds'), device",
        output_mode="append", inputs=sensors(), batches=READINGS,
        why="sessions over both streams' rows: a row of b extends a session a's rows began",
    ),
    StreamsCase(
        name="union_window_then_chained_window_append",
        sql=f"SELECT window(w, '30 seconds') AS m, sum(n) AS n FROM (SELECT {TEN} AS w, count(*) AS n FROM {BOTH} "
            f"GROUP BY {TEN}) GROUP BY window(w, '30 seconds')",
        output_mode="append", inputs=sensors(), batches=READINGS,
        why="two chained aggregations over the union, each window final once the watermark passes it",
    ),
    StreamsCase(
        name="union_joined_with_a_third_stream_inner_append",
        sql=f"SELECT u.device, u.ts AS t1, c.ts AS t2, c.temp FROM {BOTH} u JOIN c" + JOIN_ON,
        output_mode="append", inputs=three(), batches=JOINED,
        why="a stream-stream join whose left side is the union: a's and b's rows both meet c's",
    ),
    StreamsCase(
        name="union_joined_with_a_third_stream_left_outer_append",
        sql=f"SELECT u.device, u.ts AS t1, c.ts AS t2 FROM {BOTH} u LEFT JOIN c" + JOIN_ON,
        output_mode="append", inputs=three(), batches=JOINED,
        why="an unmatched row of either stream of the union comes out NULL-padded once the watermark passes it",
    ),
    StreamsCase(
        name="union_then_stateless_append",
        sql=f"SELECT device, temp * 2 AS t2 FROM {BOTH} WHERE temp > 20",
        output_mode="append", inputs=sensors(None, None), batches=READINGS,
        why="a stateless query over the union as a table: each batch's rows of both, filtered",
    ),
]

_FIRST = READINGS[:1]

# Queries Spark refuses; stream_nb must refuse each with a StreamSQLError whose message matches ``reason``.
REFUSALS: list[StreamsCase] = [
    StreamsCase(name="refuse_union_window_append_without_watermark",
                sql=f"SELECT {TEN} AS w, count(*) AS n FROM {BOTH} GROUP BY {TEN}", output_mode="append",
                inputs=sensors(None, None), batches=_FIRST, reason="watermark"),
    StreamsCase(name="refuse_union_window_append_watermark_on_second_only",
                sql=f"SELECT {TEN} AS w, count(*) AS n FROM {BOTH} GROUP BY {TEN}", output_mode="append",
                inputs=sensors(None, "5 seconds"), batches=_FIRST, reason="watermark"),
    StreamsCase(name="refuse_union_without_all_in_a_subquery_then_aggregate",
                sql="SELECT device, count(*) AS n FROM (SELECT device FROM a UNION SELECT device FROM b) "
                    "GROUP BY device", output_mode="update", inputs=sensors(None, None), batches=_FIRST,
                reason="UNION"),
    StreamsCase(name="refuse_aggregation_inside_a_union_then_aggregate",
                sql="SELECT device, count(*) AS n FROM (SELECT device, count(*) AS c FROM a GROUP BY device "
                    "UNION ALL SELECT device, 1 FROM b) GROUP BY device", output_mode="update",
                inputs=sensors(None, None), batches=_FIRST, reason="aggregation"),
    StreamsCase(name="refuse_intersect_of_two_streams_under_aggregation",
                sql="SELECT device, count(*) AS n FROM (SELECT device FROM a INTERSECT SELECT device FROM b) "
                    "GROUP BY device", output_mode="update", inputs=sensors(None, None), batches=_FIRST,
                reason="intersect"),
    StreamsCase(name="refuse_except_of_streams",
                sql="SELECT device, count(*) AS n FROM (SELECT device FROM a EXCEPT SELECT device FROM b) "
                    "GROUP BY device", output_mode="update", inputs=sensors(None, None), batches=_FIRST,
                reason="except"),
]
