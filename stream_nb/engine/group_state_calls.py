"""One call of an ``applyInPandasWithState`` function, as PySpark's worker makes it: the key as a tuple, the
group's rows as an iterator of pandas DataFrames (one empty frame when the group timed out), a
``GroupState``; its output checked against ``outputStructType`` and its state against ``stateStructType``.
An error names the function and the key (the query adds the batch), and which column does not fit.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from stream_nb.pyspark.sql.streaming.state import GroupState
from stream_nb.types import SchemaError, to_arrow

NO_TIMESTAMP = GroupState.NO_TIMESTAMP


class GroupFunctionError(RuntimeError):
    """The function failed or returned what does not fit its declared schemas."""


@dataclass(frozen=True)
class Entry:
    """A group's state: its value (None: no value, though a timeout may still be set, as Spark keeps it)."""

    value: tuple | None
    timeout_ms: int = NO_TIMESTAMP


@dataclass(frozen=True)
class Call:
    """What a batch is: its processing time and watermark, the same for each call (Spark's GroupState)."""

    batch_ms: int
    watermark_ms: int
    watermark_present: bool
    timeout: str


@dataclass(frozen=True)
class Outcome:
    output: list[tuple[pd.DataFrame, str]]  # each frame returned, and whose it is (for an error)
    write: Entry | None    # the entry to store; None: remove the group
    changed: bool          # whether the store changes (Spark writes only then)


class GroupCaller:
    """Calls the function for one group and reads back what it did."""

    def __init__(self, func: Any, name: str, output_schema: pa.Schema, state_schema: pa.Schema):
        self.func, self.name = func, name
        self.output_schema = output_schema
        self.state_type = pa.struct(list(state_schema))

    def call(self, key: tuple, frames: list[pd.DataFrame], entry: Entry | None, batch: Call,
             timed_out: bool) -> Outcome:
        old = entry or Entry(None)
        state = GroupState(old.value, batch_ms=batch.batch_ms, watermark_ms=batch.watermark_ms,
                           timeout=batch.timeout, timed_out=timed_out, watermark_present=batch.watermark_present)
        where = f"applyInPandasWithState function {self.name} for key {key!r}"
        try:
            returned = self.func(key, iter(frames), state)
            results = list(returned) if returned is not None else None
        except Exception as err:
            raise GroupFunctionError(f"{where} raised {type(err).__name__}: {err}") from err
        if results is None:
            raise GroupFunctionError(f"{where} returned None: it must return (or yield) an iterator of pandas "
                                     "DataFrames")
        output = [(self._frame(r, where), where) for r in results]
        if state.removed and state.timeout_ms == NO_TIMESTAMP:
            return Outcome(output, None, entry is not None)
        value = self._stored(state.value, where) if state.updated else state.value  # None once removed
        changed = state.updated or state.removed or state.timeout_ms != old.timeout_ms
        return Outcome(output, Entry(value, state.timeout_ms), changed)

    def _frame(self, result: Any, where: str) -> pd.DataFrame:
        if not isinstance(result, pd.DataFrame):
            raise GroupFunctionError(f"{where} returned an iterator of {type(result).__name__}, not of pandas "
                                     "DataFrames (yield the frames, or return [frame])")
        names = self.output_schema.names
        if not all(isinstance(c, str) for c in result.columns):  # PySpark: labels that are not names go by position
            if len(result.columns) != len(names):
                raise GroupFunctionError(f"{where} returned {len(result.columns)} columns by position; "
                                         f"outputStructType has {len(names)}: {', '.join(names)}")
            return result.set_axis(names, axis=1)
        if list(result.columns) != names:
            self._table(result, where)  # raises, naming the column missing or extra
        return result

    def table(self, frames: list[tuple[pd.DataFrame, str]]) -> pa.Table:
        """A batch's output as one table: converted at once (one call's frame at a time costs more than the call);
        a frame that does not convert is found by converting each, so the error names its function and key."""
        if not frames:
            return self.output_schema.empty_table()
        try:
            return to_arrow(pd.concat([f for f, _ in frames], ignore_index=True), self.output_schema)
        except (SchemaError, TypeError, ValueError, pa.ArrowException):
            return pa.concat_tables([self._table(f, where) for f, where in frames])

    def _table(self, result: pd.DataFrame, where: str) -> pa.Table:
        try:
            return to_arrow(result, self.output_schema)
        except (SchemaError, TypeError, ValueError, pa.ArrowException) as err:
            raise GroupFunctionError(f"{where} returned a frame that does not fit outputStructType: {err}") \
                from None

    def _stored(self, value: tuple | None, where: str) -> tuple:
        """The value as the state schema types it (and as a restore will read it back)."""
        fields = [f.name for f in self.state_type]
        if len(value) != len(fields):
            raise GroupFunctionError(f"{where}: state.update got {len(value)} values; stateStructType has "
                                     f"{len(fields)}: {', '.join(fields)}")
        for field, v in zip(self.state_type, value):
            try:
                pa.array([v], type=field.type)
            except (pa.ArrowException, TypeError, ValueError) as err:
                raise GroupFunctionError(f"{where}: state.update's value {v!r} for field '{field.name}' is not "
                                         f"a {field.type}: {err}") from None
        row = pa.array([dict(zip(fields, value))], type=self.state_type).to_pylist()[0]
        return state_value(row, fields)


