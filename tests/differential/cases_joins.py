"""Queries over several streams for the differential suite: stream-stream joins, unions, chained operators.

Ad impressions and their clicks: ``impressions(ts, ad, campaign)`` and ``clicks(ts, ad, cost)``; event times
are seconds after 2024-01-01 00:00:00 UTC (``t(7)`` is 00:00:07). The comments lean on Spark's rules (Spark
is the reference; a comment that disagrees with Spark is the comment's bug):

* each input's watermark is its max event time minus its delay, computed at the end of a batch; the global one
  is the minimum over inputs (``multipleWatermarkPolicy`` min) and is used from the next batch;
* a join drops an input row at or behind the watermark (late), keeps each side's rows in state until the
  watermark and the range condition prove nothing can match them, and emits an outer (NULL-padded) row when an
  unmatched row leaves the state — in a no-data batch too;
* inner joins emit a match as soon as both rows are there.
"""

from __future__ import annotations

from tests.differential.cases import t
from tests.differential.streams import Input, StreamsCase, feed

# What stream_nb still lacks for a case goes in its ``pending`` (its test is then expected to fail, strictly,
# until it lands); none lacks anything now.

IMPRESSIONS = "ts timestamp, ad string, campaign string"
CLICKS = "ts timestamp, ad string, cost double"
EVENTS = "ts timestamp, device string, temp double"


def ads(impressions: str | None = "5 seconds", clicks: str | None = "5 seconds") -> tuple[Input, Input]:
    """The two inputs, each with a watermark of that delay on ``ts`` (None: no watermark)."""
    return (Input("impressions", IMPRESSIONS, impressions and ("ts", impressions)),
            Input("clicks", CLICKS, clicks and ("ts", clicks)))


# Five batches; the comments give each input's watermark (5-second delays) after the batch, and the global one.
# Ranges below are "a click within 10 seconds after its impression".
ADS = (
    feed(impressions=((t(1), "a1", "c1"), (t(2), "a2", "c1"), (t(4), "a3", "c2"), (t(5), "a1", "c2"),
                      (t(6), None, "c1")),
         clicks=((t(3), "a1", 0.5), (t(7), "a1", 0.25),
                 (t(2), "a3", 1.0),        # before its impression (4 s): out of any range
                 (t(8), None, 0.1))),      # a NULL key matches nothing          -- wm 1 / 3, global 1
    feed(impressions=((t(14), "a4", "c1"), (t(3), "a5", "c2"), (t(9), "a6", "c1")),
         clicks=((t(9), "a2", 0.75), (t(16), "a4", 0.2), (t(12), "a5", 2.0),
                 (t(13), "a1", 0.3))),     # 8 s after a1's second impression, 12 s after its first
    #                                                                            -- wm 9 / 11, global 9
    feed(impressions=((t(2), "a7", "c2"),  # behind the watermark (9): late, dropped
                      (t(25), "a8", "c1"), (t(20), "a9", "c2")),
         clicks=((t(8), "a6", 0.4),        # late (8 <= 9): dropped, so a6 never matches
                 (t(27), "a8", 0.6),
                 (t(24), "a4", 0.1),       # exactly 10 s after a4's impression: in BETWEEN, not in <
                 (t(21), "a9", 0.9))),     #                                     -- wm 20 / 22, global 20
    feed(impressions=((t(40), "a10", "c1"), (t(30), "a11", "c2")),
         clicks=((t(33), "a11", 0.5), (t(29), "a9", 0.2))),                    # -- wm 35 / 28, global 28
    feed(impressions=((t(80), "a12", "c1"),),
         clicks=((t(85), "a12", 0.1), (t(45), "a10", 0.3))),   # a10 clicked 5 s after 40 -- global 75: flush
)

ADS_KEYED = tuple({name: tuple(row for row in rows if row[1] is not None) for name, rows in batch.items()}
                  for batch in ADS)  # ADS without its NULL keys (full_outer_null_keys_append has them)

