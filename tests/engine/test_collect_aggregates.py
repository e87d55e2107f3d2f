"""collect_list, collect_set, max_by, min_by and the percentile family as streaming aggregates: kept in keyed
state across batches, through a restart from the checkpoint, evicted behind the watermark, and refused with a
clear message where their arguments cannot be (Spark's answers on the same input: tests/differential)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.engine.merges import merge, merge_by, union
from stream_nb.engine.partials import partial_aggregates
from stream_nb.engine.state import KeyedState
from stream_nb.sql.aggregates import Partial
from stream_nb.sql.errors import StreamSQLError

SCHEMA = "ts timestamp, device string, temp double, o int"
NAN = float("nan")


def t(seconds: int) -> dt.datetime:
    return dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def rows(*values):
    return [{"ts": t(s), "device": d, "temp": v, "o": o} for s, d, v, o in values]


def run(sql, batches, *, mode="complete", checkpoint=None, watermark=None, src=None):
    src = src if src is not None else sn.sources.memory(SCHEMA)
    q = sn.start(sql, sources={"events": src}, trigger="manual", output_mode=mode, checkpoint=checkpoint,
                 watermark=watermark)
    results = []
    try:
        for batch in batches:
            src.add_data(rows(*batch))
            q.step()
            results.append(q.result.copy())
    finally:
        q.stop()
    return results


def by_device(frame, column):
    return {d: (list(v) if v is not None and not isinstance(v, float) else v)
            for d, v in zip(frame["device"], frame[column])}


def test_collect_list_keeps_the_non_null_values_in_arrival_order_across_batches():
    sql = "SELECT device, collect_list(temp) AS l FROM events GROUP BY device"
    first, second = run(sql, [[(1, "a", 2.0, 1), (2, "a", None, 1), (3, "b", None, 1), (4, "a", 1.0, 1)],
                              [(5, "a", 2.0, 1), (6, "b", 3.0, 1)]])
    assert by_device(first, "l") == {"a": [2.0, 1.0], "b": []}
    assert by_device(second, "l") == {"a": [2.0, 1.0, 2.0], "b": [3.0]}


def test_collect_list_of_structs_and_arrays_keeps_them_whole_across_batches_and_a_restart(tmp_path):
    """Arrow lists numbers and strings only: structs and arrays are listed by their rows' positions."""
    sql = ("SELECT device, collect_list(struct(temp, o)) AS s, collect_list(array(o, o + 1)) AS a "
           "FROM events GROUP BY device")
    batches = [[(1, "a", 2.0, 1), (2, "a", None, 2), (3, "b", 4.0, 3)], [(4, "a", 5.0, 4)]]
    src = sn.sources.memory(SCHEMA)
    first, = run(sql, batches[:1], checkpoint=str(tmp_path), src=src)
    second, = run(sql, batches[1:], checkpoint=str(tmp_path), src=src)
    assert by_device(first, "s") == {"a": [{"temp": 2.0, "o": 1}, {"temp": None, "o": 2}], "b": [{"temp": 4.0, "o": 3}]}
    assert by_device(second, "s")["a"] == [{"temp": 2.0, "o": 1}, {"temp": None, "o": 2}, {"temp": 5.0, "o": 4}]
    assert [list(pair) for pair in by_device(second, "a")["a"]] == [[1, 2], [2, 3], [4, 5]]


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT device, collect_set(struct(temp, o)) AS s FROM events GROUP BY device",
     r"collect_set\(struct\(temp AS temp, o AS o\)\): collect_set over struct values is not supported yet"),
    ("SELECT device, max(array(o)) AS m FROM events GROUP BY device", "max over array values is not supported"),
    ("SELECT device, count(DISTINCT array(o)) AS n FROM events GROUP BY device",
     r"count\(DISTINCT\) over array values"),
    ("SELECT device, bit_and(temp) AS b FROM events GROUP BY device", r"bit_and\(temp\): bit_and takes integers"),
    ("SELECT array(device) AS d, count(*) AS n FROM events GROUP BY array(device)",
     r"GROUP BY array\(device\): grouping by an array value is not supported yet"),
])
def test_comparing_or_grouping_arrays_and_structs_is_refused_by_name(sql, message):
    """Arrow has no kernel to group, hash or order them: the query stops with the aggregate as written."""
    with pytest.raises(StreamSQLError, match=message):
        run(sql, [[(1, "a", 2.0, 1)]])


