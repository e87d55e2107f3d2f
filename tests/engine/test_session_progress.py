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