# Few rows per key, several rows per key on both sides (many-to-many matches), a key seen on one side only.
DUPLICATES = (
    feed(impressions=((t(1), "a", "c1"), (t(2), "a", "c2"), (t(3), "b", "c1")),
         clicks=((t(4), "a", 1.0), (t(5), "a", 2.0))),
    feed(impressions=((t(6), "a", "c3"),),
         clicks=((t(7), "a", 3.0), (t(8), "b", 4.0), (t(9), "b", 5.0), (t(9), "z", 6.0))),
    feed(impressions=((t(60), "c", "c1"),), clicks=((t(61), "c", 7.0),)),
)

# ADS_KEYED with each impression sent twice, and the first batch's again in the second (all duplicates)
REPEATED = tuple({**batch, "impressions": batch["impressions"] * 2 + (ADS_KEYED[0]["impressions"] if k == 1 else ())}
                 for k, batch in enumerate(ADS_KEYED))

# Rows with NULL keys on both sides, interleaved with matching ones.
NULL_KEYS = (
    feed(impressions=((t(1), None, "c1"), (t(2), "a", "c1"), (t(3), None, "c2")),
         clicks=((t(4), None, 1.0), (t(5), "a", 2.0))),
    feed(impressions=((t(7), "b", None),), clicks=((t(8), None, 3.0), (t(9), "b", 4.0))),
    feed(impressions=((t(50), "c", "c1"),), clicks=((t(55), None, 5.0),)),
)

BETWEEN = "c.ts BETWEEN i.ts AND i.ts + INTERVAL 10 SECONDS"
OPEN_RANGE = "c.ts > i.ts AND c.ts < i.ts + INTERVAL 10 SECONDS"
CLOSED_RANGE = "i.ts <= c.ts AND i.ts + INTERVAL 10 SECONDS >= c.ts"  # each bound written the other way round
PAIRS = "SELECT i.ad, i.ts AS shown, i.campaign, c.ts AS clicked, c.cost FROM impressions i"


def on(*conditions: str) -> str:
    return " ON i.ad = c.ad AND " + " AND ".join(conditions) if conditions else " ON i.ad = c.ad"


WINDOWED_SIDES = ("(SELECT ad, campaign, window(ts, '10 seconds') AS w FROM impressions) i {join} "
                  "(SELECT ad, cost, window(ts, '10 seconds') AS w FROM clicks) c ON i.ad = c.ad AND i.w = c.w")

# Readings for the chains over one stream (watermark 5 s): after each batch 7, 20, 26, 55 s.
READINGS = (
    feed(events=((t(1), "a", 20.0), (t(12), "a", 21.0), (t(4), "b", 19.0), (t(8), "a", 22.0))),
    feed(events=((t(3), "a", 23.0), (t(25), "b", 18.0), (t(14), "b", 20.0), (t(14), "b", 20.0))),
    feed(events=((t(9), "a", 30.0),            # [0, 10) closed at watermark 20: dropped
                 (t(22), "a", 24.0), (t(31), "b", 25.0), (t(22), "a", 24.0))),
    feed(events=((t(44), "a", 26.0), (t(60), "b", 27.0))),
    feed(events=((t(130), "a", 28.0),)),
)


def events(delay: str | None = "5 seconds") -> tuple[Input]:
    return (Input("events", EVENTS, delay and ("ts", delay)),)


TEN = "window(ts, '10 seconds')"

