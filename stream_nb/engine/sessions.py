"""Session windows: ``GROUP BY session_window(ts, gap), key``.

A session is a run of a key's events, each at most ``gap`` after the one before (sessions that touch merge,
as in Spark); it spans from its first event to its last event plus ``gap``. Sessions merge when a row falls between them, so a session's start can
move: rather than partial aggregates per session, the state keeps the rows of the sessions still open. Each
batch re-forms the sessions of those rows and the new ones (DuckDB window functions), aggregates each session
with the same Arrow partial aggregates as any grouping, emits, and keeps the rows of sessions still open.

Spark's semantics: a row is late when its own session ``[ts, ts + gap)`` ends at or before the watermark,
and is dropped in every output mode (complete too, unlike a window's aggregation); append emits a session once
the watermark reaches its end; complete keeps and emits every session. With a
gap computed per row (a dynamic gap), each row's own session has its own gap, a session ends at the latest
``ts + gap`` of its rows, and a row whose gap is NULL or not positive is in no session (Spark filters it).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine import aggregate_queries, duck
from stream_nb.engine.output import Output
from stream_nb.engine.partials import partial_aggregates
from stream_nb.engine.watermark import expired, on_time
from stream_nb.sql.plan import Plan
from stream_nb.sql.windows import GAP, sessions_sql

BUFFER = "__sessions"
SESSION = "__session"
SEQ = "__seq"  # arrival order: breaks ties between equal event times the same way every time
LAST_WATERMARK = b"stream_nb.sessions.last_watermark_us"


class SessionOperator:
    """Session windows (see the module's text); implements ``engine.operator.Operator``."""

    name = "sessionWindowStateStoreSaveExec"
    stateful = True
    checkpointed = False  # every version stores the open rows whole: nothing extra is kept for it

    def __init__(self, plan: Plan):
        self.plan = plan
        self.aggregate = plan.aggregate
        self.session = plan.aggregate.session
        self._time = self.aggregate.keys[self.session.index]
        self._others = [k for k in self.aggregate.keys if k != self._time]
        self._mode = plan.output_mode
        self._follows_watermark = self.aggregate.event_time_key is not None and self._mode != "complete"
        # Late rows are dropped in every mode, complete too (unlike a window's aggregation): Spark's session
        # operator filters its input by the watermark whatever the mode; complete mode then evicts nothing.
        # Spark judges lateness by the watermark the batch before ran with (its watermark "for late events");
        # in append mode a no-data batch follows each move of the watermark, so that is this batch's, but
        # complete mode runs none: there a row is late by the watermark of the batch before (kept in the
        # checkpoint with the rows; None: not known, as in a checkpoint written before it was, this batch's
        # is taken).
        self._drops_late = self.aggregate.event_time_key is not None
        self._last_watermark_us: int | None = None
        self._rows: pa.Table | None = None      # rows of the open sessions (pre columns + __seq)
        self._next_end_us: int | None = None    # when the first open session ends
        self._seq = 0
        self._open_sessions = 0  # Spark's numRowsTotal: the sessions its state store holds, not their rows

    @property
    def state_rows(self) -> int:
        return self._open_sessions

    @property
    def memory_bytes(self) -> int:
        return 0 if self._rows is None else self._rows.nbytes

    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, watermark_us: int = 0) -> Output:
        agg = self.aggregate
        pre = aggregate_queries.pre(con, agg, batch)
        times = pre.column(self._time)
        if times.null_count:  # as Spark's session_window(): a row without an event time is in no session
            pre = pre.filter(pc.is_valid(times))
        if self.session.dynamic:  # nor one whose gap is NULL or not positive
            pre = pre.filter(pc.fill_null(pc.greater(pre.column(GAP), 0), False))
        late = pre.schema.empty_table()
        if self._drops_late and pre.num_rows:
            ends = pc.add(pre.column(self._time).cast(pa.int64()), self._gap(pre))
            late_us = watermark_us if self._follows_watermark or self._last_watermark_us is None \
                else self._last_watermark_us
            kept = on_time(ends, late_us)  # a row's own session [ts, ts + gap) is its event time
            pre, late = pre.filter(kept), pre.filter(pc.invert(kept))
        numbered = pre.append_column(SEQ, pa.array(np.arange(self._seq, self._seq + pre.num_rows, dtype=np.int64)))
        rows = numbered if self._rows is None else pa.concat_tables([self._rows, numbered])
        sessions, partial = self._sessions(con, rows)
        ends = pc.struct_field(partial.column(self._time), "end").cast(pa.int64())
        closed = expired(ends, watermark_us) if self._follows_watermark else None
        emitted = partial if self._mode == "complete" else partial.filter(closed) if closed is not None \
            else partial.slice(0, 0)
        result = aggregate_queries.finish(con, agg, emitted.drop_columns(["__rows"]))
        row_ends = pc.struct_field(sessions.column(SESSION), "end").cast(pa.int64())
        keep = pc.invert(expired(row_ends, watermark_us)) if self._follows_watermark else None
        still_open = sessions if keep is None else sessions.filter(keep)
        open_sessions = partial.num_rows - (pc.sum(closed).as_py() or 0 if closed is not None else 0)
        pending = (still_open.drop_columns([SESSION]), row_ends if keep is None else row_ends.filter(keep),
                   pre.num_rows, watermark_us, open_sessions)
        # Spark's progress: it saves (numRowsUpdated) every session of each key with rows in the batch, and it
        # drops late rows after the partial aggregation, by key and each row's own session (numRowsDropped...)
        return Output(result.drop_columns(agg.keys), late=late, pending=pending,
                      state_rows_updated=_sessions_of_keys_in(partial, pre, self._others), expired=None,
                      dropped=_distinct(late, [*self._others, self._time, *([GAP] if self.session.dynamic else [])]))

    def commit(self, output: Output) -> None:
        rows, ends, added, self._last_watermark_us, self._open_sessions = output.pending
        self._rows = rows
        self._seq += added
        self._next_end_us = pc.min(ends).as_py() if len(ends) else None

    def has_expired(self, watermark_us: int) -> bool:
        return self._follows_watermark and self._next_end_us is not None and expired(self._next_end_us, watermark_us)

    def changes(self, output: Output) -> pa.Table:
        """The open sessions' rows: small (bounded by the watermark), so each version stores them whole."""
        return self.dump()

    def dump(self) -> pa.Table:
        """The open sessions' rows, and (schema metadata) the watermark the last batch ran with: a restart
        judges its first batch's late rows by it, as Spark does in complete mode."""
        rows = self._rows if self._rows is not None else pa.table({SEQ: pa.array([], pa.int64())})
        if self._last_watermark_us is None:
            return rows
        return rows.replace_schema_metadata({**(rows.schema.metadata or {}),
                                             LAST_WATERMARK: str(self._last_watermark_us).encode()})

    def restore(self, tables: list[pa.Table]) -> None:
        last = (tables[-1].schema.metadata or {}).get(LAST_WATERMARK) if tables else None
        self._last_watermark_us = None if last is None else int(last)
        if tables and tables[-1].num_rows:
            self._rows = tables[-1]  # every version holds all open rows: the last one is the state
            self._seq = pc.max(self._rows.column(SEQ)).as_py() + 1
            # a lower bound of the first session's end: at worst one no-data batch that emits nothing
            self._next_end_us = pc.min(pc.add(self._rows.column(self._time).cast(pa.int64()),
                                              self._gap(self._rows))).as_py()
            con = duck.connect()
            try:
                self._open_sessions = self._sessions(con, self._rows)[1].num_rows
            finally:
                con.close()

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> Output | None:
        """Every session of the rows held: in complete mode that is the whole result table (nothing is
        evicted); in append mode the memory sink holds what this run emits and this is not asked for."""
        if self._rows is None or not self._rows.num_rows:
            return None
        _, partial = self._sessions(con, self._rows)
        result = aggregate_queries.finish(con, self.aggregate, partial.drop_columns(["__rows"]))
        return Output(result.drop_columns(self.aggregate.keys), late=pa.table({}),
                      keys=result.select(self.aggregate.keys))

    def state_view(self):
        rows = None if self._rows is None else self._rows.drop_columns([SEQ])
        return lambda: rows

    def _sessions(self, con: duckdb.DuckDBPyConnection, rows: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Each row with its session, and each session's partial aggregates (grouped by the session)."""
        sessions = self._sessionize(con, rows)
        grouped = sessions.drop_columns([self._time, *([GAP] if self.session.dynamic else [])])
        grouped = grouped.rename_columns([self._time if name == SESSION else name for name in grouped.column_names])
        return sessions, partial_aggregates(grouped, self.aggregate.keys, self.aggregate.partials)

    def _gap(self, rows: pa.Table) -> int | pa.ChunkedArray:
        """Each row's gap in µs: the one gap, or the row's own (a dynamic gap)."""
        return rows.column(GAP) if self.session.dynamic else self.session.gap_us

    def _sessionize(self, con: duckdb.DuckDBPyConnection, rows: pa.Table) -> pa.Table:
        """Each row with the session it belongs to (``__session``: {start, end}), in DuckDB."""
        duck.register(con, BUFFER, rows)
        gap = GAP if self.session.dynamic else self.session.gap_us
        sessions = sessions_sql(BUFFER, self._time, gap, self._others, tiebreak=SEQ)
        return duck.query(con, f"{sessions} ORDER BY {SEQ}")


def _distinct(rows: pa.Table, columns: list[str]) -> int:
    """How many distinct values (NULL one of them) the columns have together."""
    if not rows.num_rows:
        return 0
    return rows.group_by(columns, use_threads=False).aggregate([]).num_rows


def _sessions_of_keys_in(sessions: pa.Table, rows: pa.Table, keys: list[str]) -> int:
    """How many of the sessions belong to a key (NULL one of them) that the batch's rows have."""
    if not rows.num_rows:
        return 0
    distinct = rows.group_by(keys, use_threads=False).aggregate([]).select(keys)
    batch_keys = {tuple(k.values()) for k in distinct.to_pylist()}
    return sum(tuple(k.values()) in batch_keys for k in sessions.select(keys).to_pylist())
