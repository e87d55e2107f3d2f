"""The operator protocol: every operator kind implements all of it, and survives a restart with a memory sink."""

import pytest

import stream_nb as sn
from stream_nb.engine.operator import Operator

WATERMARK = "WATERMARK ts DELAY OF INTERVAL 5 SECONDS"
KINDS = {
    "aggregate": "SELECT device, count(*) AS n, sum(temp) AS total FROM events GROUP BY device",
    "windowed aggregate": f"SELECT window(ts, '10 seconds') AS w, device, count(*) AS n FROM events {WATERMARK} "
                          "GROUP BY window(ts, '10 seconds'), device",
    "session window": f"SELECT session_window(ts, '5 seconds') AS s, device, count(*) AS n FROM events {WATERMARK} "
                      "GROUP BY session_window(ts, '5 seconds'), device",
    "dedup": f"SELECT DISTINCT ON (device, ts) device, ts, temp FROM events {WATERMARK}",
    "stateless": "SELECT device, temp * 2 AS t2 FROM events WHERE temp > 0",
    "chained aggregates": "SELECT window(window_time(w), '20 seconds') AS w2, sum(n) AS n FROM (SELECT window(ts, "
                          f"'10 seconds') AS w, device, count(*) AS n FROM events {WATERMARK} GROUP BY window(ts, "
                          "'10 seconds'), device) GROUP BY window(window_time(w), '20 seconds')",
    "dedup then aggregate": "SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM (SELECT DISTINCT ON (device, ts) "
                            f"* FROM events {WATERMARK}) GROUP BY window(ts, '10 seconds')",
}
# Each kind in every output mode it allows (the others are refused at start, as in Spark).
CASES = [("aggregate", "update"), ("aggregate", "complete"),
         ("windowed aggregate", "append"), ("windowed aggregate", "update"), ("windowed aggregate", "complete"),
         ("session window", "append"), ("session window", "complete"),
         ("dedup", "append"), ("dedup", "update"),
         ("stateless", "append"), ("stateless", "update"),
         ("chained aggregates", "append"),
         ("dedup then aggregate", "append"), ("dedup then aggregate", "update"), ("dedup then aggregate", "complete")]

# Before the restart no key's event time is behind the watermark yet (12 s - 5 s = 7 s < 10 s), so the
# rebuilt result (which has no evicted groups, as the README says) can equal the uninterrupted one.
BEFORE = [[(1, "a", 1.0), (12, "b", 2.0)], [(3, "a", 3.0), (12, "b", 2.0)]]
AFTER = [[(4, "a", -1.0), (31, "b", 5.0)], [(2, "a", 6.0), (45, "a", 7.0)], [(46, "b", 8.0)]]


def rows(batch):
    return [{"ts": f"2026-01-01T00:00:{s:02d}", "device": d, "temp": t} for s, d, t in batch]


def run(sql, mode, checkpoint, batches, events):
    q = sn.start(sql, sources={"events": events}, output_mode=mode, checkpoint=checkpoint, trigger="manual")
    for batch in batches:
        events.add_data(rows(batch))
        q.process_all_available()
    return q


def records(q):
    return sorted((tuple(sorted(r.items())) for r in q.result.to_dict("records")), key=repr)


@pytest.mark.parametrize(("kind", "mode"), CASES, ids=[f"{k}-{m}" for k, m in CASES])
def test_a_restart_with_a_memory_sink_gives_the_result_of_an_uninterrupted_run(kind, mode, tmp_path):
    schema = "ts timestamp, device string, temp double"
    whole = run(KINDS[kind], mode, tmp_path / "whole", BEFORE + AFTER, sn.sources.memory(schema))
    events = sn.sources.memory(schema)
    first = run(KINDS[kind], mode, tmp_path / "cut", BEFORE, events)
    emitted_before = records(first)
    first.stop()
    again = run(KINDS[kind], mode, tmp_path / "cut", AFTER, events)
    assert again.id == first.id
    assert isinstance(first._operator, Operator) and isinstance(again._operator, Operator)
    if mode in ("update", "complete") and again._operator.result_rows(again._con) is not None:
        # the result table is the state's: rebuilt from the checkpoint, then updated by the new batches
        assert records(again) == records(whole)
    else:  # append, and operators whose state holds no result rows: this run holds what it emitted
        assert sorted(emitted_before + records(again), key=repr) == records(whole)
    assert records(whole)  # the cycle emits something in every case
    whole.stop()
    again.stop()


