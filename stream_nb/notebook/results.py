"""The result table as the views see it: struct columns flattened (``w`` -> ``w.start``, ``w.end``), and what
changed since the last look, following the output mode (new rows; rows of changed keys; a new table).

The views read ``q.result`` (the memory sink's table, upserted by key in update mode) at most a few times a
second, and a ``ResultTracker`` turns consecutive reads into the deltas the chart and the table send.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

TIME, NUMBER, CATEGORY = "time", "number", "category"


def column_kinds(schema: pa.Schema) -> dict[str, str]:
    """The columns a view can plot, flattened, each with its kind: time, number or category.

    >>> import pyarrow as pa
    >>> window = pa.struct([("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC"))])
    >>> column_kinds(pa.schema([("w", window), ("device", pa.string()), ("n", pa.int64())]))
    {'w.start': 'time', 'w.end': 'time', 'device': 'category', 'n': 'number'}
    """
    kinds: dict[str, str] = {}
    for f in schema:
        if pa.types.is_struct(f.type):
            kinds.update({f"{f.name}.{sub.name}": _kind(sub.type) for sub in f.type})
        else:
            kinds[f.name] = _kind(f.type)
    return kinds


def _kind(dtype: pa.DataType) -> str:
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return TIME
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return NUMBER
    return CATEGORY


def struct_fields(schema: pa.Schema) -> dict[str, list[str]]:
    """The struct columns of a schema (a window is one) and their fields: what the views flatten."""
    return {f.name: [sub.name for sub in f.type] for f in schema if pa.types.is_struct(f.type)}


def flatten(frame: pd.DataFrame, structs: dict[str, list[str]]) -> pd.DataFrame:
    """Struct columns (dicts, e.g. a window) become one column per field: ``w.start``, ``w.end``.

    >>> windows = pd.DataFrame({"w": [{"start": 1, "end": 2}], "n": [5]})
    >>> flatten(windows, {"w": ["start", "end"]}).columns.tolist()
    ['w.start', 'w.end', 'n']
    """
    if not any(c in frame.columns for c in structs):
        return frame
    parts = []
    for column in frame.columns:
        if column not in structs:
            parts.append(frame[column])
            continue
        values = [v if isinstance(v, dict) else {} for v in frame[column]]
        parts += [pd.Series([v.get(k) for v in values], index=frame.index, name=f"{column}.{k}", dtype=object)
                  for k in structs[column]]
    flat = pd.concat(parts, axis=1)
    for column in structs:  # timestamps back to datetime columns (they came out of dicts as objects)
        for k in structs[column]:
            name = f"{column}.{k}"
            if len(flat) and isinstance(flat[name].iloc[0], pd.Timestamp):
                flat[name] = pd.to_datetime(flat[name], utc=True)
    return flat


def key_columns(query) -> list[str] | None:
    """The output columns that identify a row of the result in update mode (the GROUP BY keys, flattened),
    or None when they are not all among the output columns (the views then replace rather than patch)."""
    aggregate = getattr(query.plan, "aggregate", None)
    if aggregate is None or None in aggregate.key_columns:
        return None
    flat = column_kinds(query.schema)
    return [c for name in aggregate.key_columns for c in flat if c == name or c.startswith(name + ".")]


@dataclass
class ResultDelta:
    """What changed in the result since the last look.

    ``frame`` is the whole (flattened) result; ``new`` the rows to add (append: rows emitted since; update:
    rows of keys not seen before); ``changed`` (update) the rows of known keys whose values changed;
    ``replace`` says the whole table is new (complete mode, or update mode without visible keys).
    ``new_keys`` / ``changed_keys`` hold each row's key (update mode with keys).
    """

    frame: pd.DataFrame
    new: pd.DataFrame
    changed: pd.DataFrame
    replace: bool = False
    new_keys: list[tuple] = field(default_factory=list)
    changed_keys: list[tuple] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.replace and self.new.empty and self.changed.empty


class ResultTracker:
    """Turns successive reads of ``q.result`` into deltas, by output mode."""

    def __init__(self, output_mode: str, keys: list[str] | None):
        self.mode = output_mode
        self.keys = keys
        self._seen_rows = 0                      # append: rows already handed out
        self._values: dict[tuple, tuple] = {}    # update: key -> the row's values last handed out

    def advance(self, frame: pd.DataFrame) -> ResultDelta:
        nothing = frame.iloc[0:0]
        if self.mode == "append":
            if len(frame) < self._seen_rows:  # the table was reset (should not happen): start over
                self._seen_rows = 0
                return ResultDelta(frame, frame, nothing, replace=True)
            new = frame.iloc[self._seen_rows:]
            self._seen_rows = len(frame)
            return ResultDelta(frame, new, nothing)
        if self.mode == "complete" or self.keys is None:
            return ResultDelta(frame, frame, nothing, replace=True)
        return self._upserts(frame, nothing)

    def _upserts(self, frame: pd.DataFrame, nothing: pd.DataFrame) -> ResultDelta:
        keys = list(frame[self.keys].itertuples(index=False, name=None)) if self.keys else [()] * len(frame)
        values = frame.itertuples(index=False, name=None)
        new_at, changed_at, new_keys, changed_keys = [], [], [], []
        for position, (key, row) in enumerate(zip(keys, values)):
            before = self._values.get(key)
            if before is None:
                new_at.append(position)
                new_keys.append(key)
            elif not _same(before, row):
                changed_at.append(position)
                changed_keys.append(key)
            else:
                continue
            self._values[key] = row
        if not new_at and not changed_at:
            return ResultDelta(frame, nothing, nothing)
        return ResultDelta(frame, frame.iloc[new_at], frame.iloc[changed_at],
                           new_keys=new_keys, changed_keys=changed_keys)


def _same(a: tuple, b: tuple) -> bool:
    return all(x is y or x == y or (_missing(x) and _missing(y)) for x, y in zip(a, b, strict=True))


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