def state_value(row: dict, fields: list[str]) -> tuple:
    """A state row read from Arrow as ``state.get`` gives it in PySpark: timestamps naive in the session time
    zone (UTC), as PySpark's rows hold them."""
    return tuple(_naive(v) if isinstance(v, datetime.datetime) else v for v in (row[f] for f in fields))


def spark_frame(table: pa.Table) -> tuple[pd.DataFrame, list[str]]:
    """A batch's rows as PySpark's Arrow serializer hands them to the function: timestamps naive
    ``datetime64[ns]`` in the session time zone (UTC), dates as ``datetime.date``, integers with nulls as
    float64 with NaN; and the integer columns that hold nulls (a group without one gets them back as int64,
    as PySpark converts each group on its own)."""
    naive = pa.schema([f.with_type(pa.timestamp(f.type.unit)) if pa.types.is_timestamp(f.type) and f.type.tz
                       else f for f in table.schema])
    frame = table.cast(naive).to_pandas(date_as_object=True, coerce_temporal_nanoseconds=True,
                                        ignore_metadata=True)
    return frame, [f.name for f in table.schema if pa.types.is_integer(f.type) and table.column(f.name).null_count]


def group_frames(frame: pd.DataFrame, keys: list[str],
                 ints_with_nulls: list[str] = ()) -> Iterator[tuple[tuple, tuple, pd.DataFrame]]:
    """Each group's (key for the function, key for the store, rows), in key order."""
    if frame.empty:
        return
    groups = sorted(frame.groupby(keys, sort=False, dropna=False).indices.items(), key=lambda item: _order(item[0]))
    ordered = frame.take(np.concatenate([index for _, index in groups])).reset_index(drop=True)
    start = 0
    for _, index in groups:  # one take for all groups, then a slice each (a take each costs more than the call)
        rows = ordered.iloc[start:start + len(index)]
        start += len(index)
        whole = [c for c in ints_with_nulls if not rows[c].isna().any()]
        if whole:
            rows = rows.astype(dict.fromkeys(whole, "int64"))
        key = tuple(rows[k].iloc[0] for k in keys)  # numpy scalars, as PySpark passes them
        stored = store_key(key)
        if any(k in ints_with_nulls for k in keys):  # a null integer key came as NaN: stored as null
            stored = tuple(None if k in ints_with_nulls and pd.isna(v) else v for k, v in zip(keys, stored))
        yield key, stored, rows


def store_key(key: tuple) -> tuple:
    """A key as Python values, timestamps naive UTC: how the store holds it, from a batch's rows or from a
    restore (Arrow gives a UTC-tagged timestamp back aware: it must find the same group)."""
    return tuple(None if v is None or v is pd.NA or v is pd.NaT else _naive(v.to_pydatetime())
                 if hasattr(v, "to_pydatetime") else _naive(v) if isinstance(v, datetime.datetime) else
                 v.item() if hasattr(v, "item") else v for v in key)


def _naive(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(datetime.UTC).replace(tzinfo=None) if value.tzinfo else value


def _order(key: Any) -> tuple:
    """A sort key for group keys: nulls and NaN last, values of one type in their order."""
    parts = key if isinstance(key, tuple) else (key,)
    return tuple((missing, str(type(v)), 0 if missing else v)
                 for v, missing in ((v, v is None or bool(pd.isna(v))) for v in parts))
