"""The memory sink behind q.result and the views: append keeps the newest max_rows rows, complete the last
table, update upserts by key; and what changed since a batch, for the views."""

import pandas as pd
import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.sinks.memory import DEFAULT_MAX_ROWS, LOG_BATCHES, MemorySink

SCHEMA = pa.schema([("k", pa.string()), ("n", pa.int64())])


def sink(mode):
    s = MemorySink()
    s.bind(SCHEMA, mode)
    return s


def table(*pairs):
    return pa.table({"k": [k for k, _ in pairs], "n": [n for _, n in pairs]}, schema=SCHEMA)


def test_append_keeps_every_row_emitted_below_its_limit():
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


def test_case_14_an_append_result_keeps_the_newest_max_rows_and_counts_the_dropped_ones():
    events = sn.sources.memory("n bigint")
    q = sn.start("SELECT n FROM events", sources={"events": events}, sink=sn.sinks.memory(max_rows=250),
                 trigger="manual")
    for start in range(0, 1000, 100):
        events.add_data(pd.DataFrame({"n": range(start, start + 100)}))
        q.step()
    assert q.result["n"].tolist() == list(range(750, 1000))  # the newest 250, in order
    assert q.sink.dropped_rows == 750
    q.stop()


def test_case_14_the_result_is_kept_once_as_arrow_and_no_pandas_copy_stays_beside_it():
    s = sink("append")
    s.add_batch(0, table(("a", 1), ("b", 2)))
    first, second = s.result, s.result
    first.loc[0, "n"] = 99  # a user's frame is theirs: changing it changes nothing kept
    assert second["n"].tolist() == [1, 2] and s.result["n"].tolist() == [1, 2]
    assert not [name for name, value in vars(s).items() if isinstance(value, pd.DataFrame)]


def test_the_default_memory_sink_keeps_a_million_rows_and_none_keeps_every_row():
    assert sn.sinks.memory().max_rows == DEFAULT_MAX_ROWS == 1_000_000
    unbounded = sn.sinks.memory(max_rows=None)
    unbounded.bind(SCHEMA, "append")
    for batch_id in range(3):
        unbounded.add_batch(batch_id, table(*[("a", i) for i in range(1000)]))
    assert len(unbounded.result) == 3000 and unbounded.dropped_rows == 0


@pytest.mark.parametrize("bad", [0, -5, 2.5, "100", True])
def test_a_bad_max_rows_is_refused_with_what_it_means(bad):
    with pytest.raises(ValueError, match=r"max_rows=\.\.\.\) is how many rows append mode keeps.*got"):
        sn.sinks.memory(max_rows=bad)


def test_a_batch_larger_than_max_rows_keeps_its_newest_rows():
    s = MemorySink(max_rows=3)
    s.bind(SCHEMA, "append")
    s.add_batch(0, table(*[("a", i) for i in range(5)]))
    assert s.result["n"].tolist() == [2, 3, 4] and s.dropped_rows == 2


def test_changes_since_a_batch_are_the_rows_emitted_after_it_in_append_mode():
    s = sink("append")
    for batch_id in range(3):
        s.add_batch(batch_id, table(("a", batch_id)))
    changes = s.changes_since(0)
    assert (changes.batch_id, changes.replace, changes.total_rows) == (2, False, 3)
    assert changes.rows.column("n").to_pylist() == [1, 2]
    assert s.changes_since(2).rows.num_rows == 0


def test_append_changes_after_dropped_rows_the_reader_missed_are_the_whole_kept_result():
    s = MemorySink(max_rows=2)
    s.bind(SCHEMA, "append")
    for batch_id in range(4):
        s.add_batch(batch_id, table(("a", batch_id)))
    behind = s.changes_since(0)  # batch 1's row is gone: a view that showed batch 0 must start over
    assert behind.replace and behind.rows.column("n").to_pylist() == [2, 3] and behind.dropped_rows == 2
    recent = s.changes_since(2)  # it saw batch 2: nothing it needs was dropped
    assert not recent.replace and recent.rows.column("n").to_pylist() == [3]


def test_update_changes_are_each_batchs_rows_with_their_keys_and_nothing_is_compacted_to_read_them():
    s = sink("update")
    s.add_batch(0, table(("a", 1), ("b", 1)), keys=pa.table({"__k0": ["a", "b"]}), replaced=0)
    s.add_batch(1, table(("a", 2)), keys=pa.table({"__k0": ["a"]}), replaced=1)
    s.add_batch(2, table(("c", 1)), keys=pa.table({"__k0": ["c"]}), replaced=0)
    changes = s.changes_since(0)
    assert not changes.replace and changes.rows.to_pylist() == [{"k": "a", "n": 2}, {"k": "c", "n": 1}]
    assert changes.keys.column("__k0").to_pylist() == ["a", "c"]
    assert len(s._chunks) == 3  # reading the changes compacted nothing


def test_update_changes_further_back_than_the_log_are_the_whole_result():
    s = sink("update")
    for batch_id in range(LOG_BATCHES + 5):
        s.add_batch(batch_id, table(("a", batch_id), ("b", 0)), keys=pa.table({"__k0": ["a", "b"]}))
    behind = s.changes_since(2)
    assert behind.replace
    assert behind.rows.to_pylist() == [{"k": "a", "n": LOG_BATCHES + 4}, {"k": "b", "n": 0}]
    assert behind.keys.column("__k0").to_pylist() == ["a", "b"]
    assert not s.changes_since(LOG_BATCHES).replace


def test_complete_changes_are_always_the_whole_table():
    s = sink("complete")
    s.add_batch(0, table(("a", 1)))
    s.add_batch(1, table(("a", 2), ("b", 3)))
    changes = s.changes_since(0)
    assert changes.replace and changes.rows.num_rows == 2


def test_a_row_a_batch_is_merged_so_the_sink_holds_few_tables_and_a_late_view_gets_the_whole_result():
    from stream_nb.sinks.memory import MERGE_CHUNKS

    sink = MemorySink(max_rows=5_000)
    for i in range(10_000):  # continuous processing hands on a row at a time
        sink.add_batch(i, pa.table({"n": [i]}))
    assert len(sink._chunks) <= 2 * MERGE_CHUNKS + 10_000 // MERGE_CHUNKS
    assert sink.result["n"].tolist() == list(range(5_000, 10_000)) and sink.dropped_rows == 5_000
    assert sink.changes_since(9_997).rows.column("n").to_pylist() == [9_998, 9_999]  # a view at the head
    behind = sink.changes_since(100)
    assert behind.replace and behind.rows.column("n").to_pylist() == list(range(5_000, 10_000))
