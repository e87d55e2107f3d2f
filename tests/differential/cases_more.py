"""More queries for the Spark differential suite: the SQL a Spark user writes that cases.py does not try yet.

Declared and run as cases.py's are (``test_spark_cases.py``); event times are ``t(seconds)`` after
2024-01-01 00:00:00 UTC. Grouped by what they exercise: aggregates over expressions and of several types,
grouping by an expression, windows with a start time, string, date and conditional functions, the shapes of a
query (ordinals, aliases, LIMIT, UNION ALL, subqueries), and what Spark refuses.
"""

from __future__ import annotations

from tests.differential.cases import _NUMBER_BATCHES, NUMBERS, READINGS, t
from tests.differential.spark_runner import Case

TUMBLING = "window(ts, '10 seconds')"

# Four devices over three batches, temperatures with NULLs, for the aggregate cases.
_READINGS = (
    ((t(1), "a", 20.0), (t(2), "B", None), (t(3), "a", 25.5), (t(14), "c", 18.0), (t(5), "B", 30.0)),
    ((t(6), "A", 21.0), (t(17), "c", None), (t(8), "b", 19.5), (t(22), "a", 40.0)),
    ((t(11), "c", 17.25), (t(12), "A", None), (t(33), "b", 22.0)),
)

# Text to take apart: CSV-ish strings, NULL, empty.
TEXTS = "ts timestamp, device string, s string"
_TEXTS = (
    ((t(1), "a", "x,y,z"), (t(2), "b", "Hello World"), (t(3), "a", None), (t(4), "c", "")),
    ((t(5), "b", "k=1;v=22"), (t(6), "a", "2024-01-02 03:04:05"), (t(7), "c", "a.b.c"),
     (t(8), "a", "ABC-123-xyz")),
)

# JSON documents as a Kafka value carries them: good, with a field of the wrong type, NULL, partial.
_JSON = (
    ((t(1), '{"d": "a", "v": 1.5, "tags": ["x", "y"]}'), (t(2), '{"d": "b", "v": "bad"}'),
     (t(12), '{"d": "a", "v": 3}')),
    ((t(3), None), (t(25), '{"d": "b", "v": 2.25, "tags": []}'), (t(14), '{"d": "a"}')),
)

# JSON arrays of objects (a batch of readings in one message): good, empty, an object, malformed, NULL, a bad field.
_JSON_ARRAYS = (
    ((t(1), "a", '[{"t": 1.5, "tag": "x"}, {"t": 2, "tag": null}]'), (t(2), "b", "[]"),
     (t(3), "b", '{"t": 1.0}'), (t(4), "a", "[1, 2, 3]")),
    ((t(5), "b", None), (t(6), "b", "[{\"t\": oops"), (t(7), "a", '[{"tag": "only"}, {"t": "bad", "tag": "y"}]')),
)

# Maps: tags by name, NULL, empty, a NULL value.
MAPS = "ts timestamp, device string, attrs map<string, double>"
_MAPS = (
    ((t(1), "a", {"x": 1.5, "y": 2.0}), (t(2), "b", None), (t(3), "a", {}), (t(4), "c", {"x": None})),
    ((t(5), "b", {"y": 4.0, "z": -1.0}), (t(6), "a", {"x": 3.0})),
)

# JSON messages whose readings vary by device (a map in the document), as an IoT payload: NULL, none, a bad value.
_JSON_READINGS = (
    ((t(1), '{"device": "a", "readings": {"temp": 21.5, "hum": 40}}'), (t(2), '{"device": "b", "readings": {}}'),
     (t(3), '{"device": "b", "readings": {"temp": 8.0, "wind": 12.5}}'), (t(4), None)),
    ((t(5), '{"device": "a", "readings": {"temp": 22.5, "hum": 42, "co2": 600}}'), (t(6), '{"device": "c"}'),
     (t(7), '{"device": "c", "readings": {"temp": "warm"}}')),
)
_READINGS_SCHEMA = "device STRING, readings MAP<STRING, DOUBLE>"

