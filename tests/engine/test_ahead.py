"""Running the next batch's stateless half ahead (engine/ahead.py): while a batch merges into state, the next
one is read and aggregated on a worker thread — only when its offsets are certain, and with results equal
to running the batches one after the other."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import stream_nb as sn

SCHEMA = pa.schema([("ts", pa.timestamp("us", tz="UTC")), ("device", pa.string()), ("temp", pa.float64())])
WINDOWED = ("SELECT window(ts, '10 seconds') AS w, device, count(*) AS n, avg(temp) AS t FROM events "
            "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '10 seconds'), device")
T0 = datetime(2024, 5, 1, tzinfo=UTC)


class Chunks:
    """A source whose offsets are whole tables, at most ``cap`` a batch; it notes which thread read what."""

    description = "Chunks"
    schema = SCHEMA
    # concurrent reads: read() only appends to a list, safe beside latest_offset()
    capabilities = frozenset({"max_per_trigger", "concurrent_reads"})

    def __init__(self, tables: list[pa.Table], cap: int = 1):
        self.tables, self.max_per_trigger = tables, cap
        self.readers: list[tuple[int, int, str]] = []

    def latest_offset(self) -> int:
        return len(self.tables)

    def read(self, start: int, end: int) -> pa.Table:
        self.readers.append((start, end, threading.current_thread().name))
        return pa.concat_tables([SCHEMA.empty_table(), *self.tables[start:end]])


def chunk(seconds: list[float], device: str = "a") -> pa.Table:
    return pa.table({"ts": [T0 + timedelta(seconds=s) for s in seconds], "device": [device] * len(seconds),
                     "temp": [float(s) for s in seconds]}, schema=SCHEMA)


# Event time moves on batch by batch; some rows arrive behind the watermark (dropped), some just in time.
CHUNKS = [chunk([1, 2, 12]), chunk([3, 14, 25], "b"), chunk([4, 9, 31]), chunk([22, 35, 41], "b"),
          chunk([18, 44, 52]), chunk([30, 47, 61], "b")]


def by_key(q) -> list[dict]:
    result = q.result
    return sorted(({"start": r["w"]["start"], **{k: r[k] for k in ("device", "n", "t")}}
                   for r in result.to_dict("records")), key=lambda r: (r["start"], r["device"]))


def test_a_backlog_of_capped_batches_is_aggregated_ahead_with_the_same_result():
    source = Chunks(CHUNKS)
    ahead = sn.start(WINDOWED, sources={"events": source}, output_mode="update", trigger="manual")
    ahead.process_all_available(timeout=30)
    one_by_one = sn.sources.memory(SCHEMA)
    plain = sn.start(WINDOWED, sources={"events": one_by_one}, output_mode="update", trigger="manual")
    for table in CHUNKS:
        one_by_one.add_data(table)
        plain.step()
    plain.process_all_available(timeout=30)  # and the no-data batch that evicts what the watermark passed

    assert by_key(ahead) == by_key(plain)
    dropped = [[o["numRowsDroppedByWatermark"] for o in p["stateOperators"]] for p in ahead.recent_progress]
    assert dropped == [[o["numRowsDroppedByWatermark"] for o in p["stateOperators"]]
                       for p in plain.recent_progress]
    assert sum(d for (d,) in dropped) > 0  # the watermark did drop rows, ahead of time too
    # batch 0 is read by the engine, every later one ahead, while the batch before it was merging
    assert [(start, end) for start, end, _ in source.readers] == [(i, i + 1) for i in range(len(CHUNKS))]
    assert [name.startswith("stream_nb-ahead") for _, _, name in source.readers] == [False] + [True] * 5
    ahead.stop()
    plain.stop()


def test_nothing_is_read_ahead_unless_a_whole_capped_batch_is_waiting():
    source = Chunks(CHUNKS[:3], cap=2)  # batches [0, 2) and then [2, 3): the second may still grow
    q = sn.start(WINDOWED, sources={"events": source}, output_mode="update", trigger="manual")
    q.process_all_available(timeout=30)
    assert [(start, end) for start, end, _ in source.readers] == [(0, 2), (2, 3)]
    assert not any(name.startswith("stream_nb-ahead") for _, _, name in source.readers)
    q.stop()


def test_a_source_that_does_not_say_it_may_be_read_concurrently_is_never_read_ahead():
    class Serial(Chunks):
        capabilities = frozenset({"max_per_trigger"})

    source = Serial(CHUNKS)
    q = sn.start(WINDOWED, sources={"events": source}, output_mode="update", trigger="manual")
    q.process_all_available(timeout=30)
    assert len(source.readers) == len(CHUNKS)
    assert not any(name.startswith("stream_nb-ahead") for _, _, name in source.readers)
    q.stop()


def test_a_bad_file_read_ahead_fails_its_own_batch_and_nothing_after(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, table in enumerate(CHUNKS[:3]):
        path = folder / f"part-{i}.parquet"
        pq.write_table(table, path)
        if i == 1:
            path.write_bytes(b"not parquet at all")
        os.utime(path, (1_700_000_000 + i,) * 2)  # the files source takes files oldest first
    source = sn.sources.files(folder, format="parquet", schema=SCHEMA, max_files_per_trigger=1)
    q = sn.start(WINDOWED, sources={"events": source}, output_mode="update", trigger="manual")
    q.step()  # batch 0 commits; batch 1's file is read ahead meanwhile, and fails there
    with pytest.raises(sn.StreamingQueryException, match=r"failed in batch 1: .*part-1\.parquet"):
        q.step()
    assert q.last_progress["batchId"] == 0
    assert sorted(q.result["n"].tolist()) == [1, 2]  # batch 0's windows: {1 s, 2 s} and {12 s}
