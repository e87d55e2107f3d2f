"""The stateless operator: filters, projections and stream-static joins, run over each batch alone."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from stream_nb.engine import duck
from stream_nb.engine.output import Output
from stream_nb.sql.plan import BATCH, Plan


class StatelessOperator:
    """Filters, projections and stream-static joins: the whole query over the batch's rows."""

    name = "stateless"
    stateful = False
    checkpointed = False
    state_rows = 0
    memory_bytes = 0

    def __init__(self, plan: Plan):
        self.plan = plan

    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table | dict[str, pa.Table],
                watermark_us: int = 0) -> Output:
        if isinstance(batch, dict):  # a multi-input plan (a UNION ALL): each input under its own batch table
            for name, rows in batch.items():
                duck.register(con, self.plan.batch_table(name), rows)
            return Output(duck.query(con, self.plan.stateless_sql), late=pa.table({}))
        duck.register(con, BATCH, batch)
        return Output(duck.query(con, self.plan.stateless_sql), late=batch.schema.empty_table())

    def commit(self, output: Output) -> None:
        pass

    def has_expired(self, watermark_us: int) -> bool:
        return False

    def changes(self, output: Output) -> pa.Table:
        return pa.table({})

    def dump(self) -> pa.Table:
        return pa.table({})

    def restore(self, tables: list[pa.Table]) -> None:
        pass

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> None:
        """None: no state, no result table; the sink holds what this run emits."""

    def state_view(self) -> None:
        return None
