"""A query with several inputs (a UNION ALL of two streams): each input read for its own range, its own entry
in progress, its own watermark combined by Spark's policy, and its own line in the offset log."""

import json
import threading

import pytest

import stream_nb as sn
from stream_nb.checkpoint import phases

UNION = "SELECT ts, ad, 'click' AS kind FROM clicks UNION ALL SELECT ts, ad, 'view' AS kind FROM views"
WATERMARKS = {"clicks": ("ts", "5 seconds"), "views": ("ts", "1 second")}


@pytest.fixture
def clicks():
    return sn.sources.memory("ts timestamp, ad string")


@pytest.fixture
def views():
    return sn.sources.memory("ts timestamp, ad string")


def at(*seconds, ad="a"):
    return [{"ts": f"2026-01-01T00:00:{s:02d}", "ad": ad} for s in seconds]


def start(clicks, views, sql=UNION, **options):
    options.setdefault("trigger", "manual")
    return sn.start(sql, sources={"clicks": clicks, "views": views}, **options)


def offsets(progress):
    return [(s["startOffset"], s["endOffset"], s["numInputRows"]) for s in progress["sources"]]


def test_each_input_is_read_for_its_own_range_and_reported_as_its_own_source(clicks, views):
    q = start(clicks, views)
    clicks.add_data(at(1, 2, 3))
    first = q.step()
    assert offsets(first) == [(0, 3, 3), (0, 0, 0)] and first["numInputRows"] == 3
    views.add_data(at(4, 5))
    clicks.add_data(at(6))
    second = q.step()
    assert offsets(second) == [(3, 4, 1), (0, 2, 2)] and second["numInputRows"] == 3
    assert [s["description"] for s in second["sources"]] == ["MemorySource[ts, ad]"] * 2
    assert [s["latestOffset"] for s in second["sources"]] == [4, 2]
    assert sorted(q.result["kind"]) == ["click"] * 4 + ["view"] * 2
    assert q.step() is None  # neither input has new rows
    q.stop()


def test_process_all_available_waits_for_every_input(clicks, views):
    q = start(clicks, views, trigger=None)
    clicks.add_data(at(1))
    views.add_data(at(2, 3))
    q.process_all_available(timeout=30)
    views.add_data(at(4))
    q.process_all_available(timeout=30)
    assert len(q.result) == 4 and sum(p["numInputRows"] for p in q.recent_progress) == 4
    q.stop()


def test_available_now_reads_every_input_up_to_what_was_there_at_the_start(clicks, views):
    clicks.add_data(at(1, 2))
    views.add_data(at(3))
    q = start(clicks, views, trigger="available_now")
    assert q.await_termination(timeout=30)
    assert sorted(q.result["kind"]) == ["click", "click", "view"]
    assert [s["endOffset"] for s in q.last_progress["sources"]] == [2, 1]


def test_data_available_is_over_every_input(clicks, tmp_path):
    (tmp_path / "1.json").write_text('{"ts": "2026-01-01T00:00:01", "ad": "f"}\n')
    (tmp_path / "2.json").write_text('{"ts": "2026-01-01T00:00:02", "ad": "f"}\n')
    files = sn.sources.files(str(tmp_path), format="json", schema="ts timestamp, ad string",
                             max_files_per_trigger=1)
    q = start(clicks, files, sql="SELECT ts, ad FROM clicks UNION ALL SELECT ts, ad FROM views")
    clicks.add_data(at(1))
    assert offsets(q.step()) == [(0, 1, 1), (0, 1, 1)]  # one file a batch: the second waits
    assert q.status["isDataAvailable"]
    assert offsets(q.step()) == [(1, 1, 0), (1, 2, 1)]
    assert not q.status["isDataAvailable"]
    q.stop()


