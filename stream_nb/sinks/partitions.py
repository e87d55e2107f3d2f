"""Hive-style partition directories, as Spark's file sinks write them with ``partitionBy``: one folder level per
partition column, ``col=value``, the value as Spark casts it to a string (timestamps in the session time zone,
UTC) with the characters a path cannot hold escaped (``%3A`` for ``:``) and NULL as
``__HIVE_DEFAULT_PARTITION__``; the data files below hold the other columns only.

    out/device=a/part-00000-<uuid>.parquet
    out/device=__HIVE_DEFAULT_PARTITION__/part-00000-<uuid>.parquet
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL = "__HIVE_DEFAULT_PARTITION__"
# Spark's ExternalCatalogUtils.charToEscape (besides control characters)
_ESCAPED = set('"#%\'*/:=?\\\x7f{[]^')


def escape(text: str) -> str:
    """A partition value as a path segment holds it (Spark's escapePathName).

    >>> escape("2024-01-01 00:00:00")
    '2024-01-01 00%3A00%3A00'
    """
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED or ord(c) < 0x20 else c for c in text)


def value_text(value: object) -> str:
    """A partition value as Spark casts it to a string.

    >>> value_text(datetime.datetime(2024, 1, 1, 0, 0, 5, tzinfo=datetime.UTC)), value_text(True), value_text(None)
    ('2024-01-01 00:00:05', 'true', '__HIVE_DEFAULT_PARTITION__')
    """
    if value is None:
        return NULL
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime.datetime):
        value = value.astimezone(datetime.UTC) if value.tzinfo else value
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")
    return str(value)


def check(columns: list[str], schema: pa.Schema) -> None:
    """Spark's refusals: a partition column the output does not have, or every column a partition column."""
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise ValueError(f"partitionBy: partition column {missing[0]!r} is not a column of the query's output "
                         f"(columns: {', '.join(schema.names)})")
    if set(schema.names) <= set(columns):
        raise ValueError("partitionBy: cannot use all columns for partition columns (as Spark): the data files "
                         "would hold none")


def split(table: pa.Table, columns: list[str]) -> Iterator[tuple[str, pa.Table]]:
    """Each partition of ``table``: its relative folder (``a=1/b=x``) and its rows without the partition
    columns, partitions in the order their first row comes."""
    if not table.num_rows:
        return
    numbered = table.append_column("__row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    groups = numbered.group_by(columns, use_threads=False).aggregate([("__row", "min")])
    groups = groups.sort_by("__row_min")
    rest = [n for n in table.column_names if n not in columns]
    for values in groups.select(columns).to_pylist():
        mask = None
        for name, value in values.items():
            this = pc.is_null(table.column(name)) if value is None else \
                pc.fill_null(pc.equal(table.column(name), pa.scalar(value, table.schema.field(name).type)), False)
            mask = this if mask is None else pc.and_(mask, this)
        folder = "/".join(f"{escape(n)}={escape(value_text(v))}" for n, v in values.items())
        yield folder, table.filter(mask).select(rest)


def values_of(folder: str, columns: list[str], schema: pa.Schema, rows: int) -> list[pa.Array]:
    """The partition columns of ``rows`` rows read from ``folder`` (``a=1/b=x``), typed as ``schema`` has them."""
    parts = {unquote(k): v for k, v in (s.split("=", 1) for s in folder.split("/") if "=" in s)}
    arrays = []
    for name in columns:
        text = unquote(parts[name])
        kind = schema.field(name).type
        arrays.append(pa.array([None if text == NULL else _typed(text, kind)] * rows, type=kind))
    return arrays


def _typed(text: str, kind: pa.DataType) -> object:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return text
    if pa.types.is_timestamp(kind) and kind.tz is not None:  # written in the session time zone, UTC
        return pc.cast(pa.scalar(text), pa.timestamp(kind.unit)).as_py().replace(tzinfo=datetime.UTC)
    return pc.cast(pa.scalar(text), kind).as_py()
