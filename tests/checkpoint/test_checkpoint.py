"""Checkpoints: Spark's layout, recovery, one writer, compatible and incompatible restarts, retention."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pyarrow.ipc as pa_ipc
import pytest

import stream_nb as sn
from stream_nb.checkpoint.files import write_json

WINDOWED = ("SELECT window(ts, '10 seconds') AS w, device, count(*) AS n FROM events "
            "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '10 seconds'), device")


def rows(*seconds, device="a"):
    return [{"ts": f"2026-01-01T00:{s // 60:02d}:{s % 60:02d}", "device": device, "temp": 1.0} for s in seconds]


@pytest.fixture
def events():
    return sn.sources.memory("ts timestamp, device string, temp double")


def start(events, checkpoint, sql=WINDOWED, **options):
    options.setdefault("trigger", "manual")
    return sn.start(sql, sources={"events": events}, checkpoint=checkpoint, **options)


def test_the_layout_is_sparks_and_readable(events, tmp_path):
    q = start(events, tmp_path / "cp")
    events.add_data(rows(1, 12))
    q.step()
    cp = tmp_path / "cp"
    metadata = (cp / "metadata").read_text()
    assert json.loads(metadata.rsplit("crc32 ", 1)[0])["id"] == q.id
    assert re.fullmatch(r"crc32 [0-9a-f]{8}", metadata.splitlines()[-1])  # every file carries its checksum
    offsets = (cp / "offsets" / "0").read_text().splitlines()
    assert offsets[0] == "v1" and json.loads(offsets[2]) == {"startOffset": 0, "endOffset": 2}
    assert json.loads((cp / "commits" / "0").read_text().splitlines()[1])["nextBatchWatermarkMs"] > 0
    assert (cp / "state" / "0" / "1.delta").exists() and (cp / "lock").exists()


def test_a_restarted_query_goes_on_where_it_stopped(events, tmp_path):
    seen = []
    sink = sn.sinks.foreach_batch(lambda df, batch_id: seen.extend(
        (w["start"].second, n) for w, n in zip(df["w"], df["n"])))
    q = start(events, tmp_path / "cp", output_mode="append", sink=sink)
    events.add_data(rows(1, 2, 12))
    q.process_all_available()
    q.stop()
    events.add_data(rows(30))
    again = start(events, tmp_path / "cp", output_mode="append", sink=sink)
    again.process_all_available()
    assert again.id == q.id and again.run_id != q.run_id
    assert again.recent_progress[0]["batchId"] == q.last_progress["batchId"] + 1
    assert again.recent_progress[0]["sources"][0]["startOffset"] == 3  # nothing read twice
    assert again.watermark.isoformat() == "2026-01-01T00:00:25+00:00"
    assert sorted(seen) == [(0, 2), (10, 1)]  # each window emitted once, none lost across the restart


def two_batches_then_stop(events, checkpoint):
    """Batches 0 and 1 of a complete-mode count, committed, and the query stopped."""
    q = start(events, checkpoint, output_mode="complete")
    for second in (1, 2):
        events.add_data(rows(second))
        q.step()
    q.stop()


def test_an_uncommitted_batch_is_run_again_with_the_same_offsets(events, tmp_path):
    two_batches_then_stop(events, tmp_path / "cp")
    (tmp_path / "cp" / "commits" / "1").unlink()  # as if the process died before batch 1 committed
    events.add_data(rows(3, 4))                    # more data arrived meanwhile
    again = start(events, tmp_path / "cp", output_mode="complete")
    again.step()
    redo = again.last_progress
    assert redo["batchId"] == 1 and redo["sources"][0]["endOffset"] == 2
    again.step()
    assert again.result["n"].tolist() == [4]


def test_a_commit_whose_state_is_missing_is_run_again_and_the_restart_says_so(events, tmp_path, caplog):
    two_batches_then_stop(events, tmp_path / "cp")
    # as if the process died (or the power went) after commits/1 was renamed in but before the state it commits
    (tmp_path / "cp" / "state" / "0" / "2.delta").unlink()
    events.add_data(rows(3, 4))
    with caplog.at_level("WARNING", logger="stream_nb.checkpoint"):
        again = start(events, tmp_path / "cp", output_mode="complete")
    assert "commits/1 is there but not the state it commits (version 2" in caplog.text
    assert "batch 1 did not finish" in caplog.text
    assert not (tmp_path / "cp" / "commits" / "1").exists()
    again.step()
    redo = again.last_progress
    assert redo["batchId"] == 1 and redo["sources"][0]["endOffset"] == 2
    assert (tmp_path / "cp" / "commits" / "1").exists() and (tmp_path / "cp" / "state" / "0" / "2.delta").exists()
    again.step()
    assert again.result["n"].tolist() == [4]


def test_q_result_in_update_mode_is_rebuilt_from_state(events, tmp_path):
    q = start(events, tmp_path / "cp", sql="SELECT device, count(*) AS n FROM events GROUP BY device")
    events.add_data(rows(1, 2) + rows(3, device="b"))
    q.step()
    q.stop()
    again = start(events, tmp_path / "cp", sql="SELECT device, count(*) AS n FROM events GROUP BY device")
    assert again.result.to_dict("records") == [{"device": "a", "n": 2}, {"device": "b", "n": 1}]


def test_a_delta_keeps_the_watermark_that_evicted_keys_and_a_restore_evicts_them_again(events, tmp_path):
    q = start(events, tmp_path / "cp", output_mode="update")
    events.add_data(rows(1, 12))
    q.step()
    events.add_data(rows(31))  # the watermark passes window [0, 10) and [10, 20): next batch evicts them
    q.step()
    events.add_data(rows(33))
    q.step()
    assert q.last_progress["stateOperators"][0]["numRowsTotal"] == 1
    delta = pa_ipc.open_file(tmp_path / "cp" / "state" / "0" / "3.delta").read_all()
    assert delta.num_rows == 1 and delta.schema.metadata == {b"stream_nb.evicted_through_us": b"1767225626000000"}
    q.stop()
    again = start(events, tmp_path / "cp", output_mode="update")
    assert again.recent_progress == [] and again._operator.state_rows == 1  # only window [30, 40) is left
    events.add_data(rows(2))  # late for the evicted window: dropped, not counted into a revived key
    again.step()
    assert again.last_progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 1


def test_a_delta_written_before_evictions_were_kept_as_a_watermark_still_restores(events, tmp_path):
    q = start(events, tmp_path / "cp", sql="SELECT device, count(*) AS n FROM events GROUP BY device")
    events.add_data(rows(1, 2) + rows(3, device="b"))
    q.step()
    events.add_data(rows(4))
    q.step()
    q.stop()
    # rewrite delta 2 as older versions wrote it: changed rows, then evicted keys flagged __removed
    path = tmp_path / "cp" / "state" / "0" / "2.delta"
    changed = pa_ipc.open_file(path).read_all()
    removed = pa.table({"__k0": ["b"], "__a0_n": pa.array([None], pa.int64())})
    old = pa.concat_tables([changed.append_column("__removed", pa.array([False] * changed.num_rows)),
                            removed.append_column("__removed", pa.array([True]))])
    with pa_ipc.new_file(path, old.schema) as writer:
        writer.write_table(old)
    again = start(events, tmp_path / "cp", sql="SELECT device, count(*) AS n FROM events GROUP BY device")
    assert again.result.to_dict("records") == [{"device": "a", "n": 3}]


class TestOneWriter:
    def test_a_second_query_on_a_checkpoint_in_use_is_refused(self, events, tmp_path):
        start(events, tmp_path / "cp", name="first")
        with pytest.raises(sn.CheckpointError, match=r"is in use by query 'first' \(process \d+"):
            start(events, tmp_path / "cp", name="second")

    def test_a_query_in_another_process_holds_it_and_a_dead_ones_lock_is_taken_over(self, events, tmp_path):
        holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import time, stream_nb as sn
            events = sn.sources.memory("ts timestamp, device string, temp double")
            sn.start({WINDOWED!r}, sources={{"events": events}}, checkpoint={str(tmp_path / "cp")!r},
                     trigger="manual", name="elsewhere")
            print("holding", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "holding"
            with pytest.raises(sn.CheckpointError, match=f"query 'elsewhere' \\(process {holder.pid}"):
                start(events, tmp_path / "cp")
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait()
        assert start(events, tmp_path / "cp").is_active  # the dead process's lock is free


class TestChangedQuery:
    def test_a_new_filter_is_a_compatible_change(self, events, tmp_path):
        start(events, tmp_path / "cp").stop()
        changed = WINDOWED.replace("GROUP BY", "WHERE temp > 0 GROUP BY")
        assert start(events, tmp_path / "cp", sql=changed).is_active

    @pytest.mark.parametrize(("change", "message"), [
        (lambda sql: sql.replace("device, count(*)", "device, max(temp) AS hottest, count(*)"),
         "the state's aggregates were"),
        (lambda sql: sql.replace("window(ts, '10 seconds'), device", "window(ts, '10 seconds')")
                        .replace("AS w, device,", "AS w,"), "the state's keys were"),
    ])
    def test_other_state_is_refused_with_what_changed(self, events, tmp_path, change, message):
        start(events, tmp_path / "cp").stop()
        with pytest.raises(sn.CheckpointError, match=message) as caught:
            start(events, tmp_path / "cp", sql=change(WINDOWED))
        assert "new checkpoint directory" in str(caught.value)

    def test_another_output_mode_is_refused(self, events, tmp_path):
        start(events, tmp_path / "cp").stop()
        with pytest.raises(sn.CheckpointError, match="the output mode was 'update', now 'complete'"):
            start(events, tmp_path / "cp", output_mode="complete")

    def test_another_source_is_refused(self, events, tmp_path):
        start(events, tmp_path / "cp").stop()
        other = sn.sources.memory("ts timestamp, device string, temp double, site string")
        with pytest.raises(sn.CheckpointError, match="the source's description was"):
            start(other, tmp_path / "cp")


class TestCorruptFiles:
    @pytest.fixture
    def checkpoint(self, events, tmp_path):
        q = start(events, tmp_path / "cp")
        for second in (1, 12, 24):
            events.add_data(rows(second))
            q.step()
        q.stop()
        return tmp_path / "cp"

    @pytest.mark.parametrize(("path", "garbage", "message"), [
        ("offsets/2", "v1\n{not json\n{}", "checkpoint log .*offsets/2 is corrupt"),
        ("offsets/2", "v1\n{}", "offsets/2 is truncated: 1 of 2 lines"),
        ("offsets/2", "", "offsets/2 is empty"),
        ("commits/2", "v9\n{}", "commits/2 is corrupt or from another version"),
        ("state/0/2.delta", "ARROW1\x00\x00trunc", "state file .*2.delta is corrupt or truncated"),
        ("metadata", "{", "metadata is corrupt"),
    ])
    def test_a_corrupt_file_is_named(self, events, checkpoint, path, garbage, message):
        (checkpoint / path).write_text(garbage)
        with pytest.raises(sn.CheckpointError, match=message):
            start(events, checkpoint)

    def test_a_torn_uncommitted_last_batch_is_simply_redone(self, events, checkpoint):
        (checkpoint / "commits" / "2").unlink()
        (checkpoint / "offsets" / "2").write_text("v1\n{\"batchWat")
        again = start(events, checkpoint)
        again.step()
        assert again.last_progress["batchId"] == 2 and again.last_progress["numInputRows"] == 1


def test_retention_keeps_the_last_batches_and_compacts_the_files_log(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    source = sn.sources.files(folder, format="json", schema="v bigint", max_files_per_trigger=1)
    q = sn.start("SELECT v FROM s", sources={"s": source}, checkpoint=tmp_path / "cp", trigger="manual",
                 checkpoint_retention=5)
    for i in range(23):
        (folder / f"{i:03d}.json").write_text(json.dumps({"v": i}) + "\n")
        time.sleep(0.01)
        q.step()
        kept = sorted(int(p.name) for p in (tmp_path / "cp" / "offsets").iterdir())
        assert kept[-5:] == list(range(max(i - 4, 0), i + 1))  # never fewer than the last 5 (the last batch's
        # retention runs once its commit is durable: on the next batch's offsets thread, or at stop)
    q.stop()
    assert sorted(int(p.name) for p in (tmp_path / "cp" / "offsets").iterdir()) == [18, 19, 20, 21, 22]
    assert sorted(p.name for p in (tmp_path / "cp" / "sources" / "0").iterdir()) == ["19.compact", "20", "21", "22"]
    again = sn.sources.files(folder, format="json", schema="v bigint", max_files_per_trigger=1)
    resumed = sn.start("SELECT v FROM s", sources={"s": again}, checkpoint=tmp_path / "cp", trigger="manual")
    (folder / "999.json").write_text(json.dumps({"v": 999}) + "\n")
    resumed.step()
    assert resumed.result["v"].tolist() == [999]  # the 23 files before are known: none read twice


class TestReplay:
    """Case 2: a source that cannot replay what the checkpoint refers to says so at start, losing nothing."""

    def test_case_2_a_memory_source_restarted_in_a_new_process_is_refused_naming_the_offsets(self, tmp_path):
        first = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import stream_nb as sn
            events = sn.sources.memory("ts timestamp, device string, temp double")
            q = sn.start({WINDOWED!r}, sources={{"events": events}}, checkpoint={str(tmp_path / "cp")!r},
                         trigger="manual")
            events.add_data({rows(1, 2, 3)!r})
            q.step()
            q.stop()
        """)], capture_output=True, text=True, timeout=120, check=False)
        assert first.returncode == 0, first.stderr[-2000:]
        events = sn.sources.memory("ts timestamp, device string, temp double")
        events.add_data(rows(4, 5, 6, 7))
        with pytest.raises(sn.CheckpointError, match=r"goes on from offset 3 of MemorySource\[ts, device, temp\], "
                                                     r"but a memory source cannot replay offsets \[0, 3\)") as refused:
            start(events, tmp_path / "cp")
        assert "new checkpoint directory" in str(refused.value) and "sn.sources.files" in str(refused.value)
        assert sn.queries() == [] and start(events, tmp_path / "cp-new").is_active  # the lock was let go too

    def test_case_2_another_memory_source_object_in_the_same_process_is_refused(self, events, tmp_path):
        q = start(events, tmp_path / "cp")
        events.add_data(rows(1))
        q.step()
        q.stop()
        with pytest.raises(sn.CheckpointError, match=r"cannot replay offsets \[0, 1\)"):
            start(sn.sources.memory("ts timestamp, device string, temp double"), tmp_path / "cp")
        assert start(events, tmp_path / "cp").is_active  # the source that holds the rows goes on


