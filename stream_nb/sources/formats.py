"""Reading one input file (csv, with a header or not; json lines; parquet) as a table of exactly a schema.

Bad input never passes silently: a SourceError names the file and the line, and says in the schema's words
which column holds what. Times come in as text and are parsed here, because Arrow's readers reject a column
mixing naive and zoned times, fractions past the microsecond, and (json) dates.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from stream_nb.sources.errors import SourceError
from stream_nb.sources.parquet_files import read_parquet_encoded
from stream_nb.types import TIMESTAMP, SchemaError, spark_type_name, to_arrow, utc_timestamps

# As Spark's CSV reader: an empty field is null, a quoted empty field "" is the empty string.
_CSV_NULLS = {"strings_can_be_null": True, "null_values": [""], "quoted_strings_can_be_null": False}
_BAD_DATA = (pa.ArrowException, SchemaError)
_ISO_HINT = "write ISO 8601 like '2024-05-01 12:00:00' (UTC) or '2024-05-01T12:00:00+02:00'"
# An ISO 8601 time that carries its own zone (Z, +02:00, -0500); all others are taken as UTC.
_ZONED = r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:[Zz]|[+-]\d\d(?::?\d\d)?)$"
# Fractional seconds past the microsecond, which Spark drops (it keeps microseconds).
_SUBMICROS = r"(:\d\d\.\d{6})\d+"

Parser = Callable[[bytes, pa.Schema], pa.Table]


def read_file(path: str, format: str, schema: pa.Schema, *, blank_line_is_null: bool = False,
              header: bool | str = True, threads: bool = True, sep: str = ",") -> pa.Table:
    """One input file as a table of exactly ``schema``; a SourceError names the file and line if it is bad.

    ``blank_line_is_null``: in a CSV file of one column, a blank line is a row holding NULL (that is how a CSV
    writer, the files sink's included, writes such a row); otherwise blank lines are skipped, as Spark does.
    ``header``: a CSV file's first line names its columns; without one (Spark's ``header=false``) the columns
    are the schema's, by position. ``threads``: a parquet file's columns are decoded on Arrow's threads."""
    if format == "parquet":
        return read_parquet_file(path, schema, threads=threads)[0]
    with _reading(path):
        data = _load(path)
    _check_utf8(path, data)
    if format == "text":
        return _text_lines(data, schema)
    if format == "csv":
        parse = partial(_parse_csv, keep_blank_lines=blank_line_is_null and len(schema) == 1, header=header,
                        sep=sep)
    else:
        parse = _parse_json
    try:
        return parse(data, schema)
    except _BAD_DATA as err:
        line = _first_bad_line(data, parse, schema, header=format == "csv" and header)
        if format == "csv":
            what = _explain(err, _csv_header(data, sep) if header is True else schema.names)
        else:
            what = _json_number(err, data.splitlines()[line - 1] if line else b"", schema) or _explain(err)
        raise SourceError.at(path, line, what) from None


def read_parquet_file(path: str, schema: pa.Schema, *, threads: bool = True) \
        -> tuple[pa.Table, dict[str, pa.ChunkedArray]]:
    """A parquet file as ``read_file`` reads it, and the schema's string columns that were read through their
    dictionary, still dictionary-encoded (values of the schema's type): the same rows, for an aggregation to
    group by the indices (``engine/partials.py``). As Spark's parquet reader, a column is found by its name in
    any case, and a column the file lacks is NULL (files written before a column was added)."""
    with _reading(path):  # one file: quicker than read_table's dataset machinery
        table, encoded = read_parquet_encoded(path, schema.names, threads=threads)
        for field in schema:
            if field.name not in table.column_names:
                table = table.append_column(field.name, pa.nulls(table.num_rows, field.type))
        table = _conform(table, schema)
    keys = {}
    for name, column in encoded.items():
        kind = schema.field(name).type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            keys[name] = column if column.type.value_type == kind else \
                column.cast(pa.dictionary(column.type.index_type, kind))
    return table, keys


@contextmanager
def _reading(path: str) -> Iterator[None]:
    """A file that cannot be read as a SourceError naming it."""
    try:
        yield
    except FileNotFoundError:
        gone = "the file is gone; input files must stay until a query has read them"
        raise SourceError.at(path, None, gone) from None
    except (*_BAD_DATA, OSError) as err:
        raise SourceError.at(path, None, _explain(err)) from None


