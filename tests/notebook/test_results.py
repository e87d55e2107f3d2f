"""Which output columns key a result row (so update mode can patch), and the deltas between two reads."""

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.notebook.results import ResultTracker, key_columns


@pytest.mark.parametrize(("sql", "keys"), [
    ("SELECT device, count(*) AS n FROM events GROUP BY device", ["device"]),
    ("SELECT window(ts, '10 seconds') AS w, device, avg(temp) AS t FROM events "
     "GROUP BY window(ts, '10 seconds'), device", ["w.start", "w.end", "device"]),
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


def test_update_deltas_hand_out_new_keys_and_changed_rows_once():
    tracker = ResultTracker("update", ["k"])
    first = tracker.advance(pd.DataFrame({"k": ["a", "b"], "v": [1.0, float("nan")]}))
    assert first.new_keys == [("a",), ("b",)] and first.changed.empty
    second = tracker.advance(pd.DataFrame({"k": ["a", "b", "c"], "v": [2.0, float("nan"), 3.0]}))
    assert second.changed_keys == [("a",)] and second.new_keys == [("c",)]  # NaN stayed NaN: no change
    assert tracker.advance(pd.DataFrame({"k": ["a", "b", "c"], "v": [2.0, float("nan"), 3.0]})).empty


def test_append_deltas_are_the_rows_emitted_since_the_last_look():
    tracker = ResultTracker("append", None)
    tracker.advance(pd.DataFrame({"v": [1, 2]}))
    assert tracker.advance(pd.DataFrame({"v": [1, 2, 3]})).new["v"].tolist() == [3]