CASES: list[StreamsCase] = [
    # -- inner joins ----------------------------------------------------------------------------------------
    StreamsCase(
        name="inner_range_between_append", sql=PAIRS + " JOIN clicks c" + on(BETWEEN), output_mode="append",
        inputs=ads(), batches=ADS,
        why="a click joins each impression of its ad within 10 s before it; late rows per side dropped",
    ),
    StreamsCase(
        name="inner_comma_join_with_where_append", sql=PAIRS + ", clicks c WHERE i.ad = c.ad AND " + BETWEEN,
        output_mode="append", inputs=ads(), batches=ADS,
        why="FROM a, b WHERE ...: Spark's optimizer makes the WHERE the join's condition, keys and range",
    ),
    StreamsCase(
        name="inner_comma_join_of_a_subquery_append",
        sql=PAIRS + ", (SELECT * FROM clicks WHERE cost > 0.1) c WHERE i.ad = c.ad AND " + BETWEEN,
        output_mode="append", inputs=ads(), batches=ADS,
        why="a comma join whose side is a subquery: an inner join too",
    ),
    StreamsCase(
        name="inner_key_in_where_range_in_on_append", sql=PAIRS + " JOIN clicks c ON " + BETWEEN +
        " WHERE i.ad = c.ad AND c.cost > 0.2", output_mode="append", inputs=ads(), batches=ADS,
        why="the key equality written in WHERE is the join's key, as Spark pushes it into the join",
    ),
    StreamsCase(
        name="inner_range_open_bounds_append", sql=PAIRS + " JOIN clicks c" + on(OPEN_RANGE),
        output_mode="append", inputs=ads(), batches=ADS,
        why="the range written with > and <: a click exactly 10 s later does not match",
    ),
    StreamsCase(
        name="inner_range_closed_bounds_reversed_append", sql=PAIRS + " JOIN clicks c" + on(CLOSED_RANGE),
        output_mode="append", inputs=ads(), batches=ADS,
        why="the range written with <= and >=, each side of the comparison swapped",
    ),
    StreamsCase(
        name="inner_keys_only_no_watermark_append", sql=PAIRS + " JOIN clicks c" + on(), output_mode="append",
        inputs=ads(None, None), batches=ADS,
        why="an inner join needs neither watermark nor range: nothing is late, state is kept for ever",
    ),
    StreamsCase(
        name="inner_keys_only_with_watermarks_append", sql=PAIRS + " JOIN clicks c" + on(),
        output_mode="append", inputs=ads(), batches=ADS,
        why="watermarks without a range condition: late rows dropped, but any two rows of a key match",
    ),
    StreamsCase(
        name="inner_range_tight_watermarks_append", sql=PAIRS + " JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads("0 seconds", "0 seconds"), batches=ADS,
        why="0-second watermarks: every row behind the latest of the previous batch is late",
    ),
    StreamsCase(
        name="inner_range_loose_watermarks_append", sql=PAIRS + " JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads("1 minute", "1 minute"), batches=ADS,
        why="1-minute watermarks: no row is late, state lives long",
    ),
    StreamsCase(
        name="inner_range_different_watermarks_append", sql=PAIRS + " JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads("2 seconds", "20 seconds"), batches=ADS,
        why="each input its own delay; the global watermark is the smaller of the two",
    ),
    StreamsCase(
        name="inner_range_max_watermark_policy_append", sql=PAIRS + " JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads("2 seconds", "20 seconds"), batches=ADS, watermark_policy="max",
        why="multipleWatermarkPolicy max: the global watermark follows the faster input",
    ),
    StreamsCase(
        name="inner_range_watermark_on_one_side_append", sql=PAIRS + " JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(None, "5 seconds"), batches=ADS,
        why="a watermark on clicks only: the range still bounds the impressions' state",
    ),
    StreamsCase(
        name="inner_duplicate_keys_append", sql=PAIRS + " JOIN clicks c" + on(BETWEEN), output_mode="append",
        inputs=ads(), batches=DUPLICATES,
        why="several rows per key on both sides: every pair in range, each once",
    ),
    StreamsCase(
        name="inner_null_keys_append", sql=PAIRS + " JOIN clicks c" + on(BETWEEN), output_mode="append",
        inputs=ads(), batches=NULL_KEYS, why="a NULL key matches nothing, not even another NULL",
    ),
    StreamsCase(
        name="inner_extra_conditions_append",
        sql=PAIRS + " JOIN clicks c" + on(BETWEEN, "c.cost > 0.2", "i.campaign = 'c1'", "c.cost * 10 > length(i.ad)"),
        output_mode="append", inputs=ads(), batches=ADS,
        why="one-side conditions filter each side before the join; a condition over both after it",
    ),
    StreamsCase(
        name="inner_filters_and_projections_in_subqueries_append",
        sql="SELECT i.ad, i.shown, c.cost * 100 AS cents FROM "
            "(SELECT ad, ts AS shown FROM impressions WHERE campaign = 'c1') i JOIN "
            "(SELECT ad, ts, cost FROM clicks WHERE cost < 1) c "
            "ON i.ad = c.ad AND c.ts BETWEEN i.shown AND i.shown + INTERVAL 10 SECONDS",
        output_mode="append", inputs=ads(), batches=ADS,
        why="each side a subquery (filter, rename of the event time column) before the join",
    ),
    StreamsCase(
        name="inner_where_after_join_append",
        sql=PAIRS + " JOIN clicks c" + on(BETWEEN) + " WHERE c.cost + length(i.campaign) > 2.4",
        output_mode="append", inputs=ads(), batches=ADS,
        why="WHERE over the joined row",
    ),
    StreamsCase(
        name="inner_range_update_mode", sql=PAIRS + " JOIN clicks c" + on(BETWEEN), output_mode="update",
        key=("ad", "shown", "clicked", "cost"), inputs=ads(), batches=ADS,
        why="Spark 4.3 runs an inner stream-stream join in update mode: the same rows as append",
    ),
    StreamsCase(
        name="inner_window_equality_append",
        sql="SELECT i.ad, i.w, i.campaign, c.cost FROM " + WINDOWED_SIDES.format(join="JOIN"),
        output_mode="append", inputs=ads(), batches=ADS,
        why="a window-equality join: each side's window computed in a subquery",
    ),
    StreamsCase(
        name="inner_select_star_append", sql="SELECT * FROM impressions i JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=DUPLICATES,
        why="SELECT * over a join: both sides' columns, left first, duplicate names kept",
    ),
    StreamsCase(
        name="inner_keyword_column_user_append",
        sql="SELECT i.ad, c.user, c.ts AS clicked FROM impressions i JOIN "
            "(SELECT ts, ad, concat('u', cast(cost * 100 AS int)) AS user FROM clicks) c"
            + on(BETWEEN, "c.user <> 'u10'"),
        output_mode="append", inputs=ads(), batches=ADS,
        why="a column named user (a DuckDB keyword, a plain name in Spark) works unquoted",
    ),
    # -- outer and semi joins -------------------------------------------------------------------------------
    StreamsCase(
        name="left_outer_range_append", sql=PAIRS + " LEFT JOIN clicks c" + on(BETWEEN), output_mode="append",
        inputs=ads(), batches=ADS,
        why="an impression without a click comes out NULL-padded once the watermark proves none can come",
    ),
    StreamsCase(
        name="left_outer_open_bounds_tight_watermarks_append",
        sql=PAIRS + " LEFT OUTER JOIN clicks c" + on(OPEN_RANGE), output_mode="append",
        inputs=ads("0 seconds", "0 seconds"), batches=ADS,
        why="0-second watermarks: outer rows come out as early as Spark allows",
    ),
    StreamsCase(
        name="left_outer_loose_watermarks_append", sql=PAIRS + " LEFT JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads("30 seconds", "30 seconds"), batches=ADS,
        why="30-second watermarks: the outer rows wait for the last batch's watermark",
    ),
    StreamsCase(
        name="left_outer_one_side_conditions_append",
        sql=PAIRS + " LEFT JOIN clicks c" + on(BETWEEN, "c.cost > 0.2", "i.campaign = 'c1'"),
        output_mode="append", inputs=ads(), batches=ADS,
        why="an impression failing its own ON condition is not dropped: it comes out NULL-padded",
    ),
    StreamsCase(
        name="left_outer_null_keys_append", sql=PAIRS + " LEFT JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=NULL_KEYS,
        why="an impression with a NULL key matches nothing and comes out NULL-padded",
    ),
    StreamsCase(
        name="left_outer_duplicate_keys_append", sql=PAIRS + " LEFT JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=DUPLICATES,
        why="a matched impression never comes out padded, however many clicks it had",
    ),
    StreamsCase(
        name="left_outer_window_equality_append",
        sql="SELECT i.ad, i.w, i.campaign, c.cost FROM " + WINDOWED_SIDES.format(join="LEFT JOIN"),
        output_mode="append", inputs=ads(), batches=ADS,
        why="an outer window-equality join: the window's end under the watermark frees the row",
    ),
    StreamsCase(
        name="right_outer_range_append", sql=PAIRS + " RIGHT JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=ADS,
        why="a click without an impression in range comes out with the impression's columns NULL",
    ),
    StreamsCase(
        name="full_outer_range_append", sql=PAIRS + " FULL OUTER JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=ADS_KEYED,
        why="both sides' unmatched rows come out NULL-padded",
    ),
    StreamsCase(
        name="full_outer_null_keys_append", sql=PAIRS + " FULL JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=NULL_KEYS,
        why="NULL keys on both sides: each row comes out once, padded",
    ),
    StreamsCase(
        name="left_semi_range_append",
        sql="SELECT i.ad, i.ts, i.campaign FROM impressions i LEFT SEMI JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=ADS,
        why="an impression with at least one click in range comes out once, when its first click comes",
    ),
    StreamsCase(
        name="left_semi_duplicate_keys_append",
        sql="SELECT i.ad, i.ts, i.campaign FROM impressions i LEFT SEMI JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=DUPLICATES,
        why="several clicks for one impression: the impression once",
    ),
    # Found by the random join cases (fuzz_joins.py). Spark 4's checker takes a LeftSemi stream-stream join in
    # Update mode as it takes an inner one (InnerLike and LeftSemi: Append or Update; outer joins: Append only).
    StreamsCase(
        name="left_semi_range_update_mode",
        sql="SELECT i.ad, i.ts, i.campaign FROM impressions i LEFT SEMI JOIN clicks c" + on(BETWEEN),
        output_mode="update", key=("ad", "ts", "campaign"), inputs=ads(), batches=ADS,
        why="a left semi join runs in update mode too, emitting what append emits",
    ),
    # Found by the random join cases. Spark infers `c.cost IS NOT NULL` from a condition over both sides that
    # reads c.cost through null-intolerant operators only (`c.cost * 10 >= length(i.ad)`: a comparison, a
    # product), filters the side the join filters (here clicks, not the preserved impressions) with it, and
    # pushes it below the watermark: a click without a cost never moves the clicks' watermark. The click at
    # 16 s has none, so the global watermark stays at 7 after batch 1 (not 14): the impressions at 7 and 9 s
    # come out NULL-padded after batch 2, not batch 1.
    StreamsCase(
        name="left_outer_inferred_not_null_below_the_watermark_append",
        sql=PAIRS + " LEFT JOIN clicks c" + on("c.ts BETWEEN i.ts AND i.ts + INTERVAL 3 SECONDS",
                                               "c.cost * 10 >= length(i.ad)"),
        output_mode="append", inputs=ads("5 seconds", "2 seconds"),
        batches=(feed(impressions=((t(7), "a", "c1"),), clicks=((t(9), "a", 2.0),)),
                 feed(impressions=((t(9), "b", "c1"), (t(7), "c", "c2"), (t(19), "x", "c1")),
                      clicks=((t(16), "y", None),)),
                 feed(impressions=((t(33), "x", "c1"),), clicks=((t(26), "y", 0.5),))),
        why="a row an inferred IS NOT NULL filter drops does not move its input's watermark",
    ),
    # Found by the random join cases. From the key equality i.ad = c.ad and the impressions' own `i.ad <> 'b'`
    # Spark infers `c.ad <> 'b'` for clicks (inferAdditionalConstraints; a left join filters its right side)
    # and pushes it below the clicks' watermark: the click of b at 16 s never moves it, the global watermark
    # stays 7 after batch 1, and the impressions at 7 and 9 s wait for batch 2's to come out NULL-padded.
    StreamsCase(
        name="left_outer_filter_inferred_through_the_key_below_the_watermark_append",
        sql=PAIRS + " LEFT JOIN clicks c" + on("c.ts BETWEEN i.ts AND i.ts + INTERVAL 3 SECONDS", "i.ad <> 'b'"),
        output_mode="append", inputs=ads("5 seconds", "2 seconds"),
        batches=(feed(impressions=((t(7), "a", "c1"),), clicks=((t(9), "a", 2.0),)),
                 feed(impressions=((t(9), "b", "c1"), (t(7), "c", "c2"), (t(19), "x", "c1")),
                      clicks=((t(16), "b", 3.0),)),
                 feed(impressions=((t(33), "x", "c1"), (t(10), "c", "c1")),
                      clicks=((t(26), "y", 0.5), (t(12), "c", 1.0)))),
        why="a filter Spark infers for one side through the key equality does not let its rows move the watermark",
    ),
    # Found by the random join cases. A side's subquery may output its event time and a window over it: Spark
    # prunes the one the query never reads above the side before looking for the side's event time column, and
    # fails (MULTIPLE_EVENT_TIME_COLUMNS) only when both are read (REFUSALS: refuse_join_side_reading_two_...).
    StreamsCase(
        name="left_outer_window_equality_sides_with_their_time_append",
        sql="SELECT i.ad, i.w, i.campaign, c.cost FROM (SELECT ts, ad, campaign, window(ts, '10 seconds') AS w "
            "FROM impressions) i LEFT JOIN (SELECT ts, ad, cost, window(ts, '10 seconds') AS w FROM clicks) c "
            "ON i.ad = c.ad AND i.w = c.w",
        output_mode="append", inputs=ads(), batches=ADS,
        why="each side's ts is never read: its window is the side's event time, as if ts were not selected",
    ),
    # -- joins followed by an aggregation -------------------------------------------------------------------
    StreamsCase(
        name="inner_join_then_window_count_append",
        sql="SELECT window(i.ts, '10 seconds') AS w, i.campaign, count(*) AS clicks, sum(c.cost) AS spend "
            "FROM impressions i JOIN clicks c" + on(BETWEEN) + " GROUP BY window(i.ts, '10 seconds'), i.campaign",
        output_mode="append", inputs=ads(), batches=ADS,
        why="a windowed aggregation over what the join emits, each window once its end passes the watermark",
    ),
    StreamsCase(
        name="left_outer_join_then_window_count_append",
        sql="SELECT window(i.ts, '10 seconds') AS w, count(*) AS shown, count(c.ad) AS clicked "
            "FROM impressions i LEFT JOIN clicks c" + on(BETWEEN) + " GROUP BY window(i.ts, '10 seconds')",
        output_mode="append", inputs=ads(), batches=ADS,
        why="click-through per window: outer rows reach the aggregation before its window closes",
    ),
    # Found by the random join cases. A window column a side computes keeps its event time through the join
    # (Spark's metadata on the attribute): an aggregation after the join may key on it, in append mode, each
    # window emitted once the watermark passes its end.
    StreamsCase(
        name="window_equality_join_then_count_by_the_side_window_append",
        sql="SELECT i.w, count(*) AS clicks, sum(c.cost) AS spend FROM " + WINDOWED_SIDES.format(join="JOIN")
            + " GROUP BY i.w",
        output_mode="append", inputs=ads(), batches=ADS,
        why="GROUP BY the window of a side (not window(i.ts, ...)): the aggregation follows its end",
    ),
    # Found by the random join cases. Clicks without a watermark: no state of the join follows the watermark,
    # but the aggregation after it does, and Spark runs a batch without data whenever that aggregation's input
    # watermark moves (its shouldRunAnotherBatch), emitting nothing or not; the next batch judges the
    # aggregation's late rows by it. After batch 1 the watermark is 17: the no-data batch runs at 17, so in
    # batch 2 the click at 13 s pairs with the impression at 4 s into window [0, 10), already behind 17: late,
    # dropped. (Had the no-data batch not run, the late rows would be judged by batch 1's watermark, 1.)
    StreamsCase(
        name="inner_join_then_window_count_no_data_batch_moves_late_rows_append",
        sql="SELECT window(i.ts, '10 seconds') AS w, count(*) AS clicks FROM impressions i JOIN clicks c"
            + on("c.ts >= i.ts", "c.ts < i.ts + INTERVAL 10 SECONDS") + " GROUP BY window(i.ts, '10 seconds')",
        output_mode="append", inputs=ads("10 seconds", None),
        batches=(feed(impressions=((t(4), "a", "c1"), (t(11), "a", "c1"))),
                 feed(impressions=((t(27), "c", "c1"),), clicks=((t(20), "a", 1.0),)),
                 feed(impressions=((t(31), "b", "c2"),), clicks=((t(13), "a", 2.0),)),
                 feed(impressions=((t(80), "z", "c1"),))),
        why="a join's row behind the aggregation's watermark is late once a no-data batch has moved it",
    ),
    # -- chains over one stream -----------------------------------------------------------------------------
    StreamsCase(
        name="window_over_window_time_append",
        sql="SELECT window(window_time(w), '30 seconds') AS w30, sum(n) AS n, max(hi) AS hi FROM "
            f"(SELECT {TEN} AS w, device, count(*) AS n, max(temp) AS hi FROM events GROUP BY {TEN}, device) "
            "GROUP BY window(window_time(w), '30 seconds')",
        output_mode="append", inputs=events(), batches=READINGS,
        why="a window aggregation over another's output, by window_time (the window's end - 1 microsecond)",
    ),
    StreamsCase(
        name="window_over_window_time_cte_append",
        sql=f"WITH per_device AS (SELECT {TEN} AS w, device, avg(temp) AS mean FROM events "
            f"GROUP BY {TEN}, device) SELECT window(window_time(w), '20 seconds') AS w20, count(*) AS devices, "
            "max(mean) AS warmest FROM per_device GROUP BY window(window_time(w), '20 seconds')",
        output_mode="append", inputs=events("0 seconds"), batches=READINGS,
        why="the same chain written with a CTE, a tight watermark",
    ),
    StreamsCase(
        name="dedup_then_window_count_append",
        sql=f"SELECT {TEN} AS w, count(*) AS n, sum(temp) AS total FROM "
            f"(SELECT DISTINCT ts, device, temp FROM events) GROUP BY {TEN}",
        output_mode="append", inputs=events(), batches=READINGS,
        why="duplicate readings counted once: a deduplication (keyed with the event time) before the window",
    ),
    # -- a deduplication, then a join (issue 14 item 4) -------------------------------------------------------
    StreamsCase(
        name="dedup_then_inner_join_append",
        sql="SELECT i.ad, i.ts AS shown, c.ts AS clicked, c.cost FROM (SELECT DISTINCT ts, ad, campaign FROM "
            "impressions) i JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=REPEATED,
        why="each impression once: the deduplication emits a row when the watermark passes it, the join pairs it",
    ),
    StreamsCase(
        name="group_by_dedup_then_left_join_append",
        sql="SELECT i.ad, i.ts AS shown, c.ts AS clicked FROM (SELECT ts, ad FROM impressions GROUP BY ad, ts) i "
            "LEFT JOIN clicks c" + on(BETWEEN),
        output_mode="append", inputs=ads(), batches=REPEATED,
        why="the deduplication as a GROUP BY without aggregates; an unmatched impression comes out NULL-padded",
    ),
    # -- unions of two streams ------------------------------------------------------------------------------
    StreamsCase(
        name="union_all_of_two_streams_append",
        sql="SELECT ts, ad, 'shown' AS what FROM impressions UNION ALL SELECT ts, ad, 'clicked' FROM clicks",
        output_mode="append", inputs=ads(None, None), batches=ADS,
        why="a stateless query over two streams: each batch's rows of both",
    ),
    StreamsCase(
        name="union_all_then_window_count_update",
        sql="SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM (SELECT ts, ad FROM impressions "
            "UNION ALL SELECT ts, ad FROM clicks) GROUP BY window(ts, '10 seconds')",
        output_mode="update", key=("w",), inputs=ads("5 seconds", "20 seconds"), batches=ADS,
        why="a window over two streams: late is judged against the global (minimum) watermark",
    ),
]