class TestRetention:
    """Case 3: checkpoint_retention is Spark's minBatchesToRetain, checked when the query starts."""

    @pytest.mark.parametrize("retention", [0, -1, 2.5, "3", True, None])
    def test_case_3_a_bad_retention_is_refused_at_start(self, events, tmp_path, retention):
        with pytest.raises(ValueError, match=r"checkpoint_retention must be a whole number of batches, at least 1 "
                                             r"\(as Spark's spark.sql.streaming.minBatchesToRetain\), not "):
            start(events, tmp_path / "cp", checkpoint_retention=retention)
        assert sn.queries() == [] and not (tmp_path / "cp").exists()

    def test_case_3_retention_1_keeps_the_last_batch_and_a_restart_loses_nothing(self, events, tmp_path):
        sql = "SELECT device, count(*) AS n FROM events GROUP BY device"
        q = start(events, tmp_path / "cp", sql=sql, checkpoint_retention=1)
        for second in range(5):
            events.add_data(rows(second))
            q.step()
        q.stop()
        assert sorted(p.name for p in (tmp_path / "cp" / "offsets").iterdir()) == ["4"]
        events.add_data(rows(9))
        again = start(events, tmp_path / "cp", sql=sql, checkpoint_retention=1)
        again.step()
        assert again.result.to_dict("records") == [{"device": "a", "n": 6}]