@pytest.mark.parametrize("mode", ["update", "complete"])
def test_a_restart_after_batches_that_left_no_group_rebuilds_an_empty_result(mode, tmp_path):
    sql = "SELECT device, count(*) AS n FROM events WHERE temp > 100 GROUP BY device"
    events = sn.sources.memory("ts timestamp, device string, temp double")
    run(sql, mode, tmp_path / "cp", BEFORE, events).stop()
    again = run(sql, mode, tmp_path / "cp", [], events)
    assert again.result.empty and list(again.result.columns) == ["device", "n"]
    events.add_data(rows(AFTER[0]) + [{"ts": "2026-01-01T00:00:50", "device": "c", "temp": 101.0}])
    again.process_all_available()
    assert again.result.to_dict("records") == [{"device": "c", "n": 1}]
    again.stop()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_operator_kind_implements_the_whole_protocol_from_an_empty_state(kind):
    mode = next(m for k, m in CASES if k == kind)
    q = sn.start(KINDS[kind], sources={"events": sn.sources.memory("ts timestamp, device string, temp double")},
                 output_mode=mode, trigger="manual")
    operator = q._operator
    assert isinstance(operator, Operator)
    operator.restore([operator.dump()])  # an empty snapshot restores to an empty state
    assert operator.state_rows == 0 and not operator.has_expired(10**15)
    assert operator.result_rows(q._con) is None  # no result rows to rebuild a sink with
    q.stop()


JOINS = {kind: "SELECT e.device, e.ts AS seen, o.ts AS other, o.temp FROM events e WATERMARK ts DELAY OF INTERVAL "
               f"5 SECONDS {kind} others o WATERMARK ts DELAY OF INTERVAL 5 SECONDS ON e.device = o.device "
               "AND o.ts BETWEEN e.ts AND e.ts + INTERVAL 10 SECONDS"
         for kind in ("JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "LEFT SEMI JOIN")}
# a deduplication, then the join of what it emits: both operators' state in the one checkpoint
JOINS["dedup then JOIN"] = JOINS["LEFT JOIN"].replace(
    "FROM events e WATERMARK ts DELAY OF INTERVAL 5 SECONDS",
    "FROM (SELECT DISTINCT device, ts, temp FROM events WATERMARK ts DELAY OF INTERVAL 5 SECONDS) e")


def run_join(sql, checkpoint, batches, events, others):
    q = sn.start(sql, sources={"events": events, "others": others}, checkpoint=checkpoint, trigger="manual")
    for batch in batches:
        events.add_data(rows(batch))
        others.add_data(rows([(s + 2, d, t * 10) for s, d, t in batch]))  # each reading's echo 2 s later
        q.process_all_available()
    return q


@pytest.mark.parametrize("kind", list(JOINS))
def test_a_join_restarted_from_its_checkpoint_emits_what_an_uninterrupted_run_emits(kind, tmp_path):
    schema = "ts timestamp, device string, temp double"
    sql = JOINS[kind].replace("o.ts AS other, o.temp", "e.temp") if kind == "LEFT SEMI JOIN" else JOINS[kind]
    whole = run_join(sql, tmp_path / "whole", BEFORE + AFTER, sn.sources.memory(schema), sn.sources.memory(schema))
    events, others = sn.sources.memory(schema), sn.sources.memory(schema)
    first = run_join(sql, tmp_path / "cut", BEFORE, events, others)
    emitted_before = records(first)
    assert first._operator.state_rows  # the restart has join state to restore
    first.stop()
    again = run_join(sql, tmp_path / "cut", AFTER, events, others)
    assert again.id == first.id and isinstance(again._operator, Operator)
    assert again._operator.result_rows(again._con) is None  # the state holds input rows: the sink holds this run's
    assert sorted(emitted_before + records(again), key=repr) == records(whole)
    assert records(whole)
    whole.stop()
    again.stop()