_ONE = (feed(impressions=((t(1), "a1", "c1"),), clicks=((t(3), "a1", 0.5),)),)
_ONE_STREAM = (feed(events=((t(1), "a", 1.0), (t(12), "b", 2.0))),)

# Queries Spark refuses; stream_nb must refuse each with a StreamSQLError whose message matches ``reason``.
REFUSALS: list[StreamsCase] = [
    StreamsCase(name="refuse_distinct_in_update_mode_then_join",
                sql="SELECT i.ad, c.ts AS clicked FROM (SELECT DISTINCT ts, ad FROM impressions) i JOIN clicks c"
                    + on(BETWEEN), output_mode="update", inputs=ads(), batches=_ONE,
                reason="update output mode cannot be followed by a stream-stream join"),
    StreamsCase(name="refuse_left_outer_without_watermark", sql=PAIRS + " LEFT JOIN clicks c" + on(BETWEEN),
                output_mode="append", inputs=ads(None, None), batches=_ONE, reason="watermark"),
    StreamsCase(name="refuse_left_outer_without_range", sql=PAIRS + " LEFT JOIN clicks c" + on(),
                output_mode="append", inputs=ads(), batches=_ONE, reason="range|time"),
    StreamsCase(name="refuse_right_outer_without_watermark_on_impressions",
                sql=PAIRS + " RIGHT JOIN clicks c" + on(BETWEEN), output_mode="append",
                inputs=ads(None, "5 seconds"), batches=_ONE, reason="watermark"),
    StreamsCase(name="refuse_full_outer_without_watermarks", sql=PAIRS + " FULL JOIN clicks c" + on(BETWEEN),
                output_mode="append", inputs=ads(None, None), batches=_ONE, reason="watermark"),
    StreamsCase(name="refuse_left_semi_without_range",
                sql="SELECT i.ad FROM impressions i LEFT SEMI JOIN clicks c" + on(), output_mode="append",
                inputs=ads(), batches=_ONE, reason="range|time"),
    StreamsCase(name="refuse_left_outer_in_update_mode", sql=PAIRS + " LEFT JOIN clicks c" + on(BETWEEN),
                output_mode="update", inputs=ads(), batches=_ONE, reason="update"),
    StreamsCase(name="refuse_join_in_complete_mode", sql=PAIRS + " JOIN clicks c" + on(BETWEEN),
                output_mode="complete", inputs=ads(), batches=_ONE, reason="complete"),
    # the modes a join takes hold under what reads it: an outer join's late NULL rows would reopen windows
    StreamsCase(name="refuse_left_outer_then_window_count_in_update_mode",
                sql="SELECT window(i.ts, '10 seconds') AS w, count(*) AS n FROM impressions i LEFT JOIN clicks c"
                    + on(BETWEEN) + " GROUP BY window(i.ts, '10 seconds')",
                output_mode="update", inputs=ads(), batches=_ONE, reason="LeftOuter join .* Update output mode"),
    StreamsCase(name="refuse_inner_join_then_count_in_complete_mode",
                sql="SELECT i.campaign, count(*) AS n FROM impressions i JOIN clicks c" + on(BETWEEN)
                    + " GROUP BY i.campaign",
                output_mode="complete", inputs=ads(), batches=_ONE, reason="Inner join .* Complete output mode"),
    StreamsCase(name="refuse_comma_join_then_count_in_complete_mode",
                sql="SELECT i.campaign, count(*) AS n FROM impressions i, clicks c WHERE i.ad = c.ad AND "
                    + BETWEEN + " GROUP BY i.campaign",
                output_mode="complete", inputs=ads(), batches=_ONE, reason="Inner join .* Complete output mode"),
    StreamsCase(name="refuse_distinct_over_left_outer_join_in_update_mode",
                sql="SELECT DISTINCT i.ad FROM impressions i LEFT JOIN clicks c" + on(BETWEEN),
                output_mode="update", inputs=ads(), batches=_ONE, reason="LeftOuter join .* Update output mode"),
    StreamsCase(name="refuse_join_side_reading_two_event_time_columns",
                sql="SELECT i.ad, i.ts, i.w, c.cost FROM (SELECT ts, ad, window(ts, '10 seconds') AS w FROM "
                    "impressions) i JOIN clicks c" + on(), output_mode="append", inputs=ads(), batches=_ONE,
                reason="More than one event time columns"),
    StreamsCase(name="refuse_left_anti_join", sql="SELECT i.ad FROM impressions i LEFT ANTI JOIN clicks c"
                + on(BETWEEN), output_mode="append", inputs=ads(), batches=_ONE,
                reason="anti"),
    StreamsCase(name="refuse_chained_window_in_update_mode",
                sql="SELECT window(window_time(w), '30 seconds') AS w30, sum(n) AS n FROM "
                    f"(SELECT {TEN} AS w, count(*) AS n FROM events GROUP BY {TEN}) "
                    "GROUP BY window(window_time(w), '30 seconds')",
                output_mode="update", inputs=events(), batches=_ONE_STREAM, reason="update"),
]
