"""Spark's scalar functions that DuckDB lacks or computes otherwise, as macros (and two Arrow functions) on each
query's connection; ``sql/spark_functions.py`` sends Spark's calls here. Macros stay vectorised DuckDB; only
``crc32`` and ``conv``, which no DuckDB function gives, run per row in Python."""

from __future__ import annotations

import zlib

import pyarrow as pa

from stream_nb.engine import spark_hash


def _title_cases() -> str:
    """A DuckDB map of the letters whose title case is not their (one-letter) upper case: the digraphs (ǆ is ǅ)
    and the letters that title-case to several (ß is Ss); Python's full case mappings are Unicode's, as ICU's.
    All are below U+2000 or among the ligatures U+FB00 to U+FB17."""
    pairs = []
    for code in [*range(0x2000), *range(0xFB00, 0xFB18)]:
        c = chr(code)
        if c.title() != c.upper() or len(c.upper()) > 1:
            pairs.append(f"'{c}': '{c.title()}'")
    return "MAP {" + ", ".join(pairs) + "}"


_TITLES = _title_cases()

MACROS = [
    # nanvl(a, b): b where a is NaN; a NULL stays NULL
    "spark_nanvl(a, b) AS CASE WHEN isnan(a) THEN b ELSE a END",
    # sign(x) is a double, NaN for NaN (DuckDB's an integer, 0 for NaN)
    "spark_sign(x) AS CASE WHEN isnan(x) THEN x ELSE CAST(sign(x) AS DOUBLE) END",
    # ceil/floor of a double: a bigint as Java's (long) cast makes it (NaN 0, beyond the range its ends)
    ("spark_long(x) AS CASE WHEN isnan(x) THEN 0 WHEN x >= 9.223372036854775807e18 THEN 9223372036854775807 "
    "WHEN x <= -9.223372036854775808e18 THEN -9223372036854775808 ELSE CAST(trunc(x) AS BIGINT) END"),
    # logarithms of 0 or less are NULL in Spark (DuckDB: -inf, NaN or an error)
    "spark_ln(x) AS CASE WHEN x > 0 OR isnan(x) THEN ln(x) END",
    "spark_log(b, x) AS CASE WHEN (x > 0 OR isnan(x)) AND (b > 0 OR isnan(b)) THEN ln(x) / ln(b) END",
    "spark_log10(x) AS CASE WHEN x > 0 OR isnan(x) THEN log10(x) END",
    "spark_log2(x) AS CASE WHEN x > 0 OR isnan(x) THEN log2(x) END",
    # upper/lower as Java's String.toUpperCase/toLowerCase: ß is SS (and ligatures their letters), İ is i + a
    # combining dot, a word's final Σ is ς (DuckDB maps one character to one, and Σ always to σ). ASCII text, told
    # by its bytes counting its characters, goes straight to DuckDB's (~15% over a bare upper(s) on 2M rows).
    ("spark_upper(s) AS CASE WHEN strlen(s) = length(s) THEN upper(s) ELSE upper(replace(replace(replace(replace("
     "replace(replace(replace(replace(replace(s, 'ß', 'SS'), 'ŉ', 'ʼN'), 'ﬀ', 'FF'), 'ﬁ', 'FI'), 'ﬂ', 'FL'), "
     "'ﬃ', 'FFI'), 'ﬄ', 'FFL'), 'ﬅ', 'ST'), 'ﬆ', 'ST')) END"),
    ("spark_lower(s) AS CASE WHEN strlen(s) = length(s) OR NOT (contains(s, 'İ') OR contains(s, 'Σ')) THEN lower(s) "
     "ELSE lower(regexp_replace(replace(s, 'İ', 'i̇'), '(\\pL)Σ(\\PL|$)', '\\1ς\\2', 'g')) END"),
    # initcap(s): each word (split at ' ' only) lower-cased as Java's, its first letter title-cased, one to many
    # as ICU's ('ßa' is 'Ssa', 'ﬁx' 'Fix', 'ǆx' 'ǅx'); a word's final Σ is ς in the whole word's context
    f"spark_title(c) AS coalesce({_TITLES}[c], upper(c))",
    ("spark_initcap(s) AS array_to_string(list_transform(string_split(s, ' '), lambda w: spark_title(left(w, 1)) "
     "|| substr(spark_lower(w), length(spark_lower(left(w, 1))) + 1)), ' ')"),
    # substring_index(s, delim, n): the text before the n-th delimiter (after the n-th from the end when n < 0);
    # NULL when an argument is, and a delimiter of a column's too (array_to_string wants a constant)
    ("spark_substring_index(s, d, n) AS CASE WHEN s IS NULL OR d IS NULL OR n IS NULL THEN NULL "
     "WHEN d = '' OR n = 0 THEN '' WHEN n > 0 THEN list_reduce(string_split(s, d)[1:n], lambda a, b: a || d || b) "
     "ELSE list_reduce(string_split(s, d)[n:], lambda a, b: a || d || b) END"),
    # regexp_substr: the first match, NULL without one (DuckDB's regexp_extract gives '')
    "spark_regexp_substr(s, r) AS CASE WHEN regexp_matches(s, r) THEN regexp_extract(s, r) END",
    # width_bucket as Spark's WidthBucket.computeBucketNumber
    ("spark_width_bucket(v, lo, hi, n) AS CASE WHEN n <= 0 OR n = 9223372036854775807 OR lo = hi OR isnan(v) "
    "OR isnan(lo) OR isnan(hi) OR isinf(lo) OR isinf(hi) THEN NULL "
    "WHEN lo < hi THEN (CASE WHEN v < lo THEN 0 WHEN v >= hi THEN n + 1 "
    "ELSE CAST(trunc(n * (v - lo) / (hi - lo)) AS BIGINT) + 1 END) "
    "ELSE (CASE WHEN v > lo THEN 0 WHEN v <= hi THEN n + 1 "
    "ELSE CAST(trunc(n * (lo - v) / (lo - hi)) AS BIGINT) + 1 END) END"),
    # arrays: Spark keeps the first occurrence's order and one NULL (DuckDB's list_distinct sorts by hash and
    # drops NULL)
    "spark_array_distinct(a) AS list_filter(a, lambda x, i: list_position(a, x) = i)",
    ("spark_array_union(a, b) AS CASE WHEN a IS NOT NULL AND b IS NOT NULL THEN "
    "spark_array_distinct(list_concat(a, b)) END"),
    ("spark_array_except(a, b) AS CASE WHEN a IS NOT NULL AND b IS NOT NULL THEN "
    "spark_array_distinct(list_filter(a, lambda x: list_position(b, x) IS NULL)) END"),
    ("spark_array_intersect(a, b) AS CASE WHEN a IS NOT NULL AND b IS NOT NULL THEN "
    "spark_array_distinct(list_filter(a, lambda x: list_position(b, x) IS NOT NULL)) END"),
    # flatten: NULL when an inner array is (DuckDB's skips it)
    "spark_flatten(a) AS CASE WHEN list_count(a) = len(a) THEN flatten(a) END",
    # unix_seconds: whole seconds rounded down, before 1970 too (DuckDB's cast of epoch() rounds)
    "spark_unix_seconds(t) AS (epoch_us(t) - ((epoch_us(t) % 1000000) + 1000000) % 1000000) // 1000000",
    "spark_array_remove(a, e) AS CASE WHEN e IS NOT NULL THEN list_filter(a, lambda x: x IS DISTINCT FROM e) END",
    "spark_array_repeat(e, n) AS CASE WHEN n IS NOT NULL THEN list_transform(range(greatest(n, 0)), lambda i: e) END",
    # array_contains and arrays_overlap: NULL, not false, when nothing matches and a NULL might have
    ("spark_array_contains(a, e) AS CASE WHEN a IS NULL OR e IS NULL THEN NULL WHEN list_contains(a, e) THEN true "
    "WHEN list_count(a) < len(a) THEN NULL ELSE false END"),
    ("spark_arrays_overlap(a, b) AS CASE WHEN a IS NULL OR b IS NULL THEN NULL WHEN list_has_any(a, b) THEN true "
    "WHEN len(a) > 0 AND len(b) > 0 AND (list_count(a) < len(a) OR list_count(b) < len(b)) THEN NULL "
    "ELSE false END"),
    # exists(a, x -> p): of the predicate's values over a (list_transform, written by the rewrite)
    ("spark_exists(t) AS CASE WHEN t IS NULL THEN NULL WHEN list_contains(t, true) THEN true "
    "WHEN list_count(t) < len(t) THEN NULL ELSE false END"),
    # timestampdiff(MONTH | QUARTER | YEAR, a, b): Java's LocalDateTime.until, whole months, the end's date moved a
    # day back when its time of day is before the start's (DuckDB's date_sub counts 2024-01-31 to 02-29 a month)
    ("spark_end_date(a, b) AS CASE WHEN b::DATE > a::DATE AND b::TIME < a::TIME THEN b::DATE - 1 "
    "WHEN b::DATE < a::DATE AND b::TIME > a::TIME THEN b::DATE + 1 ELSE b::DATE END"),
    ("spark_until_months(a, e) AS CAST(trunc((((year(e) * 12 + month(e)) * 32 + day(e)) "
    "- ((year(a) * 12 + month(a)) * 32 + day(a))) / 32) AS BIGINT)"),
    "spark_months_diff(a, b) AS spark_until_months(a::DATE, spark_end_date(a, b))",
    # find_in_set(s, list): s's 1-based place among list's comma-separated items, 0 if absent or s has a comma
    ("spark_find_in_set(s, l) AS CASE WHEN s IS NULL OR l IS NULL THEN NULL WHEN contains(s, ',') THEN 0 "
     "ELSE coalesce(list_position(string_split(l, ','), s), 0) END"),
    # quote(s): in single quotes, a backslash before each quote and backslash
    "spark_quote(s) AS '''' || replace(replace(s, '\\', '\\\\'), '''', '\\''') || ''''",
    # log1p / expm1 accurate near 0 (Goldberg's correction; DuckDB has neither), log1p NULL at -1 or below
    "spark_log1p(x) AS CASE WHEN x > -1 OR isnan(x) THEN (CASE WHEN 1 + x = 1 OR isinf(x) THEN x ELSE ln(1 + x) * x / ((1 + x) - 1) END) END",
    ("spark_expm1(x) AS CASE WHEN exp(x) = 1 THEN x WHEN isinf(exp(x)) OR isnan(x) OR exp(x) - 1 = -1 THEN exp(x) - 1 "
    "ELSE (exp(x) - 1) * x / ln(exp(x)) END"),
    # parse_url(url, part[, key]) as java.net.URI splits it (RFC 3986's regex): NULL for a URL URI refuses (a
    # space, a quote, <>\^`{|}); an opaque URI (mailto:x) has no path, query or host
    # (a ':' before any '/', '?' or '#' ends a scheme, which must be one: 'a,b:c' is refused)
    ("spark_url_ok(u) AS regexp_matches(u, '^[^\\s\"<>\\\\^`{|}]*$') AND (NOT regexp_matches(u, '^[^/?#:]*:') "
     "OR regexp_matches(u, '^[a-zA-Z][a-zA-Z0-9+.-]*:'))"),
    ("spark_url_group(u, n) AS regexp_extract(u, '^([a-zA-Z][a-zA-Z0-9+.-]*:)?(//[^/?#]*)?([^?#]*)(\\?[^#]*)?(#.*)?$', n)"),
    # a host as URI reads one (a name of letters, digits and '-', an IPv4 or [IPv6] address; then a port of
    # digits): else the authority is "registry-based", without host or user info ('straße', 'a_b' have none)
    ("spark_url_host(a) AS CASE WHEN regexp_matches(a, '^(?:[^@]*@)?(\\[[0-9A-Fa-f:.]+\\]|[0-9]{1,3}(?:\\.[0-9]{1,3}){3}|"
     "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\\.)*[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\\.?)(?::[0-9]*)?$') "
     "THEN regexp_extract(a, '^(?:[^@]*@)?(\\[[^\\]]*\\]|[^:]*)', 1) END"),
    ("spark_url_hier(u) AS spark_url_ok(u) AND NOT (spark_url_group(u, 1) <> '' "
     "AND spark_url_group(u, 2) = '' AND NOT starts_with(spark_url_group(u, 3), '/'))"),
    ("spark_url_authority(u) AS CASE WHEN spark_url_ok(u) "
     "AND length(spark_url_group(u, 2)) > 2 THEN substr(spark_url_group(u, 2), 3) END"),
    ("spark_parse_url(u, part) AS CASE WHEN NOT spark_url_ok(u) THEN NULL "
     "WHEN part = 'PROTOCOL' THEN nullif(rtrim(spark_url_group(u, 1), ':'), '') "
     "WHEN part = 'AUTHORITY' THEN spark_url_authority(u) "
     "WHEN part = 'USERINFO' THEN CASE WHEN spark_url_host(spark_url_authority(u)) IS NOT NULL "
     "AND contains(spark_url_authority(u), '@') THEN regexp_extract(spark_url_authority(u), '^([^@]*)@', 1) END "
     "WHEN part = 'HOST' THEN spark_url_host(spark_url_authority(u)) "
     "WHEN part = 'REF' THEN CASE WHEN spark_url_group(u, 5) <> '' THEN substr(spark_url_group(u, 5), 2) END "
     "WHEN NOT spark_url_hier(u) THEN NULL "
     "WHEN part = 'PATH' THEN spark_url_group(u, 3) "
     "WHEN part = 'QUERY' THEN CASE WHEN spark_url_group(u, 4) <> '' THEN substr(spark_url_group(u, 4), 2) END "
     "WHEN part = 'FILE' THEN spark_url_group(u, 3) || spark_url_group(u, 4) END"),
    ("spark_parse_url_key(u, part, k) AS CASE WHEN part = 'QUERY' AND regexp_matches(spark_parse_url(u, 'QUERY'), "
     "'(&|^)' || k || '=([^&]*)') THEN regexp_extract(spark_parse_url(u, 'QUERY'), '(&|^)' || k || '=([^&]*)', 2) END"),
    # mask(s): upper-case letters X, lower-case x, digits n, the rest as it is (Java's Character classes)
    ("spark_mask(s) AS regexp_replace(regexp_replace(regexp_replace(s, '\\p{Lu}', 'X', 'g'), '\\p{Ll}', 'x', 'g'), "
     "'\\p{Nd}', 'n', 'g')"),
    # sequence(a, b) without a step counts down when a > b
    "spark_sequence(a, b) AS generate_series(a, b, CASE WHEN a <= b THEN 1 ELSE -1 END)",
    # shifts as Java's: the count masked to the width (31 or 63), bits shifted out dropped, the result wrapped
    # to the signed type (DuckDB raises on an overflow or a negative number shifted left); >>> fills with zeros
    ("spark_wrap32(v) AS CAST(CASE WHEN v >= 2147483648 THEN v - 4294967296 ELSE v END AS INTEGER)"),
    ("spark_wrap64(v) AS CAST(CASE WHEN v >= 9223372036854775808 THEN v - 18446744073709551616 ELSE v END "
     "AS BIGINT)"),
    "spark_shl32(x, n) AS spark_wrap32(((CAST(x AS BIGINT) & 4294967295) << (n & 31)) & 4294967295)",
    "spark_shr32(x, n) AS CAST(x AS INTEGER) >> (n & 31)",
    "spark_ushr32(x, n) AS spark_wrap32((CAST(x AS BIGINT) & 4294967295) >> (n & 31))",
    ("spark_shl64(x, n) AS spark_wrap64(((CAST(x AS HUGEINT) & 18446744073709551615) << (n & 63)) "
     "& 18446744073709551615)"),
    "spark_shr64(x, n) AS CAST(x AS BIGINT) >> (n & 63)",
    "spark_ushr64(x, n) AS spark_wrap64((CAST(x AS HUGEINT) & 18446744073709551615) >> (n & 63))",
    # a double's shortest decimal text, DuckDB's (Java's Double.toString digits), which format_string rounds
    "spark_shortest_text(x) AS CAST(x AS VARCHAR)",
    # chr(n): '' below 0, else the character n % 256 (Latin-1)
    "spark_chr(n) AS CASE WHEN n < 0 THEN '' ELSE chr(CAST(n % 256 AS INTEGER)) END",
    # format_number(x, d): grouped thousands, d decimals rounded half even on the binary value (Java's
    # DecimalFormat; fmt's formatting rounds the same way), NULL for d < 0
    ("spark_format_decimal(x, d) AS CASE WHEN d >= 0 AND d <= 18 THEN format('{:,.' || CAST(d AS VARCHAR) || 'f}', "
    "CAST(round_even(x, d) AS DOUBLE)) END"),
    ("spark_format_number(x, d) AS CASE WHEN d < 0 THEN NULL WHEN isnan(x) THEN 'NaN' "
    "WHEN isinf(x) THEN (CASE WHEN x > 0 THEN '∞' ELSE '-∞' END) "
    "ELSE format('{:,.' || CAST(d AS VARCHAR) || 'f}', x) END"),
    # str_to_map(s, pairs, kv): both delimiters are regexes; a pair without kv maps its text to NULL
    ("spark_str_to_map(s, pd, kd) AS map_from_entries(list_transform(regexp_split_to_array(s, pd), lambda p: "
    "{'k': CASE WHEN regexp_matches(p, kd) THEN regexp_extract(p, '^(.*?)(?:' || kd || ')', 1) ELSE p END, "
    "'v': CASE WHEN regexp_matches(p, kd) THEN regexp_replace(p, '^.*?(?:' || kd || ')', '') END}))"),
    # months_between(a, b[, round]) as Spark: whole months when the days of month are equal or both the last,
    # else months + (day-of-month and time difference) / 31 days
    ("spark_months(a, b) AS CASE WHEN day(a) = day(b) OR (a::DATE = last_day(a) AND b::DATE = last_day(b)) "
    "THEN CAST((year(a) - year(b)) * 12 + month(a) - month(b) AS DOUBLE) "
    "ELSE (year(a) - year(b)) * 12 + month(a) - month(b) + ((day(a) - day(b)) * 86400 "
    "+ (epoch_us(a) - epoch_us(date_trunc('day', a))) // 1000000 "
    "- (epoch_us(b) - epoch_us(date_trunc('day', b))) // 1000000) / 2678400.0 END"),
    "spark_months_between(a, b, r) AS CASE WHEN r THEN round(spark_months(a, b), 8) ELSE spark_months(a, b) END",
]


