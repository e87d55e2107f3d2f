"""The stream-stream join operator: Spark's symmetric hash join (``StreamingSymmetricHashJoinExec``).

Each side keeps the rows it has seen (its state) so that rows of the other side still to come can join them.
A batch goes, as in Spark:

1. each side's new rows: those at or behind the previous batch's watermark are late (dropped, counted);
   those failing their side's own ON conjuncts never join (on an outer join's preserved side they come out
   at once, NULL-padded);
2. the new left rows join the right state, and are added to the left state (a left semi row that matched is
   emitted once and not kept);
3. the new right rows join the left state, which now holds the new left rows, so a pair in one batch joins
   once; they are added to the right state unless the watermark evicts them at once (and no outer row waits
   on them);
4. each stored row carries ``matched``; the watermark evicts state per side (``sql/joins.py`` says by what),
   and an outer join's evicted rows that never matched come out NULL-padded, in no-data batches too.

Keys match as Spark's state matches them, a NULL key with a NULL key; the planner has already filtered NULL
keys out of every side but an outer join's preserved ones, as Spark's optimizer does (``sql/joins.py``).

The pairs are found by DuckDB joins over Arrow tables (state per side, rows numbered by ``__rid``); the output
is the query's SELECT over each pair's two rows, taken by position and joined positionally. A side's state is
kept in ``__rid`` order (new rows get higher numbers; eviction keeps the order), so a row number's position is a
binary search, not a hash lookup over the state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine import duck
from stream_nb.engine.join_state import (
    SIDES,
    empty_pairs,
    from_checkpoint,
    pairs_of,
    state_view,
    to_checkpoint,
    upserts_and_removals,
)
from stream_nb.engine.output import Output
from stream_nb.sql.join_plan import (
    LEFT,
    LRID,
    MATCHED,
    NEW,
    PASS,
    RID,
    RIGHT,
    RRID,
    STATE,
    JoinPlan,
    JoinSide,
    batch_table,
)
from stream_nb.sql.join_watermark import state_watermark_ms

WHICH = "__which"  # in the query of both sides' pairs: 0 for step 2's, 1 for step 3's


@dataclass
class JoinOutput(Output):
    """A join batch's output, with what each side's state becomes and what each input dropped as late."""

    states: dict[str, pa.Table] = field(default_factory=dict)     # "left"/"right" → state after the batch
    before: dict[str, pa.Table] = field(default_factory=dict)     # the state the batch started from
    late_by_input: dict[str, int] = field(default_factory=dict)
    next_rid: int = 0
    watermark_us: int = 0


class JoinOperator:
    """A stream-stream join: the protocol of ``engine/operator.py`` over ``plan.join``."""

    name = "symmetricHashJoin"  # Spark's stateful operator name in progress
    stateful = True
    checkpointed = False

    def __init__(self, plan):
        self.plan = plan
        self.join: JoinPlan = plan.join
        self._states: dict[str, pa.Table | None] = {"left": None, "right": None}
        self._next_rid = 0
        self._late_watermark_us = 0  # Spark drops late rows by the previous batch's watermark
        self._pair_sql = {side: self._pairs_query(side) for side in SIDES}
        self._plain: dict[str, tuple[pa.Schema, list[str] | None]] = {}  # by side: batch schema -> Arrow's ok
        # both sides' pairs in one query (a query's fixed cost is most of a small batch's join): the new right
        # rows meet the left state and the new left rows; a semi join's second probe needs the first's matches
        self._both_sql = (f"SELECT 0 AS {WHICH}, * FROM ({self._pair_sql['left']}) UNION ALL "
                          f"SELECT 1, * FROM ({self._pairs_query('right', both=True)})")

    def _sides(self) -> dict[str, JoinSide]:
        return {"left": self.join.left, "right": self.join.right}

    def _pairs_query(self, new_side: str, both: bool = False) -> str:
        """The pairs of the new rows of ``new_side`` with the other side's state (``both``: the left state and
        the new left rows): (__lrid, __rrid)."""
        left, right = self.join.left, self.join.right
        other = "right" if new_side == "left" else "left"
        tables = {new_side: f"{NEW}_{new_side}", other: f"{STATE}_{other}"}
        if both:
            tables["left"] = f"(SELECT * FROM {STATE}_left UNION ALL BY NAME SELECT * FROM {NEW}_left)"
        la, ra = (duck_name(s.alias) for s in (left, right))
        # NULL matches NULL, as in Spark's state (keys compared as rows); sides Spark filters have no NULL key
        on = [f"{la}.{k} IS NOT DISTINCT FROM {ra}.{k}" for k in self.join.keys]
        if self.join.condition_sql:
            on.append(f"({self.join.condition_sql})")
        return (f"SELECT {la}.{RID} AS {LRID}, {ra}.{RID} AS {RRID} FROM {tables['left']} AS {la} "
                f"JOIN {tables['right']} AS {ra} ON {' AND '.join(on)}")

    # -- a batch ------------------------------------------------------------------------------------------

    def process(self, con: duckdb.DuckDBPyConnection, batch, watermark_us: int = 0) -> JoinOutput:
        kind = self.join.join_type
        if isinstance(batch, pa.Table):  # a stream joined with itself: the query's one input, read by both sides
            batch = {self.join.left.input: batch}
        fresh, passing, failing, late, rid = self._read(con, batch)
        before = {name: self._states[name] if self._states[name] is not None else
                  passing[name].schema.empty_table() for name in SIDES}

        # 2. new left rows x right state; 3. new right rows x left state (now with the new left rows)
        if kind != "LeftSemi":
            first, second = self._both_pairs(con, passing, before)
        else:
            first = self._pairs(con, "left", passing["left"], before["right"])
        left_new = _mark(passing["left"], first.column(LRID))
        right_state = _mark(before["right"], first.column(RRID))
        if kind == "LeftSemi":  # a new left row that matched is emitted now and never kept
            left_new = left_new.filter(pc.invert(left_new.column(MATCHED)))
        left_state = _concat(before["left"], left_new)
        if kind == "LeftSemi":
            second = self._pairs(con, "right", passing["right"],
                                 left_state.filter(pc.invert(left_state.column(MATCHED))))
        left_state = _mark(left_state, second.column(LRID))
        right_new = _mark(passing["right"], second.column(RRID))
        wm_ms = watermark_us // 1000
        keep = pc.invert(self._expired(right_new, self.join.right, wm_ms))  # not kept if evicted at once...
        if kind in ("RightOuter", "FullOuter"):  # ...unless unmatched: it stays for its NULL-padded row below
            keep = pc.or_(keep, pc.invert(right_new.column(MATCHED)))
        right_kept = _where(right_new, keep)
        states = {"left": left_state, "right": _concat(right_state, right_kept)}

        # 4. eviction, and the outer rows it makes final
        expired = {n: self._expired(states[n], side, wm_ms) for n, side in self._sides().items()}
        pairs = pa.concat_tables(self._output_pairs(first, second, failing, states, expired) or [empty_pairs()])
        # each pair's two rows, side by side: the output SQL joins them positionally
        for name, table, rids in (("left", LEFT, pairs.column(LRID)), ("right", RIGHT, pairs.column(RRID))):
            duck.register(con, table, self._take(_concat(before[name], fresh[name]), rids))
        removed = [pc.filter(states[n].column(RID), expired[n]) for n in SIDES]
        return JoinOutput(
            duck.query(con, self.join.output_sql), late=state_view(late, self.join).drop_columns(["matched"]),
            states={n: _where(states[n], pc.invert(expired[n])) for n in SIDES}, before=before,
            late_by_input={s.input: late[n].num_rows for n, s in self._sides().items()},
            next_rid=rid, watermark_us=watermark_us, state_rows_updated=left_new.num_rows + right_kept.num_rows,
            expired=np.concatenate([r.to_numpy() for r in removed]) if any(len(r) for r in removed) else None,
            evicted_through=watermark_us)

    def _read(self, con, batch) -> tuple[dict, dict, dict, dict, int]:
        """1. Each side's new rows, numbered: all of them, those passing their own conditions, those failing them,
        and the late ones (at or behind the previous batch's watermark, as Spark judges late rows)."""
        rid = self._next_rid
        fresh, passing, failing, late = {}, {}, {}, {}
        for name, side in self._sides().items():
            rows, rid = self._new_rows(con, batch[side.input], side, rid)
            rows, ok = rows.drop_columns([PASS]), rows.column(PASS)
            fresh[name] = rows
            is_late = pa.chunked_array([np.zeros(rows.num_rows, dtype=bool)], pa.bool_())
            if side.event_time is not None:
                threshold = self._late_watermark_us // 1000 * 1000  # Spark's watermark is in ms
                is_late = pc.fill_null(pc.less_equal(_times(rows, side, None), threshold), False)
            late[name] = rows.filter(is_late)
            passing[name] = _where(rows, pc.and_(pc.invert(is_late), ok))
            failing[name] = rows.filter(pc.and_(pc.invert(is_late), pc.invert(ok)))
        return fresh, passing, failing, late, rid

    def _output_pairs(self, first: pa.Table, second: pa.Table, failing: dict, states: dict,
                      expired: dict) -> list[pa.Table]:
        """The batch's output as pairs of row numbers: the matches (a semi join: each left row once), the
        preserved side's rows failing their own conditions, and its evicted rows that never matched."""
        kind = self.join.join_type
        if kind == "LeftSemi":
            return [pairs_of(pc.unique(first.column(LRID)), None), pairs_of(pc.unique(second.column(LRID)), None)]
        pairs = [pairs_of(first.column(LRID), first.column(RRID)), pairs_of(second.column(LRID), second.column(RRID))]
        for name, preserved in (("left", ("LeftOuter", "FullOuter")), ("right", ("RightOuter", "FullOuter"))):
            if kind not in preserved:
                continue
            unmatched = states[name].filter(pc.and_(expired[name], pc.invert(states[name].column(MATCHED))))
            for rids in (failing[name].column(RID), unmatched.column(RID)):
                pairs.append(pairs_of(rids, None) if name == "left" else pairs_of(None, rids))
        return pairs

    def _new_rows(self, con, table: pa.Table, side: JoinSide, rid: int) -> tuple[pa.Table, int]:
        rows = self._plain_rows(con, table, side)
        if rows is None:
            duck.register(con, batch_table(side.input), table)
            rows = duck.query(con, side.pre_sql)
        rows = rows.append_column(RID, pa.array(np.arange(rid, rid + rows.num_rows, dtype=np.int64)))
        rows = rows.append_column(MATCHED, pa.array(np.zeros(rows.num_rows, dtype=bool)))
        return rows, rid + rows.num_rows

    def _plain_rows(self, con, table: pa.Table, side: JoinSide) -> pa.Table | None:
        """A side's ``pre_sql`` computed in Arrow where it only passes the batch's rows on (``plain_keys``): a
        query's fixed cost is much of a small batch's. Checked against ``pre_sql`` once per batch schema (the
        same rows, and DuckDB's types, else None: the query runs)."""
        if side.plain_keys is None:
            return None
        known = self._plain.get(side.alias)
        if known is not None and known[0].equals(table.schema):
            return _plain(table, side, self.join.keys, known[1]) if known[1] is not None else None
        lower = [name.lower() for name in table.column_names]
        names = [table.column_names[lower.index(k.lower())] if lower.count(k.lower()) == 1 else None
                 for k in side.plain_keys]
        rows = _plain(table, side, self.join.keys, names) if None not in names else None
        duck.register(con, batch_table(side.input), table)
        expected = duck.query(con, side.pre_sql)
        same = rows is not None and rows.schema.equals(expected.schema) and rows.equals(expected)
        self._plain[side.alias] = (table.schema, names if same else None)
        return expected

    def _pairs(self, con, new_side: str, new: pa.Table, state: pa.Table) -> pa.Table:
        if not new.num_rows or not state.num_rows:
            return empty_pairs()
        other = "right" if new_side == "left" else "left"
        duck.register(con, f"{NEW}_{new_side}", new)
        duck.register(con, f"{STATE}_{other}", state)
        return duck.query(con, self._pair_sql[new_side])

    def _both_pairs(self, con, new: dict[str, pa.Table], state: dict[str, pa.Table]) -> tuple[pa.Table, pa.Table]:
        """Steps 2 and 3's pairs, from one query: the new left rows with the right state, the new right rows
        with the left state and the new left rows."""
        if not new["left"].num_rows and not new["right"].num_rows:
            return empty_pairs(), empty_pairs()
        for name in SIDES:
            duck.register(con, f"{NEW}_{name}", new[name])
            duck.register(con, f"{STATE}_{name}", state[name])
        pairs = duck.query(con, self._both_sql)
        second = pairs.column(WHICH).cast(pa.bool_())
        return (pairs.filter(pc.invert(second)).drop_columns([WHICH]),
                pairs.filter(second).drop_columns([WHICH]))

    def _take(self, rows: pa.Table, rids: pa.ChunkedArray) -> pa.Table:
        """The rows (in ``__rid`` order) that ``rids`` name, one per rid, with the columns the output reads; a
        NULL rid gives a row of NULLs (an outer row's padded side)."""
        positions = _positions(rows.column(RID), pc.fill_null(rids, 0))
        missing = rids.is_null().to_numpy(zero_copy_only=False)
        return rows.drop_columns([RID, MATCHED, *self.join.keys]).take(pa.array(positions, pa.int64(), mask=missing))

    def _expired(self, rows: pa.Table, side: JoinSide, watermark_ms: int) -> pa.ChunkedArray:
        """Which rows of a side's state the watermark evicts (Spark's state key or value watermark)."""
        if side.eviction == "key":
            threshold = watermark_ms * 1000
        elif side.eviction == "value":
            threshold = state_watermark_ms(side.bounds, watermark_ms) * 1000
        else:
            return pa.chunked_array([np.zeros(rows.num_rows, dtype=bool)], pa.bool_())
        times = _times(rows, side, self.join.keys[self.join.key_eviction] if side.eviction == "key" else None)
        return pc.fill_null(pc.less_equal(times, threshold), False)  # no event time: never evicted, as in Spark

    def commit(self, output: JoinOutput) -> None:
        # each batch appends a chunk; a long run would join over thousands of small ones
        self._states = {n: t.combine_chunks() if t.num_columns and t.column(0).num_chunks > 4 else t
                        for n, t in output.states.items()}
        self._next_rid = output.next_rid
        self._late_watermark_us = output.watermark_us

    def has_expired(self, watermark_us: int) -> bool:
        """Whether a batch without data is due: as Spark's ``shouldRunAnotherBatch``, whenever the watermark
        has moved past the last batch's and the join evicts state by it (so outer rows come out, and the next
        batch's late rows are judged by this watermark, as in Spark)."""
        evicts = any(s.eviction is not None for s in self._sides().values())
        return evicts and watermark_us > self._late_watermark_us

    # -- checkpoint --------------------------------------------------------------------------------------

    def changes(self, output: JoinOutput) -> pa.Table:
        """The rows the batch added or marked matched, and those it evicted (``__evicted``)."""
        upserts, removed = {}, {}
        for name in SIDES:
            upserts[name], removed[name] = upserts_and_removals(output.before[name], output.states[name])
        return to_checkpoint(upserts, self.join, removed=removed, meta=self._meta())

    def dump(self) -> pa.Table:
        return to_checkpoint({n: t for n, t in self._states.items() if t is not None}, self.join, meta=self._meta())

    def _meta(self) -> dict[str, str]:
        return {"next_rid": str(self._next_rid), "late_watermark_us": str(self._late_watermark_us)}

    def restore(self, tables: list[pa.Table]) -> None:
        for table in tables:
            self._states, meta = from_checkpoint(table, self._states, self.join)
            self._next_rid = int(meta.get("next_rid", self._next_rid))
            self._late_watermark_us = int(meta.get("late_watermark_us", self._late_watermark_us))
        # a delta re-stores the rows it marked matched after the rest: back to __rid order, which a batch keeps
        self._states = {n: t if t is None else t.sort_by(RID) for n, t in self._states.items()}

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> None:
        """None: the state holds input rows, not result rows; the sink holds what this run emits."""

    def state_view(self) -> Callable[[], pa.Table]:
        states = dict(self._states)
        return lambda: state_view(states, self.join)

    @property
    def state_rows(self) -> int:
        return sum(t.num_rows for t in self._states.values() if t is not None)

    @property
    def memory_bytes(self) -> int:
        return sum(t.nbytes for t in self._states.values() if t is not None)


def duck_name(alias: str) -> str:
    return '"' + alias.replace('"', '""') + '"'


def _plain(table: pa.Table, side: JoinSide, keys: tuple[str, ...], names: list[str]) -> pa.Table:
    """``pre_sql`` of a plain side in Arrow: the rows (without a NULL key, if the side drops them), the keys
    as ``__k0``..., and every row passing."""
    if side.drops_null_keys:
        valid = [pc.is_valid(table.column(name)) for name in names]
        keep = valid[0]
        for more in valid[1:]:
            keep = pc.and_(keep, more)
        table = _where(table, keep)
    for key, name in zip(keys, names, strict=True):
        table = table.append_column(key, table.column(name))
    return table.append_column(PASS, pa.array(np.ones(table.num_rows, dtype=bool)))


def _times(rows: pa.Table, side: JoinSide, key: str | None) -> pa.ChunkedArray:
    """A side's event time per row (µs): its key column or its own time; a window's end."""
    column = rows.column(key or side.event_time)
    if pa.types.is_struct(column.type):
        column = pc.struct_field(column, "end")
    return column.cast(pa.int64())


def _mark(rows: pa.Table, matched_rids: pa.ChunkedArray | pa.Array) -> pa.Table:
    """The rows (in ``__rid`` order) with ``matched`` set for those among ``matched_rids``."""
    if not len(matched_rids) or not rows.num_rows:
        return rows
    flags = rows.column(MATCHED).to_numpy()  # a copy (a bool column is bits), so ours to set
    flags[_positions(rows.column(RID), matched_rids)] = True
    return rows.set_column(rows.schema.get_field_index(MATCHED), MATCHED, pa.array(flags))




def _positions(sorted_rids: pa.ChunkedArray, rids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Where each of ``rids`` sits in ``sorted_rids`` (each is there)."""
    return np.searchsorted(sorted_rids.to_numpy(), rids.to_numpy())


def _where(rows: pa.Table, keep: pa.ChunkedArray) -> pa.Table:
    """``rows.filter(keep)``, without copying the rows when it keeps them all (most batches' new rows)."""
    return rows if pc.all(keep, skip_nulls=False).as_py() is True else rows.filter(keep)


def _concat(*tables: pa.Table) -> pa.Table:
    return pa.concat_tables(tables, promote_options="permissive")
