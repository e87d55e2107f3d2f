"""The files source: every new file in a directory is new input (Spark's file stream source).

Offsets count files: offset N is the N-th file seen, in order of modification time then name. Write each file
completely before it appears (write it elsewhere or under a hidden name, then rename it), because a file is
read once and never again: a file seen half-written stays half-read, as in Spark.

With a backlog (``max_files_per_trigger`` smaller than the files waiting), the files of the next batch are
read ahead on a worker thread while this one runs: parquet and CSV decoding release the GIL, so the read
overlaps the batch's work on the other core. A file's errors still surface in the batch that reads it.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import re
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from stream_nb.sources.errors import SourceError, check_offsets
from stream_nb.sources.listing import NewFiles
from stream_nb.types import (
    TIMESTAMP, SchemaError, describe_schema, parse_schema, spark_type_name, to_arrow, utc_timestamps,
)

_EXTENSIONS = {
    "csv": (".csv", ".csv.gz", ".csv.bz2"),
    "json": (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"),
    "parquet": (".parquet", ".pq"),
}
# As Spark's CSV reader: an empty field is null, a quoted empty field "" is the empty string.
_CSV_NULLS = {"strings_can_be_null": True, "null_values": [""], "quoted_strings_can_be_null": False}
_BAD_DATA = (pa.ArrowException, SchemaError)
_ISO_HINT = "write ISO 8601 like '2024-05-01 12:00:00' (UTC) or '2024-05-01T12:00:00+02:00'"
# An ISO 8601 time that carries its own zone (Z, +02:00, -0500); all others are taken as UTC.
_ZONED = r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:[Zz]|[+-]\d\d(?::?\d\d)?)$"
# Fractional seconds past the microsecond, which Spark drops (it keeps microseconds).
_SUBMICROS = r"(:\d\d\.\d{6})\d+"

Parser = Callable[[bytes, pa.Schema], pa.Table]


class FilesSource:
    """New files under ``path`` as a stream (see ``files``); ``seen_files`` is what the offsets index."""

    concurrent_reads = True  # the file list is behind a lock; reading files shares nothing

    def __init__(self, path: str | os.PathLike, *, format: str = "csv",
                 schema: str | Mapping[str, str] | pa.Schema | None = None,
                 max_files_per_trigger: int | None = None):
        if format not in _EXTENSIONS:
            raise ValueError(f"files source: format must be one of {', '.join(_EXTENSIONS)}, not {format!r}")
        if max_files_per_trigger is not None and (
                isinstance(max_files_per_trigger, bool) or not isinstance(max_files_per_trigger, int)
                or max_files_per_trigger < 1):
            raise ValueError("max_files_per_trigger must be a positive int or None, "
                             f"not {max_files_per_trigger!r}")
        self.path = os.fspath(path)
        self.format = format
        self.max_per_trigger = max_files_per_trigger
        # As Spark: a plain path must exist when the stream is defined; a glob may match nothing yet.
        if not glob.has_magic(self.path) and not os.path.exists(self.path):
            raise SourceError(f"files source: path {self.path!r} does not exist; create the directory first "
                              "(it may stay empty until files arrive), or give a glob like 'data/*.csv'",
                              file=self.path)
        self._lock = threading.Lock()
        self._listing_lock = threading.Lock()
        self._new_files = NewFiles(self.path, self._is_input)
        self._seen: list[str] = []
        self._seen_set: set[str] = set()
        self._ahead: dict[str, Future] = {}  # the next batch's files, being read
        self._reader: ThreadPoolExecutor | None = None
        self.schema = parse_schema(schema) if schema is not None else self._infer_schema()
        self.description = f"FileStreamSource[{self.path}]"

    @property
    def seen_files(self) -> list[str]:
        """Absolute paths of the files seen so far: ``seen_files[n]`` is offset n. Assign to restore it."""
        with self._lock:
            return list(self._seen)

    @seen_files.setter
    def seen_files(self, paths: list[str]) -> None:
        with self._listing_lock, self._lock:
            self._seen = [os.fspath(p) for p in paths]
            self._seen_set = set(self._seen)
            self._new_files.forget()  # list everything again: files not in the restored list are new

    def checkpoint_log(self, start: int, end: int) -> list[str]:
        """What a checkpoint keeps of offsets ``start`` to ``end``: the files they stand for."""
        with self._lock:
            return self._seen[start:end]

    def restore_checkpoint_log(self, paths: list[str]) -> None:
        """Offsets mean the files they meant before the restart (files listed since come after them)."""
        self.seen_files = paths

    def latest_offset(self) -> int:
        """Appends the files not seen before (see ``listing.py``: an idle poll lists no directory and stats no
        file already seen) and returns how many files have been seen."""
        with self._listing_lock:  # one lister at a time: a second caller waits and sees the first one's files
            try:
                listed = self._new_files(lambda path: path in self._seen_set)
            except OSError as err:
                raise SourceError(f"files source: cannot list {self.path!r}: {err}", file=self.path) from None
            with self._lock:
                for path in listed:
                    if path not in self._seen_set:
                        self._seen.append(path)
                        self._seen_set.add(path)
                return len(self._seen)

    def read(self, start: int, end: int) -> pa.Table:
        """The rows of files ``seen_files[start:end]``, with exactly ``schema``."""
        with self._lock:
            check_offsets(start, end, len(self._seen), self.description)
            paths = self._seen[start:end]
            following = self._seen[end:end + (end - start)]
            ahead = [self._ahead.pop(path, None) for path in paths]
            for stale in self._ahead.values():  # read ahead for a batch that did not come (a redo, a stop)
                stale.cancel()
            self._ahead = {path: self._read_ahead(path) for path in following}
        tables = [future.result() if future is not None else read_file(path, self.format, self.schema)
                  for path, future in zip(paths, ahead)]
        return pa.concat_tables(tables) if tables else self.schema.empty_table()

    def close(self) -> None:
        """Stop reading ahead and end the read-ahead thread (a query calls this when it stops). The source can
        still be read, by another query or after a restart: a later read ahead starts a thread again."""
        with self._lock:
            for future in self._ahead.values():
                future.cancel()
            self._ahead = {}
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.shutdown(wait=True)  # a file being read is finished (another query may be waiting on it)

    def _read_ahead(self, path: str) -> Future:
        if self._reader is None:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream_nb-files")
        return self._reader.submit(read_file, path, self.format, self.schema)

    def _is_input(self, name: str) -> bool:
        """Input files have the format's extension; names starting with ``.`` or ``_`` are hidden, as in Spark."""
        return not name.startswith((".", "_")) and name.lower().endswith(_EXTENSIONS[self.format])

    def _infer_schema(self) -> pa.Schema:
        try:
            files = NewFiles(self.path, self._is_input)(lambda path: False)
        except OSError as err:
            raise SourceError(f"files source: cannot list {self.path!r}: {err}", file=self.path) from None
        if not files:
            raise SourceError(f"files source: no schema given, and no {self.format} file in {self.path!r} to "
                              f"infer one from; pass schema=\"col type, ...\"", file=self.path)
        first = files[0]
        try:
            if self.format == "parquet":
                found = pq.read_schema(first)
            elif self.format == "csv":
                found = pa_csv.open_csv(pa.BufferReader(_load(first)),
                                        convert_options=pa_csv.ConvertOptions(**_CSV_NULLS)).schema
            else:
                found = pa_json.read_json(pa.BufferReader(_load(first))).schema
        except (pa.ArrowException, OSError) as err:
            raise SourceError.at(first, None, f"cannot infer a schema from it: {_explain(err)}") from None
        schema = pa.schema([pa.field(f.name, _spark_type(f.type)) for f in found])
        if self.format != "parquet":
            ddl = describe_schema(schema)
            warnings.warn(f"files source: no schema given, so it was inferred from {first}: {ddl}. "
                          f"Spark requires a schema for {self.format} streams; pass schema=\"{ddl}\" (with "
                          "the types you mean) so that later files are read the same way.", stacklevel=4)
        return schema

    def __repr__(self) -> str:
        return f"{self.description} ({self.format}, {len(self._seen)} files seen)"


