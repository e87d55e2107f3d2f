"""Spark's values for its scalar functions, pinned without a JVM: each answer here is what PySpark gave for the
same expression over the same rows (tests/differential/cases_functions.py runs them against PySpark)."""

from datetime import UTC, datetime

import pytest

import stream_nb as sn
from stream_nb.engine.spark_macros import spark_conv
from tests.differential.spark_runner import close, value

ROWS = [
    {"ts": datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC), "k": "straße", "v": 1.5, "i": 5},
    {"ts": None, "k": None, "v": None, "i": None},
    {"ts": datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "k": "", "v": -2.5, "i": -3},
    {"ts": datetime(2024, 3, 31, 1, 30, tzinfo=UTC), "k": "İstanbul ÀÉ ǅ", "v": float("nan"), "i": 0},
    {"ts": datetime(2024, 2, 29, 12, 0, tzinfo=UTC), "k": "a,b;c:d", "v": 0.0, "i": 2147483647},
    {"ts": datetime(2024, 10, 27, 23, 0, tzinfo=UTC), "k": "Hello World", "v": 1234.5678, "i": -2147483648},
]


def values(expression: str) -> list:
    src = sn.sources.memory("ts timestamp, k string, v double, i int")
    q = sn.start(f"SELECT {expression} AS x FROM s", sources={"s": src}, output_mode="append", trigger="manual")
    try:
        src.add_data(ROWS)
        q.process_all_available()
        assert q.exception is None, q.exception
        return [value(x) for x in q.result["x"]]  # NaN as None, arrays as tuples
    finally:
        q.stop()


