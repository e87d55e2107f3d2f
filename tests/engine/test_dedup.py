"""Deduplication within the watermark (Spark's dropDuplicatesWithinWatermark; engine/dedup.py): a key's first
row is emitted, its duplicates are dropped until the watermark passes that row's event time plus the delay,
then the key is forgotten and its next on-time row is emitted again."""

import pytest

import stream_nb as sn

WITHIN = "SELECT /*+ WITHIN_WATERMARK */ DISTINCT ON (device) device, ts, n FROM events"
WATERMARK = {"events": ("ts", "5 seconds")}


def rows(*pairs):
    return [{"ts": f"2026-01-01T00:00:{s:02d}", "device": d, "n": s} for d, s in pairs]


def start(checkpoint=None, events=None):
    events = events or sn.sources.memory("ts timestamp, device string, n bigint")
    return events, sn.start(WITHIN, sources={"events": events}, watermark=WATERMARK, trigger="manual",
                            checkpoint=checkpoint)


def emitted(q):
    return [(d, int(n)) for d, n in zip(q.result["device"], q.result["n"])]


def test_a_duplicate_within_the_delay_of_the_first_row_is_dropped_and_one_after_it_emitted():
    events, q = start()
    events.add_data(rows(("a", 1), ("a", 3), ("b", 2)))   # a's second row: a duplicate in its batch
    q.process_all_available()
    events.add_data(rows(("a", 4), ("c", 20)))             # watermark 0: a (kept until 1 + 5) is there
    q.process_all_available()                              # watermark 15 passes 6: a is forgotten
    events.add_data(rows(("a", 21), ("b", 3)))             # a again on time; b at 3 is late
    q.process_all_available()
    assert emitted(q) == [("a", 1), ("b", 2), ("c", 20), ("a", 21)]
    assert q.last_progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 1
    q.stop()


def test_a_key_stays_until_the_watermark_reaches_its_first_row_plus_the_delay_not_a_later_duplicate():
    events, q = start()
    events.add_data(rows(("a", 10)))
    q.process_all_available()
    events.add_data(rows(("a", 14), ("z", 20)))   # a duplicate does not extend the key's life past 10 + 5
    q.process_all_available()                     # watermark 15 reaches 15: a is forgotten
    events.add_data(rows(("a", 16)))
    q.process_all_available()
    assert emitted(q) == [("a", 10), ("z", 20), ("a", 16)]
    q.stop()


def test_the_expiry_of_each_key_survives_a_restart_from_the_checkpoint(tmp_path):
    events, q = start(tmp_path / "ck")
    events.add_data(rows(("a", 1), ("b", 8)))
    q.process_all_available()
    q.stop()
    _, q = start(tmp_path / "ck", events)                 # the state is read back from the checkpoint
    events.add_data(rows(("a", 5), ("b", 9), ("x", 12)))
    q.process_all_available()                             # a (1 + 5) and b (8 + 5) are still kept
    events.add_data(rows(("a", 13), ("b", 13)))          # watermark 7 passes a's 6 only
    q.process_all_available()
    assert emitted(q) == [("x", 12), ("a", 13)]
    q.stop()


def test_without_a_watermark_it_is_refused_pointing_at_distinct():
    events = sn.sources.memory("ts timestamp, device string, n bigint")
    with pytest.raises(sn.StreamSQLError, match="dropDuplicatesWithinWatermark needs a watermark") as err:
        sn.start(WITHIN, sources={"events": events}, trigger="manual")
    assert "^" in str(err.value) and "DISTINCT" in str(err.value)


def test_explain_says_when_a_key_is_forgotten(capsys):
    _, q = start()
    q.explain()
    q.stop()
    assert "eviction   a key once the watermark reaches its first row's event time + 5 seconds" in \
        capsys.readouterr().out


def test_a_new_key_that_expires_behind_the_watermark_is_gone_when_its_batch_commits():
    # PySpark 4 (dropDuplicatesWithinWatermark(["k", "ts"]), delay 3 s): after (c, 00:00), a batch of
    # (c, NULL), (c, 00:19), (a, 00:25), (a, 00:27.5) reports numRowsTotal 4: the NULL time's key expires at
    # the delay (1970), at or behind the watermark it ran with, and Spark evicts after the batch's rows
    events = sn.sources.memory("ts timestamp, k string")
    q = sn.start("SELECT /*+ WITHIN_WATERMARK */ DISTINCT ON (k, ts) k, ts FROM events", sources={"events": events},
                 watermark={"events": ("ts", "3 seconds")}, trigger="manual")
    events.add_data([{"ts": "2024-01-01T00:00:00", "k": "c"}])
    q.process_all_available()
    events.add_data([{"ts": None, "k": "c"}, {"ts": "2024-01-01T00:00:19", "k": "c"},
                     {"ts": "2024-01-01T00:00:25", "k": "a"}, {"ts": "2024-01-01T00:00:27.5", "k": "a"}])
    q.process_all_available()
    assert q.recent_progress[1]["stateOperators"][0]["numRowsTotal"] == 4
    assert len(q.result) == 5  # every row is emitted, the NULL one too
    q.stop()
