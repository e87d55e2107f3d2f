"""The DuckDB sink: each batch in one transaction, its (query id, batch id) committed in the same transaction.

The table holds exactly the query's columns, and rows go in by column name, so a restarted query may list
its columns in another order; a table whose columns no longer fit the query is refused at start, naming the
columns. A side table ``_stream_nb_commits`` records which batches of which query are committed to which
table, so a batch replayed after a crash is skipped (the rows and the record commit together or not at all),
while another run into the same table — a query with no checkpoint, or a new checkpoint — is another query
whose batch 0 is new. append inserts; complete replaces the table; update upserts by the group keys (which the
query must show as columns). Databases written before 2026-11-30 keep their ``_stream_nb_batches`` table
(batch ids by table alone) as it was; it is no longer read.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa

from stream_nb.sinks._protocol import BIND, CLOSE, OPEN

COMMITS = "_stream_nb_commits"


def quote(name: str) -> str:
    """An SQL identifier, quoted so that any name (``my"key``, ``order``) means itself.

    >>> quote('my"key')
    '"my""key"'
    """
    return '"' + name.replace('"', '""') + '"'


class DuckDBSink:
    capabilities = frozenset({BIND, OPEN, CLOSE})

    def __init__(self, database: str | Path, table: str):
        if not table.replace("_", "").isalnum():
            raise ValueError(f"duckdb sink: table name {table!r} must be a plain identifier (letters, digits, _)")
        self.database = str(database)
        self.table = table
        self.description = f"DuckDBSink[{self.database}:{table}]"
        self._mode = "append"
        self._keys: list[str] = []
        self._schema: pa.Schema | None = None
        self._query_id: str | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def bind(self, schema: pa.Schema, output_mode: str, key_columns: list | None = None) -> None:
        self._mode = output_mode
        self._schema = schema
        lowered = [name.lower() for name in schema.names]  # DuckDB's names are case-insensitive
        twice = [name for i, name in enumerate(schema.names) if name.lower() in lowered[:i]]
        if twice:  # DuckDB would rename the second to x_1, silently; Spark's table sinks refuse
            raise ValueError(f"the duckdb sink stores columns by name, and the query's output has {twice[0]!r} "
                             f"more than once (columns {schema.names}): give each column an alias of its own")
        if output_mode == "update":
            if not key_columns or any(k is None for k in key_columns):
                raise ValueError(
                    "the duckdb sink upserts update-mode rows by the group keys, so the query must select every "
                    "GROUP BY key as a column (e.g. SELECT window(ts, '10 seconds') AS w, device, ...), "
                    "or use output_mode='append' or 'complete'")
            self._keys = list(key_columns)

    def open(self, query_id: str) -> None:
        """Called when the query starts: batches are committed as this query's; the table is created, or
        checked to fit the query's columns."""
        with self._lock:
            self._query_id = query_id
            if self._schema is not None:
                self._connect(self._schema)

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        with self._lock:
            if self._query_id is None:  # used without a query (tests, scripts): a query of its own
                self._query_id = str(uuid.uuid4())
            con = self._connect(table.schema)
            target = quote(self.table)
            con.begin()
            try:
                if con.execute(f"SELECT 1 FROM {COMMITS} WHERE lower(sink_table) = lower(?) AND query_id = ? "
                               "AND batch_id = ?",
                               [self.table, self._query_id, batch_id]).fetchone():
                    con.rollback()
                    return  # committed before: a replayed batch changes nothing
                con.register("__batch_rows", table)
                if self._mode == "complete":
                    con.execute(f"DELETE FROM {target}")
                elif self._mode == "update" and table.num_rows:
                    match = " AND ".join(f"t.{quote(k)} IS NOT DISTINCT FROM b.{quote(k)}" for k in self._keys)
                    con.execute(f"DELETE FROM {target} t WHERE EXISTS (SELECT 1 FROM __batch_rows b WHERE {match})")
                con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM __batch_rows")
                con.execute(f"INSERT INTO {COMMITS} VALUES (?, ?, ?, now())", [self.table, self._query_id, batch_id])
                con.commit()
            except BaseException as err:
                _rollback(con)  # a failed commit (a full disk) has ended the transaction already
                if isinstance(err, duckdb.Error):  # say which database; DuckDB's text keeps what went wrong
                    raise type(err)(f"duckdb sink {self.database} (table {self.table!r}), batch {batch_id}: "
                                    f"{err}") from err
                raise
            finally:
                con.unregister("__batch_rows")

    def _connect(self, schema: pa.Schema) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            con = duckdb.connect(self.database)
            try:
                con.execute("SET TimeZone = 'UTC'")
                con.execute(f"CREATE TABLE IF NOT EXISTS {COMMITS} (sink_table VARCHAR, query_id VARCHAR, "
                            "batch_id BIGINT, committed_at TIMESTAMPTZ, PRIMARY KEY (sink_table, query_id, batch_id))")
                con.register("__schema", schema.empty_table())
                wanted = con.execute("DESCRIBE SELECT * FROM __schema").fetchall()
                if _exists(con, self.table):
                    self._check_fits(con, [(c[0], c[1]) for c in wanted])
                else:
                    con.execute(f"CREATE TABLE {quote(self.table)} AS SELECT * FROM __schema")
                con.unregister("__schema")
            except BaseException:
                con.close()
                raise
            self._con = con
        return self._con

    def _check_fits(self, con: duckdb.DuckDBPyConnection, wanted: list[tuple[str, str]]) -> None:
        """The table's columns must be the query's, by name and type (in any order)."""
        have = [(c[0], c[1]) for c in con.execute(f"DESCRIBE {quote(self.table)}").fetchall()]
        # DuckDB (as Spark) matches column names whatever their case, INSERT BY NAME too: X fills x
        have_types = {name.lower(): kind for name, kind in have}
        wanted_types = {name.lower(): kind for name, kind in wanted}
        changes = [f"the query has {name!r} ({kind}), the table has not" for name, kind in wanted
                   if name.lower() not in have_types]
        changes += [f"the table has {name!r} ({kind}), the query has not" for name, kind in have
                    if name.lower() not in wanted_types]
        changes += [f"{name!r} is {have_types[name.lower()]} in the table, {kind} in the query"
                    for name, kind in wanted if have_types.get(name.lower(), kind) != kind]
        if changes:
            raise ValueError(
                f"duckdb sink: table {self.table!r} in {self.database} does not fit the query's columns ("
                + "; ".join(changes) + f"). Table: {_columns(have)}; query: {_columns(wanted)}. Write to a new "
                "table, or change this one to fit (ALTER TABLE ... ADD / DROP / ALTER COLUMN)")

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.rollback()
    except duckdb.TransactionException:
        pass  # no transaction is active: nothing of the batch was committed


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    # names match whatever their case, as DuckDB resolves them: an existing Events is the table events
    return con.execute("SELECT 1 FROM duckdb_tables() WHERE lower(table_name) = lower(?) "
                       "AND schema_name = current_schema()", [table]).fetchone() is not None


def _columns(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns)


def duckdb_sink(database: str | Path, table: str) -> DuckDBSink:
    """A sink writing each batch into a DuckDB table, exactly once per query (its id committed with the rows)."""
    return DuckDBSink(database, table)
