"""Spark's answers for the functions and aggregates the differential suite found stream_nb answering otherwise
(tests/differential/cases_more.py runs each against PySpark; these pin the answers without a JVM)."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import stream_nb as sn

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def run(sql: str, rows: list[dict], mode: str | None = None) -> pd.DataFrame:
    src = sn.sources.memory("ts timestamp, device string, temp double, s string")
    q = sn.start(sql, sources={"events": src}, output_mode=mode, trigger="manual")
    try:
        src.add_data(rows)
        q.process_all_available()
        assert q.exception is None, q.exception
        return q.result
    finally:
        q.stop()


def row(seconds: float, device: str = "a", temp: float | None = 1.0, s: str | None = None) -> dict:
    return {"ts": T0 + timedelta(seconds=seconds), "device": device, "temp": temp, "s": s}


def test_round_of_a_double_rounds_half_up_its_decimal_text_as_spark():
    result = run("SELECT round(temp, 2) AS r, round(temp * 100, -1) AS tens, round(temp) AS whole FROM events",
                 [row(1, temp=1.005), row(2, temp=2.675), row(3, temp=-1.005), row(4, temp=None),
                  row(5, temp=float("nan"))])
    assert result["r"].tolist()[:3] == [1.01, 2.68, -1.01]  # DuckDB: 1.0, 2.67, -1.0
    assert result["tens"].tolist()[:3] == [100.0, 270.0, -100.0]
    assert result["whole"].tolist()[:3] == [1.0, 3.0, -1.0]
    assert result["r"].isna().tolist()[3:] == [True, True]


def test_a_timestamp_cast_to_a_number_is_its_epoch_seconds_and_back():
    result = run("SELECT cast(ts AS bigint) AS l, cast(ts AS double) AS d, cast(cast(ts AS bigint) AS timestamp) "
                 "AS back, cast(temp AS timestamp) AS t FROM events", [row(1.5, temp=2.25)])
    assert result.iloc[0].tolist()[:2] == [1704067201, 1704067201.5]  # whole seconds round down
    assert result["back"].iloc[0] == pd.Timestamp(T0 + timedelta(seconds=1))
    assert result["t"].iloc[0] == pd.Timestamp("1970-01-01 00:00:02.25", tz="UTC")


def test_from_utc_timestamp_shows_a_utc_time_in_the_zone():
    result = run("SELECT from_utc_timestamp(ts, 'Asia/Tokyo') AS tokyo, to_utc_timestamp(ts, 'Asia/Tokyo') AS utc "
                 "FROM events", [row(1)])
    assert result["tokyo"].iloc[0] == pd.Timestamp(T0 + timedelta(hours=9, seconds=1))  # was 9 hours early
    assert result["utc"].iloc[0] == pd.Timestamp(T0 - timedelta(hours=9) + timedelta(seconds=1))


def test_size_of_null_is_minus_one_and_substring_index_and_timestamp_seconds_exist():
    result = run("SELECT size(split(s, ',')) AS n, substring_index(s, ',', 2) AS head, "
                 "substring_index(s, ',', -1) AS tail, timestamp_seconds(1.5) AS t FROM events",
                 [row(1, s="x,y,z"), row(2, s=None)])
    assert result["n"].tolist() == [3, -1]
    assert result["head"].tolist()[0] == "x,y" and result["tail"].tolist()[0] == "z"
    assert result["t"].iloc[0] == pd.Timestamp("1970-01-01 00:00:01.5", tz="UTC")


def test_spark_aggregates_that_are_other_aggregates():
    result = run("SELECT device, count(*) FILTER (WHERE temp > 1) AS warm, count_if(temp IS NULL) AS missing, "
                 "bool_or(temp > 2) AS any_hot, every(temp > 0) AS all_positive, approx_count_distinct(temp) AS k, "
                 "mean(temp) AS m, sum(temp) FILTER (WHERE temp < 3) AS low, try_sum(temp) AS ts, try_avg(temp) AS ta "
                 "FROM events GROUP BY device",
                 [row(1, temp=1.0), row(2, temp=2.5), row(3, temp=None), row(4, temp=2.5), row(5, "b", 0.5)],
                 mode="complete").sort_values("device")
    assert result.to_dict("records") == [
        {"device": "a", "warm": 2, "missing": 1, "any_hot": True, "all_positive": True, "k": 2, "m": 2.0,
         "low": 6.0, "ts": 6.0, "ta": 2.0},
        {"device": "b", "warm": 0, "missing": 0, "any_hot": False, "all_positive": True, "k": 1, "m": 0.5,
         "low": 0.5, "ts": 0.5, "ta": 0.5},
    ]


@pytest.mark.parametrize(("item", "name"), [
    ("sum(temp * 2 + 1)", "sum(((temp * 2) + 1))"),
    ("temp > 1 AND device = 'a'", "((temp > 1) AND (device = a))"),
    ("cast(temp AS int)", "temp"),
    ("-temp", "(- temp)"),
    ("count(*) FILTER (WHERE temp > 20)", "count(1) FILTER (WHERE (temp > 20))"),
    ("first(temp, true)", "first(temp)"),
    ("nvl(temp, 0)", "nvl(temp, 0)"),
    ("device LIKE 'a%'", "device LIKE a%"),
])
def test_an_unaliased_item_is_named_as_spark_names_it(item, name):
    result = run(f"SELECT {item} FROM events GROUP BY device, temp", [row(1)], mode="complete")
    assert list(result.columns) == [name]


def test_strings_beside_numbers_are_cast_as_spark_casts_them():
    result = run("SELECT s = 1 AS eq, s > 5 AS gt, s IN (7, 1) AS listed, coalesce(s, 0) AS filled, s + 1 AS plus, "
                 "concat(device, 1e10) AS text FROM events",
                 [row(1, s="1.005"), row(2, s="7"), row(3, s="x"), row(4, s=None), row(5, s=" 12 ")])
    assert result["eq"].tolist() == [True, False, None, None, False]  # '1.005' as an int is 1
    assert result["gt"].tolist() == [False, True, None, None, True]  # ' 12 ' is 12
    assert result["listed"].tolist() == [False, True, False, None, False]  # compared as strings
    assert result["filled"].tolist() == ["1.005", "7", "x", "0", " 12 "]
    assert result["plus"].tolist()[:2] == [2.005, 8.0]
    assert result["text"].tolist()[0] == "a1.0E10"


def test_sum_of_a_string_column_reads_doubles():
    result = run("SELECT device, sum(s) AS total FROM events GROUP BY device",
                 [row(1, s="1.5"), row(2, s="x"), row(3, s=" 2 ")], mode="complete")
    assert result.to_dict("records") == [{"device": "a", "total": 3.5}]


def test_a_decimal_divided_is_an_exact_decimal_at_sparks_scale():
    from decimal import Decimal

    src = sn.sources.memory("amount decimal(10,2), qty int")
    q = sn.start("SELECT amount / 3 AS third, amount / qty AS each, amount / 0 AS none FROM events",
                 sources={"events": src}, trigger="manual")
    try:
        src.add_data([{"amount": Decimal("1.25"), "qty": 3}, {"amount": Decimal("10.01"), "qty": -7}])
        q.process_all_available()
        rows = q.result.to_dict("records")
    finally:
        q.stop()
    # decimal(14,6) and decimal(23,13), rounded half up; DuckDB divided as doubles (0.4166666666666667)
    assert [r["third"] for r in rows] == [Decimal("0.416667"), Decimal("3.336667")]
    assert [r["each"] for r in rows] == [Decimal("0.4166666666667"), Decimal("-1.4300000000000")]
    assert all(r["none"] is None for r in rows)


def test_a_number_written_with_a_point_divides_and_multiplies_as_sparks_decimal():
    """0.5 is decimal(1,1) in Spark, so i / 0.5 is an exact decimal(17,6), not a double (PySpark 4's answers)."""
    from decimal import Decimal

    src = sn.sources.memory("i int")
    q = sn.start("SELECT i / 0.5 AS half, i / 0.3 AS third, i * 0.15 AS part, round(i * 0.15, 1) AS rounded, "
                 "12.50 / i AS back FROM events", sources={"events": src}, trigger="manual")
    try:
        src.add_data([{"i": 3}, {"i": -7}])
        q.process_all_available()
        rows = [tuple(r) for r in q.result.itertuples(index=False)]
    finally:
        q.stop()
    assert rows == [(Decimal("6.000000"), Decimal("10.000000"), Decimal("0.45"), Decimal("0.5"),
                     Decimal("4.1666666666667")),
                    (Decimal("-14.000000"), Decimal("-23.333333"), Decimal("-1.05"), Decimal("-1.1"),
                     Decimal("-1.7857142857143"))]


def test_split_with_a_limit_keeps_the_rest_in_its_last_part_as_spark():
    result = run("SELECT split(s, ',', 2) AS two, split(s, ',', 1) AS one, split(s, '[,;]', -1) AS every, "
                 "split(s, ',', 0) AS zero FROM events", [row(1, s="a,b;c,,"), row(2, s=None)])
    first = result.iloc[0]
    assert [list(first[c]) for c in ("two", "one", "every", "zero")] == [
        ["a", "b;c,,"], ["a,b;c,,"], ["a", "b", "c", "", ""], ["a", "b;c", "", ""]]
    assert result.iloc[1].isna().all()


def test_a_doubled_quote_in_a_string_is_a_quote_as_spark_reads_it():
    result = run("""SELECT 'it''s' AS a, 'a' 'b' AS b, 'x\\'y' AS c, "it's" AS d FROM events""", [row(1)])
    assert result.iloc[0].tolist() == ["it's", "ab", "x'y", "it's"]


def test_higher_order_functions_index_from_zero_and_pad_with_null_as_spark():
    """transform's and filter's lambda index counts from 0 (DuckDB's from 1); forall is three-valued;
    zip_with and arrays_zip pad the shorter array with NULL; arrays_zip names fields after its arguments."""
    result = run("SELECT transform(split(s, ','), (x, i) -> concat(x, i)) AS t, "
                 "filter(split(s, ','), (x, i) -> i > 0) AS f, forall(array(1, NULL), x -> x > 0) AS fa, "
                 "forall(array(1, NULL), x -> x > 1) AS fb, zip_with(split(s, ','), array(1), (a, b) -> concat(a, b)) AS z, "
                 "arrays_zip(split(s, ','), array(7)) AS az, get(split(s, ','), -1) AS g, "
                 "reverse(split(s, ',')) AS r FROM events", [row(1, s="a,b")])
    first = result.iloc[0]
    assert list(first.t) == ["a0", "b1"] and list(first.f) == ["b"]
    assert first.fa is None or pd.isna(first.fa)
    assert not first.fb
    assert list(first.z) == ["a1", None] and list(first.r) == ["b", "a"] and pd.isna(first.g)
    assert [dict(x) for x in first.az] == [{"0": "a", "1": 7}, {"0": "b", "1": None}]  # fields: positions


def test_subtracting_an_interval_of_several_units_subtracts_all_of_them():
    result = run("SELECT ts - INTERVAL 1 HOUR 30 MINUTES AS a, ts - INTERVAL 1 DAY 2 HOURS AS b, "
                 "ts + -INTERVAL 1 MINUTE 30 SECONDS AS c, ts - INTERVAL 2 DAYS 1 SECOND AS d FROM events",
                 [row(12 * 3600)])
    noon = T0 + timedelta(hours=12)
    assert [result[c][0].to_pydatetime() for c in "abcd"] == [
        noon - timedelta(hours=1, minutes=30), noon - timedelta(days=1, hours=2),
        noon - timedelta(minutes=1, seconds=30), noon - timedelta(days=2, seconds=1)]


def test_like_escapes_with_a_backslash_by_default_as_spark():
    result = run(r"SELECT s, s LIKE 'a\\%' AS pct, s LIKE 'a\\_b%' AS under, s LIKE 'x!%' ESCAPE '!' AS bang "
                 "FROM events", [row(1, s="a%"), row(2, s="a_b%c"), row(3, s="ab"), row(4, s="x%")])
    assert result[["pct", "under", "bang"]].values.tolist() == [
        [True, False, False], [False, True, False], [False, False, False], [False, False, True]]


def test_sha2_of_224_384_and_512_bits_and_null_for_another_length():
    result = run("SELECT sha2(s, 512) AS a, sha2(s, 384) AS b, sha2(s, 224) AS c, sha2(s, 256) AS d, "
                 "sha2(s, 100) AS e FROM events", [row(1, s="a")])
    assert [result[c][0][:8] for c in "abcd"] == ["1f40fc92", "54a59b9f", "abd37534", "ca978112"]
    assert result["e"].isna().all()


def test_date_trunc_takes_sparks_short_unit_names():
    result = run("SELECT date_trunc('MM', ts) AS m, date_trunc('YY', ts) AS y, date_trunc('DD', ts) AS d, "
                 "date_trunc('MON', ts) AS mon FROM events", [row(135 * 86400 + 3600)])
    assert [result[c][0].isoformat() for c in ("m", "y", "d", "mon")] == [
        "2024-05-01T00:00:00+00:00", "2024-01-01T00:00:00+00:00", "2024-05-15T00:00:00+00:00",
        "2024-05-01T00:00:00+00:00"]


def test_current_date_unaliased_is_named_as_spark_names_it_and_cardinality_of_null_is_minus_one():
    result = run("SELECT current_date(), cardinality(split(s, ',')) AS n FROM events", [row(1, s="a,b"), row(2)])
    assert list(result.columns) == ["current_date()", "n"]
    assert result["n"].tolist() == [2, -1]


def test_zone_letters_of_a_date_pattern_write_utc_as_spark_and_read_offsets_or_z():
    result = run("SELECT date_format(ts, \"yyyy-MM-dd'T'HH:mm:ssXXX\") AS x, date_format(ts, 'HH:mm Z') AS z, "
                 "date_format(ts, 'HH:mm z') AS name, to_timestamp(s, \"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\") AS t, "
                 "unix_timestamp(s, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\") AS u FROM events",
                 [row(30, s="2024-01-01T10:00:00.123+02:00"), row(31, s="2024-01-01T10:00:00.123Z")])
    assert result[["x", "z", "name"]].values.tolist()[0] == ["2024-01-01T00:00:30Z", "00:00 +0000", "00:00 UTC"]
    assert [t.isoformat() for t in result["t"]] == ["2024-01-01T08:00:00.123000+00:00",
                                                     "2024-01-01T10:00:00.123000+00:00"]
    assert result["u"].tolist() == [1704096000, 1704103200]


def arrays(sql: str, rows: list[dict]) -> list[dict]:
    src = sn.sources.memory("i int, x double, a array<int>")
    q = sn.start(sql, sources={"s": src}, trigger="manual")
    try:
        src.add_data(rows)
        q.step()
        return q.sink.table().to_pylist()
    finally:
        q.stop()


def test_array_functions_as_spark_finish_of_aggregate_and_no_element_below_index_zero():
    rows = arrays("SELECT aggregate(a, 0, (acc, x) -> acc + x, acc -> acc * 10) AS total, a[i] AS at, "
                  "array(10, 20, 30)[i + 3] AS shifted FROM s", [{"i": -2, "x": 0.0, "a": [1, 2, 3]},
                                                                  {"i": 1, "x": 0.0, "a": [1, 2, 3]}])
    assert rows == [{"total": 60, "at": None, "shifted": 20}, {"total": 60, "at": 2, "shifted": None}]
    with pytest.raises(sn.StreamSQLError, match="array_sort with a comparator"):
        arrays("SELECT array_sort(a, (p, q) -> q - p) AS s FROM s", [])


def test_bround_of_a_double_is_half_even_on_its_decimal_text_and_a_bad_make_timestamp_is_null():
    rows = arrays("SELECT bround(x, 2) AS b, make_timestamp(2024, 13, 1, 0, 0, 0) AS bad, "
                  "make_timestamp(2024, 2, 30, 0, 0, 0) AS feb30 FROM s", [{"i": 0, "x": 1.015, "a": []}])
    assert rows == [{"b": 1.02, "bad": None, "feb30": None}]


def test_a_product_of_decimals_has_sparks_wider_type_and_does_not_overflow():
    from decimal import Decimal

    src = sn.sources.memory("v double, i int, d decimal(10,2)")
    q = sn.start("SELECT cast(v AS decimal(10,2)) * cast(v AS decimal(10,2)) AS a, "
                 "cast(i AS decimal(10,0)) * 1000000000 AS b, d * 3 AS c FROM s", sources={"s": src},
                 trigger="manual")
    src.add_data([{"v": 1e7, "i": 2147483647, "d": Decimal("1.25")}])
    q.step()
    assert q.sink.table().to_pylist() == [{"a": Decimal("100000000000000.0000"), "b": Decimal(2147483647000000000),
                                           "c": Decimal("3.75")}]
    assert [str(t) for t in q.schema.types] == ["decimal128(21, 4)", "decimal128(21, 0)", "decimal128(12, 2)"]
    q.stop()


def test_group_by_all_groups_by_every_item_without_an_aggregate():
    result = run("SELECT window(ts, '10 seconds') AS w, upper(device) AS d, count(*) AS n FROM events GROUP BY ALL",
                 [row(1), row(2, device="b"), row(12)], mode="update")
    assert sorted((r["w"]["start"].second, r["d"], r["n"]) for r in result.to_dict("records")) == [
        (0, "A", 1), (0, "B", 1), (10, "A", 1)]
    assert run("SELECT count(*) AS n FROM events GROUP BY ALL", [row(1), row(2)], mode="complete")["n"].tolist() == [2]


def test_element_at_counts_from_the_end_below_zero_while_a_subscript_gives_null():
    rows = arrays("SELECT element_at(a, i) AS at, a[i] AS sub FROM s", [{"i": -1, "x": 0.0, "a": [1, 2, 3]}])
    assert rows == [{"at": 3, "sub": None}]