def test_mode_is_the_most_frequent_value_so_far_nulls_skipped():
    sql = "SELECT device, mode(o) AS m FROM events GROUP BY device"
    first, second = run(sql, [[(1, "a", 1.0, 1), (2, "a", 1.0, 1), (3, "a", 1.0, 2), (4, "b", None, None)],
                              [(5, "a", 1.0, 2), (6, "a", 1.0, 2), (7, "b", 1.0, 7)]], mode="update")
    modes = first.set_index("device")["m"]
    assert modes["a"] == 1 and modes.isna()["b"]
    assert dict(zip(second["device"], second["m"])) == {"a": 2, "b": 7}


def test_collect_set_keeps_each_value_once_across_batches_nan_too():
    sql = "SELECT device, collect_set(temp) AS s FROM events GROUP BY device"
    *_, last = run(sql, [[(1, "a", 2.0, 1), (2, "a", NAN, 1), (3, "a", 2.0, 1)], [(4, "a", NAN, 1), (5, "a", 1.0, 1)]])
    values = by_device(last, "s")["a"]
    assert len(values) == 3 and sorted(v for v in values if not math.isnan(v)) == [1.0, 2.0]


def test_max_by_and_min_by_take_the_later_row_on_a_tie_and_skip_null_ords():
    sql = "SELECT device, max_by(temp, o) AS hi, min_by(temp, o) AS lo FROM events GROUP BY device"
    first, second = run(sql, [[(1, "a", 1.0, 5), (2, "a", 2.0, 5), (3, "a", 3.0, None), (4, "a", 4.0, 1),
                               (5, "a", 5.0, 1), (6, "b", 6.0, None)],
                              [(7, "a", 7.0, 5), (8, "a", 8.0, 0), (9, "b", None, 2)]])
    assert by_device(first, "hi")["a"] == 2.0 and by_device(first, "lo")["a"] == 5.0
    assert math.isnan(by_device(first, "hi")["b"])  # no ord: NULL
    assert by_device(second, "hi")["a"] == 7.0 and by_device(second, "lo")["a"] == 8.0  # a tie: the later batch
    assert second.set_index("device")["hi"].isna()["b"]  # the row of the ord holds NULL: NULL


def test_max_by_of_strings_by_a_timestamp():
    sql = "SELECT max_by(device, ts) AS latest, min_by(device, ts) AS earliest FROM events"
    first, second = run(sql, [[(5, "a", 1.0, 1), (1, "b", 1.0, 1)], [(3, "c", 1.0, 1), (9, "d", 1.0, 1)]])
    assert first.to_dict("records") == [{"latest": "a", "earliest": "b"}]
    assert second.to_dict("records") == [{"latest": "d", "earliest": "b"}]


def test_percentiles_over_the_kept_values():
    sql = ("SELECT device, percentile_approx(o, 0.5) AS pa, percentile_approx(o, array(0.1, 0.9)) AS pas, "
           "percentile(o, 0.15) AS p, median(temp) AS m FROM events GROUP BY device")
    first, second = run(sql, [[(s, "a", float(s), s) for s in (3, 1, 2)], [(s, "a", float(s), s) for s in
                                                                            (4, 5, 6, 7, 8, 9, 10)]])
    row = second.iloc[0]
    assert row["pa"] == 5 and list(row["pas"]) == [1, 9]  # Spark: the ceil(p * n)-th value
    assert row["p"] == pytest.approx(2.35) and row["m"] == 5.5  # interpolated
    assert first.iloc[0]["m"] == 2.0


