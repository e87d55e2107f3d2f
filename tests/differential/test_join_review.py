"""Review of issue 14 as a Spark user: join queries the join suite (cases_joins.py) does not write, each run on
PySpark and on stream_nb with the same batches (tests/differential/streams.py) and compared after every batch.

The Spark guide's impressions/clicks join verbatim (its column names, `interval 1 hour`, bounds written with >=
and <=), joins on two keys with NULLs in either, a non-equi condition across both sides, three range bounds,
Spark-legal names that are DuckDB keywords (`user`, `timestamp`) unquoted, a stream joined with itself, a full
outer join under watermark_policy max, and a deduplication after a join.
Run alone with ``python -m pytest -m spark tests/differential/test_join_review.py``.
"""

from __future__ import annotations

import pytest

from tests.differential.cases import t
from tests.differential.spark_runner import compare
from tests.differential.streams import Input, StreamsCase, feed, run_spark, run_stream_nb

pytestmark = pytest.mark.spark

HOUR = 3600
GUIDE_INPUTS = (Input("impressions", "impressionAdId string, impressionTime timestamp", ("impressionTime", "2 hours")),
                Input("clicks", "clickAdId string, clickTime timestamp", ("clickTime", "3 hours")))
GUIDE_BATCHES = (
    feed(impressions=(("a", t(0)), ("b", t(60)), ("c", t(120)), (None, t(130))),
         clicks=(("a", t(1800)), ("b", t(60 + 2 * HOUR)), (None, t(200)))),  # b clicked too late; NULLs match nothing
    feed(impressions=(("d", t(3 * HOUR)), ("a", t(3 * HOUR + 10))),
         clicks=(("a", t(3 * HOUR + 20)), ("d", t(4 * HOUR)))),                  # d exactly 1 hour later: in range
    feed(impressions=(("e", t(10 * HOUR)),), clicks=(("e", t(10 * HOUR + 5)),)),
    feed(impressions=(("f", t(20 * HOUR)),), clicks=(("f", t(20 * HOUR)),)),      # moves the watermarks past all
)
GUIDE_ON = ("clickAdId = impressionAdId AND clickTime >= impressionTime AND "
            "clickTime <= impressionTime + interval 1 hour")

IMPRESSIONS = Input("impressions", "ts timestamp, ad string, campaign string", ("ts", "5 seconds"))
CLICKS = Input("clicks", "ts timestamp, ad string, campaign string, cost double", ("ts", "5 seconds"))
KEYWORDS = (Input("impressions", "timestamp timestamp, user string, campaign string", ("timestamp", "5 seconds")),
            Input("clicks", "timestamp timestamp, user string, campaign string, cost double", ("timestamp", "5 seconds")))
BATCHES = (
    feed(impressions=((t(1), "a", "x"), (t(2), "a", "y"), (t(3), "b", None), (t(4), None, "x")),
         clicks=((t(3), "a", "x", 1.0), (t(4), "a", "z", 2.0), (t(5), "b", None, 3.0), (t(6), None, "x", 4.0))),
    feed(impressions=((t(20), "c", "x"),), clicks=((t(22), "c", "x", 0.5), (t(9), "a", "y", 9.0))),
    feed(impressions=((t(60), "d", "x"),), clicks=((t(61), "d", "x", 0.5),)),
)
RANGE = "c.ts BETWEEN i.ts AND i.ts + INTERVAL 10 SECONDS"

CASES = [
    StreamsCase("guide_inner_verbatim", "SELECT * FROM impressions JOIN clicks ON " + GUIDE_ON, "append",
                GUIDE_INPUTS, GUIDE_BATCHES),
    StreamsCase("guide_left_outer_verbatim", "SELECT * FROM impressions LEFT OUTER JOIN clicks ON " + GUIDE_ON,
                "append", GUIDE_INPUTS, GUIDE_BATCHES),
    StreamsCase("guide_full_outer_verbatim", "SELECT * FROM impressions FULL OUTER JOIN clicks ON " + GUIDE_ON,
                "append", GUIDE_INPUTS, GUIDE_BATCHES),
    StreamsCase("two_keys_with_nulls_left_outer",
                "SELECT i.ad, i.campaign, i.ts AS shown, c.ts AS clicked, c.cost FROM impressions i LEFT JOIN clicks c "
                f"ON i.ad = c.ad AND i.campaign = c.campaign AND {RANGE}", "append", (IMPRESSIONS, CLICKS), BATCHES),
    StreamsCase("non_equi_across_sides_left_outer",
                "SELECT i.ad, c.cost FROM impressions i LEFT JOIN clicks c ON i.ad = c.ad AND "
                f"(c.campaign = i.campaign OR c.cost > 1.5) AND {RANGE}", "append", (IMPRESSIONS, CLICKS), BATCHES),
    StreamsCase("three_range_bounds_left_outer",
                "SELECT i.ad, c.cost FROM impressions i LEFT JOIN clicks c ON i.ad = c.ad AND c.ts >= i.ts AND "
                "c.ts <= i.ts + INTERVAL 10 SECONDS AND i.ts + INTERVAL 2 SECONDS < c.ts", "append",
                (IMPRESSIONS, CLICKS), BATCHES),
    StreamsCase("keyword_names_unquoted_left_outer_then_window_count",
                "SELECT user, count(*) AS n FROM (SELECT i.user, i.timestamp FROM impressions i LEFT JOIN clicks c "
                "ON i.user = c.user AND c.timestamp BETWEEN i.timestamp AND i.timestamp + INTERVAL 10 SECONDS) "
                "GROUP BY user, window(timestamp, '10 seconds')", "append", KEYWORDS, BATCHES),
    StreamsCase("self_join_left_outer",
                "SELECT a.ad, a.ts, b.ad AS other, b.ts AS later FROM impressions a LEFT JOIN impressions b ON "
                "a.campaign = b.campaign AND b.ts > a.ts AND b.ts < a.ts + INTERVAL 10 SECONDS", "append",
                (IMPRESSIONS,), tuple({"impressions": batch["impressions"]} for batch in BATCHES)),
    StreamsCase("self_join_inner_then_where",
                "SELECT a.ad, b.ad AS other FROM impressions a JOIN impressions b ON a.ad = b.ad AND b.ts >= a.ts "
                "AND b.ts <= a.ts + INTERVAL 30 SECONDS WHERE a.campaign = 'x'", "append",
                (IMPRESSIONS,), tuple({"impressions": batch["impressions"]} for batch in BATCHES)),
    StreamsCase("full_outer_max_watermark_policy",
                f"SELECT i.ad, c.ad AS clicked_ad, c.cost FROM impressions i FULL JOIN clicks c ON i.ad = c.ad AND {RANGE}",
                "append", (IMPRESSIONS, Input("clicks", CLICKS.schema, ("ts", "30 seconds"))), BATCHES,
                watermark_policy="max"),
    StreamsCase("inner_join_then_distinct",
                f"SELECT DISTINCT i.ad, i.ts FROM impressions i JOIN clicks c ON i.ad = c.ad AND {RANGE}", "append",
                (IMPRESSIONS, CLICKS), BATCHES),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_stream_nb_emits_what_spark_emits(case, spark, tmp_path):
    expected = run_spark(spark, case, tmp_path)
    assert expected.fed, f"Spark ran no batch of {case.name}"
    report = compare(case, expected, run_stream_nb(case))
    assert report is None, report