CASES: list[Case] = [
    Case(
        name="group_by_all_complete",
        sql="SELECT upper(device) AS d, count(*) AS n, max(temp) AS hottest FROM events GROUP BY ALL",
        output_mode="complete", batches=_READINGS,
        why="GROUP BY ALL: by every select item without an aggregate",
    ),
    # -- maps -------------------------------------------------------------------------------------------
    Case(
        name="map_column_explode_append",
        schema=MAPS,
        sql="SELECT device, explode(attrs) FROM events",
        output_mode="append", batches=_MAPS,
        why="explode of a map: a row per entry, Spark's columns key and value; none for NULL or empty",
    ),
    Case(
        name="map_column_explode_outer_posexplode_append",
        schema=MAPS,
        sql="SELECT device, explode_outer(attrs) AS (k, v) FROM events",
        output_mode="append", batches=_MAPS,
        why="explode_outer of a map keeps a row of NULLs for a NULL or empty map; AS (k, v) names the columns",
    ),
    Case(
        name="map_column_posexplode_and_lateral_view_append",
        schema=MAPS,
        sql="SELECT device, p, k, v FROM (SELECT device, posexplode(attrs) AS (p, k, v) FROM events) "
            "UNION ALL SELECT device, -1 AS p, key, value FROM events LATERAL VIEW OUTER explode(attrs) e",
        output_mode="append", batches=_MAPS,
        why="posexplode of a map (pos, key, value) and a LATERAL VIEW of one with Spark's column names",
    ),
    Case(
        name="posexplode_outer_of_map_and_array_append",
        schema=MAPS,
        sql="SELECT device, posexplode_outer(attrs) FROM events UNION ALL "
            "SELECT device, i, k, -1.0 AS v FROM events LATERAL VIEW OUTER posexplode(map_keys(attrs)) e AS i, k",
        output_mode="append", batches=_MAPS,
        why="posexplode_outer: pos, key and value (pos and col of an array) NULL for a NULL or empty map",
    ),
    Case(
        name="map_column_functions_append",
        schema=MAPS,
        sql="SELECT device, attrs['x'] AS x, element_at(attrs, 'y') AS y, size(attrs) AS n, "
            "map_keys(attrs) AS ks, map_values(attrs) AS vs, map_contains_key(attrs, 'x') AS has_x FROM events",
        output_mode="append", batches=_MAPS,
        why="reading a map: by key, its size (-1 for NULL), keys and values",
    ),
    Case(
        name="map_column_summed_by_key_update",
        schema=MAPS,
        sql="SELECT key, sum(value) AS total, count(*) AS n FROM (SELECT explode(attrs) FROM events) GROUP BY key",
        output_mode="update", key=("key",), batches=_MAPS,
        why="a map's entries aggregated by key across batches",
    ),
    Case(
        name="map_from_json_field_exploded_update",
        schema="ts timestamp, payload string",
        sql=f"SELECT device, metric, avg(value) AS mean, count(*) AS n FROM (SELECT e.device, "
            f"explode(e.readings) AS (metric, value) FROM (SELECT from_json(payload, '{_READINGS_SCHEMA}') AS e "
            f"FROM events)) GROUP BY device, metric",
        output_mode="update", key=("device", "metric"), batches=_JSON_READINGS,
        why="a map field of from_json's struct, through a subquery's alias, exploded and aggregated by key",
    ),
    Case(
        name="map_from_json_field_functions_and_lateral_view_append",
        schema="ts timestamp, payload string",
        sql=f"SELECT e.device, size(e.readings) AS n, e.readings['temp'] AS temp, map_keys(e.readings) AS ks, "
            f"k, v FROM (SELECT from_json(payload, '{_READINGS_SCHEMA}') AS e FROM events) "
            f"LATERAL VIEW OUTER explode(e.readings) r AS k, v",
        output_mode="append", batches=_JSON_READINGS,
        why="a from_json map field read by key, its size and keys, and a LATERAL VIEW of it over an unnamed "
            "subquery",
    ),
    # -- aggregates over expressions, of several types --------------------------------------------------
    Case(
        name="aggregate_filter_clause_and_count_if_complete",
        sql="SELECT device, count(*) FILTER (WHERE temp > 20) AS warm, sum(temp) FILTER (WHERE device = 'a') "
            "AS a_total, count_if(temp IS NULL) AS missing, sum(CASE WHEN temp > 20 THEN temp END) AS hot "
            "FROM events GROUP BY device",
        output_mode="complete", batches=_READINGS,
        why="FILTER (WHERE ...) on an aggregate, count_if, a CASE without ELSE inside sum",
    ),
    Case(
        name="stddev_variance_update",
        sql="SELECT device, stddev(temp) AS sd, stddev_pop(temp) AS sdp, variance(temp) AS v, "
            "var_pop(temp) AS vp, stddev_samp(temp) AS sds FROM events GROUP BY device",
        output_mode="update", key=("device",), batches=_READINGS,
        why="sample statistics of one value are NULL (not NaN), of none NULL; merged across batches",
    ),
    Case(
        name="min_max_of_strings_and_first_last_complete",
        sql="SELECT lower(device) AS d, min(device) AS lo, max(device) AS hi, first(temp) AS f, "
            "first(temp, true) AS f_nn, last(temp) AS l, last(temp, true) AS l_nn, min(ts) AS t0, max(ts) AS t1 "
            "FROM events GROUP BY lower(device)",
        output_mode="complete", batches=_READINGS,
        why="min/max of strings (case-sensitive order), first/last with and without ignoreNulls",
    ),
    Case(
        name="first_value_last_value_any_value_update",
        sql="SELECT device, first_value(temp) AS f, first_value(temp, true) AS f_nn, last_value(temp) AS l, "
            "last_value(temp, true) AS l_nn, any_value(temp, true) AS a_nn FROM events GROUP BY device",
        output_mode="update", key=("device",), batches=_READINGS,
        why="Spark's aliases of first and last (any_value is first), ignoreNulls as the second argument",
    ),
    Case(
        name="approx_count_distinct_and_bool_aggregates_update",
        sql="SELECT lower(device) AS d, approx_count_distinct(temp) AS distinct_temps, bool_or(temp > 25) AS any_hot, "
            "every(temp > 18) AS all_mild, some(temp IS NULL) AS any_missing, count_if(temp > 19) AS n_warm "
            "FROM events GROUP BY lower(device)",
        output_mode="update", key=("d",), batches=_READINGS,
        why="approx_count_distinct (Spark's suggestion for count(DISTINCT) on a stream) and bool_or / every / "
            "some / count_if: stream_nb refused them as unsupported aggregates",
    ),
    Case(
        name="integer_aggregates_result_types_complete",
        schema="ts timestamp, device string, i int, b bigint, f float",
        sql="SELECT device, sum(i) AS si, avg(i) AS ai, sum(b) AS sb, sum(f) AS sf, max(f) AS mf, "
            "sum(i) / count(i) AS ratio, sum(i * 2) DIV 3 AS third, bool_or(i > 2) AS any_big, "
            "bool_and(i > 0) AS all_pos FROM events GROUP BY device",
        output_mode="complete",
        batches=(
            ((t(1), "a", 2147483647, 9223372036854775807, 1.5), (t(2), "a", 1, None, None),
             (t(3), "b", -3, -5, 0.25)),
            ((t(4), "a", 2147483647, 1, 2.0), (t(5), "b", None, 7, None), (t(6), "c", None, None, None)),
        ),
        why="sum of ints is a bigint (no int wrap), sum of bigints wraps, float sums, bool_or/bool_and",
    ),
    # -- grouping by expressions ------------------------------------------------------------------------
    Case(
        name="group_by_expressions_complete",
        sql="SELECT lower(device) AS d, date_trunc('minute', ts) AS minute, cast(ts AS date) AS day, "
            "hour(ts) AS h, count(*) AS n FROM events GROUP BY lower(device), date_trunc('minute', ts), "
            "cast(ts AS date), hour(ts)",
        output_mode="complete",
        batches=(
            ((t(1), "a", 1.0), (t(61), "A", 2.0), (t(3), "A", 3.0)),
            ((t(86400 + 5), "a", 4.0), (t(3600 * 5), "b", 5.0), (t(62), "a", 6.0)),
        ),
        why="group keys that are expressions, repeated in SELECT",
    ),
    Case(
        name="group_by_ordinal_and_alias_complete",
        sql="SELECT upper(device) AS dev, temp > 20 AS warm, count(*) AS n FROM events GROUP BY 1, warm",
        output_mode="complete", batches=_READINGS,
        why="GROUP BY an ordinal and a SELECT alias (spark.sql.groupByOrdinal / groupByAliases)",
    ),
    Case(
        name="having_on_alias_and_hidden_aggregate_complete",
        sql="SELECT device, count(*) AS n FROM events GROUP BY device HAVING n > 1 AND max(temp) > 20",
        output_mode="complete", batches=_READINGS,
        why="HAVING naming a SELECT alias and an aggregate not in SELECT",
    ),
    # -- windows ----------------------------------------------------------------------------------------
    Case(
        name="window_with_start_time_append",
        sql="SELECT window(ts, '10 seconds', '10 seconds', '3 seconds') AS w, count(*) AS n FROM events "
            "GROUP BY window(ts, '10 seconds', '10 seconds', '3 seconds')",
        output_mode="append", watermark=("ts", "5 seconds"),
        batches=(
            ((t(1), "a", 1.0), (t(3), "a", 2.0), (t(12), "b", 3.0)),                   # wm 7
            ((t(2.5), "a", 4.0), (t(25), "b", 5.0), (t(14), "a", 6.0)),               # wm 20
            ((t(40), "a", 7.0),),
        ),
        why="windows offset by a start time: [-7, 3), [3, 13), [13, 23) ...",
    ),
    Case(
        name="sliding_window_with_start_time_complete",
        sql="SELECT window(ts, '10 seconds', '4 seconds', '1 second') AS w, count(*) AS n, max(temp) AS hi "
            "FROM events GROUP BY window(ts, '10 seconds', '4 seconds', '1 second')",
        output_mode="complete",
        batches=(((t(1), "a", 1.0), (t(5), "a", 2.0), (t(12), "b", 3.0)), ((t(9), "b", 4.0),)),
        why="a slide that does not divide the window, with a start time",
    ),
    Case(
        name="window_fields_in_select_and_group_complete",
        sql="SELECT window.start AS s, window.end AS e, date_format(window.start, 'HH:mm:ss') AS label, "
            "count(*) AS n FROM events GROUP BY window(ts, '10 seconds') ",
        output_mode="complete", batches=_READINGS,
        why="window.start / window.end of the unaliased window in expressions",
    ),
    Case(
        name="window_over_an_expression_of_the_time_update",
        sql="SELECT window(ts + INTERVAL 5 SECONDS, '10 seconds') AS w, lower(device) AS d, count(*) AS n "
            "FROM events WHERE temp IS NOT NULL GROUP BY window(ts + INTERVAL 5 SECONDS, '10 seconds'), "
            "lower(device)",
        output_mode="update", key=("w", "d"), watermark=("ts", "5 seconds"), batches=_READINGS,
        why="Spark windows any timestamp expression; its state is not evicted (the watermark is on ts)",
    ),
    Case(
        name="window_and_session_over_a_parsed_string_complete",
        sql="SELECT window(to_timestamp(s), '1 hour') AS w, count(*) AS n FROM events "
            "GROUP BY window(to_timestamp(s), '1 hour')",
        output_mode="complete", schema=TEXTS, batches=_TEXTS,
        why="a window over text parsed as a time: rows whose text is no time (NULL) fall in no window",
    ),
    Case(
        name="session_window_over_an_expression_complete",
        sql="SELECT device, session_window(ts - INTERVAL 1 SECOND, '3 seconds') AS s, count(*) AS n "
            "FROM events GROUP BY device, session_window(ts - INTERVAL 1 SECOND, '3 seconds')",
        output_mode="complete", batches=_READINGS,
        why="session windows over an expression of the time, merging across batches",
    ),
    # -- conditional, string and date functions ---------------------------------------------------------
    Case(
        name="conditionals_in_lists_and_patterns_append",
        sql="SELECT device, temp, if(temp > 20, 'warm', 'cold') AS a1, nullif(device, 'a') AS a2, "
            "coalesce(temp, 0.0) AS a3, device IN ('a', 'b') AS a4, device NOT IN ('a', NULL) AS a5, "
            "device LIKE 'a%' AS a6, device RLIKE '^[A-Z]$' AS a7, temp BETWEEN 19 AND 21 AS a8, "
            "device <=> 'a' AS a9, greatest(temp, 21.0) AS a10, least(temp, 21.0) AS a11, "
            "nvl2(temp, 'has', 'none') AS a12, device ILIKE 'A' AS a13 FROM events",
        output_mode="append", batches=_READINGS,
        why="NULL through IF, NULLIF, IN and NOT IN with a NULL, LIKE, RLIKE, <=>, greatest/least skip NULLs",
    ),
    Case(
        name="string_functions_append",
        schema=TEXTS,
        sql="SELECT s, concat_ws('|', device, s) AS a1, concat(device, s) AS a2, substring(s, 2, 3) AS a3, "
            "split(s, ',') AS a4, element_at(split(s, ','), 2) AS a5, split(s, ',')[0] AS a6, "
            "size(split(s, ',')) AS a7, regexp_extract(s, '([a-z]+)=([0-9]+)', 2) AS a8, upper(s) AS a9, "
            "trim(s) AS a10, reverse(s) AS a11, instr(s, 'o') AS a12, replace(s, '-', '_') AS a13, "
            "substring_index(s, '.', 2) AS a14, substring_index(s, '-', -2) AS a18, s || '!' AS a15, "
            "left(s, 2) AS a16, translate(s, 'abc', 'xyz') AS a17 FROM events",
        output_mode="append", batches=_TEXTS,
        why="string functions over NULL and empty strings; arrays from split, 0- and 1-based indexing",
    ),
    Case(
        name="time_functions_append",
        schema=TEXTS,
        sql="SELECT ts, unix_timestamp(ts) AS a1, cast(ts AS bigint) AS a2, cast(ts AS double) AS a3, "
            "from_unixtime(unix_timestamp(ts) + 3600) AS a4, ts + INTERVAL 90 MINUTES AS a5, "
            "ts - INTERVAL '5' SECOND AS a6, minute(ts) AS a7, second(ts) AS a8, year(ts) AS a9, "
            "month(ts) AS a10, timestamp_seconds(unix_timestamp(ts) + 0.5) AS a16, "
            "from_utc_timestamp(ts, 'Asia/Tokyo') AS a11, to_utc_timestamp(ts, 'Asia/Tokyo') AS a15, "
            "to_timestamp(s, 'yyyy-MM-dd HH:mm:ss') AS a12, date_format(ts, 'yyyy/MM/dd') AS a13, "
            "cast(unix_timestamp(ts) AS timestamp) AS a14 FROM events",
        output_mode="append", batches=_TEXTS,
        why="epoch seconds both ways, interval arithmetic, fields of a timestamp; from_utc_timestamp reads ts as UTC "
            "(stream_nb read it as Tokyo's wall clock: 9 hours early, not late)",
    ),
    Case(
        name="rounding_doubles_as_spark_append",
        schema=NUMBERS,
        sql="SELECT d, round(d * 1.675, 2) AS a1, round(2.675, 2) AS a2, round(1.005D, 2) AS a3, "
            "round(d / 3, 3) AS a4, round(-d * 2.5) AS a5, cast(d * 2.6 AS int) AS a6, b / 2 AS a7, "
            "n / 2 AS a8, 7 / 2 AS a9, b DIV 2 AS a10 FROM events",
        output_mode="append", batches=_NUMBER_BATCHES,
        why="round() of a double is HALF_UP on its decimal text (2.675 -> 2.68); / is a double, DIV a long",
    ),
    # -- strings beside numbers: Spark's implicit casts (DuckDB refused them, or failed the batch) ----------
    Case(
        name="strings_compared_with_numbers_append",
        schema=TEXTS,
        sql="SELECT s, s = 1 AS a1, s > 5 AS a2, ts > '2024-01-01 00:00:05' AS a3, coalesce(s, 0) AS a4, "
            "CASE WHEN s IS NULL THEN 0 ELSE s END AS a5, concat('t=', 20.5) AS a6, concat(device, 1e10) AS a7, "
            "s IN ('a.b.c', 1) AS a8, cast(true AS int) AS a9, s BETWEEN 1 AND 10 AS a10, -s AS a11 FROM events",
        output_mode="append",
        batches=_TEXTS + (((t(9), "a", "1.005"), (t(10), "b", " 12 "), (t(11), "c", "7")),),
        why="a string compared with a number is cast to the number's type, IN compares strings, arithmetic "
            "reads a double, coalesce of a string and a number is a string, a double in concat is Java's text",
    ),
    Case(
        name="string_filter_and_sum_of_string_numbers_complete",
        schema=TEXTS,
        sql="SELECT device, sum(s) AS total, count(*) AS n FROM events WHERE s > 1 OR device = 2 GROUP BY device",
        output_mode="complete",
        batches=_TEXTS + (((t(9), "a", "1.005"), (t(10), "b", " 12 "), (t(11), "c", "7")),),
        why="a WHERE comparing a string column with numbers; sum() of strings reads doubles",
    ),
    Case(
        name="decimal_division_and_arithmetic_append",
        schema="ts timestamp, device string, amount decimal(10,2), qty int",
        sql="SELECT amount, amount / 3 AS a1, amount * 1.5 AS a2, amount + 1 AS a3, amount * qty AS a4, "
            "amount / qty AS a5, cast(amount AS double) AS a6, floor(amount) AS a7, ceil(amount) AS a8, "
            "round(amount, 1) AS a9, amount % 2 AS a10, -amount AS a11, amount / 0 AS a12, abs(amount) AS a13, "
            "cast(amount AS int) AS a14, cast(amount AS string) AS a15, qty / 2 AS a16, amount / amount AS a17 "
            "FROM events",
        output_mode="append",
        batches=(((t(1), "a", 1.25, 3), (t(2), "a", 2.5, None), (t(3), "b", None, 2), (t(4), "b", 10.01, -7)),
                 ((t(5), "a", 0.1, 7), (t(6), "b", 99.99, 1), (t(7), "c", -3.33, 0))),
        why="a decimal divided by an integer or a decimal is an exact decimal at Spark's scale, rounded half up "
            "(1.25 / 3 = 0.416667; stream_nb divided as doubles: 0.4166666666666667)",
    ),
    # -- shapes of a query ------------------------------------------------------------------------------
    Case(
        name="union_all_of_two_filters_of_one_stream_append",
        sql="SELECT device, temp FROM events WHERE temp > 20 UNION ALL "
            "SELECT upper(device), temp * 10 FROM events WHERE device = 'a'",
        output_mode="append", batches=_READINGS,
        why="the same stream twice through UNION ALL: each branch's rows",
    ),
    Case(
        name="order_by_limit_complete",
        sql="SELECT device, count(*) AS n, max(temp) AS hi FROM events GROUP BY device ORDER BY hi DESC LIMIT 2",
        output_mode="complete", batches=_READINGS,
        why="ORDER BY + LIMIT over the complete table",
    ),
    Case(
        name="star_and_qualified_star_append",
        sql="SELECT e.*, temp * 2 AS twice FROM events e WHERE e.temp IS NOT NULL",
        output_mode="append", batches=_READINGS,
        why="a qualified star next to an expression",
    ),
    Case(
        name="unaliased_output_names_complete",
        sql="SELECT device, count(*), count(1), avg(temp), sum(temp * 2), max(upper(device)), "
            "count(temp) + 1, round(avg(temp), 2), max(temp) - min(temp), sum(CASE WHEN temp > 20 THEN 1 ELSE 0 END), "
            "count(*) FILTER (WHERE temp > 20), first(temp, true), mean(temp), std(temp), nvl(max(temp), 0), "
            "FLOOR(max(temp)), pow(min(temp), 2) FROM events GROUP BY device",
        output_mode="complete", batches=_READINGS,
        why="Spark names an unaliased aggregate by its text: count(1), avg(temp), sum((temp * 2)), ...",
    ),
    Case(
        name="unaliased_expression_names_append",
        sql="SELECT device, upper(device), temp + 1, temp * 2 > 40, cast(temp AS int), -temp, "
            "coalesce(temp, 0), temp IS NULL, CASE WHEN temp > 20 THEN 1 ELSE 0 END, temp / 2, NOT (temp > 20), "
            "temp > 1 AND device = 'a', upper(device) = 'A', temp IN (20.0, 21.0), device LIKE 'a%', abs(-temp), "
            "temp IS NOT NULL, if(temp > 1, 'a', 'b'), temp BETWEEN 1 AND 21, device RLIKE 'a', -1 * temp, "
            "device ILIKE 'a', to_date(ts), date_format(ts, 'HH:mm'), sqrt(temp), substring(device, 1, 1) FROM events",
        output_mode="append", batches=_READINGS,
        why="Spark names an unaliased expression by its text: operators in parentheses, strings bare, a cast "
            "of a column after the column",
    ),
    Case(
        name="explode_split_append",
        schema=TEXTS,
        sql="SELECT device, explode(split(s, ',')) AS part FROM events",
        output_mode="append", batches=_TEXTS,
        why="a generator in SELECT: one row per element",
    ),
    Case(
        name="nested_subquery_aggregate_update",
        sql="SELECT d, n * 2 AS twice, hi FROM (SELECT d, count(*) AS n, max(temp) AS hi FROM "
            "(SELECT lower(device) AS d, temp FROM events WHERE temp IS NOT NULL) GROUP BY d) WHERE n > 1",
        output_mode="update", key=("d",), batches=_READINGS,
        why="filter and projection above an aggregation in update mode",
    ),
    Case(
        name="case_over_aggregates_and_having_on_a_key_complete",
        sql="SELECT device, CASE WHEN count(*) > 1 THEN 'many' ELSE 'few' END AS how, max(temp) > 21 AS warm "
            "FROM events GROUP BY device HAVING device <> 'c'",
        output_mode="complete", batches=_READINGS,
        why="CASE over an aggregate, a comparison of one, HAVING on a grouping key",
    ),
    Case(
        name="group_by_ordinal_of_a_window_complete",
        sql=f"SELECT {TUMBLING} AS w, count(*) AS n FROM events GROUP BY 1",
        output_mode="complete", batches=_READINGS,
        why="GROUP BY 1 naming the window() of the SELECT",
    ),
    Case(
        name="explode_then_aggregate_complete",
        schema=TEXTS,
        sql="SELECT part, count(*) AS n FROM (SELECT explode(split(s, '[,.]')) AS part FROM events) GROUP BY part",
        output_mode="complete", batches=_TEXTS,
        why="a generator below an aggregation",
    ),
    Case(
        name="lateral_view_explode_append",
        schema=TEXTS,
        sql="SELECT device, part FROM events LATERAL VIEW explode(split(s, ',')) parts AS part",
        output_mode="append", batches=_TEXTS,
        why="LATERAL VIEW explode(...): one row per element, none for a NULL array",
    ),
    Case(
        name="explode_outer_posexplode_and_unnamed_generators_append",
        schema=TEXTS,
        sql="SELECT device, explode_outer(CASE WHEN s = '' THEN array() ELSE split(s, ',') END) FROM events",
        output_mode="append", batches=_TEXTS,
        why="explode_outer keeps a row (NULL) for a NULL or empty array; an unnamed generator's column is col",
    ),
    Case(
        name="posexplode_named_and_unnamed_append",
        schema=TEXTS,
        sql="SELECT device, posexplode(split(s, ',')) FROM events UNION ALL "
            "SELECT device, posexplode(split(upper(s), '-')) AS (i, part) FROM events WHERE s IS NOT NULL",
        output_mode="append", batches=_TEXTS,
        why="posexplode's two columns, pos (from 0) and col, or the names of AS (i, part)",
    ),
    Case(
        name="two_generators_in_one_select_append",
        schema=TEXTS,
        sql="SELECT device, explode(split(s, ',')) AS a, posexplode(split(s, '-')) AS (i, b) FROM events",
        output_mode="append", batches=_TEXTS,
        why="Spark 4 runs several generators in one SELECT, every combination left to right (DuckDB zips them)",
    ),
    Case(
        name="lateral_views_outer_pos_and_chained_append",
        schema=TEXTS,
        sql="SELECT e.device, p.i, p.part, c.ch FROM events e LATERAL VIEW OUTER explode(split(s, ';')) o AS pair "
            "LATERAL VIEW posexplode(split(o.pair, '=')) p AS i, part LATERAL VIEW OUTER explode(array()) c AS ch "
            "WHERE p.i < 2",
        output_mode="append", batches=_TEXTS,
        why="LATERAL VIEW OUTER keeps rows with nothing to explode; a lateral view reads the one before it; "
            "a view's columns read through its name",
    ),
    Case(
        name="constants_and_typed_literals_append",
        sql="SELECT 1 AS one, 'x' AS x, DATE '2024-01-01' AS d, device FROM events "
            "WHERE ts BETWEEN TIMESTAMP '2024-01-01 00:00:02' AND TIMESTAMP '2024-01-01 00:00:20'",
        output_mode="append", batches=_READINGS,
        why="constants, typed literals and BETWEEN on the event time",
    ),
    Case(
        name="session_window_having_append",
        sql="SELECT session_window(ts, '4 seconds') AS s, device, count(*) AS n FROM events "
            "GROUP BY session_window(ts, '4 seconds'), device HAVING count(*) >= 2",
        output_mode="append", watermark=("ts", "5 seconds"), batches=_READINGS,
        why="HAVING over sessions, emitted when the watermark closes them",
    ),
    Case(
        name="null_group_key_and_min_max_strings_update",
        schema=TEXTS,
        sql="SELECT s, count(*) AS n, min(device) AS lo, max(device) AS hi FROM events GROUP BY s",
        output_mode="update", key=("s",), batches=_TEXTS + (((t(9), "z", None), (t(10), "A", "")),),
        why="NULL and the empty string are two groups; min/max of strings across batches",
    ),
    Case(
        name="json_fields_and_json_tuple_alias_append",
        schema="ts timestamp, payload string",
        sql="SELECT get_json_object(payload, '$.d') AS d, get_json_object(payload, '$.v') AS v, "
            "size(from_json(payload, 'tags ARRAY<STRING>').tags) AS ntags, "
            "from_json(payload, 'tags ARRAY<STRING>').tags[0] AS first_tag, json_tuple(payload, 'd') AS jt "
            "FROM events",
        output_mode="append", batches=_JSON,
        why="json_tuple with one key under an alias takes the alias (stream_nb named it c0)",
    ),
    Case(
        name="inline_of_a_json_array_append",
        schema="ts timestamp, device string, payload string",
        sql="SELECT device, inline(from_json(payload, 'array<struct<t: double, tag: string>>')) FROM events "
            "UNION ALL SELECT device, inline_outer(from_json(payload, 'ARRAY<STRUCT<t: DOUBLE, tag: STRING>>')) "
            "FROM events WHERE device = 'b'",
        output_mode="append", batches=_JSON_ARRAYS,
        why="inline: a row per struct, a column per field; inline_outer a row of NULLs for a NULL, empty or "
            "malformed array; from_json with an array schema",
    ),
    Case(
        name="from_json_array_schema_append",
        schema="ts timestamp, device string, payload string",
        sql="SELECT device, from_json(payload, 'array<int>') AS xs, "
            "size(from_json(payload, 'array<struct<t: double>>')) AS n FROM events",
        output_mode="append", batches=_JSON_ARRAYS,
        why="from_json of a top-level JSON array: NULL for an object, malformed text or NULL",
    ),
    Case(
        name="json_parsed_then_window_update",
        schema="ts timestamp, payload string",
        sql="SELECT window(ts, '10 seconds') AS w, j.d AS d, sum(j.v) AS total, count(*) AS n FROM "
            "(SELECT ts, from_json(payload, 'd STRING, v DOUBLE, tags ARRAY<STRING>') AS j FROM events) "
            "GROUP BY window(ts, '10 seconds'), j.d",
        output_mode="update", key=("w", "d"), watermark=("ts", "5 seconds"), batches=_JSON,
        why="a struct parsed from JSON, its fields as grouping key and aggregate argument",
    ),
    Case(
        name="stream_distinct_with_expressions_complete",
        schema=READINGS,
        sql="SELECT DISTINCT lower(device) AS d, reading % 2 AS parity FROM events",
        output_mode="complete",
        batches=(((t(1), "a", 1), (t(2), "A", 3), (t(3), "b", None)), ((t(4), "b", 2), (t(5), "B", None))),
        why="DISTINCT over expressions, NULL a value of its own",
    ),
]