SPARK = {
    "upper(k)": ["STRASSE", None, "", "İSTANBUL ÀÉ Ǆ", "A,B;C:D", "HELLO WORLD"],
    "lower(k)": ["straße", None, "", "i̇stanbul àé ǆ", "a,b;c:d", "hello world"],
    "lower(upper(k))": ["straße", None, "", "i̇stanbul àé ǆ", "a,b;c:d", "hello world"],
    "lower('ΟΔΟΣ ΣΑ Σ')": ["οδος σα σ"] * 6,
    "upper('ﬁ ŉ')": ["FI ʼN"] * 6,
    "isnan(v)": [False, False, False, True, False, False],
    "sign(v)": [1.0, None, -1.0, None, 0.0, 1.0],
    "ceil(v)": [2, None, -2, 0, 0, 1235],
    "ln(v)": [0.4054651081081644, None, None, None, None, 7.118476228297786],
    "nanvl(v, 0.0)": [1.5, None, -2.5, 0.0, 0.0, 1234.5678],
    "try_add(i, i)": [10, None, -6, 0, None, None],
    "octet_length(k)": [7, None, 0, 17, 7, 11],
    "btrim(k, 'sae')": ["traß", None, "", "İstanbul ÀÉ ǅ", ",b;c:d", "Hello World"],
    "regexp_substr(k, 's')": ["s", None, None, "s", None, None],
    "width_bucket(v, 0, 10, 5)": [1, None, 0, None, 1, 6],
    "zeroifnull(v)": [1.5, 0.0, -2.5, None, 0.0, 1234.5678],
    "crc32(k)": [2285851341, None, 0, 2706381646, 570165422, 1243066710],
    # %f rounds half up on the double's shortest digits, as Java's Formatter (printf: half even on its bits)
    "format_string('%.0f|%.1f|%+.2f|%08.3f', v, v / 4, v * -0.001, v / 1000)":
        ["2|0.4|-0.00|0000.002", "|n|nu|     nul", "-3|-0.6|+0.00|-000.003",
         "NaN|NaN|NaN|     NaN", "0|0.0|-0.00|0000.000", "1235|308.6|-1.23|0001.235"],
    "printf('%.2f', v + 1.125)": ["2.63", "nu", "-1.38", "NaN", "1.13", "1235.69"],
    # Spark 4's three-letter names; java.net.URLEncoder / URLDecoder ('+' for a space); regexp is rlike
    "dayname(ts)": ["Mon", None, "Sun", "Sun", "Thu", "Sun"],
    "monthname(ts)": ["Jan", None, "Dec", "Mar", "Feb", "Oct"],
    "url_encode(k)": ["stra%C3%9Fe", None, "", "%C4%B0stanbul+%C3%80%C3%89+%C7%85", "a%2Cb%3Bc%3Ad", "Hello+World"],
    "url_decode(concat('a+b%2A', coalesce(k, '')))": ["a b*straße", "a b*", "a b*", "a b*İstanbul ÀÉ ǅ",
                                                      "a b*a,b;c:d", "a b*Hello World"],
    "regexp(k, 's')": [True, None, False, True, False, False],
    "regexp_instr(k, 's')": [1, None, 0, 2, 0, 0],
    # shifts as Java's: the count masked to the width, the bits shifted out dropped (DuckDB raised)
    "shiftleft(i, 2)": [20, None, -12, 0, -4, 0],
    "shiftright(i, 33)": [2, None, -2, 0, 1073741823, -1073741824],
    "shiftrightunsigned(i, 28)": [0, None, 15, 0, 7, 8],
    "i >>> 28": [0, None, 15, 0, 7, 8],
    # words split at spaces only, each title-cased as ICU (ǅ stays ǅ; DuckDB gave Ǆ), the rest lower-cased
    "initcap(concat(k, ' ßa'))": ["Straße Ssa", None, " Ssa", "İstanbul Àé ǅ Ssa", "A,b;c:d Ssa", "Hello World Ssa"],
    "shiftleft(cast(i AS bigint), 40)": [5497558138880, None, -3298534883328, 0, -1099511627776, 0],
    # Spark's Murmur3 (seed 42, each argument seeding the next; a NULL leaves the seed) and its XXH64
    "hash(k)": [-1357798123, 42, 142593372, 393837056, 812377649, 352365215],
    "hash(k, i, v)": [474566194, 42, -1795699766, -1838509165, -1614151595, -1741856854],
    "hash(ts, NULL, i)": [250248061, 42, 1837783593, -1944639490, -6609435, -556912156],
    "xxhash64(k, ts)": [-3522689868633711108, 42, 523109070875160157, -5928975893524761462, 6377871507634210384,
                        1869413430923607861],
    "xxhash64(v)": [7738255526519901366, 42, -2274979855732426304, -3127944061524951246, -5252525462095825812,
                    -7973930585960830063],
    "xxhash64(i, cast(v AS float))": [-1900793273200720478, 42, -647727413230277163, -5731650645614006089,
                                      365322827416530228, 8838536912310041393],
    "format_number(v, 2)": ["1.50", None, "-2.50", "NaN", "0.00", "1,234.57"],
    "conv(cast(i AS string), 10, 16)": ["5", None, "FFFFFFFFFFFFFFFD", "0", "7FFFFFFF", "FFFFFFFF80000000"],
    "base64(k)": ["c3RyYcOfZQ==", None, "", "xLBzdGFuYnVsIMOAw4kgx4U=", "YSxiO2M6ZA==", "SGVsbG8gV29ybGQ="],
    "months_between(ts, '2023-11-15 10:00:00')": [1.53494661, None, 1.53494586, 4.5047043, 3.45430108,
                                                  11.40456989],
    "timestampdiff(HOUR, ts, to_timestamp('2024-06-01'))": [3647, None, 3648, 1486, 2220, -3575],
    "extract(dayofweek FROM ts)": [2, None, 1, 1, 5, 1],
    "char(i)": ["\x05", None, "", "\x00", "ÿ", ""],
    "current_timezone()": ["UTC"] * 6,
    "isnull(k)": [False, True, False, False, False, False],
    "regexp_replace(k, '(a)', '<$1>')": ["str<a>ße", None, "", "İst<a>nbul ÀÉ ǅ", "<a>,b;c:d", "Hello World"],
    "regexp_replace(k, 'a', '\\\\$')": ["str$ße", None, "", "İst$nbul ÀÉ ǅ", "$,b;c:d", "Hello World"],
    "bit_count(i)": [2, None, 63, 0, 31, 33],
    "array_position(array(3, 2, 1), i)": [0, None, 0, 0, 0, 0],
    "find_in_set('b', k)": [0, None, 0, 0, 0, 0],
    "quote(k)": ["'straße'", None, "''", "'İstanbul ÀÉ ǅ'", "'a,b;c:d'", "'Hello World'"],
    "format_string('%s=%d', k, i)": ["straße=5", "null=null", "=-3", "İstanbul ÀÉ ǅ=0", "a,b;c:d=2147483647",
                                     "Hello World=-2147483648"],
    "printf('%.2f', v)": ["1.50", "nu", "-2.50", "NaN", "0.00", "1234.57"],
    "parse_url(concat('http://u@h.com:80/p?a=', k, '#f'), 'QUERY', 'a')": ["straße", None, "", None, "a,b;c:d", None],
    "parse_url(concat('https://', k, '/x'), 'HOST')": [None, None, None, None, None, None],
    "soundex(k)": ["S360", None, "", "İstanbul ÀÉ ǅ", "A123", "H464"],
    "mask(k)": ["xxxxxx", None, "", "Xxxxxxxx XX ǅ", "x,x;x:x", "Xxxxx Xxxxx"],
    "cast(i AS float) / 3": [1.6666666666666667, None, -1.0, 0.0, 715827882.3333334, -715827882.6666666],
}