class TestChecksums:
    """Case 17: every checkpoint file carries a checksum; a changed byte is found and the file named."""

    @pytest.fixture
    def checkpoint(self, events, tmp_path):
        q = start(events, tmp_path / "cp")
        for second in (1, 12, 24):
            events.add_data(rows(second))
            q.step()
        q.stop()
        return tmp_path / "cp"

    def test_case_17_eight_flipped_bytes_in_a_delta_are_found_and_the_file_named(self, events, checkpoint):
        path = checkpoint / "state" / "0" / "3.delta"
        data = bytearray(path.read_bytes())
        body = pa_ipc.open_file(path).read_all()
        assert body.num_rows == 1
        for i in range(8):  # inside the record batch's buffers, before the footer
            data[len(data) // 2 + i] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(sn.CheckpointError, match=r"state file .*3\.delta is corrupt: its content does not match "
                                                     r"its checksum"):
            start(events, checkpoint)

    @pytest.mark.parametrize("name", ["offsets/2", "commits/2", "metadata"])
    def test_case_17_a_changed_digit_in_a_log_or_metadata_is_found_and_the_file_named(self, events, checkpoint, name):
        path = checkpoint / name
        text = path.read_text()
        digit = re.search(r"(?<=\n)[^\n]*?(\d)", text).start(1)  # a digit after the first line: still valid JSON
        path.write_text(text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1:])
        with pytest.raises(sn.CheckpointError, match=rf"checkpoint file .*{name} is corrupt: its content does not "
                                                     r"match its checksum"):
            start(events, checkpoint)

    def test_case_17_a_changed_files_source_log_is_found_and_named(self, tmp_path):
        folder, cp = tmp_path / "in", tmp_path / "cp"
        folder.mkdir()
        (folder / "a.json").write_text('{"v": 1}\n')
        q = sn.start("SELECT v FROM s", sources={"s": sn.sources.files(folder, format="json", schema="v bigint")},
                     checkpoint=cp, trigger="manual")
        q.step()
        q.stop()
        log = cp / "sources" / "0" / "0"
        log.write_text(log.read_text().replace("a.json", "b.json"))
        with pytest.raises(sn.CheckpointError, match=r"checkpoint file .*sources/0/0 is corrupt"):
            sn.start("SELECT v FROM s", sources={"s": sn.sources.files(folder, format="json", schema="v bigint")},
                     checkpoint=cp, trigger="manual")

    def test_case_17_a_checkpoint_written_without_checksums_still_restores(self, events, checkpoint):
        for path in [p for p in checkpoint.rglob("*") if p.is_file() and p.name != "lock"]:
            if path.suffix in (".delta", ".snapshot"):
                table = pa_ipc.open_file(path).read_all()
                with pa_ipc.new_file(path, table.schema) as writer:  # no footer metadata, as before
                    writer.write_table(table)
            else:
                path.write_text(path.read_text().rsplit("crc32 ", 1)[0])
        again = start(events, checkpoint)
        events.add_data(rows(25))
        again.step()
        assert again.last_progress["batchId"] == 3 and again._operator.state_rows == 2

    def test_case_17_a_missing_offsets_file_says_which_and_what_it_means(self, events, checkpoint):
        (checkpoint / "offsets" / "2").unlink()
        with pytest.raises(sn.CheckpointError, match=r"offset log .*offsets/2 is missing: batch 2 is committed "
                                                     r"\(commits/2\) but the offsets it read are gone, so where "
                                                     r"batch 3 starts is unknown"):
            start(events, checkpoint)

    def test_case_17_a_source_log_pointing_outside_the_folder_is_refused(self, tmp_path):
        folder, cp = tmp_path / "in", tmp_path / "cp"
        folder.mkdir()
        (folder / "a.json").write_text('{"v": 1}\n')
        (tmp_path / "secret.json").write_text('{"v": 42}\n')
        q = sn.start("SELECT v FROM s", sources={"s": sn.sources.files(folder, format="json", schema="v bigint")},
                     checkpoint=cp, trigger="manual")
        q.step()
        q.stop()
        # a log rewritten to point elsewhere, checksum and all, as a hand-edited or foreign checkpoint would be
        write_json(cp / "sources" / "0" / "0", [str(tmp_path / "secret.json")])
        with pytest.raises(sn.CheckpointError, match=r"checkpoint file .*sources/0/0 lists '.*secret.json', which "
                                                     r"is not under the files source's path"):
            sn.start("SELECT v FROM s", sources={"s": sn.sources.files(folder, format="json", schema="v bigint")},
                     checkpoint=cp, trigger="manual")

    def test_case_17_a_symlinked_file_inside_the_folder_still_restores(self, tmp_path):
        folder, cp = tmp_path / "in", tmp_path / "cp"
        folder.mkdir()
        (tmp_path / "elsewhere.json").write_text('{"v": 1}\n')
        (folder / "a.json").symlink_to(tmp_path / "elsewhere.json")  # listed as in/a.json, as the source sees it
        q = sn.start("SELECT v FROM s", sources={"s": sn.sources.files(folder, format="json", schema="v bigint")},
                     checkpoint=cp, trigger="manual")
        q.step()
        q.stop()
        (folder / "b.json").write_text('{"v": 2}\n')
        again = sn.start("SELECT v FROM s", sources={"s": sn.sources.files(folder, format="json", schema="v bigint")},
                         checkpoint=cp, trigger="manual")
        again.step()
        assert again.result["v"].tolist() == [2]


