"""The plan for students (``explain_for_students``): what runs per batch, what is kept in state, what is emitted
and the watermark, in the query's own expressions and the Spark guide's words, never the planner's column names
(``__k0``) or its partial aggregates; ``q.explain()``'s own text stays as it was."""

import pytest

import stream_nb as sn
from stream_nb.sql import plan_query
from stream_nb.sql.explain import explain_for_students, internal_names, shown_as, student_steps

EVENTS = sn.sources.memory("ts timestamp, device string, temp double")
NAMES = [{"events": EVENTS}]
WATERMARK = "FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS"


def steps(sql: str, mode: str | None = None) -> str:
    text = explain_for_students(plan_query(sql, namespaces=NAMES, output_mode=mode))
    assert "__" not in text and "partial" not in text, text
    return text


@pytest.mark.parametrize(("sql", "mode", "says"), [
    (f"SELECT window(ts, '10 seconds') AS w, count(*) AS n {WATERMARK} GROUP BY window(ts, '10 seconds')",
     "append", ["Each batch:", "put each row in its window of 10 seconds by ts",
                "drop the late rows: those whose window ended at or before the watermark",
                "Kept in state:", "for count(*): a running count of rows",
                "a group is dropped from state once the watermark passes its end",
                "Emitted (append mode):", "each group once, when the watermark passes its end",
                "as w = window(ts, '10 seconds'), n = count(*)",
                "The watermark:", "the latest ts seen minus 10 seconds; it never goes back"]),
    ((f"SELECT window(ts, '10 seconds', '5 seconds') AS w, avg(temp) AS t {WATERMARK} "
      "GROUP BY window(ts, '10 seconds', '5 seconds')"), "update",
     ["every 5 seconds (a row falls in 2 windows)", "for avg(temp): a running sum of temp and a running count",
      "Emitted (update mode):", "the groups this batch changed"]),
    ("SELECT device, max(temp) AS hi FROM events WHERE temp > 0 GROUP BY device HAVING max(temp) > 1",
     "complete", ["keep the rows where temp > 0", "per group (device): max(temp)",
                  "for max(temp): the largest temp so far", "every group, forever (complete mode)",
                  "the whole result table", "only the groups where max(temp) > 1"]),
    (f"SELECT DISTINCT device, ts {WATERMARK}", None,
     ["drop the late rows: those whose ts is at or before the watermark", "find the batch's groups (device, ts)",
      "once the watermark passes its ts"]),
    ("SELECT device, temp * 2 AS t2 FROM events WHERE temp > 1", None,
     ["keep the rows where temp > 1", "run the query over these rows alone: device, t2 = temp * 2",
      "Kept in state:", "nothing: each row is handled once", "Emitted (append mode):"]),
    ("SELECT device, temp FROM events WHERE temp > 1 LIMIT 3", None,
     ["keep the rows where temp > 1", "let through only as many rows as the LIMIT 3 has left",
      "how many rows have passed the LIMIT so far: once 3, nothing more, ever"]),
    (("SELECT device, max_by(temp, ts) AS latest, collect_list(temp) AS temps, collect_set(temp) AS seen "
     "FROM events GROUP BY device"), "update",
     ["for max_by(temp, ts): the row with the largest ordering value so far and its value",
      "for collect_list(temp): every temp value seen, in arrival order",
      "for collect_set(temp): each distinct temp value seen, once"]),
])
def test_the_plan_reads_as_steps_in_the_guides_words(sql, mode, says):
    text = steps(sql, mode)
    for words in says:
        assert words in text, f"{words!r} not in\n{text}"


def test_the_headings_are_what_runs_what_is_kept_what_is_emitted_and_the_watermark():
    plan = plan_query(f"SELECT device, count(*) AS n {WATERMARK} GROUP BY device", namespaces=NAMES)
    assert [heading for heading, _ in student_steps(plan)] == [
        "each batch", "kept in state", "emitted (update mode)", "the watermark"]


def test_output_columns_and_planner_names_map_to_what_was_written():
    plan = plan_query("SELECT window(e.ts, '10 seconds') AS w, count(DISTINCT e.device) AS d FROM events e "
                      "GROUP BY window(e.ts, '10 seconds')", namespaces=NAMES)
    assert shown_as(plan) == {"w": "window(ts, '10 seconds')", "d": "count(DISTINCT device)"}
    assert internal_names(plan) == {"__k0": "window(ts, '10 seconds')", "__x0": "device"}


def test_q_explain_keeps_its_own_text():
    plan = plan_query(f"SELECT device, count(*) AS n {WATERMARK} GROUP BY device", namespaces=NAMES)
    text = plan.explain()
    assert text.startswith("== Streaming query ==") and "== 3. State: one row per key" in text


def test_q_explain_shows_the_global_limit_and_its_state():
    text = plan_query("SELECT device FROM events LIMIT 2", namespaces=NAMES).explain()
    assert "== Global limit: the stream's first 2 rows, ever ==" in text
    assert "how many rows have passed so far (one count, checkpointed with each batch)" in text


def test_a_union_of_two_streams_explains_both_inputs_and_their_watermarks():
    clicks = sn.sources.memory("ts timestamp, ad string")
    plan = plan_query("SELECT ts, device FROM events WATERMARK ts DELAY OF INTERVAL 5 SECONDS UNION ALL "
                      "SELECT ts, ad FROM clicks", namespaces=[{"events": EVENTS, "clicks": clicks}],
                      watermark_policy="max")
    text = plan.explain()
    assert "stream     events: " in text and "stream     clicks: " in text
    assert "watermark  events: max(ts) seen - 5 seconds" in text
    assert "watermark  the query's: the max of its inputs' watermarks" in text
    assert "FROM __batch_events AS events UNION ALL SELECT" in text
    assert "read the rows that arrived in events and clicks since the last batch" in explain_for_students(plan)


def test_the_steps_of_a_stream_stream_join_say_what_each_side_keeps_and_when_outer_rows_come():
    impressions = sn.sources.memory("ad bigint, ts timestamp")
    clicks = sn.sources.memory("ad bigint, ts timestamp")
    plan = plan_query("SELECT i.ad, c.ts FROM impressions i LEFT JOIN clicks c "
                      "ON i.ad = c.ad AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE",
                      namespaces=[{"impressions": impressions, "clicks": clicks}],
                      watermark={"impressions": ("ts", "10 seconds"), "clicks": ("ts", "20 seconds")})
    steps = dict(student_steps(plan))
    assert [line.split(":")[0] for line in steps["kept in state"]] == ["i", "c"]
    assert "i.ts is at or behind the watermark - 60 seconds" in steps["kept in state"][0]
    assert any("never matched, NULL-padded" in line for line in steps["emitted (append mode)"])
    assert steps["the watermark"][:2] == ["impressions: the latest ts seen minus 10 seconds",
                                          "clicks: the latest ts seen minus 20 seconds"]