def parse_json_values(values: Sequence[bytes], schema: pa.Schema) -> pa.Table:
    """One JSON object per value (an MQTT payload, a Kafka record's value) as one row each of exactly
    ``schema``. A bad value raises a SourceError whose ``line`` is its 1-based index among ``values``.

    >>> parse_json_values([b'{"t": 1.5}', b'{"t": 2}'], pa.schema([("t", pa.float64())])).to_pylist()
    [{'t': 1.5}, {'t': 2.0}]
    """
    for index, value in enumerate(values, 1):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as err:
            raise SourceError(f"invalid UTF-8 (byte 0x{value[err.start]:02x} at byte {err.start + 1}); JSON is "
                              "UTF-8", line=index) from None
        if not value.strip():
            raise SourceError("empty, not a JSON object", line=index)
    # one value a line: a raw line break inside JSON can only be whitespace between tokens
    data = b"\n".join(v.replace(b"\r", b" ").replace(b"\n", b" ") for v in values) + b"\n"
    try:
        return _parse_json(data, schema)
    except _BAD_DATA as err:
        line = _first_bad_line(data, _parse_json, schema, header=False)
        what = _json_number(err, data.splitlines()[line - 1] if line else b"", schema) or _explain(err)
        raise SourceError(what, line=line) from None


def _text_lines(data: bytes, schema: pa.Schema) -> pa.Table:
    r"""Spark's text source: a row per line (ended by \n, \r\n or \r), the line in the one string column.

    >>> _text_lines(b"a b\r\n\nc\n", pa.schema([("value", pa.string())])).column("value").to_pylist()
    ['a b', '', 'c']
    """
    lines = re.split(r"\r\n|\r|\n", data.decode("utf-8")) if data else []
    if lines and lines[-1] == "":  # the last line's end makes no row of its own
        lines.pop()
    return pa.Table.from_arrays([pa.array(lines, type=schema.field(0).type)], schema=schema)


def _load(path: str) -> bytes:
    return pa.input_stream(path, compression="detect").read()  # .gz and .bz2 by extension


