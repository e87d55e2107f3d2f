"""The global limit operator: LIMIT on an append-mode stream, as Spark's StreamingGlobalLimitExec.

The stream's first N rows, ever: the state is one number, how many rows have passed the limit so far; a batch
lets through at most N minus that, the first in the batch's order (a memory source's rows as added, a file's
rows in order), and once N have passed, nothing more, also after a restart, since the number is checkpointed
with the batch's commit like any operator's state. The rest of the query is stateless (``sql/limit.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from stream_nb.engine import duck
from stream_nb.engine.output import Output
from stream_nb.engine.stateless import StatelessOperator
from stream_nb.sql.limit import LIMITED, ROW
from stream_nb.sql.plan import Plan

EMITTED = "rowsEmitted"  # the state's one column: rows that have passed the limit


@dataclass
class LimitOutput(Output):
    emitted: int = 0  # rows passed the limit once this batch commits


class LimitOperator(StatelessOperator):
    """The stream's first ``plan.limit.count`` rows, then nothing: stateless SQL, and one count as state.

    >>> import stream_nb as sn
    >>> from stream_nb.engine.operators import connect
    >>> from stream_nb.sql.plan import plan_query
    >>> src = sn.sources.memory("device string, temp double")
    >>> plan = plan_query("SELECT device FROM s WHERE temp > 0 LIMIT 2", namespaces=[{"s": src}])
    >>> op, con = LimitOperator(plan), connect(plan)
    >>> batch = pa.table({"device": ["a", "b", "c"], "temp": [1.0, -1.0, 2.0]})
    >>> out = op.process(con, batch); op.commit(out); out.table.column("device").to_pylist()
    ['a', 'c']
    >>> op.process(con, batch).table.num_rows
    0
    """

    name = "globalLimit"  # Spark's name for it in progress' stateOperators
    stateful = True

    def __init__(self, plan: Plan):
        super().__init__(plan)
        self.limit = plan.limit
        self.emitted = 0

    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table | dict[str, pa.Table],
                watermark_us: int = 0) -> LimitOutput:
        room = max(self.limit.count - self.emitted, 0)
        if not room:  # the limit is reached: the query runs over no rows, for the output's columns
            batch = {name: rows.slice(0, 0) for name, rows in batch.items()} if isinstance(batch, dict) \
                else batch.slice(0, 0)
        if self.limit.row_numbers:  # a join below the limit: the SQL orders by the batch's row numbers
            batch = batch.append_column(ROW, pa.array(np.arange(batch.num_rows, dtype=np.int64)))
        if self.limit.pre_sql is None:  # the query's own LIMIT: its first rows, cut to the room left
            output = super().process(con, batch, watermark_us)
            passed = output.table.slice(0, room)
            table = passed
        else:  # a subquery's LIMIT: its first rows, cut, are what the rest of the query reads
            self._register(con, batch)
            passed = duck.query(con, self.limit.pre_sql).slice(0, room)
            duck.register(con, LIMITED, passed)
            output = Output(duck.query(con, self.plan.stateless_sql), late=_no_rows(batch))
            table = output.table
        return LimitOutput(table, late=output.late, state_rows_updated=1 if passed.num_rows else 0,
                           emitted=self.emitted + passed.num_rows)

    def commit(self, output: LimitOutput) -> None:
        self.emitted = output.emitted

    def changes(self, output: LimitOutput) -> pa.Table:
        return self.dump()  # the state is one number: its new value is the delta

    def dump(self) -> pa.Table:
        return pa.table({EMITTED: pa.array([self.emitted], pa.int64())})

    def restore(self, tables: list[pa.Table]) -> None:
        """The count of the last table (each holds the whole count); none: a new query, nothing emitted."""
        self.emitted = tables[-1].column(EMITTED)[0].as_py() if tables else 0

    @property
    def state_rows(self) -> int:
        return 1 if self.emitted else 0  # Spark's store holds its one row once a row has passed

    @property
    def memory_bytes(self) -> int:
        return 8 if self.emitted else 0

    def state_view(self) -> Callable[[], pa.Table]:
        table = self.dump()
        return lambda: table

    def _register(self, con: duckdb.DuckDBPyConnection, batch: pa.Table | dict[str, pa.Table]) -> None:
        if isinstance(batch, dict):
            for name, rows in batch.items():
                duck.register(con, self.plan.batch_table(name), rows)
        else:
            duck.register(con, self.plan.batch_table(self.plan.inputs[0]), batch)


def _no_rows(batch: pa.Table | dict[str, pa.Table]) -> pa.Table:
    return pa.table({}) if isinstance(batch, dict) else batch.schema.empty_table()