def test_the_watermark_is_the_slowest_inputs_by_default(clicks, views):
    q = start(clicks, views, watermark=WATERMARKS)
    clicks.add_data(at(20))
    views.add_data(at(10))
    q.step()
    # clicks: 20 - 5 = 15, views: 10 - 1 = 9; min
    assert q.watermark.isoformat() == "2026-01-01T00:00:09+00:00"
    assert {k: v.second for k, v in q.input_watermarks.items()} == {"clicks": 15, "views": 9}
    views.add_data(at(30))
    assert q.step()["eventTime"]["watermark"] == "2026-01-01T00:00:09.000Z"  # a batch runs with the last one
    assert q.watermark.second == 15
    q.stop()


def test_the_watermark_is_the_fastest_inputs_with_policy_max(clicks, views):
    q = start(clicks, views, watermark=WATERMARKS, watermark_policy="max")
    clicks.add_data(at(20))
    views.add_data(at(10))
    q.step()
    assert q.watermark.second == 15
    q.stop()


def test_an_input_without_rows_yet_holds_the_min_watermark_at_the_epoch_as_in_spark(clicks, views):
    q = start(clicks, views, watermark=WATERMARKS)
    clicks.add_data(at(20, 30))
    q.step()
    assert q.watermark.isoformat() == "1970-01-01T00:00:00+00:00"
    assert q.input_watermarks["views"] is None and q.input_watermarks["clicks"].second == 25
    views.add_data(at(11))
    q.step()
    assert q.watermark.second == 10
    q.stop()
    fastest = start(clicks, views, watermark=WATERMARKS, watermark_policy="max")
    fastest.step()  # clicks alone moves it with "max"
    assert fastest.watermark.second == 25
    fastest.stop()


def test_the_watermark_never_goes_back(clicks, views):
    q = start(clicks, views, watermark=WATERMARKS, watermark_policy="max")
    clicks.add_data(at(20))
    q.step()
    views.add_data(at(3))  # views' own watermark (2) is behind: the query's stays at 15
    q.step()
    assert q.watermark.second == 15 and q.input_watermarks["views"].second == 2
    q.stop()


def test_an_inputs_own_filter_keeps_its_rows_from_moving_its_watermark(clicks, views):
    sql = "SELECT ts, ad FROM clicks WHERE ad <> 'bot' UNION ALL SELECT ts, ad FROM views"
    q = start(clicks, views, sql=sql, watermark=WATERMARKS)
    clicks.add_data(at(10) + at(50, ad="bot"))
    views.add_data(at(10))
    q.step()
    assert q.input_watermarks["clicks"].second == 5  # the bot's row at 50 is filtered out before
    q.stop()


def test_the_offset_log_has_one_line_per_input_in_the_order_of_the_sql(clicks, views, tmp_path):
    q = start(clicks, views, watermark=WATERMARKS, checkpoint=tmp_path / "cp")
    clicks.add_data(at(20))
    views.add_data(at(10, 11))
    q.step()
    q.stop()
    offsets_log = (tmp_path / "cp" / "offsets" / "0").read_text().splitlines()
    assert [json.loads(line) for line in offsets_log[2:4]] == [{"startOffset": 0, "endOffset": 1},
                                                                {"startOffset": 0, "endOffset": 2}]
    assert offsets_log[4].startswith("crc32 ")
    commit = json.loads((tmp_path / "cp" / "commits" / "0").read_text().splitlines()[1])
    assert commit["inputWatermarksUs"] == {"clicks": 1767225615000000, "views": 1767225610000000}
    assert commit["nextBatchWatermarkUs"] == 1767225610000000


def test_a_restart_resumes_each_inputs_offsets_and_watermark(clicks, views, tmp_path):
    q = start(clicks, views, watermark=WATERMARKS, checkpoint=tmp_path / "cp")
    clicks.add_data(at(20))
    views.add_data(at(10))
    q.step()
    q.stop()
    again = start(clicks, views, watermark=WATERMARKS, checkpoint=tmp_path / "cp")
    assert {k: v.second for k, v in again.input_watermarks.items()} == {"clicks": 15, "views": 9}
    views.add_data(at(30))
    assert offsets(again.step()) == [(1, 1, 0), (1, 2, 1)]
    assert again.watermark.second == 15
    again.stop()