def files(path: str | os.PathLike, *, format: str = "csv",
          schema: str | Mapping[str, str] | pa.Schema | None = None,
          max_files_per_trigger: int | None = None) -> FilesSource:
    """New files in a directory (or matching a glob) as a stream: csv (with a header), json lines, or parquet.

    Files whose name starts with ``.`` or ``_``, or that lack the format's extension, are ignored. Columns are
    matched by name; columns not in the schema are ignored, schema columns missing from a json row are null.
    Timestamps are ISO 8601; those without a zone are taken as UTC. Digits past the microsecond (ISO text
    with 7-9 fractional digits, nanosecond parquet) are dropped, as Spark keeps microseconds: the same
    instant reads the same from every format and from ``add_data``. Dates are ISO (``2024-05-01``). csv and
    json are UTF-8. A malformed file fails the read with a ``SourceError`` naming the file and line; it is
    never skipped (where Spark's PERMISSIVE mode would make a field NULL, such as 2.7 for an int column).

    Args:
        path: a directory, or a glob like ``"data/*.csv"``.
        format: ``"csv"``, ``"json"`` (one object per line) or ``"parquet"``.
        schema: a Spark DDL string or ``{"col": "type"}``; if None, inferred from the first file (with a
            warning for csv and json, which Spark requires a schema for).
        max_files_per_trigger: at most this many new files in one batch.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.csv").write_text("ts,temp\\n2024-05-01 12:00:00,20.5\\n")
    >>> src = files(folder, schema="ts timestamp, temp double")
    >>> src.latest_offset()
    1
    >>> src.read(0, 1).to_pylist()[0]["temp"]
    20.5
    """
    return FilesSource(path, format=format, schema=schema, max_files_per_trigger=max_files_per_trigger)


