"""A stream-stream join's state as tables: the batch's pairs, the checkpoint's one table for both sides, the
delta a batch writes, and the teaching view.

The checkpoint holds both sides in one table (the operator protocol's ``dump``/``changes`` give one): a row per
stored input row, ``__side`` (0 left, 1 right), its ``__rid`` and ``__matched``, and the row itself in the struct
column ``left`` or ``right``; a delta flags the rows its batch evicted with ``__evicted``. The join's counters
ride in the schema metadata.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.sql.join_plan import LRID, MATCHED, RID, RRID, JoinPlan

SIDES = ("left", "right")
SIDE, EVICTED = "__side", "__evicted"
_META = "stream_nb.join."


def empty_pairs() -> pa.Table:
    return pa.table({LRID: pa.array([], pa.int64()), RRID: pa.array([], pa.int64())})


def pairs_of(left_rids, right_rids) -> pa.Table:
    """Output pairs of row numbers; a None side is NULL (an outer row's padded side, or a semi join's)."""
    n = len(left_rids) if left_rids is not None else len(right_rids)

    def column(rids):
        if rids is None:
            return pa.nulls(n, pa.int64())
        return rids.combine_chunks() if isinstance(rids, pa.ChunkedArray) else rids

    return pa.table({LRID: column(left_rids).cast(pa.int64()), RRID: column(right_rids).cast(pa.int64())})


def upserts_and_removals(before: pa.Table, after: pa.Table) -> tuple[pa.Table, pa.Array]:
    """What a batch changed in one side's state: rows new or newly matched, and the row numbers it evicted
    (``matched`` only ever turns true, so a row is changed exactly when it is new or turned matched)."""
    known = before.column(RID)
    was_matched = before.filter(before.column(MATCHED)).column(RID)
    new = pc.invert(pc.is_in(after.column(RID), value_set=_array(known)))
    turned = pc.and_(after.column(MATCHED), pc.invert(pc.is_in(after.column(RID), value_set=_array(was_matched))))
    removed = pc.filter(known, pc.invert(pc.is_in(known, value_set=_array(after.column(RID)))))
    return after.filter(pc.or_(new, turned)), _array(removed)


def to_checkpoint(tables: dict[str, pa.Table], join: JoinPlan, removed: dict[str, pa.Array] | None = None,
                  meta: dict[str, str] | None = None) -> pa.Table:
    """Both sides' rows (and evicted row numbers) as one table."""
    types = {n: _struct_type(tables.get(n)) for n in SIDES}
    parts = []
    for index, name in enumerate(SIDES):
        table = tables.get(name)
        if table is not None and table.num_rows:
            parts.append(_rows(index, table, types, name))
        gone = (removed or {}).get(name)
        if gone is not None and len(gone):
            parts.append(_evictions(index, gone, types))
    schema = _schema(types)
    out = pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()
    return out.replace_schema_metadata({f"{_META}{k}": v for k, v in (meta or {}).items()})


def from_checkpoint(table: pa.Table, states: dict[str, pa.Table | None],
                    join: JoinPlan) -> tuple[dict[str, pa.Table | None], dict[str, str]]:
    """Apply a snapshot or delta to the sides' states: evicted rows go, stored rows replace theirs."""
    meta = {k.decode()[len(_META):]: v.decode() for k, v in (table.schema.metadata or {}).items()
            if k.decode().startswith(_META)}
    states = dict(states)
    for index, name in enumerate(SIDES):
        mine = table.filter(pc.equal(table.column(SIDE), index)) if table.num_rows else table
        if not mine.num_rows:
            continue
        evicted = pc.fill_null(mine.column(EVICTED), False)
        stored = mine.filter(pc.invert(evicted))
        rows = pa.Table.from_struct_array(stored.column(name).combine_chunks()) if stored.num_rows else None
        if rows is not None:
            rows = rows.append_column(RID, stored.column(RID)).append_column(MATCHED, stored.column(MATCHED))
        current = states[name]
        if current is not None:
            gone = _array(mine.column(RID))
            current = current.filter(pc.invert(pc.is_in(current.column(RID), value_set=gone)))
        parts = [t for t in (current, rows) if t is not None]
        states[name] = pa.concat_tables(parts, promote_options="permissive") if parts else None
    return states, meta


def state_view(states: dict[str, pa.Table | None], join: JoinPlan) -> pa.Table:
    """Both sides' state for the teaching view: one row per stored row, ``side``, ``matched`` and each side's
    columns named ``alias.column`` (empty on the other side's rows)."""
    parts = []
    for name, side in (("left", join.left), ("right", join.right)):
        table = states.get(name)
        if table is None:
            continue
        columns = [c for c in table.column_names if not c.startswith("__")]
        view = table.select(columns).rename_columns([f"{side.alias}.{c}" for c in columns])
        view = view.add_column(0, "side", pa.array([side.input] * table.num_rows, pa.string()))
        parts.append(view.add_column(1, "matched", table.column(MATCHED)))
    if not parts:
        return pa.table({"side": pa.array([], pa.string()), "matched": pa.array([], pa.bool_())})
    return pa.concat_tables(parts, promote_options="permissive")


def _array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _struct_type(table: pa.Table | None) -> pa.DataType | None:
    if table is None:
        return None
    return pa.struct([f for f in table.schema if f.name not in (RID, MATCHED)])


def _schema(types: dict[str, pa.DataType | None]) -> pa.Schema:
    fields = [pa.field(SIDE, pa.int8()), pa.field(RID, pa.int64()), pa.field(MATCHED, pa.bool_()),
              pa.field(EVICTED, pa.bool_())]
    return pa.schema(fields + [pa.field(n, t) for n, t in types.items() if t is not None])


def _rows(index: int, table: pa.Table, types: dict, name: str) -> pa.Table:
    n = table.num_rows
    payload = table.drop_columns([RID, MATCHED])
    struct = pa.StructArray.from_arrays([c.combine_chunks() for c in payload.columns], fields=list(types[name]))
    columns = {SIDE: pa.array(np.full(n, index, np.int8)), RID: table.column(RID), MATCHED: table.column(MATCHED),
               EVICTED: pa.array(np.zeros(n, bool))}
    for other in SIDES:
        if types[other] is not None:
            columns[other] = struct if other == name else pa.nulls(n, types[other])
    return pa.table(columns)


def _evictions(index: int, rids: pa.Array, types: dict) -> pa.Table:
    n = len(rids)
    columns = {SIDE: pa.array(np.full(n, index, np.int8)), RID: rids.cast(pa.int64()),
               MATCHED: pa.array(np.zeros(n, bool)), EVICTED: pa.array(np.ones(n, bool))}
    for other in SIDES:
        if types[other] is not None:
            columns[other] = pa.nulls(n, types[other])
    return pa.table(columns)
