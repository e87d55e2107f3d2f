"""Session windows' progress as Spark's sessionWindowStateStoreSaveExec reports it (engine/sessions.py keeps the
open sessions' rows, but counts sessions)."""

import stream_nb as sn


def test_state_rows_are_the_open_sessions_and_updated_rows_the_sessions_of_the_batchs_keys():
    # PySpark 4, session_window(ts, '20 seconds') grouped by k, complete mode, max(x): numRowsTotal 1, 3, 3 and
    # numRowsUpdated 1, 2, 2 -- batch 2's rows of c and NULL merge into their keys' sessions (2 sessions
    # saved); key a's session is not touched
    events = sn.sources.memory("ts timestamp, k string, x double")
    q = sn.start("SELECT session_window(ts, '20 seconds') AS s, k, max(x) AS mx FROM events "
                 "GROUP BY session_window(ts, '20 seconds'), k", sources={"events": events},
                 output_mode="complete", trigger="manual")
    for batch in ([(20, None, 3.0)], [(26.5, "c", 1.25), (25, "a", -2.0)],
                  [(35.5, "c", 0.5), (33, None, 0.5), (21, "c", -2.0)]):
        events.add_data([{"ts": f"2024-01-01T00:00:{s:04.1f}", "k": k, "x": x} for s, k, x in batch])
        q.process_all_available()
    progress = [p["stateOperators"][0] for p in q.recent_progress]
    q.stop()
    assert [p["numRowsTotal"] for p in progress] == [1, 3, 3]
    assert [p["numRowsUpdated"] for p in progress] == [1, 2, 2]


def test_after_a_restart_complete_mode_judges_late_rows_by_the_watermark_the_last_batch_ran_with(tmp_path):
    # PySpark 4 (files in, complete mode, session_window(ts, '5 seconds') by k, watermark delay 0): rows a@10,
    # a@30, a restart from the checkpoint, then a@12: Spark keeps it (its session ends at 17, after the
    # watermark 10 the batch before the restart ran with; not after the current 30), counts a's first
    # session 2 and drops nothing
    inbox = tmp_path / "in"
    inbox.mkdir()

    def run(*batches):
        got = []
        q = sn.start("SELECT session_window(ts, '5 seconds') AS s, k, count(*) AS n FROM events "
                     "WATERMARK ts DELAY OF INTERVAL 0 SECONDS GROUP BY session_window(ts, '5 seconds'), k",
                     sources={"events": sn.sources.files(str(inbox), format="json", schema="ts timestamp, k string",
                                                         max_files_per_trigger=1)},
                     output_mode="complete", trigger="manual", checkpoint=str(tmp_path / "ck"),
                     sink=sn.sinks.foreach_batch(lambda df, i: got.append(
                         sorted((r["s"]["start"].second, r["n"]) for _, r in df.iterrows()))))
        for seconds in batches:
            (inbox / f"{seconds}.json").write_text(f'{{"ts": "2024-01-01T00:00:{seconds:02d}Z", "k": "a"}}\n')
            q.process_all_available()
        dropped = q.last_progress["stateOperators"][0]["numRowsDroppedByWatermark"]
        q.stop()
        return got, dropped

    assert run(10, 30) == ([[(10, 1)], [(10, 1), (30, 1)]], 0)
    assert run(12) == ([[(10, 2), (30, 1)]], 0)