def _check_utf8(path: str, data: bytes) -> None:
    """Text files are UTF-8, as Spark reads them by default: refuse other bytes with their line and column
    (Arrow's JSON reader would pass them on into strings that nothing downstream can read)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = data.rfind(b"\n", 0, err.start) + 1
        line = data.count(b"\n", 0, err.start) + 1
        raise SourceError.at(path, line, f"invalid UTF-8 (byte 0x{data[err.start]:02x} at byte "
                                         f"{err.start - line_start + 1} of the line); text files must be "
                                         "UTF-8") from None


def _whole_lines(read: Callable[[int | None], pa.Table], data: bytes) -> pa.Table:
    """``read(block_size)``: Arrow reads in blocks that a line may not straddle (1 MB by default), so a file
    with a longer line is read again as one block rather than refused."""
    try:
        return read(None)
    except pa.ArrowInvalid as err:
        if "straddl" not in str(err):
            raise
    return read(min(len(data) + 1, 2**31 - 1))


def _parse_csv(data: bytes, schema: pa.Schema, keep_blank_lines: bool = False,
               header: bool | str = True, sep: str = ",") -> pa.Table:
    if not data.strip():
        return schema.empty_table()
    if header == "skip":  # the header is the first line that is not blank (blank lines are skipped)
        data = data.lstrip(b"\r\n")
    # Timestamps come in as text: Arrow's own parser rejects a column that mixes naive and zoned times.
    types = {f.name: pa.string() if pa.types.is_timestamp(f.type) else f.type for f in schema}
    options = pa_csv.ConvertOptions(column_types=types, **_CSV_NULLS)

    def read(block_size: int | None) -> pa.Table:
        by_position = {"column_names": schema.names} if header is not True else {}  # (a header to skip)
        blocks = pa_csv.ReadOptions(**({"block_size": block_size} if block_size else {}), **by_position,
                                    skip_rows=1 if header == "skip" else 0)
        lines = pa_csv.ParseOptions(ignore_empty_lines=not keep_blank_lines, delimiter=sep)
        return pa_csv.read_csv(pa.BufferReader(data), read_options=blocks, parse_options=lines,
                               convert_options=options)

    return _conform(_whole_lines(read, data), schema)


def _parse_json(data: bytes, schema: pa.Schema) -> pa.Table:
    if not data.strip():
        return schema.empty_table()
    # Times and dates come in as text, parsed by _conform: Arrow's JSON reader takes neither 7-9 fractional
    # digits nor dates.
    # A map comes in as its JSON text (Arrow's reader has no maps; a string takes an object's text), read by
    # _conform.
    types = pa.schema([pa.field(f.name, pa.string()) if _is_time(f.type) or pa.types.is_map(f.type) else f
                       for f in schema])
    options = pa_json.ParseOptions(explicit_schema=types, unexpected_field_behavior="ignore")

    def read(block_size: int | None) -> pa.Table:
        blocks = pa_json.ReadOptions(block_size=block_size) if block_size else None
        return pa_json.read_json(pa.BufferReader(data), read_options=blocks, parse_options=options)

    try:
        return _conform(_whole_lines(read, data), schema)
    except pa.ArrowInvalid as err:
        fixed = _unquote_non_finite(data, schema)
        if fixed is data and _NOT_A_STRING.search(str(err)):
            fixed = _strings_as_written(data, types)
        if fixed is data:
            raise
        return _parse_json(fixed, schema)


_NOT_A_STRING = re.compile(r"expected a string, found an? (number|object|array|boolean)|changed from string to")


def _strings_as_written(data: bytes, schema: pa.Schema) -> bytes:
    """A string column given a JSON number, boolean, object or array takes its JSON text (``17``, ``true``,
    ``{"a":1}``), as Spark's JSON reader does (Jackson copies the value's structure as text); Arrow refuses it.
    Only when a parse has failed so: each line through Python's JSON, and back.

    >>> json.loads(_strings_as_written(b'{"id": 17, "s": {"a": 1}, "t": "x"}',
    ...                                pa.schema([("id", pa.string()), ("s", pa.string())])))
    {'id': '17', 's': '{"a":1}', 't': 'x'}
    """
    names = {f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)}
    if not names:
        return data
    lines = []
    for line in data.split(b"\n"):
        try:
            row = json.loads(line) if line.strip() else None
        except ValueError:
            return data  # a malformed line: the first parse's error stands
        if isinstance(row, dict) and any(k in names and not isinstance(v, str) and v is not None
                                         for k, v in row.items()):
            row = {k: json.dumps(v, separators=(",", ":"), ensure_ascii=False)
                   if k in names and not isinstance(v, str) and v is not None else v for k, v in row.items()}
            line = json.dumps(row, ensure_ascii=False).encode()
        lines.append(line)
    fixed = b"\n".join(lines)
    return data if fixed == data else fixed


def _unquote_non_finite(data: bytes, schema: pa.Schema) -> bytes:
    """Spark writes a double's NaN and infinities as strings ("NaN", "Infinity", "-Infinity") and reads them
    back, as it reads the bare words; Arrow takes only the bare words, so a float column's strings become them.

    >>> _unquote_non_finite(b'{"d": "NaN", "s": "NaN"}', pa.schema([("d", pa.float64()), ("s", pa.string())]))
    b'{"d": NaN, "s": "NaN"}'
    """
    names = [re.escape(f.name.encode()) for f in schema if pa.types.is_floating(f.type)]
    if not names:
        return data
    pattern = rb'("(?:' + b"|".join(names) + rb')"\s*:\s*)"([+-]?)(NaN|Infinity|INF)"'

    def bare(match: re.Match) -> bytes:
        sign = b"-" if match.group(2) == b"-" and match.group(3) != b"NaN" else b""
        return match.group(1) + sign + (b"NaN" if match.group(3) == b"NaN" else b"Infinity")

    unquoted = re.sub(pattern, bare, data)
    return data if unquoted == data else unquoted


def _is_time(dtype: pa.DataType) -> bool:
    return pa.types.is_timestamp(dtype) or pa.types.is_date(dtype)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The schema's columns of ``table``, cast to it (``to_arrow`` names a missing or ill-typed column)."""
    columns = {}
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            if pa.types.is_timestamp(field.type):
                column = _timestamps(column, field.name)
            elif pa.types.is_date(field.type) and pa.types.is_string(column.type):
                column = _dates(column, field)
            elif pa.types.is_map(field.type) and pa.types.is_string(column.type):
                column = _json_maps(column, field)
            columns[field.name] = column
    return to_arrow(pa.table(columns), schema)


