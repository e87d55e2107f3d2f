"""The DuckDB sink: each batch in one transaction, its batch id committed in the same transaction.

The table holds exactly the query's columns. A side table ``_stream_nb_batches`` records which batches of
which table are committed, so a batch replayed after a crash is skipped: the rows and the record commit
together or not at all. append inserts; complete replaces the table; update upserts by the group keys
(which the query must show as columns).
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pyarrow as pa

BATCHES = "_stream_nb_batches"


class DuckDBSink:
    def __init__(self, database: str | Path, table: str):
        if not table.replace("_", "").isalnum():
            raise ValueError(f"duckdb sink: table name {table!r} must be a plain identifier (letters, digits, _)")
        self.database = str(database)
        self.table = table
        self.description = f"DuckDBSink[{self.database}:{table}]"
        self._mode = "append"
        self._keys: list[str] = []
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def bind(self, schema: pa.Schema, output_mode: str, key_columns: list | None = None) -> None:
        self._mode = output_mode
        if output_mode == "update":
            if not key_columns or any(k is None for k in key_columns):
                raise ValueError(
                    "the duckdb sink upserts update-mode rows by the group keys, so the query must select every "
                    "GROUP BY key as a column (e.g. SELECT window(ts, '10 seconds') AS w, device, ...), "
                    "or use output_mode='append' or 'complete'")
            self._keys = list(key_columns)

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        with self._lock:
            con = self._connect(table)
            con.begin()
            try:
                if con.execute(f"SELECT 1 FROM {BATCHES} WHERE sink_table = ? AND batch_id = ?",
                               [self.table, batch_id]).fetchone():
                    con.rollback()
                    return  # committed before: a replayed batch changes nothing
                con.register("__batch_rows", table)
                if self._mode == "complete":
                    con.execute(f'DELETE FROM "{self.table}"')
                elif self._mode == "update" and table.num_rows:
                    match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM b."{k}"' for k in self._keys)
                    con.execute(f'DELETE FROM "{self.table}" t WHERE EXISTS '
                                f'(SELECT 1 FROM __batch_rows b WHERE {match})')
                con.execute(f'INSERT INTO "{self.table}" SELECT * FROM __batch_rows')
                con.execute(f"INSERT INTO {BATCHES} VALUES (?, ?, now())", [self.table, batch_id])
                con.commit()
            except BaseException:
                con.rollback()
                raise
            finally:
                con.unregister("__batch_rows")

    def _connect(self, table: pa.Table) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            con = duckdb.connect(self.database)
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"CREATE TABLE IF NOT EXISTS {BATCHES} (sink_table VARCHAR, batch_id BIGINT, "
                        "committed_at TIMESTAMPTZ, PRIMARY KEY (sink_table, batch_id))")
            con.register("__schema", table.schema.empty_table())
            con.execute(f'CREATE TABLE IF NOT EXISTS "{self.table}" AS SELECT * FROM __schema')
            con.unregister("__schema")
            self._con = con
        return self._con

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


def duckdb_sink(database: str | Path, table: str) -> DuckDBSink:
    """A sink writing each batch into a DuckDB table, exactly once (batch ids committed with the rows)."""
    return DuckDBSink(database, table)
