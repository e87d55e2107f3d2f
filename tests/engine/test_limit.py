"""LIMIT on an append-mode stream (Spark's StreamingGlobalLimitExec; engine/limit.py): the stream's first N rows
in the batches' order, then nothing, ever, also across a restart from the checkpoint."""

import pytest

import stream_nb as sn
from stream_nb.checkpoint import phases

SCHEMA = "n bigint, device string, temp double"


def rows(*ns, temp=1.0):
    return [{"n": n, "device": f"d{n}", "temp": temp} for n in ns]


def start(sql="SELECT n, device FROM events WHERE temp > 0 LIMIT 3", events=None, **options):
    events = events or sn.sources.memory(SCHEMA)
    return events, sn.start(sql, sources={"events": events}, trigger="manual", **options)


def ns(frame):
    return [int(n) for n in frame["n"]]


def test_the_first_rows_in_the_batches_order_then_nothing():
    events, q = start()
    events.add_data(rows(5, 1) + rows(9, temp=-1.0))  # the filter runs before the limit: 9 does not count
    q.process_all_available()
    events.add_data(rows(7, 2, 8))                     # room for one: the batch's first
    q.process_all_available()
    events.add_data(rows(3))
    q.process_all_available()
    assert ns(q.result) == [5, 1, 7]
    assert q.last_progress["numInputRows"] == 1 and q.last_progress["sink"]["numOutputRows"] == 0
    q.stop()


def test_progress_shows_the_count_as_spark_shows_its_global_limit_state():
    events, q = start()
    events.add_data(rows(1, temp=-1.0))
    q.process_all_available()
    operator = q.last_progress["stateOperators"][0]
    assert (operator["operatorName"], operator["numRowsTotal"], operator["numRowsUpdated"]) == ("globalLimit", 0, 0)
    events.add_data(rows(1, 2))
    q.process_all_available()
    operator = q.last_progress["stateOperators"][0]
    assert (operator["numRowsTotal"], operator["numRowsUpdated"]) == (1, 1)
    events.add_data(rows(3, 4))
    q.process_all_available()
    assert q.last_progress["stateOperators"][0]["numRowsUpdated"] == 1
    events.add_data(rows(5))
    q.process_all_available()                         # the limit was reached: nothing changes
    assert q.last_progress["stateOperators"][0]["numRowsUpdated"] == 0
    q.stop()


def test_limit_zero_emits_nothing_and_keeps_the_columns():
    events, q = start("SELECT n, device FROM events LIMIT 0")
    events.add_data(rows(1, 2))
    q.process_all_available()
    assert list(q.result.columns) == ["n", "device"] and q.result.empty
    q.stop()


def test_a_limit_in_a_subquery_cuts_the_stream_before_the_select_over_it():
    # Spark's plan: the stream's first 3 rows, then the filter over them (PySpark: df.limit(3).where(...))
    events, q = start("SELECT n FROM (SELECT * FROM events LIMIT 3) WHERE temp > 0")
    events.add_data(rows(1) + rows(2, temp=-1.0))
    q.process_all_available()
    events.add_data(rows(3, 4))
    q.process_all_available()
    assert ns(q.result) == [1, 3]
    q.stop()


def test_a_limit_over_a_stream_static_join_and_over_a_union_all():
    import pandas as pd

    dim = pd.DataFrame({"device": ["d1", "d2", "d3"], "site": ["x", "y", "z"]})
    events = sn.sources.memory(SCHEMA)
    q = sn.start("SELECT e.n, d.site FROM events e JOIN dim d ON e.device = d.device LIMIT 2",
                 sources={"events": events, "dim": dim}, trigger="manual")
    events.add_data(rows(9, 1))
    q.process_all_available()
    events.add_data(rows(2, 3))
    q.process_all_available()
    assert ns(q.result) == [1, 2] and list(q.result["site"]) == ["x", "y"]
    q.stop()
    # a static table bigger than the batch: DuckDB probes with it, so the join emits in its order; the limit
    # still takes the batch's first rows (as Spark, whose broadcast join keeps the stream's order)
    big = pd.DataFrame({"device": [f"d{i}" for i in range(3000)][::-1], "site": "s"})
    events = sn.sources.memory(SCHEMA)
    q = sn.start("SELECT n FROM (SELECT e.n FROM events e JOIN big ON e.device = big.device) WHERE n > 0 LIMIT 4",
                 sources={"events": events, "big": big}, trigger="manual")
    events.add_data(rows(*range(20)))
    q.process_all_available()
    assert ns(q.result) == [1, 2, 3, 4]
    q.stop()
    a, b = sn.sources.memory(SCHEMA), sn.sources.memory(SCHEMA)
    q = sn.start("SELECT n FROM a UNION ALL SELECT n FROM b LIMIT 3", sources={"a": a, "b": b}, trigger="manual")
    a.add_data(rows(1, 2))
    q.process_all_available()
    b.add_data(rows(3, 4))
    q.process_all_available()
    assert ns(q.result) == [1, 2, 3]
    assert q.last_progress["stateOperators"][0]["operatorName"] == "globalLimit"
    q.stop()