def read_file(path: str, format: str, schema: pa.Schema) -> pa.Table:
    """One input file as a table of exactly ``schema``; a SourceError names the file and line if it is bad."""
    try:
        if format == "parquet":
            with pq.ParquetFile(path) as parquet:  # one file: quicker than read_table's dataset machinery
                return _conform(parquet.read(), schema)
        data = _load(path)
    except FileNotFoundError:
        gone = "the file is gone; input files must stay until a query has read them"
        raise SourceError.at(path, None, gone) from None
    except (*_BAD_DATA, OSError) as err:
        raise SourceError.at(path, None, _explain(err)) from None
    _check_utf8(path, data)
    parse = _parse_csv if format == "csv" else _parse_json
    try:
        return parse(data, schema)
    except _BAD_DATA as err:
        line = _first_bad_line(data, parse, schema, header=format == "csv")
        if format == "csv":
            what = _explain(err, _csv_header(data))
        else:
            what = _json_number(err, data.splitlines()[line - 1] if line else b"", schema) or _explain(err)
        raise SourceError.at(path, line, what) from None


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


def _parse_csv(data: bytes, schema: pa.Schema) -> pa.Table:
    if not data.strip():
        return schema.empty_table()
    # Timestamps come in as text: Arrow's own parser rejects a column that mixes naive and zoned times.
    types = {f.name: pa.string() if pa.types.is_timestamp(f.type) else f.type for f in schema}
    options = pa_csv.ConvertOptions(column_types=types, **_CSV_NULLS)

    def read(block_size: int | None) -> pa.Table:
        blocks = pa_csv.ReadOptions(block_size=block_size) if block_size else None
        return pa_csv.read_csv(pa.BufferReader(data), read_options=blocks, convert_options=options)

    return _conform(_whole_lines(read, data), schema)


def _parse_json(data: bytes, schema: pa.Schema) -> pa.Table:
    if not data.strip():
        return schema.empty_table()
    # Times and dates come in as text, parsed by _conform: Arrow's JSON reader takes neither 7-9 fractional
    # digits nor dates.
    types = pa.schema([pa.field(f.name, pa.string()) if _is_time(f.type) else f for f in schema])
    options = pa_json.ParseOptions(explicit_schema=types, unexpected_field_behavior="ignore")

    def read(block_size: int | None) -> pa.Table:
        blocks = pa_json.ReadOptions(block_size=block_size) if block_size else None
        return pa_json.read_json(pa.BufferReader(data), read_options=blocks, parse_options=options)

    return _conform(_whole_lines(read, data), schema)


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
            columns[field.name] = column
    return to_arrow(pa.table(columns), schema)


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
                             re.S)
_JSON_CHANGED = re.compile(r"JSON parse error: Column\(/?(.*?)\) changed from (\w+) to (\w+)")
_JSON_NUMBER = re.compile(r"Failed to convert JSON to (\w+), couldn't parse:(.*)$", re.S)


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


def _csv_header(data: bytes) -> list[str]:
    first = next((line for line in data.splitlines() if line.strip()), b"")
    return next(csv.reader([first.decode("utf-8", errors="replace")]), [])


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
