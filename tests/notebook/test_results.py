"""Which output columns key a result row (so update mode can patch), and the deltas the views apply: from the
memory sink's per-batch changes (what a batch changed, not the whole result), or between two whole reads."""

import pandas as pd
import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.notebook.results import ResultTracker, flat_frame, key_columns
from stream_nb.sinks.memory import LOG_BATCHES, MemorySink


@pytest.mark.parametrize(("sql", "keys"), [
    ("SELECT device, count(*) AS n FROM events GROUP BY device", ["device"]),
    (("SELECT window(ts, '10 seconds') AS w, device, avg(temp) AS t FROM events "
      "GROUP BY window(ts, '10 seconds'), device"), ["w.start", "w.end", "device"]),
    ("SELECT window(ts, '10 seconds').start AS s, count(*) AS n FROM events GROUP BY window(ts, '10 seconds')",
     ["s"]),
    ("SELECT avg(temp) AS t FROM events", []),                                       # one row: the empty key
    ("SELECT upper(device) AS d, count(*) AS n FROM events GROUP BY device", None),  # key not shown: replace
    ("SELECT device, temp FROM events", None),                                       # no aggregation
])
def test_key_columns(sql, keys):
    events = sn.sources.memory("ts timestamp, device string, temp double")
    q = sn.start(sql, sources={"events": events}, trigger="manual")
    assert key_columns(q) == keys


def test_whole_reads_in_update_mode_hand_out_new_keys_and_changed_rows_once():
    tracker = ResultTracker("update", ["k"])
    first = tracker.advance(pd.DataFrame({"k": ["a", "b"], "v": [1.0, float("nan")]}))
    assert first.new_keys == [("a",), ("b",)] and first.changed.empty
    second = tracker.advance(pd.DataFrame({"k": ["a", "b", "c"], "v": [2.0, float("nan"), 3.0]}))
    assert second.changed_keys == [("a",)] and second.new_keys == [("c",)]  # NaN stayed NaN: no change
    assert tracker.advance(pd.DataFrame({"k": ["a", "b", "c"], "v": [2.0, float("nan"), 3.0]})).empty


def test_whole_reads_in_append_mode_give_the_rows_emitted_since_the_last_look():
    tracker = ResultTracker("append", None)
    tracker.advance(pd.DataFrame({"v": [1, 2]}))
    assert tracker.advance(pd.DataFrame({"v": [1, 2, 3]})).new["v"].tolist() == [3]


def update_sink(*batches):
    """A memory sink in update mode with these batches: each a list of (key, value)."""
    sink = MemorySink()
    sink.bind(pa.schema([("k", pa.string()), ("v", pa.int64())]), "update")
    for batch_id, rows in enumerate(batches):
        add(sink, batch_id, rows)
    return sink


def add(sink, batch_id, rows):
    sink.add_batch(batch_id, pa.table({"k": [k for k, _ in rows], "v": [v for _, v in rows]}),
                   keys=pa.table({"__k0": [k for k, _ in rows]}))


def look(tracker, sink):
    return tracker.advance(sink.changes_since(tracker.batch_id), whole=lambda: flat_frame(sink.table()))


def test_a_batchs_change_becomes_new_keys_and_changed_keys_of_that_batch_only():
    sink, tracker = update_sink([("a", 1), ("b", 1)]), ResultTracker("update", ["k"])
    first = look(tracker, sink)
    assert first.new_keys == [("a",), ("b",)] and first.changed.empty and first.total == 2
    add(sink, 1, [("b", 2), ("c", 1)])
    second = look(tracker, sink)
    assert second.changed.to_dict("records") == [{"k": "b", "v": 2}] and second.changed_keys == [("b",)]
    assert second.new.to_dict("records") == [{"k": "c", "v": 1}] and second.new_keys == [("c",)]
    assert second.total == 3 and not second.replace
    assert look(tracker, sink).empty  # no batch since: nothing


def test_several_batches_since_the_last_look_give_each_key_once_with_its_latest_row():
    sink, tracker = update_sink([("a", 1)]), ResultTracker("update", ["k"])
    look(tracker, sink)
    add(sink, 1, [("a", 2), ("b", 1)])
    add(sink, 2, [("b", 5), ("a", 3)])
    delta = look(tracker, sink)
    assert delta.changed.to_dict("records") == [{"k": "a", "v": 3}]
    assert delta.new.to_dict("records") == [{"k": "b", "v": 5}]


