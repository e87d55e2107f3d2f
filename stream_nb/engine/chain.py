"""Chained stateful operators (``sql/chain.py``): each operator's output is the next one's input, within the
same batch, so a window the first aggregation emits is in the second one's state by the batch's end.

When the first operator deduplicates one input of a join (``ChainPlan.joined``), it takes that input's rows
and the join takes what it emits with the other inputs' rows.

Watermarks follow Spark's WatermarkPropagator (``propagated``): an operator's input watermark is what the one
before can still emit behind, the query's watermark after an aggregation or a deduplication, the least of
it and the sides' state watermarks after a join. State is emitted and evicted by the input watermark
propagated from this batch's; an operator after the first judges late rows by the one propagated from the
previous batch's, as Spark does since 3.5, so what the operator before emits in this batch is not late for
it. (The first operator judges late rows by this batch's watermark, as a query of one operator does: Spark
would too, having run a no-data batch when the watermark moved; a join keeps its own rule.)

The state of every operator is one table for the checkpoint: an ``__operator`` column, and per operator a
struct column ``operator<i>`` holding its own state rows (null in the other operators' rows); each
operator's schema metadata (the watermark it evicted through) is kept under its number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine.aggregation import AggregateOperator
from stream_nb.engine.dedup import DedupOperator
from stream_nb.engine.keyed import KeyedOperator
from stream_nb.engine.output import Output
from stream_nb.engine.watermark import EPOCH_US, expired, record_eviction
from stream_nb.sql.chain import WINDOW_TIME_US
from stream_nb.sql.join_watermark import state_watermark_ms
from stream_nb.sql.plan import Plan

OPERATOR = "__operator"
COLUMN = "operator{}"
METADATA = "stream_nb.chain.{}."          # an operator's own schema metadata, kept under its number
RAN_WITH = b"stream_nb.chain.watermark_us"  # the watermark the batch evicted with: the next one's late rows'


@dataclass
class ChainOutput(Output):
    """A batch's output through the chain: the last operator's rows, and each operator's own output."""

    stages: list[Output] = field(default_factory=list)
    watermarks: list[int] = field(default_factory=list)       # each operator's input watermark, for state
    late_watermarks: list[int] = field(default_factory=list)  # ... and for late rows


