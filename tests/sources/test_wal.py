"""The write-ahead log under the MQTT source: positions that only grow, durable once synced, read back the
same after a reopen, a torn last record cut off, corruption elsewhere refused naming the file, committed
segments deleted whole."""

import pytest

from stream_nb.checkpoint.files import CheckpointError
from stream_nb.sources.wal import MemoryLog, WriteAheadLog


def filled(directory, count, segment_records=4):
    log = WriteAheadLog(directory, segment_records=segment_records)
    for i in range(count):
        assert log.append(f"record {i}".encode()) == i
    return log


def test_records_are_read_back_by_position_across_segments_once_synced(tmp_path):
    log = filled(tmp_path, 10)
    assert log.durable == 0  # written, not yet synced: no offset may be planned over them
    assert log.sync() == 10
    assert log.read(3, 9) == [f"record {i}".encode() for i in range(3, 9)]
    assert len(list(tmp_path.glob("*.wal"))) == 3
    with pytest.raises(ValueError, match=r"cannot read positions \[8, 11\); it holds \[0, 10\)"):
        log.read(8, 11)


def test_a_reopened_log_reads_the_same_records_and_appends_after_them(tmp_path):
    filled(tmp_path, 6).close()
    log = WriteAheadLog(tmp_path, segment_records=4)
    assert (log.end, log.durable) == (6, 6)
    assert log.append(b"next") == 6
    log.sync()
    assert log.read(4, 7) == [b"record 4", b"record 5", b"next"]


def test_a_torn_last_record_from_a_crash_is_cut_off(tmp_path):
    filled(tmp_path, 6).close()
    last = max(tmp_path.glob("*.wal"))
    last.write_bytes(last.read_bytes()[:-3])  # the last append, cut short
    log = WriteAheadLog(tmp_path, segment_records=4)
    assert log.end == 5
    assert log.read(0, 5)[-1] == b"record 4"
    assert log.append(b"again") == 5


def test_a_corrupt_record_before_the_last_file_is_refused_naming_the_file(tmp_path):
    filled(tmp_path, 10).close()
    first = min(tmp_path.glob("*.wal"))
    data = bytearray(first.read_bytes())
    data[-2] ^= 0xFF  # a flipped byte in a record that was synced long ago
    first.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f"write-ahead log file {first} is corrupt at byte"):
        WriteAheadLog(tmp_path, segment_records=4)


def test_a_missing_segment_is_refused_as_a_gap(tmp_path):
    filled(tmp_path, 10).close()
    sorted(tmp_path.glob("*.wal"))[1].unlink()
    with pytest.raises(CheckpointError, match="has a gap: .* ends at position 4 but the next file is"):
        WriteAheadLog(tmp_path, segment_records=4)


def test_delete_before_removes_whole_committed_segments_but_never_the_last(tmp_path):
    log = filled(tmp_path, 10)
    log.sync()
    log.delete_before(9)
    assert log.start == 8  # segments [0, 4) and [4, 8) went; [8, 10) holds position 9
    with pytest.raises(ValueError, match="positions before 8 were deleted once committed"):
        log.read(7, 9)
    log.delete_before(100)
    assert log.read(8, 10) == [b"record 8", b"record 9"]  # the segment being written stays
    log.close()
    assert WriteAheadLog(tmp_path, segment_records=4).start == 8


def test_the_memory_log_has_the_same_positions():
    log = MemoryLog()
    assert [log.append(bytes([i])) for i in range(5)] == [0, 1, 2, 3, 4]
    log.delete_before(3)
    assert (log.start, log.durable, log.read(3, 5)) == (3, 5, [b"\x03", b"\x04"])