@pytest.mark.parametrize("phase", [phases.OFFSETS_WRITTEN, phases.SINK_COMMITTED])
def test_a_batch_cut_short_between_its_offsets_and_its_commit_is_replayed_input_by_input(clicks, views, tmp_path,
                                                                                        phase):
    seen = []
    sink = sn.sinks.foreach_batch(lambda df, batch_id: seen.append((batch_id, sorted(zip(df["kind"], df["ad"])))))
    q = start(clicks, views, checkpoint=tmp_path / "cp", sink=sink)
    clicks.add_data(at(1, ad="c0"))
    q.step()
    clicks.add_data(at(2, ad="c1"))
    views.add_data(at(3, ad="v1"))

    def crash(reached, batch_id):
        if (reached, batch_id) == (phase, 1):
            raise RuntimeError("the process dies here")

    phases.hook = crash
    try:
        with pytest.raises(sn.StreamingQueryException, match="the process dies here"):
            q.step()
    finally:
        phases.hook = None
    clicks.add_data(at(4, ad="c2"))  # rows that arrive meanwhile wait for the batch after the redo
    views.add_data(at(5, ad="v2"))
    again = start(clicks, views, checkpoint=tmp_path / "cp", sink=sink)
    redo = again.step()
    assert redo["batchId"] == 1 and offsets(redo) == [(1, 2, 1), (0, 1, 1)]  # as logged, not the newer rows
    assert offsets(again.step()) == [(2, 3, 1), (1, 2, 1)]
    assert seen[-2:] == [(1, [("click", "c1"), ("view", "v1")]), (2, [("click", "c2"), ("view", "v2")])]
    again.stop()


def test_a_restart_with_other_inputs_is_refused_as_an_incompatible_change(clicks, views, tmp_path):
    q = start(clicks, views, checkpoint=tmp_path / "cp")
    clicks.add_data(at(1))
    q.step()
    q.stop()
    with pytest.raises(sn.CheckpointError, match=r"the query read 2 inputs \('clicks', 'views'\), now 1 input "
                                                 r"\('clicks'\)"):
        sn.start("SELECT ts, ad FROM clicks", sources={"clicks": clicks}, trigger="manual",
                 checkpoint=tmp_path / "cp")
    # an input renamed in place is the same input (Spark knows sources by position) if its source is too
    other = sn.sources.memory("ts timestamp, ad string, n int")
    with pytest.raises(sn.CheckpointError, match=r"input 'shows''s description was 'MemorySource\[ts, ad\]', "
                                                 r"now 'MemorySource\[ts, ad, n\]'"):
        sn.start("SELECT ts, ad FROM clicks UNION ALL SELECT ts, ad FROM shows",
                 sources={"clicks": clicks, "shows": other}, trigger="manual", checkpoint=tmp_path / "cp")


def test_a_restart_with_another_watermark_policy_is_refused(clicks, views, tmp_path):
    q = start(clicks, views, watermark=WATERMARKS, checkpoint=tmp_path / "cp")
    q.stop()
    with pytest.raises(sn.CheckpointError, match="the watermark policy was 'min', now 'max'"):
        start(clicks, views, watermark=WATERMARKS, watermark_policy="max", checkpoint=tmp_path / "cp")


def test_a_batch_of_several_inputs_is_traced_with_every_inputs_rows_for_the_teaching_view(clicks, views):
    from stream_nb.notebook.teaching import TeachingPanel

    q = start(clicks, views, watermark=WATERMARKS)
    panel = TeachingPanel(q)
    clicks.add_data(at(1, 2))
    views.add_data(at(3))
    q.step()
    panel.refresh()
    trace = q.history[-1]
    assert trace.num_input_rows == 3 and sorted(t.second for t in trace.input.column("ts").to_pylist()) == [1, 2, 3]
    assert panel.batch_ids == [0]
    q.stop()