class ChainOperator:
    """Several stateful operators, one after another, as one operator of the protocol (``engine/operator.py``)."""

    name = "chain"
    stateful = True

    def __init__(self, plan: Plan):
        self.plan = plan
        self.chain = plan.chain
        self.operators = [_operator(stage) for stage in self.chain.stages]
        self._ran_with_us = EPOCH_US  # the watermark the last committed batch evicted with
        self._checkpointed = False
        self._committed: ChainOutput | None = None

    @property
    def checkpointed(self) -> bool:
        return self._checkpointed

    @checkpointed.setter
    def checkpointed(self, value: bool) -> None:
        self._checkpointed = value
        for operator in self.operators:
            operator.checkpointed = value

    def process(self, con: duckdb.DuckDBPyConnection, batch, watermark_us: int = 0) -> ChainOutput:
        # Each operator's input watermark is what the one before can still emit (Spark's WatermarkPropagator):
        # for state, propagated from this batch's watermark; for late rows, from the previous batch's, so that
        # what the operator before emits now is never late for the next. (The first operator judges late rows
        # by this batch's watermark, as an operator alone does; a join keeps its own rule.)
        evict = propagated(self.chain.stages, watermark_us)
        late = propagated(self.chain.stages, min(self._ran_with_us, watermark_us))
        outputs, rows, joined = [], batch, self.chain.joined
        if joined is not None:  # a deduplication of one input, then the join of its output with the others
            rows = batch[self.chain.stages[0].inputs[0]]
        for index, operator in enumerate(self.operators):
            output = _run(operator, con, rows, late[index] if index else evict[0], evict[index])
            outputs.append(output)
            rows = output.table
            if joined is not None and index == 0:
                rows = {**{k: v for k, v in batch.items() if k not in self.chain.stages[0].inputs}, joined: rows}
            if index < len(self.chain.window_times):
                rows = with_window_times(rows, self.chain.window_times[index])
        last = outputs[-1]
        return ChainOutput(last.table, late=outputs[0].late, keys=last.keys, replaced=last.replaced,
                           state_rows_updated=sum(o.state_rows_updated for o in outputs),
                           evicted_through=watermark_us, stages=outputs, watermarks=evict, late_watermarks=late)

    def commit(self, output: ChainOutput) -> None:
        for index, (operator, stage) in enumerate(zip(self.operators, output.stages)):
            operator.commit(stage)
            if self._keyed(index):  # groups this batch made and closed (_with_closed_windows) go too
                operator.state.evict(operator.state.expired(output.watermarks[index]))
        self._ran_with_us = output.evicted_through
        self._committed = output  # what progress reports of the batch

    def has_expired(self, watermark_us: int) -> bool:
        """Whether a batch without data is due: whenever some operator would emit or evict (its no-data batch
        cascades, each operator taking what the one before emits), and whenever the input watermark of an
        aggregation or a deduplication after a join has moved past the one it last ran with, emitting or not,
        as Spark's shouldRunAnotherBatch of those operators says: the next batch judges that operator's late
        rows by it, and a join emits rows behind it (a new row paired with an old one in its state), which it
        drops. (Before any join nothing reaches an operator behind its watermark: no need to run then.)"""
        now = propagated(self.chain.stages, watermark_us)
        before = propagated(self.chain.stages, self._ran_with_us)
        after_join = False
        for operator, stage, new, old in zip(self.operators, self.chain.stages, now, before):
            if operator.has_expired(new) or (after_join and stage.join is None and new > old):
                return True
            after_join = after_join or stage.join is not None
        return False

    def changes(self, output: ChainOutput) -> pa.Table:
        """Each operator's delta; one that follows the watermark says it evicted through this batch's, so a
        restore evicts what commit did (groups made and closed in the batch too)."""
        deltas = [operator.changes(stage) for operator, stage in zip(self.operators, output.stages)]
        deltas = [record_eviction(delta, output.watermarks[i]) if self._keyed(i) else delta
                  for i, delta in enumerate(deltas)]
        return self._one_table(deltas, output.evicted_through)

    def dump(self) -> pa.Table:
        return self._one_table([operator.dump() for operator in self.operators], self._ran_with_us)

    def restore(self, tables: list[pa.Table]) -> None:
        for index, operator in enumerate(self.operators):
            operator.restore([_operator_table(table, index) for table in tables])
        for table in tables:
            value = (table.schema.metadata or {}).get(RAN_WITH)
            if value is not None:
                self._ran_with_us = int(value)

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> Output | None:
        """The last operator's result table (update and complete mode): it is the query's."""
        return self.operators[-1].result_rows(con)

    def state_view(self) -> Callable[[], pa.Table | None]:
        """Every operator's state, each row named by its operator (``0: dedupe``, ``1: stateStoreSave``)."""
        views = [(f"{i}: {operator.name}", operator.state_view()) for i, operator in enumerate(self.operators)]

        def tables() -> pa.Table | None:
            shown = []
            for label, view in views:
                table = view() if view is not None else None
                if table is not None:
                    shown.append(table.add_column(0, "operator", pa.array([label] * table.num_rows, pa.string())))
            return pa.concat_tables(shown, promote_options="permissive") if shown else None
        return tables

    def state_operators(self) -> list[dict]:
        """Progress ``stateOperators`` of the last committed batch, one entry per operator, in Spark's order
        (the last operator first)."""
        entries = []
        stages = self._committed.stages if self._committed is not None else [None] * len(self.operators)
        for operator, stage in zip(self.operators, stages):
            stage = stage or Output(pa.table({}), late=pa.table({}))
            entries.append({
                "operatorName": operator.name,
                "numRowsTotal": operator.state_rows,
                "numRowsUpdated": stage.state_rows_updated,
                "numRowsRemoved": 0 if stage.expired is None else len(stage.expired),
                "numRowsDroppedByWatermark": stage.num_dropped,
                "memoryUsedBytes": operator.memory_bytes,
                "numShufflePartitions": 1,
                "numStateStoreInstances": 1,
                "customMetrics": {},
            })
        return entries[::-1]

    def _keyed(self, index: int) -> bool:
        """Whether operator ``index`` keeps keyed state evicted behind the watermark (not sessions)."""
        return isinstance(self.operators[index], KeyedOperator) and self.chain.follows_watermark(index)

    @property
    def state_rows(self) -> int:
        return sum(operator.state_rows for operator in self.operators)

    @property
    def memory_bytes(self) -> int:
        return sum(operator.memory_bytes for operator in self.operators)

    def _one_table(self, tables: list[pa.Table], ran_with_us: int) -> pa.Table:
        """The operators' state tables as one: ``__operator``, then a struct column per operator."""
        total = sum(t.num_rows for t in tables)
        columns, metadata, at = {OPERATOR: pa.array(
            [i for i, t in enumerate(tables) for _ in range(t.num_rows)], pa.int32())}, {}, 0
        for index, table in enumerate(tables):
            struct = pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns], fields=list(table.schema)) \
                if table.num_columns else pa.nulls(table.num_rows, pa.struct([]))
            columns[COLUMN.format(index)] = pa.concat_arrays(
                [pa.nulls(at, struct.type), struct, pa.nulls(total - at - table.num_rows, struct.type)])
            at += table.num_rows
            for key, value in (table.schema.metadata or {}).items():
                metadata[METADATA.format(index).encode() + key] = value
        metadata[RAN_WITH] = str(ran_with_us).encode()
        return pa.table(columns).replace_schema_metadata(metadata)


