"""The memory sink behind q.result: append keeps every row, complete the last table, update upserts by key."""

import pyarrow as pa

from stream_nb.sinks.memory import MemorySink

SCHEMA = pa.schema([("k", pa.string()), ("n", pa.int64())])


def sink(mode):
    s = MemorySink()
    s.bind(SCHEMA, mode)
    return s


def table(*pairs):
    return pa.table({"k": [k for k, _ in pairs], "n": [n for _, n in pairs]}, schema=SCHEMA)


def test_append_keeps_every_row_emitted():
    s = sink("append")
    s.add_batch(0, table(("a", 1)))
    s.add_batch(1, table(("a", 2), ("b", 3)))
    assert s.result.to_dict("records") == [{"k": "a", "n": 1}, {"k": "a", "n": 2}, {"k": "b", "n": 3}]


def test_complete_keeps_the_last_table():
    s = sink("complete")
    s.add_batch(0, table(("a", 1)))
    s.add_batch(1, table(("a", 2), ("b", 3)))
    assert s.result.to_dict("records") == [{"k": "a", "n": 2}, {"k": "b", "n": 3}]


def test_update_upserts_by_the_state_key_even_when_the_output_does_not_show_it():
    s = MemorySink()
    s.bind(pa.schema([("n", pa.int64())]), "update")
    s.add_batch(0, pa.table({"n": [1, 1]}), keys=pa.table({"__k0": ["a", "b"]}))
    s.add_batch(1, pa.table({"n": [2]}), keys=pa.table({"__k0": ["b"]}))
    assert s.result["n"].tolist() == [1, 2]


def test_a_replayed_batch_is_not_written_twice():
    s = sink("append")
    s.add_batch(0, table(("a", 1)))
    s.add_batch(0, table(("a", 1)))
    assert len(s.result) == 1


def test_an_empty_result_has_the_query_columns():
    assert list(sink("append").result.columns) == ["k", "n"]


def test_update_compacts_superseded_rows_and_keeps_the_latest():
    s = MemorySink()
    s.bind(SCHEMA, "update")
    for batch_id in range(30):
        keys = [f"k{i}" for i in range(500)]
        s.add_batch(batch_id, pa.table({"k": keys, "n": [batch_id] * 500}, schema=SCHEMA),
                    keys=pa.table({"__k0": keys}))
    result = s.result
    assert len(result) == 500 and set(result["n"]) == {29}
    assert s._rows < 2 * 500 + 4096 + 500  # superseded rows were dropped along the way


def test_update_tells_windows_nulls_and_lists_apart_and_keeps_first_seen_order():
    window = pa.struct([("start", pa.int64()), ("end", pa.int64())])
    s = MemorySink()
    s.bind(pa.schema([("n", pa.int64())]), "update")
    keys = [({"start": 0, "end": 10}, "a", [1]), (None, "a", [1]), ({"start": 0, "end": 10}, None, [1]),
            ({"start": 10, "end": 20}, "a", [2])]

    def key_table(rows):
        return pa.table({"__k0": pa.array([r[0] for r in rows], window), "__k1": [r[1] for r in rows],
                         "__k2": [r[2] for r in rows]})

    s.add_batch(0, pa.table({"n": [1, 2, 3, 4]}), keys=key_table(keys))
    s.add_batch(1, pa.table({"n": [5, 6]}), keys=key_table([keys[2], keys[1]]))
    assert s.result["n"].tolist() == [1, 6, 5, 4]


def test_update_of_a_global_aggregate_keeps_one_row():
    s = MemorySink()
    s.bind(SCHEMA, "update")
    for batch_id in range(3):
        s.add_batch(batch_id, table(("all", batch_id)), keys=pa.table({"__k": [0]}).select([]))
    assert s.result.to_dict("records") == [{"k": "all", "n": 2}]


def test_update_compacts_by_the_rows_the_engine_says_replace_earlier_ones():
    s = MemorySink()
    s.bind(SCHEMA, "update")
    for batch_id in range(20):  # 20 batches of 500 new keys each: nothing to drop, so nothing is compacted
        keys = [f"k{batch_id}-{i}" for i in range(500)]
        s.add_batch(batch_id, pa.table({"k": keys, "n": [batch_id] * 500}, schema=SCHEMA),
                    keys=pa.table({"__k0": keys}), replaced=0)
    assert len(s._chunks) == 20
    for batch_id in range(20, 60):  # the same 500 keys again and again: compacted along the way
        keys = [f"k0-{i}" for i in range(500)]
        s.add_batch(batch_id, pa.table({"k": keys, "n": [batch_id] * 500}, schema=SCHEMA),
                    keys=pa.table({"__k0": keys}), replaced=500)
    assert s._rows < 20 * 500 + 40 * 500  # superseded rows were dropped once they outnumbered the live ones
    result = s.result
    assert len(result) == 20 * 500 and result["n"].max() == 59 and (result["n"] == 59).sum() == 500
