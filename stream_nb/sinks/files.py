"""The files sink: each batch's rows as data files plus a manifest, so readers see committed batches only.

    out/
      part-00003-<uuid>.parquet     the rows of batch 3
      _manifest/<query id>/3        written last, atomically: batch 3 of that query is committed

A batch that is replayed after a crash finds its manifest and writes nothing; data files a crashed attempt
left without a manifest are never read. Manifests are kept per query (the checkpoint's query id, or a new one
without a checkpoint), so a second run into the same folder adds its batches instead of finding "batch 0"
committed by the first. ``sn.read_files_sink(path)`` returns the committed rows, runs in the order they
committed; folders written before 2026-11-30 (``_manifest/N``, one run) still read, first.
"""

from __future__ import annotations

import datetime
import decimal
import io
import json
import math
import time
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from stream_nb.checkpoint.files import numbered, read_json, write_atomically, write_json
from stream_nb.sinks import partitions
from stream_nb.sinks._protocol import BIND, OPEN
from stream_nb.types import describe_schema, parse_schema, to_pandas

FORMATS = ("parquet", "csv", "json")
MANIFESTS = "_manifest"


class FilesSink:
    capabilities = frozenset({BIND, OPEN})

    def __init__(self, path: str | Path, format: str = "parquet", partition_by: list[str] | None = None):
        if format not in FORMATS:
            raise ValueError(f"files sink: format must be one of {', '.join(FORMATS)}, not {format!r}")
        self.path = Path(path).expanduser().absolute()
        self.format = format
        self.partition_by = list(partition_by or [])
        self.description = f"FileSink[{self.path}]"
        self._mode = "append"
        self._query_id = str(uuid.uuid4())  # used without a query (tests, scripts): a query of its own

    def bind(self, schema: pa.Schema, output_mode: str, key_columns=None) -> None:
        lowered = [name.lower() for name in schema.names]
        twice = [name for i, name in enumerate(schema.names) if name.lower() in lowered[:i]]
        if twice:  # as Spark's file sinks: a file with x twice cannot be read back by name
            raise ValueError(f"the files sink stores columns by name, and the query's output has {twice[0]!r} "
                             f"more than once (columns {schema.names}): give each column an alias of its own")
        if self.partition_by:
            partitions.check(self.partition_by, _flatten(schema.empty_table()).schema)
        self._mode = output_mode
        self.path.mkdir(parents=True, exist_ok=True)

    def open(self, query_id: str) -> None:
        """Called when the query starts: its batches are committed under its id."""
        self._query_id = query_id

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        manifest = self.path / MANIFESTS / self._query_id / str(batch_id)
        if manifest.exists():
            return  # committed before: a replayed batch writes nothing
        table = _flatten(table)
        # Spark's partitionBy: a folder per partition (col=value/), the data files without those columns
        parts = partitions.split(table, self.partition_by) if self.partition_by else [("", table)]
        names = []
        for folder, rows in parts:
            name = f"{folder}/" * bool(folder) + f"part-{batch_id:05d}-{uuid.uuid4().hex[:12]}.{self.format}"
            write_atomically(self.path / name, _encode(rows, self.format))
            names.append(name)
        partitioned = {"partitionBy": self.partition_by} if self.partition_by else {}
        write_json(manifest, {"batchId": batch_id, "files": names, "numRows": table.num_rows,
                              "format": self.format, "outputMode": self._mode,
                              "schema": describe_schema(table.schema), "queryId": self._query_id,
                              "committedAtMs": int(time.time() * 1000), **partitioned})


def _flatten(table: pa.Table) -> pa.Table:
    """Struct columns (windows) as ``w.start``, ``w.end`` columns: every format can hold those."""
    return table.flatten() if any(pa.types.is_struct(f.type) for f in table.schema) else table


def _encode(table: pa.Table, format: str) -> bytes:
    buffer = io.BytesIO()
    if format == "parquet":
        pq.write_table(table, buffer)
    elif format == "csv":
        pacsv.write_csv(table, buffer)
    else:
        return _json_lines(table)
    return buffer.getvalue()


def _json_lines(table: pa.Table) -> bytes:
    """One JSON object a line, every value as it is: doubles in the shortest form that reads back the same,
    NaN and +-Infinity as the bare words (Spark's JSON reader and this project's take them), decimals exact.
    pandas' to_json wrote doubles with 10 digits and NaN and Infinity as null.

    >>> _json_lines(pa.table({"d": [0.1 + 0.2, float("nan"), None]}))
    b'{"d":0.30000000000000004}\\n{"d":NaN}\\n{"d":null}\\n'
    """
    names = [json.dumps(name, ensure_ascii=False) + ":" for name in table.column_names]
    columns = [[_json_value(v) for v in column.to_pylist()] for column in table.columns]
    lines = ["{" + ",".join(n + v for n, v in zip(names, row)) + "}\n" for row in zip(*columns)]
    return "".join(lines).encode()