def _json_maps(column: pa.ChunkedArray, field: pa.Field) -> pa.Array:
    """JSON objects' text as a map column: an object's members as its entries, in order; NULL for JSON null
    or a value that is not an object, or whose values are not of the map's value type (as Spark's reader
    gives NULL for a field it cannot convert).

    >>> _json_maps(pa.chunked_array([['{"a": 1.5, "b": 2}', None, '[1]', '{"a": "x"}']]),
    ...            pa.field("m", pa.map_(pa.string(), pa.float64()))).to_pylist()
    [[('a', 1.5), ('b', 2.0)], None, None, None]
    >>> _json_maps(pa.chunked_array([['{"a": 1.7}', '{"a": 1, "b": {"c": true}}']]),
    ...            pa.field("m", pa.map_(pa.string(), pa.int32()))).to_pylist()
    [None, None]
    >>> _json_maps(pa.chunked_array([['{"a": 1, "b": {"c": true}}']]),
    ...            pa.field("m", pa.map_(pa.string(), pa.string()))).to_pylist()
    [[('a', '1'), ('b', '{"c":true}')]]
    """
    entries = []
    item = field.type.item_type
    for text in column.to_pylist():
        try:
            value = json.loads(text) if text is not None else None
        except ValueError:
            value = None
        pairs = [(k, _json_map_value(v, item)) for k, v in value.items()] if isinstance(value, dict) else None
        # a value that does not read as the map's type (1.7 for an int) makes the map NULL, as Spark's reader
        entries.append(None if pairs is None or any(v is _UNREAD for _, v in pairs) else pairs)
    try:
        return pa.array(entries, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([_one_map(e, field.type) for e in entries], type=field.type)


_UNREAD = object()


def _json_map_value(value, dtype: pa.DataType):
    """One JSON value of a map as its value type reads it: a string takes any JSON value as its text (as Spark),
    an integer only a JSON integer, a boolean only a boolean; ``_UNREAD`` otherwise."""
    if value is None:
        return None
    if pa.types.is_string(dtype):
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if pa.types.is_integer(dtype):
        return value if isinstance(value, int) and not isinstance(value, bool) else _UNREAD
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _UNREAD
    if pa.types.is_boolean(dtype):
        return value if isinstance(value, bool) else _UNREAD
    return value


def _one_map(entries: list | None, dtype: pa.MapType) -> list | None:
    try:
        pa.array([entries], type=dtype)
        return entries
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None


def _timestamps(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """ISO 8601 text (or any timestamp) as timestamp[us, UTC]; times without a zone are UTC, and digits past
    the microsecond are dropped, as in Spark (which keeps microseconds)."""
    if pa.types.is_timestamp(column.type):
        return utc_timestamps(column)  # a naive time is UTC; nanoseconds (parquet) are truncated
    if not pa.types.is_string(column.type):
        return column
    try:
        return _parse_timestamps(column)
    except pa.ArrowInvalid:  # rare, so the common case skips the regex: 7-9 fractional digits
        truncated = pc.replace_substring_regex(column, _SUBMICROS, r"\1")
    try:
        return _parse_timestamps(truncated)
    except pa.ArrowInvalid as err:
        value = re.search(r"'(.*?)'", str(err))
        held = value.group(0) if value else "a value"
        raise SchemaError(f"column {name!r} is a timestamp but holds {held}; {_ISO_HINT}") from None


def _parse_timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    zoned = pc.match_substring_regex(column, _ZONED)
    nothing = pa.scalar(None, column.type)
    naive = pc.if_else(zoned, nothing, column).cast(pa.timestamp("us")).cast(TIMESTAMP)
    aware = pc.if_else(zoned, column, nothing).cast(TIMESTAMP)
    return pc.if_else(zoned, aware, naive)


def _dates(column: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    """ISO dates (``2024-05-01``) as a date column: JSON has no date type, so they come as text."""
    try:
        return column.cast(field.type)
    except pa.ArrowInvalid as err:
        value = re.search(r"'(.*?)'", str(err))
        held = value.group(0) if value else "a value"
        raise SchemaError(f"column {field.name!r} is a date but holds {held}; write ISO 8601 like "
                          "'2024-05-01'") from None


def _first_bad_line(data: bytes, parse: Parser, schema: pa.Schema, *, header: bool) -> int | None:
    """The 1-based line where parsing first fails: the shortest failing prefix of lines, by bisection."""
    lines = data.splitlines(keepends=True)
    skip = next((k for k, line in enumerate(lines) if line.strip()), len(lines)) + 1 if header else 0

    def fails(count: int) -> bool:
        try:
            parse(b"".join(lines[:skip + count]), schema)
        except _BAD_DATA:
            return True
        return False

    if header and fails(0):
        return skip  # the header itself, e.g. a column of the schema is missing
    low, high = 1, len(lines) - skip
    if high < low or not fails(high):
        return None
    while low < high:
        middle = (low + high) // 2
        if fails(middle):
            high = middle
        else:
            low = middle + 1
    return skip + low


_CSV_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (.+?): invalid value (.*)$",
                             re.DOTALL)
_JSON_CHANGED = re.compile(r"JSON parse error: Column\(/?(.*?)\) changed from (\w+) to (\w+)")
_JSON_NUMBER = re.compile(r"Failed to convert JSON to (\w+), couldn't parse:(.*)$", re.DOTALL)


def _explain(err: Exception, csv_header: Sequence[str] = ()) -> str:
    """Arrow's message in the words of the schema: which column, what was expected, what was there."""
    text = re.sub(r" in row \d+$", "", str(err))  # Arrow counts rows per block, not per file: misleading
    conversion = _CSV_CONVERSION.match(text)
    if conversion:
        index, type_name, value = int(conversion.group(1)), conversion.group(2), conversion.group(3)
        name = csv_header[index] if index < len(csv_header) else f"#{index + 1}"
        return f"column {name!r} is {_type_name(type_name)} but holds {value}"
    changed = _JSON_CHANGED.match(text)
    if changed:
        name, expected, found = changed.groups()
        if not name:
            return f"each line must be a JSON object, not {_a(found)}"
        return f"column {name!r}: expected {_a(expected)}, found {_a(found)}"
    return text


def _json_number(err: Exception, line: bytes, schema: pa.Schema) -> str | None:
    """A JSON number that does not fit its column (2.7 or 2**70 for an int), with the column named: Arrow's
    message names only the type. Spark's PERMISSIVE reader would make it NULL; a file is never half-read
    here, so it is refused instead, with the way to keep it."""
    number = _JSON_NUMBER.match(str(err))
    if not number:
        return None
    value = number.group(2).strip()
    try:  # numbers as their text, to find the one Arrow quotes
        row = json.loads(line, parse_float=str, parse_int=str)
    except ValueError:
        return None
    field = next((f for f in schema if isinstance(row, dict) and row.get(f.name) == value
                  and not pa.types.is_string(f.type)), None)
    if field is None:
        return None
    type_name = spark_type_name(field.type)
    if pa.types.is_integer(field.type) and not re.fullmatch(r"-?\d+", value):
        keep = "an int column takes numbers written without a fraction or exponent; declare it double"
    else:
        keep = f"outside {type_name}'s range; declare it double"
    return f"column {field.name!r} is {type_name} but holds {value} ({keep})"


def _csv_header(data: bytes, sep: str = ",") -> list[str]:
    first = next((line for line in data.splitlines() if line.strip()), b"")
    return next(csv.reader([first.decode("utf-8", errors="replace")], delimiter=sep), [])


def _type_name(arrow_name: str) -> str:
    try:
        return spark_type_name(pa.type_for_alias(arrow_name))
    except ValueError:
        return arrow_name


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _spark_type(dtype: pa.DataType) -> pa.DataType:
    """An inferred Arrow type as the Spark type it stands for."""
    if pa.types.is_timestamp(dtype):
        return TIMESTAMP
    if pa.types.is_dictionary(dtype):
        return _spark_type(dtype.value_type)
    if pa.types.is_null(dtype) or pa.types.is_time(dtype) or pa.types.is_large_string(dtype):
        return pa.string()
    return dtype


def file_schema(path: str, format: str, header: bool | str = True, sep: str = ",") -> pa.Schema:
    """The schema a file holds, as Spark types (what the files source infers without a schema); a CSV file
    without a header has Spark's column names ``_c0``, ``_c1``, ..."""
    try:
        if format == "text":
            found = pa.schema([("value", pa.string())])
        elif format == "parquet":
            found = pq.read_schema(path)
        elif format == "csv":
            found = pa_csv.open_csv(pa.BufferReader(_load(path)),
                                    read_options=pa_csv.ReadOptions(autogenerate_column_names=not header),
                                    parse_options=pa_csv.ParseOptions(delimiter=sep),
                                    convert_options=pa_csv.ConvertOptions(**_CSV_NULLS)).schema
            if not header:
                found = pa.schema([pa.field(f"_c{index}", f.type) for index, f in enumerate(found)])
        else:
            found = pa_json.read_json(pa.BufferReader(_load(path))).schema
    except (pa.ArrowException, OSError) as err:
        raise SourceError.at(path, None, f"cannot infer a schema from it: {_explain(err)}") from None
    return pa.schema([pa.field(f.name, _spark_type(f.type)) for f in found])
