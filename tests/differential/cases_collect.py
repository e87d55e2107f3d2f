"""The Spark differential cases of the kept-values aggregates: collect_list, collect_set, max_by, min_by,
percentile_approx, percentile and median, skewness and kurtosis, mode, bit_and / bit_or / bit_xor, and the co-moment family (covar_pop,
covar_samp, corr, regr_*), as streaming aggregates (update, complete, and append over windows
with a watermark). Declared and run as cases_more.py's (``test_spark_cases.py``).

collect_set's element order is not defined in Spark, so its cases read it through ``array_sort`` (or
``size``): an order-insensitive comparison written in the query, which leaves the shared runner as it is.
collect_list keeps arrival order in both (one input partition in the runner's Spark).
"""

from __future__ import annotations

from tests.differential.cases import AMOUNTS, t
from tests.differential.spark_runner import Case

TUMBLING = "window(ts, '10 seconds')"
NUMBERS = "ts timestamp, device string, n int, temp double"

# Four devices over three batches: repeated values, NULLs, ties in temp, out-of-order times.
_READINGS = (
    ((t(1), "a", 20.0), (t(2), "b", None), (t(3), "a", 25.5), (t(14), "c", 18.0), (t(5), "b", 30.0),
     (t(4), "a", 20.0)),
    ((t(6), "a", 25.5), (t(17), "c", None), (t(8), "b", 19.5), (t(22), "a", 40.0), (t(9), "b", 30.0)),
    ((t(11), "c", 17.25), (t(12), "a", None), (t(33), "b", 22.0), (t(13), "a", 20.0)),
)

# Integers and doubles for the percentiles: 1..10 spread over batches, out of order, with NULLs.
_NUMBERS = (
    ((t(1), "a", 3, 3.5), (t(2), "a", 1, None), (t(3), "b", None, 2.0), (t(4), "a", 2, 2.0)),
    ((t(5), "a", 10, 10.0), (t(6), "b", 7, -1.5), (t(7), "a", 4, 4.0), (t(8), "a", 9, 9.25)),
    ((t(9), "a", 5, 5.0), (t(10), "a", 8, 8.0), (t(11), "b", 7, 7.0), (t(12), "a", 6, 6.0), (t(13), "a", 7, 7.0)),
)

# a's rows out of event-time order, one session across two batches; b's two rows at one time.
_OUT_OF_ORDER = (
    ((t(5), "a", 1.0), (t(3), "a", 2.0), (t(4), "a", 3.0), (t(4), "b", 1.0)),
    ((t(2), "a", 4.0), (t(6), "a", 5.0), (t(4), "b", 2.0)),
    ((t(30), "a", 6.0),),
)

# Decimal amounts and timestamps as values and ords.
_AMOUNTS = (
    ((t(1), "a", "10.50"), (t(2), "a", "-3.25"), (t(3), "b", None), (t(4), "a", "10.50")),
    ((t(5), "b", "7.00"), (t(6), "a", "99.99"), (t(7), "b", "0.01")),
)

# skewness / kurtosis: a spread group, a constant group (d: M2 = 0), a group of one value then more (c), a
# group of NULLs only (e), integers beside doubles.
_SHAPES = (
    ((t(1), "a", 3, 20.0), (t(2), "b", None, None), (t(3), "a", 1, 25.5), (t(14), "c", 4, 18.0),
     (t(5), "d", 2, 7.0), (t(5), "b", 7, 30.0), (t(4), "a", 2, 20.0), (t(6), "e", None, None)),
    ((t(6), "a", 10, 25.5), (t(17), "c", None, None), (t(8), "b", 7, 19.5), (t(7), "d", 2, 7.0),
     (t(22), "a", 4, 40.0), (t(9), "b", 1, 30.0), (t(8), "e", None, None)),
    ((t(11), "c", 9, 17.25), (t(12), "a", None, None), (t(33), "b", 5, 22.0), (t(13), "a", 8, 20.0),
     (t(9), "d", 2, 7.0), (t(28), "a", -3, -1.5)),
)

