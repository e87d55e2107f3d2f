"""The writer behind Spark's foreachBatch: a batch written once, and the result of update and complete mode kept
beside Spark's checkpoint files so that q.result is back after a restart, before the next batch (no JVM here:
the writer takes Arrow tables as the feed hands them over Spark Connect)."""

from __future__ import annotations

import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.checkpoint.files import CheckpointError
from stream_nb.sinks._protocol import sink_traits
from stream_nb.spark.sinks import RESULT_DIR, BatchWriter

SCHEMA = pa.schema([("device", pa.string()), ("n", pa.int64())])


def writer(sink, mode, checkpoint, schema=SCHEMA):
    w = BatchWriter(sink, sink_traits(sink), schema, mode, ["device"], str(checkpoint))
    w.open("query-id")
    return w


def counts(**n):
    return pa.table({"device": list(n), "n": list(n.values())}, schema=SCHEMA)


def test_an_update_result_is_back_after_a_restart_before_the_next_batch(tmp_path):
    first = writer(sn.sinks.memory(), "update", tmp_path)
    first.write_table(counts(a=1, b=1), 0)
    first.write_table(counts(a=2), 1)
    first.close()

    again = sn.sinks.memory()
    restarted = writer(again, "update", tmp_path)
    assert restarted.restore() == 1
    assert sorted(again.result.itertuples(index=False, name=None)) == [("a", 2), ("b", 1)]
    restarted.write_table(counts(a=2), 1)      # Spark runs again a batch it had not committed: no change
    restarted.write_table(counts(b=5), 2)
    assert sorted(again.result.itertuples(index=False, name=None)) == [("a", 2), ("b", 5)]
    assert [p.name for p in (tmp_path / RESULT_DIR).iterdir()] == ["2.arrow"]   # the last batch's only


def test_a_complete_result_is_back_after_a_restart(tmp_path):
    first = writer(sn.sinks.memory(), "complete", tmp_path)
    first.write_table(counts(a=1, b=3), 0)
    again = sn.sinks.memory()
    assert writer(again, "complete", tmp_path).restore() == 0
    assert again.table().equals(counts(a=1, b=3))


def test_an_append_result_is_not_kept(tmp_path):
    first = writer(sn.sinks.memory(), "append", tmp_path)
    first.write_table(counts(a=1), 0)
    assert not (tmp_path / RESULT_DIR).exists()
    assert writer(sn.sinks.memory(), "append", tmp_path).restore() is None


def test_a_checkpoint_kept_for_other_columns_is_refused_by_name(tmp_path):
    writer(sn.sinks.memory(), "complete", tmp_path).write_table(counts(a=1), 0)
    other = pa.schema([("site", pa.string()), ("total", pa.float64())])
    with pytest.raises(CheckpointError, match=r"0\.arrow keeps a result of columns \['device', 'n'\].*another "
                                              r"query's"):
        writer(sn.sinks.memory(), "complete", tmp_path, other).restore()