def register(con) -> None:
    for macro in MACROS:
        con.execute(f"CREATE MACRO {macro}")
    con.create_function("spark_crc32", _crc32s, ["BLOB"], "BIGINT", type="arrow", side_effects=False)
    con.create_function("spark_soundex", _soundexes, ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False)
    con.create_function("spark_conv", _convs, ["VARCHAR", "INTEGER", "INTEGER"], "VARCHAR", type="arrow",
                        side_effects=False, null_handling="special")  # conv('', 10, 2) is NULL
    spark_hash.register(con)


def _crc32s(values: pa.Array) -> pa.Array:
    """Spark's crc32 (java.util.zip.CRC32), per row: DuckDB has no CRC-32."""
    return pa.array([None if v is None else zlib.crc32(v) for v in values.to_pylist()], pa.int64())


def _convs(numbers: pa.Array, sources: pa.Array, targets: pa.Array) -> pa.Array:
    """Spark's conv(num, from_base, to_base), per row (no DuckDB function converts between any two bases)."""
    return pa.array([None if None in row else spark_conv(*row)
                     for row in zip(numbers.to_pylist(), sources.to_pylist(), targets.to_pylist())], pa.string())


def _soundexes(texts: pa.Array) -> pa.Array:
    """Spark's soundex, per row (DuckDB has none)."""
    return pa.array([None if t is None else spark_soundex(t) for t in texts.to_pylist()], pa.string())