class TestMissingFiles:
    """Case 17: a file the restart needs that is gone is refused, naming it, rather than restarting differently
    (a files source reading its files again, a sink seeing a new query, a rate source a new start time)."""

    @staticmethod
    def files_query(folder, cp):
        source = sn.sources.files(folder, format="json", schema="v bigint", max_files_per_trigger=1)
        return sn.start("SELECT count(*) AS n FROM s", sources={"s": source}, checkpoint=cp, trigger="manual",
                        output_mode="complete")

    @pytest.fixture
    def files_checkpoint(self, tmp_path):
        folder, cp = tmp_path / "in", tmp_path / "cp"
        folder.mkdir()
        q = self.files_query(folder, cp)
        for i in range(12):  # batches 0-11: sources/0/9.compact, 10, 11
            (folder / f"{i:03d}.json").write_text(json.dumps({"v": i}) + "\n")
            os.utime(folder / f"{i:03d}.json", (1000 + i, 1000 + i))
            q.step()
        q.stop()
        return folder, cp

    @pytest.mark.parametrize(("name", "named"), [("10", "sources/0/10"), ("9.compact", "sources/0/0")])
    def test_case_17_a_missing_files_source_log_is_named_not_read_again(self, files_checkpoint, name, named):
        folder, cp = files_checkpoint
        (cp / "sources" / "0" / name).unlink()
        with pytest.raises(sn.CheckpointError, match=rf"checkpoint file .*{named} is missing .*the files source's "
                                                     r"log must list the files of every batch through 11"):
            self.files_query(folder, cp)
        assert sn.queries() == []

    def test_case_17_the_files_source_log_intact_restores_counting_each_file_once(self, files_checkpoint):
        folder, cp = files_checkpoint
        again = self.files_query(folder, cp)
        (folder / "999.json").write_text(json.dumps({"v": 999}) + "\n")
        again.process_all_available()
        assert again.result["n"].tolist() == [13]

    def test_case_17_a_missing_snapshot_says_the_restore_found_none_to_start_from(self, files_checkpoint):
        folder, cp = files_checkpoint
        (cp / "state" / "0" / "10.snapshot").unlink()  # the deltas before it were purged
        with pytest.raises(sn.CheckpointError, match=r"state file .*1\.delta is missing: the checkpoint cannot "
                                                     r"restore version 12 .*\(with no snapshot at or before it.*a "
                                                     r"lost snapshot leaves the same gap\)"):
            self.files_query(folder, cp)

    def test_case_17_a_missing_metadata_with_batches_is_refused_not_given_a_new_query_id(self, events, tmp_path):
        q = start(events, tmp_path / "cp")
        events.add_data(rows(1))
        q.step()
        q.stop()
        (tmp_path / "cp" / "metadata").unlink()
        with pytest.raises(sn.CheckpointError, match=r"checkpoint file .*cp/metadata is missing, but .* holds "
                                                     r"batches .*the query id"):
            start(events, tmp_path / "cp")

    @pytest.mark.parametrize(("damage", "message"), [
        (lambda path: path.unlink(), r"sources/0/metadata is missing, but .* holds batches: what RateSource"),
        (lambda path: write_json(path, {"start": 1}), r"sources/0/metadata is corrupt \(KeyError"),
    ])
    def test_case_17_a_rate_sources_missing_or_bad_start_time_is_named(self, tmp_path, damage, message):
        def rate_query():
            return sn.start("SELECT value FROM r", sources={"r": sn.sources.rate(1000)}, checkpoint=tmp_path / "cp",
                            trigger="available_now")
        q = rate_query()
        q.await_termination()
        assert (tmp_path / "cp" / "commits").is_dir()
        damage(tmp_path / "cp" / "sources" / "0" / "metadata")
        with pytest.raises(sn.CheckpointError, match=message):
            rate_query()
