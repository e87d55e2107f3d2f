"""LIMIT on a stream (sql/limit.py): planned in append mode as Spark's global limit; refused as Spark refuses it
(update mode, OFFSET) and where stream_nb does not run it yet, each refusal pointing at the LIMIT."""

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.sql import StreamSQLError, plan_query
from stream_nb.sql.limit import LIMITED

EVENTS = sn.sources.memory("ts timestamp, device string, temp double")
OTHER = sn.sources.memory("ts timestamp, device string, temp double")
DIM = pd.DataFrame({"device": ["a"], "site": ["lab"]})
NAMES = [{"events": EVENTS, "other": OTHER, "dim": DIM}]
WATERMARK = {"events": ("ts", "10 seconds")}


def plan(sql, mode=None, **options):
    return plan_query(sql, namespaces=NAMES, output_mode=mode, **options)


def test_a_limit_in_append_mode_is_the_streams_first_rows_with_the_limit_kept_per_batch():
    planned = plan("SELECT device FROM events WHERE temp > 0 LIMIT 3")
    assert planned.output_mode == "append" and planned.limit.count == 3 and planned.limit.pre_sql is None
    assert planned.stateless_sql.endswith("LIMIT 3")  # no batch gives more (Spark's LocalLimitExec)


def test_a_limit_in_a_subquery_is_cut_out_and_the_rest_reads_its_rows():
    planned = plan("SELECT device FROM (SELECT * FROM events LIMIT 2) WHERE temp > 0")
    assert planned.limit.count == 2 and "__batch" in planned.limit.pre_sql and "LIMIT 2" in planned.limit.pre_sql
    assert LIMITED in planned.stateless_sql and "__batch" not in planned.stateless_sql


def test_a_limit_over_a_stream_static_join_orders_by_the_batchs_rows_passed_up_to_it():
    planned = plan("SELECT n FROM (SELECT e.device AS n FROM events e JOIN dim ON e.device = dim.device) LIMIT 2")
    assert planned.limit.row_numbers and "e.__row AS __row" in planned.stateless_sql
    assert planned.stateless_sql.endswith(".__row LIMIT 2")
    assert not plan("SELECT device FROM events LIMIT 2").limit.row_numbers  # a filter keeps the order itself


def test_a_limit_over_a_union_all_and_a_static_tables_own_limit():
    assert plan("SELECT device FROM events UNION ALL SELECT device FROM other LIMIT 4").limit.count == 4
    planned = plan("SELECT device FROM events WHERE device IN (SELECT device FROM dim LIMIT 1)")
    assert planned.limit is None and "LIMIT 1" in planned.stateless_sql  # the static table's, run as it is


def test_a_limit_over_an_aggregation_in_complete_mode_is_the_tables_first_rows_as_before():
    planned = plan("SELECT device, count(*) AS n FROM events GROUP BY device LIMIT 2", "complete")
    assert planned.limit is None and "LIMIT 2" in planned.aggregate.final_sql


@pytest.mark.parametrize(
    ("sql", "mode", "message", "points_at"),
    [
        # Spark's words (UnsupportedOperationChecker), with or without aggregation
        ("SELECT device FROM events LIMIT 3", "update",
         "Limits are not supported on streaming DataFrames/Datasets in Update output mode", "LIMIT 3"),
        ("SELECT device, count(*) AS n FROM events GROUP BY device LIMIT 2", "update",
         "Limits are not supported on streaming DataFrames/Datasets in Update output mode", "LIMIT 2"),
        ("SELECT count(*) AS n FROM (SELECT * FROM events LIMIT 3)", "update",
         "Limits are not supported on streaming DataFrames/Datasets in Update output mode", "LIMIT 3"),
        ("SELECT device FROM events LIMIT 3 OFFSET 1", None,
         "OFFSET is not supported on a stream (as in Spark: \"Offset is not supported on streaming", "OFFSET"),
        ("SELECT device, count(*) AS n FROM events GROUP BY device LIMIT 2 OFFSET 1", "complete",
         "OFFSET is not supported on a stream", "OFFSET"),
        # Spark runs these; stream_nb says it does not yet
        ("SELECT count(*) AS n FROM (SELECT * FROM events LIMIT 3)", "complete",
         "LIMIT under an aggregation in complete output mode is not supported yet", "LIMIT 3"),
        ("SELECT device FROM events WHERE temp > 1 LIMIT -1", None, "LIMIT takes a whole number, 0 or more",
         "LIMIT -1"),
        ("SELECT * FROM (SELECT * FROM events LIMIT 5) LIMIT 3", None,
         "a LIMIT over another LIMIT of the stream is not supported yet", "LIMIT 5"),
        ("SELECT device FROM events UNION ALL SELECT device FROM (SELECT * FROM other LIMIT 2)", None,
         "LIMIT inside one SELECT of a UNION ALL of streams is not supported yet", "LIMIT 2"),
        ("SELECT e.device FROM events e JOIN dim ON e.device = dim.device UNION ALL SELECT device FROM other LIMIT 2",
         None, "a LIMIT over a UNION ALL whose SELECTs join a static table is not supported yet", "LIMIT 2"),
        ("SELECT * FROM events e JOIN other o ON e.device = o.device LIMIT 2", None,
         "LIMIT is not supported over a stream-stream join", "LIMIT 2"),
    ],
)
def test_refused_limit_is_named_with_its_position(sql, mode, message, points_at):
    with pytest.raises(StreamSQLError) as caught:
        plan(sql, mode)
    error = caught.value
    assert message in str(error)
    assert error.start is not None and sql[error.start:].startswith(points_at), str(error)
    assert error.hint


def test_a_limit_with_an_aggregation_or_a_deduplication_in_append_mode_is_refused_as_not_yet():
    sql = "SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM events GROUP BY window(ts, '10 seconds') LIMIT 1"
    with pytest.raises(StreamSQLError, match="LIMIT over an aggregation in append output mode is not supported yet"):
        plan(sql, "append", watermark=WATERMARK)
    with pytest.raises(StreamSQLError, match=r"LIMIT with a deduplication \(DISTINCT, dropDuplicates\) is not"):
        plan("SELECT DISTINCT ON (device) device, ts FROM events LIMIT 2", "append", watermark=WATERMARK)


def test_order_by_with_limit_is_still_refused_for_the_sort():
    with pytest.raises(StreamSQLError, match="ORDER BY is not supported on a stream"):
        plan("SELECT device FROM events ORDER BY temp LIMIT 3")