_SOUNDEX_CODES = "01230127022455012623017202"  # A..Z: vowels 0, H and W 7 (skipped)


def spark_soundex(text: str) -> str:
    """Spark's UTF8String.soundex: a text not starting with an ASCII letter is its own soundex.

    >>> [spark_soundex(t) for t in ("Robert", "Rupert", "Tymczak", "Pfister", "Ashcraft", "straße", "", "İx", "a1b")]
    ['R163', 'R163', 'T522', 'P236', 'A261', 'S360', '', 'İx', 'A100']
    """
    data = text.encode()
    if not data:
        return text
    first = data[0] - 32 if 97 <= data[0] <= 122 else data[0]
    if not 65 <= first <= 90:
        return text
    out, last = [chr(first)], _SOUNDEX_CODES[first - 65]
    for b in data[1:]:
        b = b - 32 if 97 <= b <= 122 else b
        if not 65 <= b <= 90:
            last = "0"
            continue
        code = _SOUNDEX_CODES[b - 65]
        if code == "7":
            continue
        if code != "0" and code != last:
            out.append(code)
            if len(out) > 3:
                break
        last = code
    return "".join(out).ljust(4, "0")


_MASK = (1 << 64) - 1


def _signed(v: int) -> int:
    v &= _MASK
    return v - (1 << 64) if v >> 63 else v


