"""Checkpoint files: a state file built in one pass carries the CRC of its bytes; several files written together
are all in place, and nothing temporary is left, on return."""

import os
import zlib

import pyarrow as pa
import pytest
from pyarrow import ipc

from stream_nb.checkpoint import files


def footer_checksum(data: bytes) -> tuple[bytes, str]:
    """The checksum an Arrow file's footer holds, and the CRC of the bytes before its footer."""
    reader = ipc.open_file(pa.py_buffer(data))
    return reader.metadata[files.FOOTER_CHECKSUM], f"{zlib.crc32(data[:files._footer_start(data)]):08x}"


def two_pass(table: pa.Table) -> bytes:
    """The file as built before the placeholder: once to find the CRC, again with it in the footer."""
    unsealed = files._ipc_file(table).to_pybytes()
    crc = f"{zlib.crc32(unsealed[:files._footer_start(unsealed)]):08x}".encode()
    return files._ipc_file(table, {files.FOOTER_CHECKSUM: crc}).to_pybytes()


TABLE = pa.table({"device": ["a", "b", None], "n": pa.array([1, 2, 3], pa.int64()), "x": [0.5, -0.0, float("nan")]})


@pytest.mark.parametrize("table", [TABLE, TABLE.slice(0, 0), pa.table({"\0" * 8: [1, 2]})],
                         ids=["rows", "no rows", "a column named like the placeholder"])
def test_a_state_file_built_once_holds_the_crc_of_its_bytes_and_reads_back(table, tmp_path):
    data = bytes(files.table_file(table))
    stored, crc = footer_checksum(data)
    assert stored == crc.encode()
    assert data == two_pass(table)  # byte for byte what two builds give
    files.write_table(tmp_path / "1.delta", table)
    read = files.read_table(tmp_path / "1.delta")
    assert read.schema == table.schema and repr(read.to_pydict()) == repr(table.to_pydict())  # NaN, -0.0 kept


def test_a_flipped_byte_before_the_footer_is_found(tmp_path):
    data = bytearray(files.table_file(TABLE))
    data[8] ^= 0x01
    (tmp_path / "1.delta").write_bytes(bytes(data))
    with pytest.raises(files.CheckpointError, match="1.delta is corrupt: its content does not match its checksum"):
        files.read_table(tmp_path / "1.delta")


def test_files_written_together_are_all_in_place_in_their_order_and_nothing_temporary_is_left(tmp_path):
    renamed = []
    targets = [(tmp_path / "state" / "2.delta", b"state"), (tmp_path / "commits" / "1", b"commit")]
    files.write_together(targets, lambda index: renamed.append(sorted(  # the files in place, temporaries aside
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file() and p.name[0] != ".")))
    assert renamed == [["state/2.delta"], ["commits/1", "state/2.delta"]]  # renamed in one after the other
    assert [path.read_bytes() for path, _ in targets] == [b"state", b"commit"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["1", "2.delta", "commits", "state"]


def test_a_failed_write_names_its_file_and_leaves_no_temporary_file(tmp_path):
    (tmp_path / "commits").write_text("a file where the directory should be")
    with pytest.raises(OSError, match="commits/1"):
        files.write_together([(tmp_path / "state" / "2.delta", b"state"), (tmp_path / "commits" / "1", b"x")])
    assert not (tmp_path / "state" / "2.delta").exists()
    assert [p.name for p in (tmp_path / "state").iterdir()] == []


def test_files_being_written_are_in_place_only_once_finished_and_their_directories_are_named(tmp_path):
    targets = [(tmp_path / "state" / "2.delta", b"state"), (tmp_path / "commits" / "1", b"commit")]
    writing = files.Writing(targets)  # written, their fsyncs under way: none renamed in yet
    assert not any(path.exists() for path, _ in targets)
    assert len([p for p in tmp_path.rglob("*.tmp")]) == 2
    directories = writing.finish()
    assert [path.read_bytes() for path, _ in targets] == [b"state", b"commit"]
    assert directories == [tmp_path / "state" / "2.delta", tmp_path / "commits" / "1"]  # a file in each
    files.sync_directories(directories)
    assert not list(tmp_path.rglob("*.tmp"))


def test_abandoned_files_leave_nothing_behind(tmp_path):
    (tmp_path / "commits").mkdir()
    (tmp_path / "commits" / "0").write_bytes(b"the commit before")
    writing = files.Writing([(tmp_path / "commits" / "0", b"never"), (tmp_path / "commits" / "1", b"never")])
    writing.abandon()
    assert sorted(p.name for p in (tmp_path / "commits").iterdir()) == ["0"]
    assert (tmp_path / "commits" / "0").read_bytes() == b"the commit before"


def test_a_file_written_over_a_leftover_temporary_file_of_the_same_name_is_whole(tmp_path):
    # a process killed mid-write leaves its temporary file; one of the same name (pid and thread) is reused
    files.write_atomically(tmp_path / "1", b"first")
    leftover = files._create(tmp_path / "2")
    os.write(leftover[1], b"a torn write, much longer than what follows")
    os.close(leftover[1])
    files.write_atomically(tmp_path / "2", b"second")
    assert (tmp_path / "2").read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2"]


def test_a_state_file_sealed_as_it_is_written_holds_the_crc_of_its_bytes(tmp_path):
    files.write_together([(tmp_path / "state" / "1.delta", files.state_file(TABLE)), (tmp_path / "commits" / "0", b"c")])
    data = (tmp_path / "state" / "1.delta").read_bytes()
    stored, crc = footer_checksum(data)
    assert stored == crc.encode() and data == two_pass(TABLE)
    read = files.read_table(tmp_path / "state" / "1.delta")
    assert repr(read.to_pydict()) == repr(TABLE.to_pydict())