# covar / corr / regr over (n, temp): pairs with one side NULL (skipped), a constant group (d: no spread, NULL
# corr and slope, r2 1.0 where y is constant and x is not), a group of one pair (c, first batch), a group of
# NULLs only (e), a perfectly correlated group (f), integers beside doubles.
_PAIRS = (
    ((t(1), "a", 3, 20.0), (t(2), "b", None, 4.0), (t(3), "a", 1, 25.5), (t(14), "c", 4, 18.0),
     (t(5), "d", 2, 7.0), (t(5), "b", 7, 30.0), (t(4), "a", 2, None), (t(6), "e", None, None), (t(3), "f", 1, 2.5)),
    ((t(6), "a", 10, 25.5), (t(17), "c", None, 3.0), (t(8), "b", 7, 19.5), (t(7), "d", 2, 7.0),
     (t(22), "a", 4, 40.0), (t(9), "b", 1, 30.0), (t(8), "e", 5, None), (t(7), "f", 3, 6.5), (t(9), "g", 1, 5.0)),
    ((t(11), "c", 9, 17.25), (t(12), "a", None, None), (t(33), "b", 5, 22.0), (t(13), "a", 8, 20.0),
     (t(9), "d", 2, 7.0), (t(28), "a", -3, -1.5), (t(12), "f", 5, 10.5), (t(13), "g", 4, 5.0)),
)
_REGR = ("regr_count(temp, n) AS rc, regr_avgx(temp, n) AS ax, regr_avgy(temp, n) AS ay, regr_sxx(temp, n) AS sxx, "
         "regr_syy(temp, n) AS syy, regr_sxy(temp, n) AS sxy, regr_slope(temp, n) AS slope, "
         "regr_intercept(temp, n) AS icpt, regr_r2(temp, n) AS r2")