REFUSALS: list[Case] = [
    Case(name="refuse_limit_in_update_mode",
         sql="SELECT device, count(*) AS n FROM events GROUP BY device LIMIT 2", output_mode="update",
         batches=_READINGS[:1]),
    Case(name="refuse_non_time_window_function", sql="SELECT device, row_number() OVER (PARTITION BY device "
         "ORDER BY ts) AS r FROM events", output_mode="append", batches=_READINGS[:1]),
    Case(name="refuse_sum_distinct", sql="SELECT device, sum(DISTINCT temp) AS s FROM events GROUP BY device",
         output_mode="complete", batches=_READINGS[:1]),
    Case(name="refuse_aggregate_of_aggregate_in_complete",
         sql="SELECT count(*) AS groups FROM (SELECT device, count(*) AS n FROM events GROUP BY device)",
         output_mode="complete", batches=_READINGS[:1]),
    Case(name="refuse_intersect_of_streams",
         sql="SELECT device FROM events WHERE temp > 20 INTERSECT SELECT device FROM events",
         output_mode="append", batches=_READINGS[:1]),
    Case(name="refuse_sort_without_aggregation_in_complete",
         sql="SELECT device FROM events ORDER BY device", output_mode="complete", batches=_READINGS[:1]),
    Case(name="refuse_rollup_in_append_without_watermark",
         sql="SELECT device, count(*) AS n FROM events GROUP BY ROLLUP(device)", output_mode="append",
         batches=_READINGS[:1]),
]