def test_an_input_without_a_watermark_leaves_the_query_watermark_to_the_others(clicks, views):
    q = start(clicks, views, watermark={"clicks": ("ts", "5 seconds")})
    clicks.add_data(at(20))
    q.step()
    assert q.watermark.second == 15 and list(q.input_watermarks) == ["clicks"]
    q.stop()


@pytest.mark.parametrize("trigger", [None, "manual"])
def test_process_all_available_runs_the_no_data_batch_that_brings_out_outer_join_rows(trigger):
    impressions = sn.sources.memory("ad bigint, ts timestamp")
    clicks = sn.sources.memory("ad bigint, ts timestamp")
    q = sn.start("SELECT i.ad, i.ts AS shown, c.ts AS clicked FROM impressions i LEFT JOIN clicks c "
                 "ON i.ad = c.ad AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 10 SECONDS",
                 sources={"impressions": impressions, "clicks": clicks}, trigger=trigger,
                 watermark={"impressions": ("ts", "5 seconds"), "clicks": ("ts", "5 seconds")})
    impressions.add_data([{"ad": 1, "ts": "2026-01-01T00:00:00"}, {"ad": 2, "ts": "2026-01-01T00:00:00"}])
    clicks.add_data([{"ad": 1, "ts": "2026-01-01T00:00:03"}])
    q.process_all_available(timeout=30)
    assert q.result["ad"].tolist() == [1]
    impressions.add_data([{"ad": 3, "ts": "2026-01-01T00:01:00"}])
    clicks.add_data([{"ad": 9, "ts": "2026-01-01T00:01:00"}])
    q.process_all_available(timeout=30)  # the watermark (0:55) passes ad 2's range only after that batch
    last = q.recent_progress[-1]
    assert last["numInputRows"] == 0 and last["eventTime"]["watermark"] == "2026-01-01T00:00:55.000Z"
    unmatched = q.result[q.result["clicked"].isna()]
    assert unmatched["ad"].tolist() == [2]
    q.stop()


def test_process_all_available_returns_while_rows_keep_arriving_once_what_was_there_is_in():
    # Each batch moves the watermark again while rows keep coming, so a batch is nearly always due: the call
    # waits for the rows there when it was made, and the one batch their watermark makes due, not for a lull.
    impressions = sn.sources.memory("ad bigint, ts timestamp")
    clicks = sn.sources.memory("ad bigint, ts timestamp")
    q = sn.start("SELECT i.ad, c.ts AS clicked FROM impressions i LEFT JOIN clicks c "
                 "ON i.ad = c.ad AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 SECOND",
                 sources={"impressions": impressions, "clicks": clicks},
                 watermark={"impressions": ("ts", "0 seconds"), "clicks": ("ts", "0 seconds")})
    impressions.add_data([{"ad": n, "ts": f"2026-01-01T00:00:0{n}"} for n in range(5)])
    clicks.add_data([{"ad": -n, "ts": f"2026-01-01T00:00:0{n}"} for n in range(5)])  # the watermark: 0:04
    stop = threading.Event()

    def feed():
        n = 5
        while not stop.is_set():
            ts = f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}"
            impressions.add_data([{"ad": n, "ts": ts}])
            clicks.add_data([{"ad": -n, "ts": ts}])
            n += 1
            q.last_progress  # noqa: B018 - a pause of a few bytecodes: rows arrive while batches run
            stop.wait(0.002)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        q.process_all_available(timeout=120)
        assert 0 in set(q.result["ad"])  # no click: out in the batch the watermark (0:04) made due, past 0:01
    finally:
        stop.set()
        feeder.join()
        q.stop()
