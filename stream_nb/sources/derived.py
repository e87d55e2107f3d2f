"""A stream seen through a stateless query: its rows projected, filtered or parsed (``from_json``) as each batch
is read, as a stream of its own.

PySpark's ``withWatermark`` may name a column computed on the way (``F.to_timestamp("t")``, a field of
``from_json(value)``: the usual Kafka program), where the engine keeps a watermark on a column of an input.
``derived(source, sql, name)`` makes that column an input's: its reads are the source's rows run through
``sql`` (the stateless query over ``name``, planned and run as a stateless query is), and everything else is
the source's own — offsets, what they mean in a checkpoint, how far a trigger may read — so a restart, a replay
and exactly-once are the source's. As in Spark, where the watermark's node sits above the projection and the
filters under it, rows a filter of ``sql`` drops never move the watermark; the progress counts the rows the
query reads, after them.
"""

from __future__ import annotations

import threading
from typing import Any

import pyarrow as pa

from stream_nb.sources._protocol import CAPABILITIES, CLOSE, ENCODED_READS, PUSH, declared

# what a derived stream cannot pass on: encoded columns are the source's, not the query's; continuous
# processing hands on each row of the source as it arrives
_NOT_PASSED_ON = frozenset({ENCODED_READS, PUSH})


class DerivedSource:
    """``source``'s rows through the stateless query ``sql`` over it (named ``name`` in its FROM)."""

    def __init__(self, source: Any, sql: str, name: str):
        from stream_nb.engine.batch import output_schema
        from stream_nb.engine.operators import connect, make_operator
        from stream_nb.sql.plan import plan_query

        plan = plan_query(sql, namespaces=[{name: source}])
        if plan.stateless_sql is None or plan.inputs != [name] or plan.limit is not None:  # a limit counts rows
            raise ValueError(f"a derived stream is a stateless query over {name!r} alone (a projection, a filter, "
                             f"from_json...), not: {sql}")
        self.source, self.sql, self.name = source, sql, name
        self._plan, self._operator = plan, make_operator(plan)
        self._lock = threading.Lock()  # one DuckDB connection: a read ahead and a batch's read take turns
        self._con = None  # opened by the first read, closed by close()
        probe = connect(plan)
        try:  # closed here: a derived stream that is only planned over (a DataFrame's schema) holds none
            self.schema: pa.Schema = output_schema(plan, probe, source.schema.empty_table())
        finally:
            probe.close()
        self._passed = declared(source, CAPABILITIES, f"source {name!r}") - _NOT_PASSED_ON
        self.capabilities = self._passed | {CLOSE}  # its own DuckDB connection, closed when a query stops
        self.description = getattr(source, "description", type(source).__name__)

    @property
    def underlying(self) -> Any:
        """The source read: a query that also reads it as it is (a union or join of a stream and a view of it)
        asks it once a trigger and reads it once a batch for both (``engine/inputs.py``)."""
        return self.source

    def latest_offset(self) -> int:
        return self.source.latest_offset()

    def read(self, start: int, end: int) -> pa.Table:
        """The source's rows ``[start, end)`` through the query."""
        return self.through(underlying_source(self).read(start, end))

    def through(self, rows: pa.Table) -> pa.Table:
        """Rows read from the underlying source (the first one, for a view of a view) through the query."""
        inner = getattr(self.source, "through", None)
        rows = inner(rows) if inner is not None else rows
        with self._lock:
            if self._con is None:
                from stream_nb.engine.operators import connect

                self._con = connect(self._plan)
            return self._operator.process(self._con, rows).table.cast(self.schema)

    # -- the source's own, passed on as it declared them ---------------------------------------------------
    @property
    def max_per_trigger(self) -> int | None:
        return getattr(self.source, "max_per_trigger", None)

    def checkpoint_metadata(self) -> dict:
        return self.source.checkpoint_metadata()

    def restore_checkpoint_metadata(self, metadata: dict) -> None:
        self.source.restore_checkpoint_metadata(metadata)

    def checkpoint_log(self, start: int, end: int) -> list[str]:
        return self.source.checkpoint_log(start, end)

    def restore_checkpoint_log(self, entries: list) -> None:
        self.source.restore_checkpoint_log(entries)

    def commit(self, end: int) -> None:
        self.source.commit(end)

    def attach(self) -> None:
        self.source.attach()

    def detach(self) -> None:
        self.source.detach()

    def prepare(self) -> None:
        self.source.prepare()

    def close(self) -> None:
        """The source's close, and the query's DuckDB connection closed here, on the thread that stops the query
        (a read after opens another): left to the GC, its last reference could fall on a daemon thread at exit."""
        if CLOSE in self._passed:
            self.source.close()
        self.release()

    def release(self) -> None:
        """Its own DuckDB connection closed, the source left as it is (a query closes that once, however many
        of its inputs read it)."""
        with self._lock:
            con, self._con = self._con, None
        if con is not None:
            con.close()

    def open_checkpoint(self, directory) -> None:
        self.source.open_checkpoint(directory)

    def spark_offset(self, end: int) -> dict:
        return self.source.spark_offset(end)

    def __repr__(self) -> str:
        return f"{self.description} through {self.sql}"


def underlying_source(source: Any) -> Any:
    """The source a derived stream (or a view of one) reads in the end; any other source itself."""
    while getattr(source, "underlying", None) is not None:
        source = source.underlying
    return source


def derived(source: Any, sql: str, name: str) -> DerivedSource:
    """``source`` (named ``name`` in ``sql``'s FROM) seen through the stateless query ``sql``, as a stream."""
    return DerivedSource(source, sql, name)
