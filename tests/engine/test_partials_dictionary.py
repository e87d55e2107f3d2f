"""String keys grouped through the parquet dictionary they were read from (engine/partials.py, encoded_keys):
the same partial aggregates, key hashes and late rows as grouping the strings, whatever the files' dictionaries;
and queries over a files source read ahead give what the same rows give from memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import stream_nb as sn
from stream_nb.engine.aggregation import AggregateOperator
from stream_nb.engine.operators import connect
from stream_nb.engine.partials import decoded, encoded_keys, partial_aggregates

SCHEMA = pa.schema([("ts", pa.timestamp("us", tz="UTC")), ("device", pa.string()), ("site", pa.string()),
                    ("temp", pa.float64())])
T0 = datetime(2024, 5, 1, tzinfo=UTC)
# each file its own dictionary: values in other orders, some shared, a null, the empty string, unicode
DEVICES = [["a", "b", None, ""], ["b", "ünï", "a", "c"], ["", "c", None, "日本"], ["a", "a", "b", "ünï"]]


def _files(folder, rows=600) -> list[pa.Table]:
    """Five parquet files (three row groups each: several dictionaries a file; a dictionary is read as such
    only when small for its rows) and their tables."""
    tables = []
    for n, devices in enumerate(DEVICES):
        table = pa.table({
            "ts": [T0 + timedelta(seconds=7 * n + 0.03 * i) for i in range(rows)],
            "device": [devices[(i * 7 + n) % len(devices)] for i in range(rows)],
            "site": ["s1" if i % 3 else "s2" for i in range(rows)],
            "temp": [None if i == 5 else float(i * n) - 3.5 for i in range(rows)]}, schema=SCHEMA)
        pq.write_table(table, folder / f"part-{n}.parquet", row_group_size=rows // 3)
        tables.append(table)
    # a file whose dictionary holds a value no row has
    unused = pa.DictionaryArray.from_arrays(pa.array([0, 2] * (rows // 2), pa.int32()), pa.array(["a", "never", "b"]))
    table = pa.table({"ts": pa.array([T0 + timedelta(seconds=40 + 0.01 * i) for i in range(rows)], SCHEMA.field("ts").type),
                      "device": unused, "site": pa.array(["s1"] * rows), "temp": pa.array([float(i % 7) for i in range(rows)])})
    pq.write_table(table, folder / "part-9.parquet", store_schema=False)  # a string column, as other writers write it
    tables.append(table.cast(SCHEMA))
    return tables


def _by_keys(table: pa.Table, keys: list[str]) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda row: repr([row[k] for k in keys]))


KEYED = [
    "SELECT device, count(*) AS n, avg(temp) AS t, max(temp) AS m, min(device) AS lo FROM events GROUP BY device",
    ("SELECT window(ts, '10 seconds') AS w, device, count(*) AS n, sum(temp) AS s FROM events "
     "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '10 seconds'), device"),
    ("SELECT site, device, count(DISTINCT temp) AS d, first(temp) AS f, last(device) AS l FROM events "
     "GROUP BY site, device"),
    ("SELECT window(ts, '10 seconds', '5 seconds') AS w, device, site, count(temp) AS n FROM events "
     "GROUP BY window(ts, '10 seconds', '5 seconds'), device, site"),
]


@pytest.mark.parametrize("sql", KEYED)
def test_a_batch_grouped_through_its_dictionaries_gives_the_partials_hashes_and_late_rows_of_its_strings(
        tmp_path, sql):
    _files(tmp_path)
    source = sn.sources.files(tmp_path, format="parquet", schema=SCHEMA)
    batch, encoded = source.read_encoded(0, source.latest_offset())
    assert set(encoded) == {"device", "site"} and batch.equals(source.read(0, 5))
    assert "never" in encoded["device"].chunks[-1].dictionary.to_pylist()
    assert batch.schema == SCHEMA  # the batch itself stays strings
    q = sn.start(sql, sources={"events": source}, trigger="manual")
    operator = AggregateOperator(q.plan)
    con = connect(q.plan)
    watermark = int((T0 + timedelta(seconds=20)).timestamp() * 1_000_000)  # some rows late in the windowed query
    plain = operator.aggregate_batch(con, batch, watermark, parallel=False)
    through = operator.aggregate_batch(con, batch, watermark, parallel=False, encoded=encoded)
    keys = operator.state.key_names
    assert through.partial.schema == plain.partial.schema
    assert _by_keys(through.partial, keys) == _by_keys(plain.partial, keys)
    hashes = dict(zip(map(repr, plain.partial.select(keys).to_pylist()), plain.hashes))
    assert dict(zip(map(repr, through.partial.select(keys).to_pylist()), through.hashes)) == hashes
    assert through.late.equals(plain.late)
    assert {name: table.sort_by([(c, "ascending") for c in table.column_names]).to_pylist()
            for name, table in through.distinct.items()} == \
        {name: table.sort_by([(c, "ascending") for c in table.column_names]).to_pylist()
         for name, table in plain.distinct.items()}
    q.stop()


def test_a_key_not_read_as_a_dictionary_or_used_as_an_argument_keeps_its_strings():
    pre = pa.table({"__k0": ["a", "b"], "__x0": ["a", "b"]})
    encoded = {"device": pa.chunked_array([pa.array(["a", "b"]).dictionary_encode()])}
    swapped = encoded_keys(pre, ["__k0"], {"__k0": "device", "__x0": "device"}, encoded)
    assert swapped.schema.field("__k0").type == encoded["device"].type  # the key: its indices
    assert swapped.column("__x0").equals(pre.column("__x0"))  # the argument: its strings
    assert encoded_keys(pre, ["__k0"], None, encoded) is pre  # rows made by SQL: no encoding fits them
    assert decoded(swapped).equals(pre)


def test_a_dictionary_that_repeats_a_value_groups_by_its_values():
    repeats = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, None], pa.int32()), pa.array(["x", "y", "x"]))
    pre = pa.table({"k": pa.chunked_array([repeats]), "v": [1, 2, 3, 4]})
    partial = partial_aggregates(pre, ["k"], [])
    assert _by_keys(partial, ["k"]) == [{"k": "x", "__rows": 2}, {"k": "y", "__rows": 1}, {"k": None, "__rows": 1}]
    assert partial.schema.field("k").type == pa.string()


def test_a_dictionary_that_repeats_a_value_groups_by_its_values_as_fixed_width_bytes_too(monkeypatch):
    """Its values all of one width and no null: grouped as fixed-size bytes (``_fixed_width``), given back as
    the dictionary's value type."""
    from stream_nb.engine import partials

    monkeypatch.setattr(partials, "FIXED_WIDTH_ROWS", 0)
    repeats = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 1], pa.int32()), pa.array(["xa", "yb", "xa"]))
    pre = pa.table({"k": pa.chunked_array([repeats]), "v": [1, 2, 3, 4]})
    partial = partial_aggregates(pre, ["k"], [])
    assert _by_keys(partial, ["k"]) == [{"k": "xa", "__rows": 2}, {"k": "yb", "__rows": 2}]
    assert partial.schema.field("k").type == pa.string()