def test_an_update_costs_the_rows_the_batch_changed_not_the_size_of_the_result():
    keys = [f"k{i}" for i in range(50_000)]
    sink, tracker = update_sink(list(zip(keys, range(50_000)))), ResultTracker("update", ["k"])
    look(tracker, sink)
    add(sink, 1, [(k, -1) for k in keys[::50]])  # 1,000 of 50,000 keys
    delta = look(tracker, sink)
    assert len(delta.changed) == 1000 and delta.new.empty and delta.total == 50_000
    assert len(sink._chunks) == 2  # the sink was not compacted to hand the change out


def test_a_view_behind_the_sinks_log_catches_up_from_the_whole_result_keys_it_knows_patched():
    sink, tracker = update_sink([("a", 1), ("b", 1)]), ResultTracker("update", ["k"])
    look(tracker, sink)
    for batch_id in range(1, LOG_BATCHES + 3):
        add(sink, batch_id, [("a", batch_id)])
    add(sink, LOG_BATCHES + 3, [("c", 7)])
    delta = look(tracker, sink)
    assert not delta.replace
    assert delta.changed_keys == [("a",), ("b",)] and delta.new_keys == [("c",)]
    assert delta.changed["v"].tolist() == [LOG_BATCHES + 2, 1] and delta.total == 3


def test_append_changes_are_the_rows_emitted_since_and_a_cut_result_is_replaced_whole():
    sink = MemorySink(max_rows=3)
    sink.bind(pa.schema([("v", pa.int64())]), "append")
    tracker = ResultTracker("append", None)
    sink.add_batch(0, pa.table({"v": [1, 2]}))
    assert look(tracker, sink).new["v"].tolist() == [1, 2]
    sink.add_batch(1, pa.table({"v": [3]}))
    delta = look(tracker, sink)
    assert delta.new["v"].tolist() == [3] and not delta.replace and (delta.total, delta.dropped) == (3, 0)
    sink.add_batch(2, pa.table({"v": [4, 5, 6]}))  # drops 1, 2 and 3 (all shown already)
    sink.add_batch(3, pa.table({"v": [7]}))        # drops 4, which the view never saw: it starts over
    delta = look(tracker, sink)
    assert delta.replace and delta.new["v"].tolist() == [5, 6, 7] and (delta.total, delta.dropped) == (3, 4)


def test_rows_without_keys_in_update_mode_are_each_new():
    sink = MemorySink()
    sink.bind(pa.schema([("v", pa.int64())]), "update")  # no aggregation: the engine gives no keys
    tracker = ResultTracker("update", None)
    sink.add_batch(0, pa.table({"v": [1, 2]}))
    sink.add_batch(1, pa.table({"v": [2]}))
    delta = look(tracker, sink)
    assert delta.new["v"].tolist() == [1, 2, 2] and delta.new_keys == [(0,), (1,), (2,)]


def test_the_whole_result_is_read_only_when_a_delta_is_asked_for_it():
    sink, tracker = update_sink([("a", 1)]), ResultTracker("update", ["k"])
    reads = []
    delta = tracker.advance(sink.changes_since(-1), whole=lambda: reads.append(1) or flat_frame(sink.table()))
    assert not reads
    assert delta.frame.to_dict("records") == [{"k": "a", "v": 1}] and delta.frame is delta.frame
    assert reads == [1]


def test_windows_are_flattened_and_keyed_by_the_sinks_key():
    window = pa.struct([("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC"))])
    sink, tracker = MemorySink(), ResultTracker("update", ["w.start", "w.end"])
    sink.bind(pa.schema([("w", window), ("n", pa.int64())]), "update")
    w = pa.array([{"start": 0, "end": 10_000_000}], window)
    sink.add_batch(0, pa.table({"w": w, "n": [1]}), keys=pa.table({"__k0": w}))
    sink.add_batch(1, pa.table({"w": w, "n": [2]}), keys=pa.table({"__k0": w}))
    delta = look(tracker, sink)
    assert list(delta.new.columns) == ["w.start", "w.end", "n"] and delta.new["n"].tolist() == [2]
    assert str(delta.new["w.start"].iloc[0]) == "1970-01-01 00:00:00+00:00" and len(delta.new_keys) == 1


def test_a_result_rebuilt_from_a_checkpoint_is_shown_whole_then_batch_by_batch():
    sink, tracker = MemorySink(), ResultTracker("update", ["k"])
    sink.bind(pa.schema([("k", pa.string()), ("v", pa.int64())]), "update")
    add(sink, 6, [("a", 1), ("b", 2)])  # a restart: the state's rows, as batch 6, the last one committed
    first = look(tracker, sink)
    assert first.new_keys == [("a",), ("b",)] and first.total == 2 and tracker.batch_id == 6
    add(sink, 7, [("b", 3)])
    assert look(tracker, sink).changed.to_dict("records") == [{"k": "b", "v": 3}]