def test_a_restart_from_the_checkpoint_emits_only_the_rest_of_the_limit(tmp_path):
    events, q = start(checkpoint=tmp_path / "cp")
    events.add_data(rows(1, 2))
    q.process_all_available()
    q.stop()
    assert ns(q.result) == [1, 2]
    assert (tmp_path / "cp" / "state").is_dir()
    _, again = start(events=events, checkpoint=tmp_path / "cp")
    events.add_data(rows(3, 4))
    again.process_all_available()
    events.add_data(rows(5))
    again.process_all_available()
    assert ns(again.result) == [3]  # 2 of 3 emitted before the restart: exactly 1 more
    again.stop()


@pytest.mark.parametrize("phase", phases.PHASES)
def test_a_batch_cut_short_at_any_step_ends_as_an_uninterrupted_run(tmp_path, phase):
    seen = {}
    sink = sn.sinks.foreach_batch(lambda df, batch_id: seen.__setitem__(batch_id, ns(df)))  # by id: idempotent
    events, q = start(checkpoint=tmp_path / "cp", sink=sink)
    events.add_data(rows(1, 2))
    q.step()
    events.add_data(rows(3, 4))

    def crash(reached, batch_id):
        if (reached, batch_id) == (phase, 1):
            raise RuntimeError("the process dies here")

    phases.hook = crash
    try:
        with pytest.raises(sn.StreamingQueryException, match="the process dies here"):
            q.step()
    finally:
        phases.hook = None
    events.add_data(rows(5, 6))
    _, again = start(events=events, checkpoint=tmp_path / "cp", sink=sink)
    again.process_all_available()
    assert seen == {0: [1, 2], 1: [3], 2: []}
    assert [n for batch in seen.values() for n in batch] == [1, 2, 3]  # 3 of 3 once: none twice, none lost
    again.stop()


def test_the_state_view_shows_the_count():
    events, q = start()
    events.add_data(rows(1, 2))
    q.process_all_available()
    assert q._operator.state_view()().to_pylist() == [{"rowsEmitted": 2}]
    q.stop()


def test_a_restart_with_another_limit_goes_on_from_the_count_and_one_without_state_is_refused(tmp_path):
    events, q = start(checkpoint=tmp_path / "cp")
    events.add_data(rows(1, 2, 3, 4))
    q.process_all_available()
    q.stop()
    _, again = start("SELECT n, device FROM events WHERE temp > 0 LIMIT 5", events=events, checkpoint=tmp_path / "cp")
    events.add_data(rows(5, 6, 7))
    again.process_all_available()
    assert ns(again.result) == [5, 6]  # 3 passed before: 2 more to 5
    again.stop()
    # a stateless query's checkpoint holds no count: the LIMIT would start over (and batch 0 run again)
    _, plain = start("SELECT n, device FROM events", events=events, checkpoint=tmp_path / "plain")
    plain.stop()
    with pytest.raises(sn.CheckpointError, match=r"the stateful operator was none \(stateless\), now globalLimit"):
        start(events=events, checkpoint=tmp_path / "plain")


def test_a_new_process_on_the_same_files_and_checkpoint_emits_only_the_rest(tmp_path):
    # as after a kill: new source and query objects, only the folder and the checkpoint are the same
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_text('{"n": 1}\n{"n": 2}\n')

    def run():
        q = sn.start("SELECT n FROM events LIMIT 3", sources={"events": sn.sources.files(folder, format="json",
                     schema="n bigint")}, trigger="manual", checkpoint=tmp_path / "cp")
        q.process_all_available()
        emitted = ns(q.result)
        q.stop()
        return emitted

    assert run() == [1, 2]
    (folder / "b.json").write_text('{"n": 3}\n{"n": 4}\n')
    (folder / "c.json").write_text('{"n": 5}\n')
    assert run() == [3]
