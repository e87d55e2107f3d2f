"""The result table as the views see it: struct columns flattened (``w`` -> ``w.start``, ``w.end``), and what
changed since the last look, following the output mode (new rows; rows of changed keys; a new table).

The views read the memory sink's changes (the rows each batch emitted, and their keys) at most a few times a
second, and a ``ResultTracker`` turns them into the one delta the chart and the table both apply: a view
update costs what the batches changed, not the size of the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from stream_nb.sinks.memory import Changes
from stream_nb.types import hashable_keys, to_pandas

TIME, NUMBER, DURATION, CATEGORY = "time", "number", "duration", "category"


def column_kinds(schema: pa.Schema) -> dict[str, str]:
    """The columns a view can plot, flattened, each with its kind: time, number, duration (a day-time interval,
    ``max(ts) - min(ts)``: plotted in seconds) or category (a map too: drawn as its text).

    >>> import pyarrow as pa
    >>> window = pa.struct([("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC"))])
    >>> column_kinds(pa.schema([("w", window), ("device", pa.string()), ("n", pa.int64())]))
    {'w.start': 'time', 'w.end': 'time', 'device': 'category', 'n': 'number'}
    >>> column_kinds(pa.schema([("span", pa.month_day_nano_interval()), ("m", pa.map_(pa.string(), pa.int32()))]))
    {'span': 'duration', 'm': 'category'}
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
    if pa.types.is_interval(dtype) or pa.types.is_duration(dtype):
        return DURATION
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
    for column, fields in structs.items():  # timestamps back to datetime columns (they came out of dicts)
        for k in fields:
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
    """What changed in the result since the last look: what the chart and the table apply.

    ``new``: the rows to add (append: the rows emitted since; update: the rows of keys not seen before; all
    rows when ``replace``); ``changed`` (update): the rows of known keys that a batch emitted again;
    ``replace``: the whole table is new (complete mode; append mode after the memory sink dropped rows the
    view had not shown; update mode without visible keys when the result is read whole, not from the memory
    sink's changes). ``new_keys`` / ``changed_keys`` hold
    each row's key (update mode). ``total``: rows in the result after the change (update: its keys);
    ``dropped``: rows the memory sink's ``max_rows`` has dropped so far (append). ``frame``, the whole result,
    is read only when asked for (it costs the result's size).
    """

    new: pd.DataFrame
    changed: pd.DataFrame
    replace: bool = False
    new_keys: list[tuple] = field(default_factory=list)
    changed_keys: list[tuple] = field(default_factory=list)
    total: int = 0
    dropped: int = 0
    whole: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)

    @property
    def empty(self) -> bool:
        return not self.replace and self.new.empty and self.changed.empty

    @property
    def frame(self) -> pd.DataFrame:
        """The whole (flattened) result: ``new`` when ``replace``, else read from the result once."""
        if self.replace:
            return self.new
        if self.whole is None:
            raise LookupError("this delta carries only the change, not the whole result")
        frame = self.whole()
        self.whole = lambda: frame
        return frame


