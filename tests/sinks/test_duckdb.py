"""The duckdb sink: one transaction per batch, exactly once per query, columns by name, any identifier."""

import os
import subprocess

import duckdb
import pyarrow as pa
import pytest

import stream_nb as sn


def run(sql, db, table, batches, *, checkpoint=None, schema="x bigint", **options):
    """Start a query into the duckdb sink, run one batch per list of rows, stop it."""
    src = sn.sources.memory(schema)
    q = sn.start(sql, sources={"src": src}, sink=sn.sinks.duckdb(db, table), trigger="manual",
                 checkpoint=checkpoint, **options)
    for rows in batches:
        src.add_data(rows)
        q.step()
    q.stop()
    return q


def select(db, sql):
    with duckdb.connect(str(db)) as con:
        return con.execute(sql).fetchall()


def test_case_1_a_second_run_into_the_same_table_adds_its_batches(tmp_path):
    db = tmp_path / "out.duckdb"
    for data in ([1, 2, 3], [10, 20, 30]):
        run("SELECT x FROM src", db, "t", [[{"x": v}] for v in data])
    assert [x for (x,) in select(db, "SELECT x FROM t ORDER BY x")] == [1, 2, 3, 10, 20, 30]


def test_case_1_a_replayed_batch_of_the_same_query_is_still_written_once(tmp_path):
    db = tmp_path / "out.duckdb"
    first = run("SELECT x FROM src", db, "t", [[{"x": 1}], [{"x": 2}]], checkpoint=tmp_path / "cp")
    sink = sn.sinks.duckdb(db, "t")
    sink.bind(first.schema, "append")
    sink.open(first.id)  # the checkpoint's query id: batch 1 is that query's, committed already
    sink.add_batch(1, pa.table({"x": [2]}))
    sink.close()
    assert [x for (x,) in select(db, "SELECT x FROM t ORDER BY x")] == [1, 2]


def test_case_4_a_restart_with_the_columns_in_another_order_inserts_them_by_name(tmp_path):
    db = tmp_path / "out.duckdb"
    schema = "first string, last string"
    run("SELECT first, last FROM src", db, "people", [[{"first": "Ada", "last": "Lovelace"}]], schema=schema)
    run("SELECT last, first FROM src", db, "people", [[{"first": "Alan", "last": "Turing"}]], schema=schema)
    assert select(db, "SELECT first, last FROM people ORDER BY first") == [("Ada", "Lovelace"), ("Alan", "Turing")]


def test_case_4_a_table_whose_columns_no_longer_fit_is_refused_at_start_naming_them(tmp_path):
    db = tmp_path / "out.duckdb"
    schema = "first string, last string, age int"
    run("SELECT first, last FROM src", db, "people", [[{"first": "Ada", "last": "Lovelace", "age": 36}]],
        schema=schema)
    src = sn.sources.memory(schema)
    with pytest.raises(ValueError, match=r"table 'people' .* does not fit the query's columns \(the query has "
                                         r"'age' \(INTEGER\), the table has not\)") as refused:
        sn.start("SELECT first, last, age FROM src", sources={"src": src}, sink=sn.sinks.duckdb(db, "people"),
                 trigger="manual")
    assert "ALTER TABLE" in str(refused.value) and sn.queries() == []
    assert select(db, "SELECT first, last FROM people") == [("Ada", "Lovelace")]  # nothing lost


def test_case_18_a_quoted_group_key_upserts(tmp_path):
    db = tmp_path / "out.duckdb"
    src = sn.sources.memory("k string, n bigint")
    q = sn.start('SELECT k AS `my"key`, sum(n) AS total FROM src GROUP BY k', sources={"src": src},
                 sink=sn.sinks.duckdb(db, "totals"), trigger="manual")
    src.add_data([{"k": "a", "n": 1}, {"k": "b", "n": 2}])
    q.step()
    src.add_data([{"k": "a", "n": 5}])
    q.step()
    q.stop()
    assert select(db, 'SELECT "my""key", total FROM totals ORDER BY 1') == [("a", 6), ("b", 2)]


def test_an_existing_table_and_its_columns_are_matched_whatever_their_case_as_duckdb_does(tmp_path):
    db = tmp_path / "out.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE Events (X BIGINT)")
        con.execute("INSERT INTO Events VALUES (1)")
    run("SELECT x FROM src", db, "events", [[{"x": 2}]])
    run("SELECT x AS X FROM src", db, "EVENTS", [[{"x": 3}]])
    assert [x for (x,) in select(db, "SELECT X FROM Events ORDER BY 1")] == [1, 2, 3]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a filesystem needs root")
def test_a_full_disk_fails_the_batch_naming_the_database_and_a_restart_writes_each_row_once(tmp_path):
    """DuckDB's failed commit ends the transaction itself: the sink's rollback must not hide why it failed."""
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], check=True)
    src = sn.sources.memory("s string, n bigint")
    try:
        q = sn.start("SELECT s, n FROM src", sources={"src": src}, sink=sn.sinks.duckdb(small / "out.duckdb", "t"),
                     trigger="manual", checkpoint=tmp_path / "cp")
        with pytest.raises(sn.StreamingQueryException) as failed:
            for batch in range(200):
                src.add_data([{"s": "x" * 1000, "n": batch * 20 + i} for i in range(20)])
                q.step()
        assert f"duckdb sink {small / 'out.duckdb'} (table 't'), batch {batch}: " in str(failed.value)
        assert "No space left on device" in str(failed.value) and not q.is_active
        subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
        again = sn.start("SELECT s, n FROM src", sources={"src": src}, sink=sn.sinks.duckdb(small / "out.duckdb", "t"),
                         trigger="manual", checkpoint=tmp_path / "cp")
        again.process_all_available()
        again.stop()
        assert [n for (n,) in select(small / "out.duckdb", "SELECT n FROM t ORDER BY n")] == list(range(batch * 20 + 20))
    finally:
        sn.stop_all()
        subprocess.run(["umount", "--lazy", str(small)], check=False)