def test_state_survives_a_restart_from_the_checkpoint(tmp_path):
    sql = ("SELECT device, collect_list(temp) AS l, collect_set(o) AS s, max_by(temp, o) AS hi, "
           "percentile_approx(temp, 0.5) AS pa FROM events GROUP BY device")
    checkpoint, src = str(tmp_path / "cp"), sn.sources.memory(SCHEMA)
    run(sql, [[(1, "a", 1.0, 2), (2, "a", 2.0, 2)]], checkpoint=checkpoint, src=src)
    (after,) = run(sql, [[(3, "a", 3.0, 1), (4, "b", 4.0, 1)]], checkpoint=checkpoint, src=src)
    a = after.set_index("device").loc["a"]
    assert list(a["l"]) == [1.0, 2.0, 3.0] and sorted(a["s"]) == [1, 2] and a["hi"] == 2.0 and a["pa"] == 2.0


def test_windows_are_emitted_once_in_append_mode_and_evicted_behind_the_watermark():
    sql = ("SELECT window(ts, '10 seconds') AS w, collect_list(o) AS l, max_by(device, o) AS top "
           "FROM events GROUP BY window(ts, '10 seconds')")
    src = sn.sources.memory(SCHEMA)
    q = sn.start(sql, sources={"events": src}, trigger="manual", output_mode="append",
                 watermark={"events": ("ts", "5 seconds")})
    try:
        src.add_data(rows((1, "a", 1.0, 3), (2, "b", 1.0, 7), (12, "c", 1.0, 1)))
        q.step()
        assert q.result.empty
        src.add_data(rows((3, "z", 1.0, 99), (25, "d", 1.0, 4)))  # on time: the watermark is 7 s
        q.step()
        q.step()  # the no-data batch at watermark 20 s closes [0, 10) and [10, 20)
        assert [list(v) for v in q.result["l"]] == [[3, 7, 99], [1]] and list(q.result["top"]) == ["z", "c"]
        assert q.last_progress["stateOperators"][0]["numRowsTotal"] == 1  # [20, 30) alone is kept
        src.add_data(rows((4, "y", 1.0, 1000)))  # late now: dropped, never emitted
        q.step()
        assert q.last_progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 1
    finally:
        q.stop()


def test_a_global_aggregate_of_an_empty_batch_is_one_row_of_empty_lists():
    pre = pa.table({"__x0": pa.array([], pa.float64())})
    partials = [Partial("l", "list", "__x0", "concat"), Partial("s", "set", "__x0", "union")]
    assert partial_aggregates(pre, [], partials).to_pylist() == [{"__rows": 0, "l": [], "s": []}]


def test_partials_of_a_batch():
    pair = pa.StructArray.from_arrays([pa.array([1.0, 2.0, None, 4.0, 5.0]), pa.array([3, 3, 9, None, 1])],
                                      names=["v", "o"])
    pre = pa.table({"__k0": ["a", "a", "a", "a", "b"], "__x0": pair, "__x1": [1.0, None, 1.0, NAN, 2.0]})
    partials = [Partial("hi_o", "max_by_ord", "__x0", "max_by"), Partial("hi_v", "max_by_value", "__x0", "max_by"),
                Partial("lo_o", "min_by_ord", "__x0", "min_by"), Partial("lo_v", "min_by_value", "__x0", "min_by"),
                Partial("l", "list", "__x1", "concat"), Partial("s", "set", "__x1", "union")]
    out = {r["__k0"]: r for r in partial_aggregates(pre, ["__k0"], partials).to_pylist()}
    assert (out["a"]["hi_o"], out["a"]["hi_v"], out["a"]["lo_o"], out["a"]["lo_v"]) == (9, None, 3, 2.0)
    assert out["a"]["l"][:2] == [1.0, 1.0] and math.isnan(out["a"]["l"][2]) and len(out["a"]["s"]) == 2
    assert (out["b"]["hi_v"], out["b"]["lo_v"], out["b"]["l"]) == (5.0, 5.0, [2.0])


