"""The files source: every new file in a directory is new input (Spark's file stream source).

Offsets count files: offset N is the N-th file seen, in order of modification time then name. Write each file
completely before it appears (write it elsewhere or under a hidden name, then rename it), because a file is
read once and never again: a file seen half-written stays half-read, as in Spark.

With a backlog (``max_files_per_trigger`` smaller than the files waiting), the files of the next batch are
read ahead on a worker thread while this one runs: parquet and CSV decoding release the GIL, so the read
overlaps the batch's work on the other core. A file's errors still surface in the batch that reads it.
"""

from __future__ import annotations

import glob
import os
import threading
import warnings
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import unquote

import pyarrow as pa

from stream_nb.sources._protocol import (
    CHECKPOINT_LOG,
    CLOSE,
    CONCURRENT_READS,
    ENCODED_READS,
    MAX_PER_TRIGGER,
)
from stream_nb.sources.errors import SourceError, check_offsets
from stream_nb.sources.formats import file_schema, read_file, read_parquet_file
from stream_nb.sources.listing import NewFiles
from stream_nb.types import describe_schema, parse_schema

__all__ = ["FilesSource", "files", "read_file"]

_EXTENSIONS = {
    "csv": (".csv", ".csv.gz", ".csv.bz2"),
    "json": (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"),
    "parquet": (".parquet", ".pq"),
    "text": ("",),  # any file, as Spark's text source reads them: a row per line, in one column (value)
}
class FilesSource:
    """New files under ``path`` as a stream (see ``files``); ``seen_files`` is what the offsets index."""

    # concurrent reads: the file list is behind a lock, and reading files shares nothing
    capabilities = frozenset({MAX_PER_TRIGGER, CONCURRENT_READS, CHECKPOINT_LOG, CLOSE, ENCODED_READS})

    def __init__(self, path: str | os.PathLike, *, format: str = "csv",
                 schema: str | Mapping[str, str] | pa.Schema | None = None,
                 max_files_per_trigger: int | None = None, header: bool | str = True, sep: str = ","):
        if format not in _EXTENSIONS:
            raise ValueError(f"files source: format must be one of {', '.join(_EXTENSIONS)}, not {format!r}")
        if max_files_per_trigger is not None and (
                isinstance(max_files_per_trigger, bool) or not isinstance(max_files_per_trigger, int)
                or max_files_per_trigger < 1):
            raise ValueError("max_files_per_trigger must be a positive int or None, "
                             f"not {max_files_per_trigger!r}")
        self.path = os.fspath(path)
        self.format = format
        if header not in (True, False, "skip"):
            raise ValueError(f"files source: header is True, False or 'skip', not {header!r}")
        self.header = header
        if not isinstance(sep, str) or len(sep) != 1:
            raise ValueError(f"files source: sep is one character, such as ';' or '\\t', not {sep!r}")
        self.sep = sep
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
        if format == "text" and schema is None:
            schema = "value string"
        self.schema = parse_schema(schema) if schema is not None else self._infer_schema()
        self.schema = self._with_partition_columns(self.schema)
        if format == "text" and [pa.types.is_string(f.type) for f in self.schema] != [True]:
            raise ValueError(f"files source: the text format reads one string column (value), not "
                             f"{describe_schema(self.schema)} (as Spark's text source)")
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

    def _read_files(self, start: int, end: int) -> list[tuple[pa.Table, dict[str, pa.ChunkedArray]]]:
        """Each file of ``seen_files[start:end]``, as ``read_parquet_file`` gives it, read ahead or now."""
        with self._lock:
            check_offsets(start, end, len(self._seen), self.description)
            paths = self._seen[start:end]
            following = self._seen[end:end + (end - start)]
            ahead = [self._ahead.pop(path, None) for path in paths]
            for stale in self._ahead.values():  # read ahead for a batch that did not come (a redo, a stop)
                stale.cancel()
            self._ahead = {path: self._read_ahead(path) for path in following}
        return [future.result() if future is not None else self._read_file(path)
                for path, future in zip(paths, ahead)]

    def read(self, start: int, end: int) -> pa.Table:
        """The rows of files ``seen_files[start:end]``, with exactly ``schema``."""
        return self.read_encoded(start, end)[0]

    def read_encoded(self, start: int, end: int) -> tuple[pa.Table, dict[str, pa.ChunkedArray]]:
        """``read``'s table, and its string columns that every file held dictionary-encoded (parquet), as they
        were read: the same rows, dictionary-encoded (a chunk per file or row group, each its own dictionary)."""
        files = self._read_files(start, end)
        if not files:
            return self.schema.empty_table(), {}
        table = pa.concat_tables([table for table, _ in files])
        names = set.intersection(*(set(encoded) for _, encoded in files))
        return table, {name: pa.chunked_array([chunk for _, encoded in files for chunk in encoded[name].chunks],
                                              type=files[0][1][name].type)
                       for name in sorted(names) if len({encoded[name].type for _, encoded in files}) == 1}

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
        return self._reader.submit(self._read_file, path, False)

    def _read_file(self, path: str, threads: bool = True) -> tuple[pa.Table, dict[str, pa.ChunkedArray]]:
        """``threads``: a parquet file's columns decoded on Arrow's threads too (not when read ahead: the batch
        keeps the other core busy, and the threads' hand-offs cost CPU). A file under ``key=value`` directories
        has the schema's column ``key`` filled with ``value`` (Spark's partition columns), the rest read."""
        partitions = {k: v for k, v in _partition_values(path, _root(self.path)).items()
                      if k in self.schema.names} if self.format != "text" else {}
        schema = pa.schema([f for f in self.schema if f.name not in partitions]) if partitions else self.schema
        if self.format == "parquet":
            table, encoded = read_parquet_file(path, schema, threads=threads)
        else:
            table, encoded = read_file(path, self.format, schema, header=self.header, threads=threads,
                                       sep=self.sep), {}
        if not partitions:
            return table, encoded
        columns = []
        for field in self.schema:
            if field.name not in partitions:
                columns.append(table.column(field.name))
                continue
            try:
                value = pa.scalar(partitions[field.name], pa.string()).cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                value = pa.scalar(None, field.type)  # Spark: NULL for a value that is not of the type
            columns.append(pa.repeat(value, table.num_rows))
        return pa.table(columns, schema=self.schema), encoded

    def _with_partition_columns(self, schema: pa.Schema) -> pa.Schema:
        """``schema`` and, after it, the partition columns (``key=value`` directories) of the files there now
        that it lacks, as strings (as Spark adds them to a stream's schema)."""
        if self.format == "text" or not os.path.isdir(self.path):
            return schema
        try:
            files = NewFiles(self.path, self._is_input)(lambda path: False)
        except OSError:
            return schema
        keys = dict.fromkeys(k for path in files for k in _partition_values(path, _root(self.path)))
        return pa.schema([*schema, *(pa.field(k, pa.string()) for k in keys if k not in schema.names)])

    def _is_input(self, name: str) -> bool:
        """Input files have the format's extension; names starting with ``.`` or ``_`` are hidden (Spark)."""
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
        schema = file_schema(first, self.format, header=self.header, sep=self.sep)
        if self.format != "parquet":
            ddl = describe_schema(schema)
            warnings.warn(f"files source: no schema given, so it was inferred from {first}: {ddl}. "
                          f"Spark requires a schema for {self.format} streams; pass schema=\"{ddl}\" (with "
                          "the types you mean) so that later files are read the same way.", stacklevel=4)
        return schema

    def __repr__(self) -> str:
        return f"{self.description} ({self.format}, {len(self._seen)} files seen)"


def _root(path: str) -> str:
    """Where a source's partition directories start: its directory, or a glob's part before the first
    wildcard (a ``k=v`` directory above it is not a partition of the source)."""
    parts = os.path.abspath(path).split(os.sep)
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    return os.sep.join(parts[:fixed]) or os.sep


def _partition_values(path: str, root: str | None = None) -> dict[str, str | None]:
    """The ``key=value`` directories on a file's path (below ``root`` when given), as Spark reads them:
    values URL-unescaped, ``__HIVE_DEFAULT_PARTITION__`` a NULL.

    >>> _partition_values("/data/date=2024-01-01/device=a%2Fb/part-0.json")
    {'date': '2024-01-01', 'device': 'a/b'}
    """
    directory = os.path.dirname(path)
    if root is not None:
        directory = os.path.relpath(directory, root)
        if directory.startswith(".."):  # not under the root
            return {}
    values: dict[str, str | None] = {}
    for part in directory.split(os.sep):
        key, equals, value = part.partition("=")
        if equals and key and not key.startswith((".", "_")):
            values[unquote(key)] = None if value == "__HIVE_DEFAULT_PARTITION__" else unquote(value)
    return values


def files(path: str | os.PathLike, *, format: str = "csv",
          schema: str | Mapping[str, str] | pa.Schema | None = None,
          max_files_per_trigger: int | None = None, header: bool | str = True, sep: str = ",") -> FilesSource:
    """New files in a directory (or matching a glob) as a stream: csv (with a header or not), json lines, or
    parquet.

    Files whose name starts with ``.`` or ``_``, or that lack the format's extension, are ignored. Columns are
    matched by name (a headerless csv's by position; a parquet file's in any case, as Spark's reader); columns
    not in the schema are ignored, schema columns missing from a json row or a parquet file are null.
    Timestamps are ISO 8601; those without a zone are taken as UTC. Digits past the microsecond (ISO text
    with 7-9 fractional digits, nanosecond parquet) are dropped, as Spark keeps microseconds: the same
    instant reads the same from every format and from ``add_data``. Dates are ISO (``2024-05-01``). csv and
    json are UTF-8. A malformed file fails the read with a ``SourceError`` naming the file and line; it is
    never skipped (where Spark's PERMISSIVE mode would make a field NULL, such as 2.7 for an int column).

    Args:
        path: a directory, or a glob like ``"data/*.csv"``.
        format: ``"csv"``, ``"json"`` (one object per line), ``"parquet"`` or ``"text"`` (every file, a row per
            line in one string column ``value``, as Spark's text source).
        schema: a Spark DDL string or ``{"col": "type"}``; if None, inferred from the first file (with a
            warning for csv and json, which Spark requires a schema for).
        max_files_per_trigger: at most this many new files in one batch.
        header: csv only: the first line of each file names its columns. Without one (``header=False``) the
            columns are the schema's in order (an inferred schema names them ``_c0``, ``_c1``, ...), and a line
            with another number of fields is refused with its file and line. ``header="skip"``: a first line
            that is skipped, the columns the schema's in order (Spark's ``header=true`` with a schema, whose
            ``enforceSchema`` reads the columns by position, whatever the header names). Spark's default is
            ``header=false``; this source's is True (``spark.readStream.csv`` in ``stream_nb.pyspark`` passes
            Spark's).
        sep: csv only: the character between fields (Spark's ``sep`` option), ``","`` by default.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.csv").write_text("ts,temp\\n2024-05-01 12:00:00,20.5\\n")
    >>> src = files(folder, schema="ts timestamp, temp double")
    >>> src.latest_offset()
    1
    >>> src.read(0, 1).to_pylist()[0]["temp"]
    20.5
    """
    return FilesSource(path, format=format, schema=schema, max_files_per_trigger=max_files_per_trigger,
                       header=header, sep=sep)
