"""Spark's scalar functions, compared by value: a few wide queries, each selecting many functions over a small
stream of awkward inputs (NULLs, '', negative numbers, NaN, the ends of the int range, non-ASCII text such as
'straße', 'İ' and a final 'Σ', timestamps around midnight and on the days Europe changes its clocks), run on
PySpark and on stream_nb (``test_spark_cases.py``). Spark starts a streaming query per case, so the
functions are grouped by theme, ~40 to a case; a failure shows the rows that differ, with every column.

Known differences, left out here (README, "SQL functions"): maps as output values (the runner shows them otherwise),
``hash`` / ``xxhash64`` of arrays, maps and structs (refused), ``mask`` with replacements
given, ``shuffle``, ``schema_of_json``, ``inline`` (not supported yet);
%f of a double beyond 17 digits (Java pads the shortest digits with zeros, printf writes the binary value).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.differential.spark_runner import Case

SCHEMA = "ts timestamp, k string, v double, i int"


def _ts(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


_ROWS = (
    ((_ts(2024, 1, 1, 0, 0, 1), "straße", 1.5, 5), (None, None, None, None),
     (_ts(2023, 12, 31, 23, 59, 59, 999999), "", -2.5, -3), (_ts(2024, 1, 31, 0, 0), "ΟΔΟΣ ﬁ ŉ", 31.25, 17)),
    ((_ts(2024, 3, 31, 1, 30), "İstanbul ÀÉ", float("nan"), 0), (_ts(2024, 2, 29, 12, 0), "a,b;c:d", 0.0, 2147483647),
     (_ts(2024, 10, 27, 23, 0), "Hello World", 1234.5678, -2147483648),
     (_ts(2024, 3, 1, 0, 0), "ff", float("inf"), 42)),
)


def _case(name: str, expressions: list[str], why: str, where: str = "") -> Case:
    items = ", ".join(f"{e} AS c{n}" for n, e in enumerate(expressions))
    return Case(name=name, sql=f"SELECT k, {items} FROM events{where}", output_mode="append", batches=_ROWS,
                schema=SCHEMA, why=why)


NUMBERS = [
    "isnan(v)", "sign(v)", "signum(v)", "sign(i)", "ceil(v)", "floor(v)", "ceil(-v)", "ceil(i)",
    "floor(cast(v AS float))", "cbrt(v)", "log(2.0, v)", "log10(v)", "log2(v)", "ln(v)", "log(v, 8)", "log(0)",
    "exp(v)", "pow(v, 2)", "sqrt(v)", "sqrt(-1)", "degrees(v)", "radians(v)", "round(v, 1)", "bround(v, 1)",
    "abs(v)", "abs(i)", "negative(v)", "pmod(i, 3)", "pmod(v, 2)", "i % 3", "-i % 3", "v / 0", "i / 0",
    "greatest(v, 2.0)", "least(v, 0.5)", "isnan(nanvl(v, -1.0))", "nanvl(v, -1.0)", "try_divide(v, 0)",
    "pi()", "e() * 2", "atan2(1, 1)", "factorial(5)", "typeof(i)", "typeof(v)",
]

NUMBERS_2 = [
    "try_add(i, 1)", "try_add(i, i)", "try_subtract(i, 1)", "try_multiply(i, 2)",
    "try_add(cast(i AS bigint), 9223372036854775807)", "try_add(v, 1)", "try_multiply(v, i)", "hypot(v, i)",
    "hypot(3, 4)", "zeroifnull(v)", "zeroifnull(i)", "width_bucket(v, 0, 10, 5)", "width_bucket(v, 10, 0, 5)",
    "width_bucket(i, -5, 5, 2)", "width_bucket(v, 0, 10, 0)", "hex(v)", "hex(i)", "bin(i)",
    "conv(cast(i AS string), 10, 2)", "conv(cast(i AS string), 10, -16)", "conv(k, 16, 10)", "conv(k, 36, 10)",
    "conv('-15', 10, -16)", "conv('99999999999999999999', 10, 10)", "format_number(v, 3)",
    "format_number(i, 1)", "format_number(v, 0)", "format_number(2.675, 2)", "format_number(v, -1)",
    "cast(v AS int)", "cast(v AS string)", "cast(i AS string)", "cast(i AS boolean)",
    "cast(v AS decimal(10, 2))", "~i", "cast(v * 1e20 AS bigint)", "cast(v * 3e4 AS smallint)",
    "cast(v * 1e12 AS tinyint)", "cast(cast('Infinity' AS double) AS bigint)",
    "cast(cast('-Infinity' AS double) AS smallint)",
]

TEXT = [
    "upper(k)", "lower(k)", "upper('ﬁ ŉ straße')", "lower('ΟΔΟΣ ΣΑ Σ İ')", "lower(upper(k))", "upper(lower(k))",
    "length(k)", "char_length(k)", "octet_length(k)", "bit_length(k)", "octet_length(cast(k AS binary))",
    "btrim(k)", "btrim(concat('  ', k, ' '))", "btrim(k, 'sae')", "trim(BOTH 'x' FROM k)", "ltrim(k)",
    "regexp_substr(k, '[a-z]+')", "regexp_substr(k, 'z')", "regexp_extract(k, '([a-z]+)', 1)",
    "regexp_replace(k, '[a-z]', 'Z')", "regexp_like(k, 's')", "regexp_count(k, 's')", "instr(k, 'ß')",
    "locate('l', k, 4)", "lpad(k, 3, 'xy')", "rpad(k, 8, 'xy')", "lpad(k, 10, '')", "rpad(k, -1, '')",
    "repeat(k, 2)", "reverse(k)", "left(k, 2)",
    "right(k, 2)", "substr(k, -3)", "substr(k, 2, 3)", "split_part(k, 'a', 1)", "translate(k, 'ab', 'xy')",
    "concat(k, '-', i)", "concat_ws('|', k, v)", "'a' || k", "'it''s ' || k", "'a' 'b'", "\"say ''x''\"",
    "initcap(k)", "initcap(concat(k, ' ßa ǆx ﬁ'))", "left(k, i)", "substr(k, 2, i)", "substring_index(k, ',', i % 3)",
]

TEXT_2 = [
    "ascii(k)", "md5(k)", "sha1(k)", "sha2(k, 256)", "crc32(k)", "crc32(cast(k AS binary))", "base64(k)",
    "base64(cast(k AS binary))", "hex(k)", "levenshtein(k, 'hello')",
    "format_string('%s=%d', coalesce(k, ''), coalesce(i, 0))", "startswith(k, 's')", "endswith(k, 'e')",
    "contains(k, 'r')", "k LIKE '%ß%'", "ilike(k, 'S%')", "k RLIKE '^[a-z]'", "isnull(k)", "isnotnull(v)",
    "nullif(k, 'x')", "nvl(k, 'z')", "decode(k, 'straße', 1, 2)", "char(i)", "chr(321)", "current_timezone()",
    "cast(k AS int)", "cast('  12 ' AS int)", "soundex(k)", "soundex('Pfister')", "mask(k)", "mask('Ab1-ⅫⒶ٣')",
    "hash(k)", "hash(k, i, v, ts)", "hash(NULL, k)", "hash(to_date(ts), i > 0, cast(v AS float))",
    "hash(cast(v AS decimal(10, 2)), cast(i AS decimal(30, 3)), cast(k AS binary))", "xxhash64(k, ts)",
    "xxhash64(v, i, to_date(ts), i > 0)", "xxhash64(cast(i AS decimal(30, 3)), cast(i AS tinyint))",
]

DATES = [
    "to_date(ts)", "date_add(ts, 1)", "date_sub(ts, 1)", "datediff(ts, '2024-01-01')",
    "months_between(ts, '2023-11-15 10:00:00')", "months_between(to_date('2024-03-31'), to_date('2024-02-29'))",
    "months_between(ts, to_date('2023-12-31'), false)", "add_months(ts, 1)", "last_day(ts)",
    "next_day(ts, 'Sunday')", "weekofyear(ts)", "quarter(ts)", "dayofyear(ts)", "dayofweek(ts)", "weekday(ts)",
    "hour(ts)", "minute(ts)", "second(ts)", "extract(dayofweek FROM ts)", "extract(dow FROM ts)",
    "extract(dow_iso FROM ts)", "extract(second FROM ts)", "date_part('second', ts)", "date_part('DOW', ts)",
    "extract(week FROM ts)", "timestampdiff(DAY, ts, to_timestamp('2024-03-01'))",
    "timestampdiff(MONTH, ts, to_timestamp('2024-03-01'))", "timestampdiff(QUARTER, ts, to_timestamp('2025-03-01'))",
    "timestampdiff(HOUR, ts, to_timestamp('2024-06-01'))", "timestampdiff(MINUTE, to_timestamp('2024-03-01'), ts)",
    "timestampadd(HOUR, 1, ts)", "date_trunc('week', ts)", "trunc(ts, 'MM')",
    "date_format(ts, 'yyyy-MM-dd HH:mm:ss EEE')", "unix_timestamp(ts)", "unix_millis(ts)", "unix_seconds(ts)",
    "from_unixtime(unix_timestamp(ts), 'yyyy-MM-dd')", "cast(ts AS string)", "date_from_unix_date(i % 1000)",
    "unix_date(to_date(ts))", "to_utc_timestamp(ts, 'America/New_York')", "from_utc_timestamp(ts, 'Europe/Paris')",
    "make_date(2024, 2, 30)",
]

ARRAYS = [
    "array_contains(array(1.0, v), 1.5)", "array_contains(array(1, NULL), 2)", "array_contains(array(1, NULL), 1)",
    "array_distinct(array(v, v, 1.0))", "array_union(array(1, 2, NULL), array(2, 3, NULL))",
    "array_union(array(i), array(1, i))", "array_repeat(k, 2)", "array_repeat('x', i % 4)",
    "exists(array(v, 2.0), x -> x > 1.0)", "exists(split(k, ','), x -> x = 'b')",
    "exists(array(1, NULL), x -> x > 1)", "array_except(array(1, NULL, 2, NULL), array(2))",
    "array_except(array(i, 1, i), array(1))", "array_remove(array(1, NULL, 2), 1)",
    "arrays_overlap(array(1, NULL), array(2))", "arrays_overlap(array(i), array(5, 0))",
    "array_intersect(array(1, 2, 2, 3), array(2, 3, 3))", "sequence(i % 4, 1)", "sequence(5, 1)",
    "sort_array(array(3, NULL, 1), false)", "array_sort(array(3, NULL, 1))", "array_max(array(1.0, v))",
    "slice(array(1, 2, 3), 1, 2)", "element_at(array(1, 2), -1)", "size(split(k, ','))", "size(str_to_map(k))",
    "element_at(str_to_map(k, ',', ':'), 'a')", "map_keys(str_to_map(k, '[,;]', ':'))",
    "map_values(str_to_map('a=1&b', '&', '='))", "transform(array(i % 100, 1), x -> x + 1)",
    "filter(array(i, 1), x -> x > 1)", "aggregate(array(1, 2), 0, (a, x) -> a + x)",
    "array_join(array('a', NULL, 'b'), ',', 'N')", "flatten(array(array(1), array(2)))",
]

MORE = [
    "regexp_replace(k, '(a)', '<$1>')", "regexp_replace(k, 'a', '\\\\$')", "regexp_replace(k, 'a', '\\\\1')",
    "regexp_replace(k, '([a-z])([a-z])', '$2$1')", "array_position(array(3, 2, 1), i)", "array_position(array(5, 17), i)",
    "bit_count(i)", "bit_count(cast(i AS bigint))", "elt(2, 'a', 'b', 'c')", "elt(i, 'a', 'b', 'c', 'd', 'e')",
    "find_in_set('b', 'a,b,c')", "find_in_set('b', k)", "find_in_set(k, 'x,straße,ff')", "quote(k)",
    "cast(i AS float) / 3", "cast(v AS float) / 2",
]

# URLs as a click stream carries them: with user info, port, query and fragment; repeated keys; not a URL (a
# space); an opaque URI; a ':' ending no scheme.
_URLS = (
    ((_ts(2024, 1, 1, 0, 0, 1), "http://user:pw@Example.com:8080/a/b.html?a=1&b=x%20y#frag", 1e-10, 7),
     (_ts(2024, 1, 1, 0, 0, 2), "https://h/p?a=1&a=2", -0.5, -8), (None, None, None, None)),
    ((_ts(2024, 1, 1, 0, 0, 3), "not a url", float("nan"), 0), (_ts(2024, 1, 1, 0, 0, 4), "mailto:x@y.z", 3.0, 10),
     (_ts(2024, 1, 1, 0, 0, 5), "a,b;c:d", 1234.5678, 2147483647), (_ts(2024, 1, 1, 0, 0, 6), "", float("inf"), -1)),
)

URLS_AND_FORMATS = [
    "parse_url(k, 'HOST')", "parse_url(k, 'PATH')", "parse_url(k, 'QUERY')", "parse_url(k, 'QUERY', 'a')",
    "parse_url(k, 'QUERY', 'b')", "parse_url(k, 'PROTOCOL')", "parse_url(k, 'FILE')", "parse_url(k, 'REF')",
    "parse_url(k, 'AUTHORITY')", "parse_url(k, 'USERINFO')", "parse_url(concat('https://', k, '/x'), 'HOST')",
    "parse_url('http://u@a_b.com/', 'USERINFO')", "parse_url('http://[::1]:80/', 'HOST')", "log1p(v)", "log1p(-1)", "expm1(v)",
    "format_string('%s=%d', k, i)", "format_string('[%5s|%-4d|%.2f|%05d]', k, i, v, i)",
    "format_string('%s %%', v)", "format_string('%.3f %e', v, v)", "format_string('%x', i)", "printf('%.2f', v)",
]


# Spark's higher-order functions' details: the lambda index from 0, forall three-valued, zip_with and
# arrays_zip padding the shorter array with NULLs (arrays_zip's fields named after its arguments), reverse of an
# array, get from 0 and NULL out of bounds.
HIGHER_ORDER = [
    "transform(split(k, ','), (x, j) -> concat(x, j))", "filter(array(i, 1, 2), (x, j) -> j > 0 AND x > 1)",
    "forall(array(i, 1), x -> x > 0)", "forall(array(1, NULL), x -> x > 0)", "forall(array(1, NULL), x -> x > 1)",
    "forall(split(k, ','), x -> length(x) > 1)", "zip_with(array(1, 2, 3), array(i % 100), (a, b) -> a + b)",
    "zip_with(split(k, ','), array(i), (a, b) -> concat(a, b))", "arrays_zip(split(k, ','), array(i, 1))",
    "size(arrays_zip(array(), array()))", "reverse(split(k, ','))", "reverse(array(i, NULL, 2))",
    "get(split(k, ','), 1)", "get(array(i), -1)", "get(array(i, 7), i % 3)",
]

CASES: list[Case] = [
    _case("functions_numbers", NUMBERS, "math over NULL, NaN, infinity, 0 and the int range's ends: sign a double "
          "(NaN for NaN), ceil/floor a bigint, logarithms of 0 or less NULL, isnan(NULL) false, nanvl, e()"),
    _case("functions_numbers_added", NUMBERS_2, "try_add/try_subtract/try_multiply NULL on overflow, hypot, "
          "zeroifnull, width_bucket, conv, format_number (rounded half even; a decimal literal as a decimal)"),
    _case("functions_text", TEXT, "upper/lower as Java's (ß -> SS, İ -> i̇, a final Σ -> ς; lower(upper(s)) "
          "simplified to lower(s) as Spark's optimizer does), octet_length, btrim, regexp_substr"),
    _case("functions_text_more", TEXT_2, "soundex (Spark's: P236 for Pfister), mask, crc32, hash and xxhash64 "
          "(Spark's Murmur3 and XXH64 of each type's bytes, seeded 42, chained), base64 of a "
          "string's UTF-8 bytes (and CAST(s AS BINARY)), "
          "isnull/isnotnull, chr below 0 and above 255, current_timezone"),
    _case("functions_dates", DATES, "months_between with the time of day, timestampdiff in whole units "
          "(months as Java counts them), extract(dayofweek) from Sunday = 1, extract(second) with its fraction, "
          "date_from_unix_date a date"),
    _case("functions_higher_order", HIGHER_ORDER, "lambda indexes from 0, three-valued forall, zip_with and "
          "arrays_zip padding with NULLs, arrays_zip's field names, reverse of an array, get out of bounds"),
    _case("functions_arrays", ARRAYS, "first-occurrence order and NULLs kept by array_distinct/union/except/"
          "remove, three-valued array_contains/arrays_overlap/exists, sequence counting down, array_repeat, "
          "str_to_map (regex delimiters)"),
    Case(name="functions_urls_and_formats", schema=SCHEMA, batches=_URLS, output_mode="append",
         sql="SELECT k, " + ", ".join(f"{e} AS c{n}" for n, e in enumerate(URLS_AND_FORMATS)) + " FROM events",
         why="parse_url as java.net.URI splits a URL (NULL for one it refuses), log1p/expm1 near 0, "
             "format_string/printf as Java's Formatter (null, NaN, Infinity, %s of a double, %x of an int)"),
    _case("functions_more", MORE, "regexp_replace's Java replacement ($1, a backslash quoting), array_position 0 "
          "when absent, bit_count of the 64-bit long, elt, find_in_set, quote, a float divided as a double"),
]

# What Spark refuses: so does stream_nb (bitwise_not is PySpark's name for ~, not a SQL function;
# monotonically_increasing_id is not supported with streaming DataFrames).
REFUSALS: list[Case] = [
    Case(name="functions_monotonically_increasing_id", schema=SCHEMA, batches=_ROWS[:1], output_mode="append",
         sql="SELECT k, monotonically_increasing_id() AS id FROM events",
         why="Spark: 'monotonically_increasing_id() is not supported with streaming DataFrames/Datasets'"),
    Case(name="functions_bitwise_not_is_not_sql", schema=SCHEMA, batches=_ROWS[:1], output_mode="append",
         sql="SELECT bitwise_not(i) AS b FROM events", why="Spark SQL has ~i, and no function bitwise_not"),
]
