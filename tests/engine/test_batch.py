"""A batch's order with a checkpoint (exactly once): the state for N + 1 and ``commits/N`` are in place only
after the sink took batch N, and when ``q.step()`` returns; a failing sink leaves nothing of its batch on disk,
and a restart runs the batch again and ends as an uninterrupted run. (Pinned for any change that overlaps the
sink with the state's commit or the checkpoint's writes.)"""

import threading

import pyarrow as pa
import pytest

import stream_nb as sn

WINDOWED = ("SELECT window(ts, '10 seconds') AS w, device, count(*) AS n, sum(temp) AS total FROM events "
            "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '10 seconds'), device")


def rows(*seconds, device="a"):
    return [{"ts": f"2026-01-01T00:{s // 60:02d}:{s % 60:02d}", "device": device, "temp": float(s)}
            for s in seconds]


BATCHES = [rows(1, 2) + rows(3, device="b"), rows(12, 14), rows(15, 26, device="b"), rows(31, 44)]


@pytest.fixture
def events():
    return sn.sources.memory("ts timestamp, device string, temp double")


def start(events, checkpoint, fn, **options):
    return sn.start(WINDOWED, sources={"events": events}, checkpoint=checkpoint, trigger="manual",
                    output_mode="update", sink=sn.sinks.foreach_batch(fn), **options)


def upserted(frames):
    """Update-mode batches upserted by (window, device): the result table."""
    latest = {}
    for df in frames:
        for w, device, n, total in zip(df["w"], df["device"], df["n"], df["total"]):
            latest[(w["start"], device)] = (n, total)
    return sorted(latest.items())


def uninterrupted():
    source = sn.sources.memory("ts timestamp, device string, temp double")
    frames = []
    q = start(source, None, lambda df, batch_id: frames.append(df))
    for batch in BATCHES:
        source.add_data(batch)
        q.step()
    q.stop()
    return upserted(frames)


def test_commits_n_is_written_only_after_the_sink_took_batch_n_and_is_there_when_step_returns(events, tmp_path):
    checkpoint = tmp_path / "cp"
    seen = []  # per batch: (batch id, commits/N or state N + 1 there while the function ran, its thread)

    def fn(df, batch_id):
        written = [checkpoint / "commits" / str(batch_id), checkpoint / "state" / "0" / f"{batch_id + 1}.delta"]
        seen.append((batch_id, any(path.exists() for path in written), threading.get_ident()))

    q = start(events, checkpoint, fn)
    for batch_id, batch in enumerate(BATCHES):
        events.add_data(batch)
        q.step()
        assert (checkpoint / "commits" / str(batch_id)).exists()
        assert (checkpoint / "state" / "0" / f"{batch_id + 1}.delta").exists()
    q.stop()
    assert [(batch_id, committed) for batch_id, committed, _ in seen] == [(b, False) for b in range(len(BATCHES))]
    assert threading.get_ident() not in {thread for _, _, thread in seen}  # the engine's thread, as without one
    assert not [p for p in checkpoint.rglob("*") if p.name.endswith(".tmp")]


def test_a_failing_sink_commits_nothing_and_a_restart_runs_the_batch_again_as_an_uninterrupted_run(events, tmp_path):
    checkpoint = tmp_path / "cp"
    frames = []

    def fails_in_batch_2(df, batch_id):
        if batch_id == 2:
            raise ValueError("the sink is down")
        frames.append(df)

    q = start(events, checkpoint, fails_in_batch_2)
    for batch in BATCHES[:2]:
        events.add_data(batch)
        q.step()
    events.add_data(BATCHES[2])
    with pytest.raises(sn.StreamingQueryException, match="failed in batch 2: the sink is down"):
        q.step()
    assert isinstance(q.exception.__cause__, ValueError) and not q.is_active
    assert q.last_progress["batchId"] == 1
    assert not (checkpoint / "commits" / "2").exists()
    assert not (checkpoint / "state" / "0" / "3.delta").exists()
    assert not [p for p in checkpoint.rglob("*") if p.name.endswith(".tmp")]
    with pytest.raises(sn.StreamingQueryException):
        q.step()  # a failed query runs no more batches: none sees the state batch 2 committed in memory

    again = start(events, checkpoint, lambda df, batch_id: frames.append(df))
    assert again.step()["batchId"] == 2  # run again from its offsets, over the state batch 1 committed
    events.add_data(BATCHES[3])
    again.step()
    again.stop()
    assert upserted(frames) == uninterrupted()


def test_q_stop_inside_the_function_stops_a_checkpointed_query_once_its_batch_committed(events, tmp_path):
    checkpoint = tmp_path / "cp"
    holder = {}

    def stop_in_batch_1(df, batch_id):
        if batch_id == 1:
            holder["q"].stop()

    q = holder["q"] = start(events, checkpoint, stop_in_batch_1)
    for batch in BATCHES[:2]:
        events.add_data(batch)
        q.step()
    assert not q.is_active and q.exception is None
    assert (checkpoint / "commits" / "1").exists() and (checkpoint / "state" / "0" / "2.delta").exists()


class Dropping:
    """A source that lets rows go once the query commits them (as the MQTT source truncates its write-ahead log):
    it notes, on each ``commit``, which offset and commit logs the checkpoint still holds."""

    schema = pa.schema([("v", pa.int64())])
    capabilities = frozenset({"commit"})
    description = "Dropping"

    def __init__(self, checkpoint):
        self.checkpoint, self.end, self.seen = checkpoint, 0, []

    def latest_offset(self):
        return self.end

    def read(self, start, end):
        return pa.table({"v": list(range(start, end))}, schema=self.schema)

    def commit(self, end):
        self.seen.append((end, sorted(int(p.name) for p in (self.checkpoint / "offsets").iterdir())))


def test_a_source_that_drops_committed_rows_is_told_only_once_the_commit_is_durable(tmp_path):
    # retention 1: settling batch N (its renames fsynced) lets offsets/N-1 go; so the log the source sees at
    # commit(end) shows whether batch N's commit had settled before the rows could go
    source = Dropping(tmp_path / "cp")
    q = sn.start("SELECT v FROM d", sources={"d": source}, checkpoint=tmp_path / "cp", trigger="manual",
                 checkpoint_retention=1)
    for end in (2, 5, 6):
        source.end = end
        q.step()
    q.stop()
    assert source.seen == [(2, [0]), (5, [1]), (6, [2])]


def test_batch_n_plus_1_reaches_the_sink_only_once_batch_n_has_settled(events, tmp_path):
    checkpoint = tmp_path / "cp"
    kept = []  # per batch: the offsets the log holds while the function runs (retention 1)

    def fn(df, batch_id):
        kept.append((batch_id, sorted(int(p.name) for p in (checkpoint / "offsets").iterdir())))

    q = start(events, checkpoint, fn, checkpoint_retention=1)
    for batch in BATCHES:
        events.add_data(batch)
        q.step()
    q.stop()
    # batch N's retention (offsets/N-1 goes) runs once its commit settled: before offsets/N+1 is written,
    # so before batch N + 1's sink; and at stop for the last
    assert kept == [(0, [0]), (1, [0, 1]), (2, [1, 2]), (3, [2, 3])]
    assert sorted(int(p.name) for p in (checkpoint / "offsets").iterdir()) == [3]
