"""The aggregate operator's late rows: a batch is checked against the watermark by its earliest event time
first, and row by row only when that one is late (engine/aggregation.py)."""

import stream_nb as sn

WATERMARK = "WATERMARK ts DELAY OF INTERVAL 5 SECONDS"


def rows(*seconds, device="a"):
    return [{"ts": f"2026-01-01T00:00:{s:02d}", "device": device} for s in seconds]


def start(sql):
    events = sn.sources.memory("ts timestamp, device string")
    return events, sn.start(sql, sources={"events": events}, output_mode="update", trigger="manual")


def dropped(q) -> int:
    return q.last_progress["stateOperators"][0]["numRowsDroppedByWatermark"]


def test_a_batch_whose_earliest_window_ends_after_the_watermark_drops_nothing():
    events, q = start(f"SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM events {WATERMARK} "
                      "GROUP BY window(ts, '10 seconds')")
    events.add_data(rows(25))
    q.step()  # watermark 20: the window [10, 20) has ended, [20, 30) has not
    events.add_data(rows(20, 29, 21))
    q.step()
    assert dropped(q) == 0
    assert sorted(zip([w["start"].second for w in q.result["w"]], q.result["n"])) == [(20, 4)]
    q.stop()


def test_one_late_row_anywhere_in_a_batch_is_dropped_and_the_others_kept():
    events, q = start(f"SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM events {WATERMARK} "
                      "GROUP BY window(ts, '10 seconds')")
    events.add_data(rows(25))
    q.step()
    events.add_data(rows(22, 19, 28))  # 19 is in [10, 20), which ended at the watermark 20
    q.step()
    assert dropped(q) == 1
    assert sorted(zip([w["start"].second for w in q.result["w"]], q.result["n"])) == [(20, 3)]
    q.stop()


def test_a_late_row_grouped_by_its_event_time_itself_is_dropped():
    events, q = start(f"SELECT ts, count(*) AS n FROM events {WATERMARK} GROUP BY ts")
    events.add_data(rows(25))
    q.step()  # watermark 20: a row at 20 is late (at the watermark), one at 21 is not
    events.add_data(rows(21, 20, 21))
    q.step()
    assert dropped(q) == 1
    assert sorted(zip([t.second for t in q.result["ts"]], q.result["n"])) == [(21, 2), (25, 1)]
    q.stop()


def test_each_batch_trace_keeps_the_state_as_it_was_after_that_batch():
    # a batch that touches every key hands its own rows to the trace; one that touches some, a copy
    events = sn.sources.memory("device string, temp double")
    q = sn.start("SELECT device, count(*) AS n, max(temp) AS hi FROM events GROUP BY device",
                 sources={"events": events}, output_mode="update", trigger="manual")
    for batch in ([("b", 1.0), ("a", 2.0)], [("a", 5.0), ("b", 0.5)], [("c", 7.0)], [("b", 3.0), ("a", 1.0)]):
        events.add_data([{"device": d, "temp": t} for d, t in batch])
        q.step()
    states = [trace.state.to_pylist() for trace in q.history]  # read after all four batches ran
    q.stop()
    def row(device, n, hi):
        return {"device": device, "n": n, "hi": hi}
    assert states == [
        [row("b", 1, 1.0), row("a", 1, 2.0)],
        [row("b", 2, 1.0), row("a", 2, 5.0)],
        [row("b", 2, 1.0), row("a", 2, 5.0), row("c", 1, 7.0)],
        [row("b", 3, 3.0), row("a", 3, 5.0), row("c", 1, 7.0)],
    ]


def test_late_rows_are_counted_once_per_group_they_fall_in_as_spark_counts_them():
    # PySpark 4's numRowsDroppedByWatermark for this program (window 20 s, watermark 24 s, late rows at 14, 0,
    # 0 of [0, 20) and none of [20, 40)): 1 -- Spark drops late rows in stateStoreSave, after the partial
    # aggregation, so it sees (and counts) one row per late window and key
    events, q = start("SELECT window(ts, '20 seconds') AS w, device, count(*) AS n FROM events "
                      "WATERMARK ts DELAY OF INTERVAL 0 SECONDS GROUP BY window(ts, '20 seconds'), device")
    events.add_data(rows(24))
    q.step()
    events.add_data(rows(14, 0, 0) + rows(21))
    q.step()
    assert dropped(q) == 1
    events.add_data(rows(3) + rows(5, device="b") + rows(6, device=None))  # three late groups (keys a, b, NULL)
    q.step()
    assert dropped(q) == 3
    q.stop()


def test_a_global_aggregation_in_update_mode_emits_its_row_again_when_the_watermark_moves():
    # PySpark 4 (count(*), sum(v) with withWatermark("ts", "0 seconds"), update mode, foreachBatch): rows at 0 s
    # then at 5 s give batches 0: [(1, 1)], 1 (no data, watermark 0 s): [(1, 1)], 2: [(2, 3)],
    # 3 (no data, watermark 5 s): [(2, 3)] -- Spark runs a batch whenever the watermark moves, and a global
    # aggregation emits its one row in every batch
    events = sn.sources.memory("ts timestamp, v bigint")
    got = []
    q = sn.start("SELECT count(*) AS c, sum(v) AS s FROM events", sources={"events": events},
                 output_mode="update", trigger="manual", watermark={"events": ("ts", "0 seconds")},
                 sink=sn.sinks.foreach_batch(lambda df, batch_id: got.append((batch_id, df.values.tolist()))))
    events.add_data([{"ts": "2024-01-01T00:00:00", "v": 1}])
    q.process_all_available()
    events.add_data([{"ts": "2024-01-01T00:00:05", "v": 2}])
    q.process_all_available()
    q.stop()
    assert got == [(0, [[1, 1]]), (1, [[1, 1]]), (2, [[2, 3]]), (3, [[2, 3]])]
    assert [p["stateOperators"][0]["numRowsUpdated"] for p in q.recent_progress] == [1, 1, 1, 1]