def spark_conv(text: str, from_base: int, to_base: int) -> str | None:
    """Spark's NumberConverter.convert: digits read up to the first that is not one, through an unsigned 64-bit
    integer (-1 on overflow); a negative number wraps to two's complement unless ``to_base`` is negative.

    >>> [spark_conv(*a) for a in (("10", 10, 2), ("-3", 10, 16), ("ff", 16, 10), ("12x4", 10, 10),
    ...                           ("-15", 10, -16), ("99999999999999999999", 10, 10), ("", 10, 2))]
    ['1010', 'FFFFFFFFFFFFFFFD', '255', '12', '-F', '18446744073709551615', None]
    """
    if not 2 <= from_base <= 36 or not 2 <= abs(to_base) <= 36:
        return None
    data = text.strip(" ").encode()  # UTF8String.trim: spaces only
    if not data:
        return None
    negative = data[:1] == b"-"
    v = 0  # a Java long, kept as its unsigned bits
    for byte in data[1 if negative else 0:]:
        digit = int(chr(byte), 36) if chr(byte).isascii() and chr(byte).isalnum() else -1
        if digit < 0 or digit >= from_base:
            break
        v = v * from_base + digit
        if v > _MASK:  # overflow: -1, all ones
            v = _MASK
            break
    if negative and to_base > 0:
        v = _MASK if _signed(v) < 0 else (-_signed(v)) & _MASK
    if to_base < 0 and _signed(v) < 0:
        v = (-_signed(v)) & _MASK
        negative = True
    base, digits = abs(to_base), ""
    while True:
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[v % base] + digits
        v //= base
        if v == 0:
            break
    return ("-" + digits) if negative and to_base < 0 else digits