@pytest.mark.parametrize("expression", list(SPARK))
def test_a_function_gives_sparks_values(expression):
    got = values(expression)
    assert len(got) == len(SPARK[expression]) and all(map(close, got, SPARK[expression])), got


@pytest.mark.parametrize(("expression", "spark"), [
    ("array_distinct(array(v, v, 1.0))", [[1.5, 1.0], [None, 1.0], [-2.5, 1.0]]),
    ("array_except(array(1, 2, 2, 3), array(3))", [[1, 2]] * 3),
    ("array_remove(array(1, NULL, 1), 1)", [[None]] * 3),
    ("array_union(array(1, 2, NULL), array(2, 3, NULL))", [[1, 2, None, 3]] * 3),
    ("sequence(1, i % 5)", [[1, 0], None, [1, 0, -1, -2, -3]]),
    ("exists(array(1, NULL), x -> x > 1)", [None] * 3),
    ("array_repeat(k, 2)", [["straße", "straße"], [None, None], ["", ""]]),
    ("split(k, '')", [["s", "t", "r", "a", "ß", "e"], None, [""]]),  # '' is one empty part ([] in DuckDB)
    ("sequence(to_date('2024-01-03'), to_date('2024-01-01'))",  # dates a day apart, down too (Spark's)
     [[datetime(2024, 1, day).date() for day in (3, 2, 1)]] * 3),
    ("transform(array(k, 'ß'), x -> upper(x))", [["STRASSE", "SS"], [None, "SS"], ["", "SS"]]),  # Java's, in a lambda
    # the map higher-order functions DuckDB lacks, over the map's entries
    ("map_keys(map_filter(map('a', i, 'b', 1), (k, v) -> v > 1))", [["a"], [], []]),
    ("map_values(transform_values(map('a', v), (k, x) -> x * 2))", [[3.0], [None], [-5.0]]),
    ("map_keys(transform_keys(map(coalesce(k, 'z'), 1), (x, y) -> concat(x, '!')))", [["straße!"], ["z!"], ["!"]]),
])
def test_an_array_function_gives_sparks_values(expression, spark):
    got = values(expression)[:3]
    assert [None if a is None else list(a) for a in got] == spark, got


def test_a_function_spark_computes_otherwise_is_refused_by_name():
    for expression, said in (("hash(array(i))", r"hash\(\) of ARRAY\(s\.i\), of type array<int>, is not supported"),
                             ("xxhash64(k, struct(i))", "xxhash64.* of type struct<i: int>, is not supported"),
                             ("monotonically_increasing_id()", "not supported with streaming queries")):
        with pytest.raises(sn.StreamSQLError, match=said):
            values(expression)


def test_a_hash_spark_cannot_be_matched_on_is_refused_in_a_static_query_too():
    """A static query the rewrites cannot read goes to DuckDB as it is; DuckDB's hash() would answer other
    numbers, so the refusal stands there."""
    from stream_nb.pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    with pytest.raises(Exception, match=r"hash\(\) of ARRAY\(1, 2\).*not supported yet"):
        spark.sql("SELECT hash(array(1, 2)) AS h").collect()
    assert spark.sql("SELECT hash(1) AS a, hash('abc') AS b, xxhash64(1) AS c").collect()[0] == \
        (-559580957, 1322437556, -6698625589789238999)  # PySpark 4's


def test_conv_as_sparks_number_converter():
    assert spark_conv("99999999999999999999", 10, 10) == "18446744073709551615"  # overflow: all ones
    assert spark_conv(" 12x4", 10, 10) == "12"  # up to the first character that is not a digit
    assert spark_conv("9223372036854775808", 10, -10) == "-9223372036854775808"
    assert spark_conv("1", 1, 10) is None