CASES: list[Case] = [
    Case(
        name="collect_list_update",
        sql="SELECT device, collect_list(temp) AS temps, size(collect_list(temp)) AS n FROM events GROUP BY device",
        output_mode="update", key=("device",), batches=_READINGS,
        why="arrival order kept across batches, NULLs skipped, a group of NULLs only an empty array",
    ),
    Case(
        name="collect_list_of_structs_and_arrays_update",
        sql="SELECT device, collect_list(struct(ts, temp)) AS readings, collect_list(array(temp, temp * 2)) AS pairs, "
            "collect_list(named_struct('t', temp, 'tags', array(device))) AS nested FROM events GROUP BY device",
        output_mode="update", key=("device",), batches=_READINGS,
        why="values Arrow cannot list (structs, arrays), in arrival order across batches; a struct with a NULL "
            "field is a value, kept",
    ),
    Case(
        name="collect_set_sorted_complete",
        sql="SELECT device, array_sort(collect_set(temp)) AS temps, size(collect_set(temp)) AS n, "
            "array_sort(collect_set(device)) AS ds FROM events GROUP BY device",
        output_mode="complete", batches=_READINGS,
        why="each value once across batches (array_sort: Spark's set order is not defined)",
    ),
    Case(
        name="max_by_min_by_complete",
        sql="SELECT device, max_by(temp, ts) AS latest, min_by(temp, ts) AS earliest, max_by(ts, temp) AS "
            "hottest_at, min_by(ts, temp) AS coldest_at FROM events GROUP BY device",
        output_mode="complete", batches=_READINGS,
        why="the value at the largest/smallest ord; NULL ords skipped; ties in temp across batches go to "
            "the later row; a NULL value at the extreme ord is NULL",
    ),
    Case(
        name="max_by_of_strings_global_unaliased_complete",
        sql="SELECT max_by(device, temp), min_by(device, temp), collect_list(device) FROM events",
        output_mode="complete", batches=_READINGS,
        why="a global aggregate, Spark's column names for the calls, strings as values",
    ),
    Case(
        name="collect_and_max_by_over_windows_append",
        sql=f"SELECT {TUMBLING} AS w, collect_list(device) AS ds, array_sort(collect_set(device)) AS dset, "
            f"max_by(device, temp) AS hottest FROM events GROUP BY {TUMBLING}",
        output_mode="append", watermark=("ts", "5 seconds"), batches=_READINGS,
        why="each window once when the watermark passes its end, its state then dropped; late rows never in it",
    ),
    Case(
        name="collect_list_over_windows_update",
        sql=f"SELECT {TUMBLING} AS w, device, collect_list(temp) AS temps, min_by(temp, ts) AS first_temp "
            f"FROM events GROUP BY {TUMBLING}, device",
        output_mode="update", key=("w", "device"), watermark=("ts", "5 seconds"), batches=_READINGS,
        why="update mode with a watermark: changed groups each batch, late rows dropped",
    ),
    Case(
        name="percentiles_complete",
        schema=NUMBERS,
        sql="SELECT device, percentile_approx(n, 0.5) AS pa, percentile_approx(n, array(0.1, 0.25, 0.9)) AS pas, "
            "percentile_approx(temp, 0.33) AS pt, percentile(n, 0.15) AS p, percentile(temp, array(0.5, 1.0)) AS "
            "ps, median(n) AS mn, median(temp) AS mt FROM events GROUP BY device",
        output_mode="complete", batches=_NUMBERS,
        why="percentile_approx gives an input value (its type), percentile and median interpolate (double)",
    ),
    Case(
        name="percentile_approx_over_windows_append",
        schema=NUMBERS,
        sql=f"SELECT {TUMBLING} AS w, percentile_approx(n, 0.5) AS pa, median(temp) AS m FROM events "
            f"GROUP BY {TUMBLING}",
        output_mode="append", watermark=("ts", "2 seconds"), batches=_NUMBERS,
        why="values kept per window until the watermark closes it",
    ),
    Case(
        name="collect_list_of_expressions_and_having_complete",
        sql="SELECT upper(device) AS d, collect_list(temp * 2) AS doubled, max_by(upper(device), temp + 1) AS top "
            "FROM events WHERE temp IS NOT NULL GROUP BY upper(device) HAVING size(collect_list(temp)) >= 2",
        output_mode="complete", batches=_READINGS,
        why="arguments that are expressions, a HAVING over a collected array",
    ),
    Case(
        name="collect_over_chained_windows_append",
        sql="SELECT window(window_time(w), '20 seconds') AS w2, array_sort(collect_list(n)) AS ns, "
            "max_by(device, n * 1000 + ascii(device)) AS top FROM (SELECT window(ts, '10 seconds') AS w, device, "
            "count(*) AS n FROM events GROUP BY window(ts, '10 seconds'), device) "
            "GROUP BY window(window_time(w), '20 seconds')",
        output_mode="append", watermark=("ts", "0 seconds"), batches=_READINGS,
        why="over what a window aggregation emits (Spark 3.4+ chains): the first operator's row order is its "
            "own, so the list is sorted and max_by's ord has no tie",
    ),
    Case(
        name="by_set_and_median_over_sessions_append",
        sql="SELECT session_window(ts, '4 seconds') AS s, device, max_by(temp, ts) AS last_t, min_by(temp, ts) AS "
            "first_t, array_sort(collect_set(temp)) AS temps, median(temp) AS m FROM events "
            "GROUP BY session_window(ts, '4 seconds'), device",
        output_mode="append", watermark=("ts", "5 seconds"), batches=_OUT_OF_ORDER,
        why="over sessions that merge across batches, rows out of event-time order (collect_list is refused "
            "there: Spark's order follows how sessions merge)",
    ),
    Case(
        name="decimals_and_timestamps_complete",
        schema=AMOUNTS,
        sql="SELECT device, collect_list(amount) AS amounts, max_by(ts, amount) AS biggest_at, min_by(amount, ts) "
            "AS first_amount, percentile_approx(amount, 0.5) AS mid, percentile(amount, 0.5) AS p, "
            "array_sort(collect_set(ts)) AS times FROM events GROUP BY device",
        output_mode="complete", batches=_AMOUNTS,
        why="decimal values and ords (a tie at 10.50 goes to the later row), percentile_approx keeping the "
            "decimal type, percentile a double, timestamps in a set",
    ),
    Case(
        name="percentile_of_strings_complete",
        schema="ts timestamp, device string, s string",
        sql="SELECT device, percentile(s, 0.5) AS p, median(s) AS m, array_sort(collect_set(s)) AS raw FROM events "
            "GROUP BY device",
        output_mode="complete",
        batches=(((t(1), "a", "1.5"), (t(2), "a", "x"), (t(3), "b", None)), ((t(4), "a", " 4 "), (t(5), "b", "2"))),
        why="percentile reads doubles: a string is cast as Spark's non-ANSI mode casts it (NULL if no number)",
    ),    Case(
        name="skewness_kurtosis_update",
        schema=NUMBERS,
        sql="SELECT device, skewness(temp) AS s, kurtosis(temp) AS k, skewness(n) AS sn, kurtosis(n * 2 + 1) AS kn, "
            "stddev(temp) AS sd FROM events GROUP BY device",
        output_mode="update", key=("device",), batches=_SHAPES,
        why="central moments merged batch by batch (Pébay); NULL for no value and for M2 = 0 (a constant "
            "group, one value), Spark's default; integers as doubles",
    ),
    Case(
        name="skewness_kurtosis_global_unaliased_complete",
        schema=NUMBERS,
        sql="SELECT skewness(temp), kurtosis(temp), kurtosis(n), count(*) FROM events",
        output_mode="complete", batches=_SHAPES,
        why="a global aggregate, Spark's column names for the calls",
    ),
    Case(
        name="skewness_kurtosis_having_complete",
        schema=NUMBERS,
        sql="SELECT device, skewness(temp) AS s, kurtosis(temp) AS k FROM events GROUP BY device "
            "HAVING kurtosis(temp) IS NULL OR skewness(temp) > -1",
        output_mode="complete", batches=_SHAPES,
        why="every group after every batch, NULL moments among them, a HAVING over the finished values",
    ),
    Case(
        name="skewness_kurtosis_over_windows_append",
        schema=NUMBERS,
        sql=f"SELECT {TUMBLING} AS w, device, skewness(temp) AS s, kurtosis(n) AS k FROM events "
            f"GROUP BY {TUMBLING}, device",
        output_mode="append", watermark=("ts", "2 seconds"), batches=_SHAPES,
        why="moments kept per window and key until the watermark closes the window",
    ),
    Case(
        name="skewness_kurtosis_over_sessions_append",
        schema=NUMBERS,
        sql="SELECT session_window(ts, '4 seconds') AS s, device, skewness(temp) AS sk, kurtosis(temp) AS k, "
            "count(*) AS rows FROM events GROUP BY session_window(ts, '4 seconds'), device",
        output_mode="append", watermark=("ts", "3 seconds"), batches=_SHAPES,
        why="sessions that merge across batches: their moments merged as the sessions are",
    ),
    Case(
        name="skewness_kurtosis_over_sliding_windows_append",
        schema=NUMBERS,
        sql="SELECT window(ts, '10 seconds', '5 seconds') AS w, skewness(n) AS sn, kurtosis(temp) AS k "
            "FROM events GROUP BY window(ts, '10 seconds', '5 seconds')",
        output_mode="append", watermark=("ts", "0 seconds"), batches=_SHAPES,
        why="each row in two windows, every device together",
    ),
    Case(
        name="mode_update",
        schema=NUMBERS,
        sql="SELECT device, mode(n) AS m, mode(temp) AS mt, mode(upper(device)) AS md FROM events GROUP BY device",
        output_mode="update", key=("device",),
        batches=(((t(1), "a", 1, 2.5), (t(2), "a", 1, 2.5), (t(3), "a", 2, 4.0), (t(4), "b", None, None)),
                 ((t(5), "a", 2, 4.0), (t(6), "a", 2, 4.0), (t(7), "b", 7, None), (t(8), "c", 3, 1.0)),
                 ((t(9), "c", 3, 1.0), (t(10), "c", 4, 5.0), (t(11), "a", 1, 2.5))),
        why="the most frequent value across batches (no tie at any batch: Spark's pick among ties is its own); "
            "NULLs skipped, a group of NULLs only NULL",
    ),
    Case(
        name="bit_and_or_xor_update",
        schema=NUMBERS,
        sql="SELECT device, bit_and(n) AS a, bit_or(n) AS o, bit_xor(n) AS x, bit_or(CAST(n AS BIGINT) * -3) AS neg "
            "FROM events GROUP BY device",
        output_mode="update", key=("device",), batches=_SHAPES,
        why="bitwise aggregates merged batch by batch, in the argument's type; NULLs skipped, a group of NULLs "
            "only NULL; negative numbers (two's complement)",
    ),
    Case(
        name="covar_corr_update",
        schema=NUMBERS,
        sql="SELECT device, covar_pop(n, temp) AS cp, covar_samp(n, temp) AS cs, corr(n, temp) AS c, "
            "corr(temp, n) AS c2, covar_samp(temp, temp) AS v, corr(n * 2, n) AS self FROM events GROUP BY device",
        output_mode="update", key=("device",), batches=_PAIRS,
        why="co-moments merged batch by batch (Chan); a pair with a NULL skipped; NULL for no pair, for a sample "
            "statistic of one pair and for a constant side's corr; integers as doubles",
    ),
    Case(
        name="regr_family_complete",
        schema=NUMBERS,
        sql=f"SELECT device, {_REGR} FROM events GROUP BY device",
        output_mode="complete", batches=_PAIRS,
        why="regr_*(y, x): the dependent variable first; each finish's NULL rules (no pair, one pair, x "
            "constant) and r2 1.0 for a constant y",
    ),
    Case(
        name="covar_corr_regr_global_unaliased_complete",
        schema=NUMBERS,
        sql="SELECT corr(n, temp), covar_pop(temp, n), covar_samp(n, temp), regr_slope(temp, n), "
            "regr_count(n, temp), count(*) FROM events",
        output_mode="complete", batches=_PAIRS,
        why="a global aggregate, Spark's column names for the two-argument calls",
    ),
    Case(
        name="corr_regr_over_windows_append",
        schema=NUMBERS,
        sql=f"SELECT {TUMBLING} AS w, device, corr(n, temp) AS c, regr_intercept(temp, n) AS i, "
            f"regr_r2(temp, n) AS r2 FROM events GROUP BY {TUMBLING}, device",
        output_mode="append", watermark=("ts", "2 seconds"), batches=_PAIRS,
        why="co-moments kept per window and key until the watermark closes the window",
    ),
    Case(
        name="covar_corr_over_sessions_append",
        schema=NUMBERS,
        sql="SELECT session_window(ts, '4 seconds') AS s, device, covar_samp(n, temp) AS cs, corr(n, temp) AS c "
            "FROM events GROUP BY session_window(ts, '4 seconds'), device",
        output_mode="append", watermark=("ts", "3 seconds"), batches=_PAIRS,
        why="sessions that merge across batches: their co-moments computed over the merged session's rows",
    ),
]

REFUSALS: list[Case] = [
    Case(name="refuse_collect_list_distinct",
         sql="SELECT device, collect_list(DISTINCT temp) AS s FROM events GROUP BY device",
         output_mode="complete", batches=_READINGS[:1]),
    Case(name="refuse_percentile_approx_out_of_range",
         sql="SELECT device, percentile_approx(temp, 1.5) AS p FROM events GROUP BY device",
         output_mode="complete", batches=_READINGS[:1]),
    Case(name="refuse_percentile_approx_zero_accuracy",
         sql="SELECT device, percentile_approx(temp, 0.5, 0) AS p FROM events GROUP BY device",
         output_mode="complete", batches=_READINGS[:1]),

]