def test_merges():
    ok = np.array([True, True, False])
    lists = np.empty(3, dtype=object)
    lists[:] = [[1], [2, 3], None]
    news = np.empty(3, dtype=object)
    news[:] = [[2], [3, 4], [5]]
    existed = np.array([True, True, False])
    assert merge("concat", (lists, ok), (news, np.ones(3, bool)), existed)[0].tolist() == [[1, 2], [2, 3, 3, 4], [5]]
    assert merge("union", (lists, ok), (news, np.ones(3, bool)), existed)[0].tolist() == [[1, 2], [2, 3, 4], [5]]
    assert len(union([NAN], [float("nan"), 1.0])) == 2
    nan_ord = (np.array([NAN, 1.0, 2.0]), np.array([True, True, False]))
    _, (values, _) = merge_by("max_by", nan_ord, (np.array([1, 2, 3]), ok),
                                      (np.array([5.0, NAN, 1.0]), np.ones(3, bool)), (np.array([7, 8, 9]), ok))
    assert values.tolist() == [1, 8, 9]  # NaN is the largest ord
    _, (values, _) = merge_by("min_by", nan_ord, (np.array([1, 2, 3]), ok),
                                      (np.array([5.0, NAN, 1.0]), np.ones(3, bool)), (np.array([7, 8, 9]), ok))
    assert values.tolist() == [7, 2, 9]


def test_memory_used_grows_with_the_kept_values():
    state = KeyedState(["__k0"], [Partial("l", "list", "__x0", "concat")])
    state.apply(state.prepare(pa.table({"__k0": ["a"], "l": [[1.0]]})))
    before = state.memory_bytes
    state.apply(state.prepare(pa.table({"__k0": ["a"], "l": [[2.0] * 100]})))
    assert state.memory_bytes >= before + 100 * 40
    state.evict(state.all_slots())
    assert state.memory_bytes < before


def test_keyed_state_exports_and_loads_list_columns():
    partials = [Partial("l", "list", "__x0", "concat")]
    state = KeyedState(["__k0"], partials)
    state.apply(state.prepare(pa.table({"__k0": ["a", "b"], "l": [[1.0, 2.0], [3.0, 4.0]]})))
    state.apply(state.prepare(pa.table({"__k0": ["a"], "l": [[5.0, 6.0]]})))
    exported = state.export(state.all_slots())
    restored = KeyedState(["__k0"], partials)
    restored.load(exported)
    assert restored.rows(restored.all_slots()).to_pylist() == [
        {"__k0": "a", "l": [1.0, 2.0, 5.0, 6.0]}, {"__k0": "b", "l": [3.0, 4.0]}]


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT percentile_approx(temp, 1.5) FROM events", "percentage must be a number literal between 0.0 and 1.0"),
    ("SELECT percentile(temp, o) FROM events", "percentage must be a number literal"),
    ("SELECT percentile_approx(temp, 0.5, 0) FROM events", "accuracy must be a positive integer literal"),
    ("SELECT percentile(temp, 0.5, o) FROM events", "percentile.. with a frequency argument is not supported"),
    ("SELECT device, collect_list(temp) FROM events GROUP BY session_window(ts, '5 seconds'), device",
     r"collect_list\(\) over session windows is not supported yet"),
    ("SELECT collect_list(DISTINCT temp) FROM events", r"only count\(DISTINCT x\) is supported"),
])
def test_refusals(sql, message):
    with pytest.raises(StreamSQLError, match=message):
        sn.start(sql, sources={"events": sn.sources.memory(SCHEMA)}, trigger="manual", output_mode="complete")