def _json_value(value) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else {"nan": "NaN", "inf": "Infinity"}.get(
            repr(value), "-Infinity")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):  # timestamps are UTC (microseconds), as the reader takes them
        return f'"{value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}"'
    if isinstance(value, datetime.date):
        return f'"{value.isoformat()}"'
    return json.dumps(value, ensure_ascii=False, default=str)


def files(path: str | Path, *, format: str = "parquet", partition_by: list[str] | None = None) -> FilesSink:
    """A sink writing each batch as files under ``path``, exactly once (a manifest per batch); with
    ``partition_by``, in Hive-style folders ``col=value/`` as Spark's ``partitionBy`` (``sinks/partitions.py``).

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> sink = files(out)
    >>> sink.bind(pa.schema([("n", pa.int64())]), "append")
    >>> sink.add_batch(0, pa.table({"n": [1, 2]}))
    >>> sink.add_batch(0, pa.table({"n": [1, 2]}))  # replayed: nothing written twice
    >>> read_files_sink(out)["n"].tolist()
    [1, 2]
    """
    return FilesSink(path, format, partition_by)


def read_files_sink(path: str | Path) -> pd.DataFrame:
    """The committed rows of a files sink: every committed batch's rows (complete mode: the last batch's)."""
    root = Path(path).expanduser()
    if not root.is_dir():  # a mistyped path is not an empty result
        raise FileNotFoundError(f"read_files_sink: {str(root)!r} is not a folder (no files sink wrote there)")
    manifests = _manifests(root / MANIFESTS)
    if manifests and manifests[-1].get("outputMode") == "complete":
        manifests = manifests[-1:]
    tables = [_committed_file(root, name, m) for m in manifests for name in m["files"] if m["numRows"]]
    if not tables:
        schema = parse_schema(manifests[-1]["schema"]) if manifests else pa.schema([])
        return to_pandas(schema.empty_table())
    try:
        return to_pandas(pa.concat_tables(tables, promote_options="permissive"))
    except (pa.ArrowTypeError, pa.ArrowInvalid) as err:
        schemas = sorted({m["schema"] for m in manifests})
        raise ValueError(f"read_files_sink: the runs written to {root} have columns that do not fit together "
                         f"({err}): {' / '.join(schemas)}. Read each run with its own sink folder") from None


def _committed_file(root: Path, name: str, manifest: dict) -> pa.Table:
    from stream_nb.sources.files import read_file

    path = root / name
    columns = manifest.get("partitionBy", [])
    if not path.exists():  # the manifest says it committed: its rows are lost, so do not read on without them
        raise FileNotFoundError(f"read_files_sink: {path} is missing: batch {manifest['batchId']} of query "
                                f"{manifest.get('queryId', '?')} committed it ({manifest['numRows']} rows), "
                                "and a files sink's data files must stay beside their manifest")
    schema = parse_schema(manifest["schema"])
    if not columns:
        return read_file(str(path), manifest["format"], schema, blank_line_is_null=True)
    # a partition's file holds the other columns; its folder says the partition's values (Spark puts them last)
    data = pa.schema([f for f in schema if f.name not in columns])
    rows = read_file(str(path), manifest["format"], data, blank_line_is_null=True)
    values = partitions.values_of(str(Path(name).parent), columns, schema, rows.num_rows)
    return pa.Table.from_arrays([*rows.columns, *values],
                                schema=pa.schema([*data, *(schema.field(c) for c in columns)]))


def _manifests(directory: Path) -> list[dict]:
    """Every committed batch's manifest: the old single-run ones first, then each query's, in batch order,
    queries in the order their first batch committed."""
    runs = [[read_json(directory / str(b)) for b in numbered(directory)]]
    queries = [d for d in directory.iterdir() if d.is_dir() and not d.name.startswith(".")] \
        if directory.is_dir() else []
    started = []
    for folder in queries:
        run = [read_json(folder / str(b)) for b in numbered(folder)]
        if run:
            started.append((run[0].get("committedAtMs", 0), folder.name, run))
    runs += [run for _, _, run in sorted(started, key=lambda s: s[:2])]
    return [m for run in runs for m in run]


__all__ = ["FilesSink", "files", "read_files_sink"]