def propagated(stages: list[Plan], watermark_us: int) -> list[int]:
    """Each operator's input watermark from the query's (Spark's PropagateWatermarkSimulator over a chain):
    an aggregation or a deduplication emits nothing behind its input watermark, so it passes it on; a join
    passes the least of it and each side's state watermark (a row waiting for a match may still come out).
    Never below the epoch; the epoch everywhere while the query's is.

    >>> from types import SimpleNamespace
    >>> propagated([SimpleNamespace(join=None)] * 2, 7_000_000)  # an aggregation, then another
    [7000000, 7000000]
    """
    found, current = [], watermark_us
    for stage in stages:
        found.append(current)
        if stage.join is not None and current > EPOCH_US:
            bounded = [state_watermark_ms(side.bounds, current // 1000) for side in (stage.join.left, stage.join.right)
                       if side.eviction == "value"]  # a side evicted by the join key waits for no later row
            current = max(EPOCH_US, min([current] + [ms * 1000 for ms in bounded if ms is not None]))
    return found


def with_window_times(rows: pa.Table, window_times: dict[str, str]) -> pa.Table:
    """The rows with ``window_time(w)`` of each window column ``w`` added: its end minus 1 microsecond.

    >>> from datetime import datetime, UTC
    >>> w = pa.array([{"start": datetime(2024, 1, 1, tzinfo=UTC), "end": datetime(2024, 1, 1, 0, 0, 10, tzinfo=UTC)}])
    >>> with_window_times(pa.table({"w": w}), {"wt": "w"}).column("wt")[0].as_py().isoformat()
    '2024-01-01T00:00:09.999999+00:00'
    """
    for hidden, column in window_times.items():
        end = pc.struct_field(rows.column(column), "end")
        micros = pc.subtract(end.cast(pa.int64()), pa.scalar(WINDOW_TIME_US, pa.int64()))
        rows = rows.append_column(hidden, micros.cast(end.type))
    return rows


def _operator(stage: Plan):
    """The operator of one stage: a join, an aggregation (grouped, windowed or sessions), a deduplication."""
    from stream_nb.engine.operators import make_operator  # it picks ChainOperator too: imported when used

    return make_operator(stage)


def _run(operator, con: duckdb.DuckDBPyConnection, rows, late_us: int, evict_us: int) -> Output:
    """One operator over a batch's rows, with the watermark for late rows and the one for state."""
    if isinstance(operator, AggregateOperator):
        output = operator.process(con, rows, evict_us, operator.aggregate_batch(con, rows, late_us))
        return _with_closed_windows(operator, con, output, evict_us)
    if isinstance(operator, DedupOperator):
        output = operator.process(con, rows, late_us)
        if output.expired is None or late_us == evict_us:
            return output
        return replace(output, expired=operator.state.expired(evict_us), evicted_through=evict_us)
    return operator.process(con, rows, evict_us)  # sessions and joins: as the operator judges late rows


def _with_closed_windows(operator: AggregateOperator, con: duckdb.DuckDBPyConnection, output: Output,
                         evict_us: int) -> Output:
    """Append mode emits, as Spark's StateStoreSaveExec does, every group behind the watermark once this
    batch's rows are in: with late rows judged by the previous batch's watermark, a window the operator
    before emits now may close now. (An operator alone never sees that: such a row would be late.)"""
    aggregate, update = operator.aggregate, output.pending
    if operator.plan.output_mode != "append" or aggregate.event_time_key is None or not len(update.slots):
        return output  # (count(DISTINCT) never gets here: refused after another operator, sql/chain.py)
    due = expired(_event_times_us(aggregate.event_time_key, update.keys, aggregate.keys), evict_us)
    if not due.any():
        return output
    untouched = np.setdiff1d(output.expired, update.slots)
    closed = pa.concat_tables([operator.state.rows(untouched),
                               operator.state.rows_after(update).filter(pa.array(due))], promote_options="default")
    finished = AggregateOperator(operator.plan)  # finishes exactly these groups: its state holds only them
    finished.state.load(closed)
    return replace(output, table=finished.result_rows(con).table)


def _event_times_us(key, keys: pa.Table, names: list[str]) -> np.ndarray:
    column = keys.column(names[key.index])
    column = pc.struct_field(column, key.field) if key.field is not None else column
    return column.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _operator_table(table: pa.Table, index: int) -> pa.Table:
    """Operator ``index``'s own rows and metadata from the chain's state table."""
    mine = table.filter(pc.equal(table.column(OPERATOR), index))
    struct = mine.column(COLUMN.format(index)).combine_chunks()
    own = pa.Table.from_arrays(struct.flatten(), schema=pa.schema(list(struct.type))) if struct.type.num_fields \
        else pa.table({})
    prefix = METADATA.format(index).encode()
    metadata = {key[len(prefix):]: value for key, value in (table.schema.metadata or {}).items()
                if key.startswith(prefix)}
    return own.replace_schema_metadata(metadata or None)