def _memory_result(sql: str, tables: list[pa.Table]):
    source = sn.sources.memory(SCHEMA)
    q = sn.start(sql, sources={"events": source}, output_mode="update", trigger="manual")
    for table in tables:
        source.add_data(table)
        q.step()
    q.process_all_available(timeout=30)
    result, schema = q.result, q.schema
    q.stop()
    return result, schema


@pytest.mark.parametrize("sql", [
    *KEYED,
    # a filter before the aggregation and a key made from the string: the plain path, the same answers
    "SELECT device, count(*) AS n FROM events WHERE temp > 0 GROUP BY device",
    "SELECT upper(device) AS d, count(*) AS n FROM events GROUP BY upper(device)",
])
def test_a_files_source_read_ahead_gives_what_the_same_rows_give_from_memory(tmp_path, sql):
    tables = _files(tmp_path)
    source = sn.sources.files(tmp_path, format="parquet", schema=SCHEMA, max_files_per_trigger=1)
    q = sn.start(sql, sources={"events": source}, output_mode="update", trigger="manual")
    q.process_all_available(timeout=30)  # a backlog: every batch after the first runs ahead
    result, schema = q.result, q.schema
    q.stop()
    expected, expected_schema = _memory_result(sql, tables)
    assert schema == expected_schema
    keys = [c for c in expected.columns if c in ("w", "device", "site", "d")]
    assert _rows(result, keys) == _rows(expected, keys)


def _rows(frame, keys) -> list[dict]:
    return sorted(frame.to_dict("records"), key=lambda row: repr([row[k] for k in keys]))


def test_a_column_some_file_held_without_a_small_dictionary_is_given_as_strings_only(tmp_path):
    tables = _files(tmp_path)
    many = pa.table({"ts": [T0 + timedelta(seconds=50 + 0.01 * i) for i in range(600)],
                     "device": [f"unique-{i}" for i in range(600)], "site": ["s3"] * 600,
                     "temp": [float(i) for i in range(600)]}, schema=SCHEMA)
    pq.write_table(many, tmp_path / "part-99.parquet")  # a dictionary as big as its rows: read plain
    source = sn.sources.files(tmp_path, format="parquet", schema=SCHEMA)
    batch, encoded = source.read_encoded(0, source.latest_offset())
    assert set(encoded) == {"site"}  # device: not dictionary-encoded in every file of the batch
    assert batch.equals(pa.concat_tables([*tables, many]))
    assert encoded["site"].cast(pa.string()).equals(batch.column("site"))
