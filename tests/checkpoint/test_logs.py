"""The offset and commit logs: one line per input in the plan's order of inputs, and a query with one input
writes exactly what it always wrote, so a checkpoint from before queries had several inputs restores."""

import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as pa_ipc

import stream_nb as sn

FIXTURES = Path(__file__).parent / "fixtures"
START = 1767225600.0  # 2026-01-01T00:00:00Z, where the fixture's sensors start
# The query that wrote fixtures/single_input_v1 (see make_single_input_v1.py, which wrote it).
SQL = ("SELECT window(ts, '10 seconds') AS w, device, count(*) AS n FROM sensors "
       "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '10 seconds'), device")


def sensors(now: list[float]):
    return sn.sources.sensors(devices=2, rows_per_second=1, seed=7, start_time="2026-01-01T00:00:00",
                              clock=lambda: now[0])


def lines(path: Path) -> list:
    """A log's lines, the offset log's batch timestamp (wall clock) left out, without its checksum line."""
    parsed = [line if i == 0 else json.loads(line) for i, line in enumerate(path.read_text().splitlines()[:-1])]
    if isinstance(parsed[1], dict):
        parsed[1].pop("batchTimestampMs", None)
    return parsed


def ordered(result):
    return result.sort_values(["w", "device"], key=lambda c: c.map(str)).reset_index(drop=True)


def test_a_checkpoint_written_before_queries_had_several_inputs_restores_and_redoes_its_batch(tmp_path):
    checkpoint = tmp_path / "cp"
    shutil.copytree(FIXTURES / "single_input_v1", checkpoint)
    now = [START + 40]
    q = sn.start(SQL, sources={"sensors": sensors(now)}, trigger="manual", checkpoint=str(checkpoint))
    redo = q.step()  # batch 2 was planned, not committed: run again with its logged offsets and watermark
    assert (redo["batchId"], redo["sources"][0]["startOffset"], redo["sources"][0]["endOffset"]) == (2, 20, 30)
    assert redo["eventTime"]["watermark"] == "2026-01-01T00:00:14.000Z"
    after = q.step()
    assert (after["batchId"], after["sources"][0]["startOffset"], after["sources"][0]["endOffset"]) == (3, 30, 40)
    restored = ordered(q.result)
    q.stop()
    once = sn.start(SQL, sources={"sensors": sensors(now)}, trigger="manual")
    once.step()  # the same 40 rows in one batch, without a checkpoint
    assert restored.equals(ordered(once.result)) and restored["n"].sum() == 40
    once.stop()
    assert lines(checkpoint / "offsets" / "3")[2] == {"startOffset": 30, "endOffset": 40}


def test_a_query_with_one_input_writes_its_logs_and_state_as_before(tmp_path):
    checkpoint = tmp_path / "cp"
    now = [START + 10]
    q = sn.start(SQL, sources={"sensors": sensors(now)}, trigger="manual", checkpoint=str(checkpoint))
    q.step()
    now[0] = START + 20
    q.step()
    q.stop()
    old = FIXTURES / "single_input_v1"
    for log in ("offsets/0", "offsets/1"):
        assert lines(checkpoint / log) == lines(old / log)
        written = re.sub(r'"batchTimestampMs": \d+', "T", (checkpoint / log).read_text().rsplit("crc32", 1)[0])
        assert written == re.sub(r'"batchTimestampMs": \d+', "T", (old / log).read_text().rsplit("crc32", 1)[0])
    for same in ("commits/0", "commits/1", "sources/0/metadata"):
        assert (checkpoint / same).read_bytes() == (old / same).read_bytes()
    for delta in ("1.delta", "2.delta"):
        new, before = (pa_ipc.open_file(d / "state" / "0" / delta).read_all() for d in (checkpoint, old))
        assert new.equals(before)
    metadata, before = (json.loads((d / "metadata").read_text().rsplit("crc32", 1)[0]) for d in (checkpoint, old))
    assert metadata["query"] == before["query"]


class Numbers:
    """A source of its own (the Source protocol), whose offsets Spark would write per partition."""

    schema = pa.schema([("n", pa.int64())])
    capabilities = frozenset({"spark_offsets"})
    description = "Numbers"

    def __init__(self):
        self.end = 0

    def latest_offset(self):
        return self.end

    def read(self, start, end):
        return pa.table({"n": list(range(start, end))})

    def spark_offset(self, end):
        return {"numbers": {"0": end}}


def test_a_source_with_spark_offsets_has_them_beside_its_offsets_in_its_line(tmp_path):
    numbers = Numbers()
    q = sn.start("SELECT n FROM numbers", sources={"numbers": numbers}, trigger="manual",
                 checkpoint=str(tmp_path / "cp"))
    numbers.end = 3
    q.step()
    q.stop()
    assert lines(tmp_path / "cp" / "offsets" / "0")[2] == {"startOffset": 0, "endOffset": 3,
                                                            "sparkOffset": {"numbers": {"0": 3}}}
