"""LIMIT on a stream, for the Spark differential suite (``test_spark_cases.py``): Spark's streaming global limit
in append mode (the stream's first N rows, in the batch's order, then nothing), and what Spark refuses.

Spark reads each batch as one JSON-lines file, one partition, rows in file order: the order stream_nb's memory
source keeps, so which rows come first is the same on both sides.
"""

from __future__ import annotations

from tests.differential.cases import t
from tests.differential.spark_runner import Case

# Five readings, then four, then three; NULLs and negatives for the filters.
_READINGS = (
    ((t(1), "a", 20.0), (t(2), "b", -1.0), (t(3), "a", 25.5), (t(4), "c", None), (t(5), "b", 18.0)),
    ((t(6), "A", 21.0), (t(7), "c", -3.0), (t(8), "b", 19.5), (t(9), "a", 40.0)),
    ((t(10), "c", 17.25), (t(11), "A", 2.0), (t(12), "b", 22.0)),
)

CASES: list[Case] = [
    Case(
        name="limit_after_a_filter_append",
        sql="SELECT * FROM events WHERE temp > 0 LIMIT 5",
        output_mode="append", batches=_READINGS,
        why="the first 5 rows that pass the filter: 3 from the first batch, the first 2 of the second, then none",
    ),
    Case(
        name="limit_of_expressions_append",
        sql="SELECT upper(device) AS d, temp * 2 AS t2, ts FROM events LIMIT 7",
        output_mode="append", batches=_READINGS,
        why="a projection with a LIMIT cut in the middle of the second batch",
    ),
    Case(
        name="limit_in_a_subquery_then_a_filter_append",
        sql="SELECT device, temp FROM (SELECT * FROM events LIMIT 6) WHERE temp > 19",
        output_mode="append", batches=_READINGS,
        why="the stream's first 6 rows, then the filter over them (PySpark's df.limit(6).where(...))",
    ),
    Case(
        name="limit_zero_append",
        sql="SELECT device FROM events LIMIT 0",
        output_mode="append", batches=_READINGS,
        why="nothing ever",
    ),
    Case(
        name="limit_above_the_streams_rows_append",
        sql="SELECT device, temp FROM events WHERE device <> 'c' LIMIT 100",
        output_mode="append", batches=_READINGS,
        why="a limit never reached lets every row through",
    ),
    Case(
        name="limit_with_a_watermark_append",
        sql="SELECT ts, device FROM events WHERE temp IS NOT NULL LIMIT 4",
        output_mode="append", batches=_READINGS, watermark=("ts", "2 seconds"),
        why="a watermark on a stateless query with a limit: the limit counts rows, late or not",
    ),
    Case(
        name="limit_over_a_union_all_of_the_stream_append",
        sql="SELECT ts, device FROM events WHERE temp > 24 UNION ALL SELECT ts, device FROM events WHERE temp < 0 "
            "LIMIT 3",
        output_mode="append", batches=_READINGS,
        why="a LIMIT over a UNION ALL: one row from each branch in the first batch, the second batch's cut falls "
            "in the first branch's rows only",
    ),
]

REFUSALS: list[Case] = [
    Case(name="refuse_limit_without_aggregation_in_update_mode", sql="SELECT * FROM events WHERE temp > 0 LIMIT 3",
         output_mode="update", batches=_READINGS[:1]),
    Case(name="refuse_offset_on_a_stream", sql="SELECT * FROM events LIMIT 3 OFFSET 1", output_mode="append",
         batches=_READINGS[:1]),
    Case(name="refuse_limit_under_an_aggregation_in_update_mode",
         sql="SELECT count(*) AS n FROM (SELECT * FROM events LIMIT 3)", output_mode="update",
         batches=_READINGS[:1]),
]