class ResultTracker:
    """The one place that turns the result's changes into ``ResultDelta``s, by output mode.

    ``advance(changes)`` takes what the memory sink gives (``MemorySink.changes_since(tracker.batch_id)``):
    the rows the batches emitted since the last look and their keys, so an update costs what they changed.
    ``advance(frame)`` takes the whole result instead (a sink without a change log), compared column-wise with
    the last one.

    >>> from stream_nb.sinks.memory import MemorySink
    >>> sink, tracker = MemorySink(), ResultTracker("update", ["k"])
    >>> sink.bind(pa.schema([("k", pa.string()), ("n", pa.int64())]), "update")
    >>> sink.add_batch(0, pa.table({"k": ["a", "b"], "n": [1, 1]}), keys=pa.table({"__k0": ["a", "b"]}))
    >>> sink.add_batch(1, pa.table({"k": ["a", "c"], "n": [2, 1]}), keys=pa.table({"__k0": ["a", "c"]}))
    >>> delta = tracker.advance(sink.changes_since(tracker.batch_id))
    >>> delta.new["k"].tolist(), delta.changed["k"].tolist(), delta.total
    (['a', 'b', 'c'], [], 3)
    >>> sink.add_batch(2, pa.table({"k": ["b"], "n": [5]}), keys=pa.table({"__k0": ["b"]}))
    >>> delta = tracker.advance(sink.changes_since(tracker.batch_id))
    >>> delta.new.empty, delta.changed.to_dict("records"), delta.changed_keys
    (True, [{'k': 'b', 'n': 5}], [('b',)])
    """

    def __init__(self, output_mode: str, keys: list[str] | None):
        self.mode = output_mode
        self.keys = keys                         # the visible key columns (whole-result reads only)
        self.batch_id = -1                       # the last batch handed out (change reads)
        self._known: set[tuple] = set()          # update: the keys handed out
        self._seen_rows = 0                      # append: rows handed out (emitted ones, with change reads)
        self._last: pd.DataFrame | None = None   # update, whole-result reads: the last read

    def advance(self, read: Changes | pd.DataFrame,
                whole: Callable[[], pd.DataFrame] | None = None) -> ResultDelta:
        """The delta of a change read (``whole`` reads the whole result, if a consumer asks) or of a whole
        result read."""
        if isinstance(read, pd.DataFrame):
            return self._from_whole(read)
        self.batch_id = read.batch_id
        if read.keys is not None:
            return self._upserts(read.rows, read.keys, whole)
        frame = flat_frame(read.rows)
        if read.replace:
            self._seen_rows = read.total_rows + read.dropped_rows
            return ResultDelta(frame, frame.iloc[0:0], replace=True, total=read.total_rows,
                               dropped=read.dropped_rows)
        numbers = []
        if self.mode == "update":  # rows without a key (no aggregation, sessions) are appended: each is new
            numbers = [(n,) for n in range(self._seen_rows, self._seen_rows + len(frame))]
        self._seen_rows += len(frame)
        return ResultDelta(frame, frame.iloc[0:0], new_keys=numbers, total=read.total_rows,
                           dropped=read.dropped_rows, whole=whole)

    def _upserts(self, rows: pa.Table, keys: pa.Table, whole) -> ResultDelta:
        """Rows of the sink's keys, each key once: new keys are added, known keys changed. The whole result
        (a view that fell behind the sink's log) goes the same way: a key it knows is patched, one it missed
        is added. The keys are the sink's (the state's), so a result that does not show them patches too."""
        row_keys = [k if isinstance(k, tuple) else (k,) for k in hashable_keys(keys, keys.column_names)] \
            if keys.num_columns else [()] * rows.num_rows
        is_new = [k not in self._known for k in row_keys]
        self._known.update(row_keys)
        frame = flat_frame(rows)
        if all(is_new) or not any(is_new):  # (the usual batch: no rows to pick apart)
            new, changed = (frame, frame.iloc[0:0]) if all(is_new) else (frame.iloc[0:0], frame)
            return ResultDelta(new, changed, new_keys=row_keys if len(new) else [],
                               changed_keys=row_keys if len(changed) else [], total=len(self._known),
                               whole=whole)
        new_at = [i for i, fresh in enumerate(is_new) if fresh]
        changed_at = [i for i, fresh in enumerate(is_new) if not fresh]
        return ResultDelta(frame.iloc[new_at], frame.iloc[changed_at], new_keys=[row_keys[i] for i in new_at],
                           changed_keys=[row_keys[i] for i in changed_at], total=len(self._known),
                           whole=whole)

    def _from_whole(self, frame: pd.DataFrame) -> ResultDelta:
        nothing = frame.iloc[0:0]
        if self.mode == "append":
            if len(frame) < self._seen_rows:  # the table was cut (the sink's max_rows): start over
                self._seen_rows = len(frame)
                return ResultDelta(frame, nothing, replace=True, total=len(frame))
            new = frame.iloc[self._seen_rows:]
            self._seen_rows = len(frame)
            return ResultDelta(new, nothing, total=len(frame), whole=lambda: frame)
        if self.mode == "complete" or self.keys is None:
            return ResultDelta(frame, nothing, replace=True, total=len(frame))
        last, self._last = self._last, frame
        if last is None or last.empty:
            return ResultDelta(frame, nothing, new_keys=self._key_tuples(frame), total=len(frame),
                               whole=lambda: frame)
        if self.keys:  # where each key was in the last read (NaN: not there)
            at = frame[self.keys].merge(last[self.keys].assign(__before=np.arange(len(last))), how="left",
                                        on=self.keys)["__before"].to_numpy()
        else:  # a global aggregate: its one row
            at = np.zeros(len(frame))
        is_new = pd.isna(at)
        differs = is_new.copy()
        earlier = last.iloc[at[~is_new].astype(int)]
        differs[~is_new] = _differs(frame[~is_new], earlier)
        new, changed = frame[is_new], frame[differs & ~is_new]
        return ResultDelta(new, changed, new_keys=self._key_tuples(new),
                           changed_keys=self._key_tuples(changed), total=len(frame), whole=lambda: frame)

    def _key_tuples(self, frame: pd.DataFrame) -> list[tuple]:
        if not self.keys:
            return [()] * len(frame)
        return list(frame[self.keys].itertuples(index=False, name=None))


def flat_frame(rows: pa.Table) -> pd.DataFrame:
    """Arrow rows as the views show them: pandas, struct columns flattened by Arrow (no dict made per row)."""
    return to_pandas(rows.flatten() if any(pa.types.is_struct(t) for t in rows.schema.types) else rows)


def _differs(now: pd.DataFrame, before: pd.DataFrame) -> np.ndarray:
    """Per row, whether any value differs (NaN and None equal themselves), the frames aligned by position."""
    differs = np.zeros(len(now), dtype=bool)
    for column in now.columns:
        a, b = now[column].to_numpy(dtype=object), before[column].to_numpy(dtype=object)
        try:
            same = (a == b) | (pd.isna(a) & pd.isna(b))
        except (TypeError, ValueError):  # values numpy cannot compare at once (lists): one by one
            same = np.array([x is y or bool(np.all(x == y)) for x, y in zip(a, b)], dtype=bool)
        differs |= ~np.asarray(same, dtype=bool)
    return differs
