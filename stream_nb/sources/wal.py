"""A write-ahead log: records appended to segment files, each durable once ``sync`` has returned.

A record's position is its number (0, 1, 2, ...), an offset that only grows, so a batch planned as positions
``[start, end)`` reads back exactly the same records after a crash (Spark's receiver write-ahead log). Segment
files are named by their first position (``00000000000000000000.wal``); each record is framed as
``<length u32><crc32 u32><bytes>``. A log cannot be written atomically as the other checkpoint files are
(``checkpoint/files.py``): it is appended to and fsynced, and a record that a crash cut short (only ever
the last one, never synced, so never acknowledged nor planned) is cut off when the log is opened again.

>>> import tempfile
>>> log = WriteAheadLog(Path(tempfile.mkdtemp()))
>>> log.append(b"first"), log.append(b"second"), log.sync()
(0, 1, 2)
>>> log.read(1, 2)
[b'second']
>>> log.close()
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from stream_nb.checkpoint.files import CheckpointError

_FRAME = struct.Struct("<II")  # length, crc32
SEGMENT_RECORDS = 10_000       # records per segment file: committed segments are deleted whole
SEGMENT_BYTES = 64 << 20
SUFFIX = ".wal"


@dataclass
class _Segment:
    first: int                                   # position of its first record
    path: Path
    starts: list[int] = field(default_factory=list)  # byte offset of each record
    size: int = 0                                # bytes of whole records

    @property
    def end(self) -> int:
        return self.first + len(self.starts)


class WriteAheadLog:
    """Records in ``directory``; ``append`` from one thread, ``sync``, ``read`` and ``commit`` from any."""

    def __init__(self, directory: Path, *, segment_records: int | None = None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segment_records = segment_records or SEGMENT_RECORDS
        self._lock = threading.Lock()
        self._segments = self._open_segments()
        if self._segments:  # records a killed process wrote are in the OS's cache: on disk before they count
            _fsync(self._segments[-1].path)
        self._durable = self.end
        self._fd: int | None = None
        self._dirty = False

    # -- writing ---------------------------------------------------------------------------------------

    def append(self, record: bytes) -> int:
        """Write one record (not yet durable); its position."""
        frame = _FRAME.pack(len(record), zlib.crc32(record)) + record
        with self._lock:
            last = self._segments[-1] if self._segments else None
            if last is None or len(last.starts) >= self._segment_records or last.size >= SEGMENT_BYTES:
                last = self._new_segment(last.end if last else 0)
            elif self._fd is None:  # the last segment of a log opened again: appended to
                self._fd = os.open(last.path, os.O_WRONLY | os.O_APPEND)
            os.write(self._fd, frame)  # one write per record: a crash cuts at most the last one
            last.starts.append(last.size)
            last.size += len(frame)
            self._dirty = True
            return last.end - 1

    def sync(self) -> int:
        """Make every appended record durable (fsync); the end of the durable records."""
        with self._lock:
            end, fd, dirty = self.end, self._fd, self._dirty
            self._dirty = False
        if dirty and fd is not None:
            os.fdatasync(fd)
        with self._lock:
            self._durable = max(self._durable, end)
            return self._durable

    @property
    def end(self) -> int:
        """The position after the last record appended."""
        return self._segments[-1].end if self._segments else self.start

    @property
    def durable(self) -> int:
        """The position after the last record known to be on disk."""
        return self._durable

    def _new_segment(self, first: int) -> _Segment:
        if self._fd is not None:
            os.fdatasync(self._fd)  # the old segment whole before records follow in the new one
            os.close(self._fd)
        segment = _Segment(first, self.directory / f"{first:020d}{SUFFIX}")
        self._fd = os.open(segment.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        _fsync(self.directory)  # the new file's name is durable too
        self._segments.append(segment)
        return segment

    # -- reading ---------------------------------------------------------------------------------------

    def read(self, start: int, end: int) -> list[bytes]:
        """The records at positions ``[start, end)``; they must be durable and not yet deleted."""
        with self._lock:
            if not 0 <= start <= end <= self._durable:
                raise ValueError(f"write-ahead log {self.directory}: cannot read positions [{start}, {end}); "
                                 f"it holds [{self.start}, {self._durable})")
            if start < self.start:
                raise ValueError(f"write-ahead log {self.directory}: positions before {self.start} were "
                                 f"deleted once committed; cannot read [{start}, {end})")
            pieces = [(s, s.starts[max(start, s.first) - s.first],
                       s.starts[min(end, s.end) - s.first] if end < s.end else s.size,
                       min(end, s.end) - max(start, s.first))
                      for s in self._segments if s.first < end and s.end > start]
        records: list[bytes] = []
        for segment, low, high, count in pieces:
            with open(segment.path, "rb") as handle:
                handle.seek(low)
                data = handle.read(high - low)
            records.extend(_records(data, segment.path, low, count))
        return records

    @property
    def start(self) -> int:
        """The position of the first record kept (those before were committed and deleted)."""
        return self._segments[0].first if self._segments else 0

    # -- letting go ------------------------------------------------------------------------------------

    def delete_before(self, position: int) -> None:
        """Delete the segments whose records all lie before ``position`` (never the one being written)."""
        with self._lock:
            while len(self._segments) > 1 and self._segments[0].end <= position:
                segment = self._segments.pop(0)
                segment.path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                if self._dirty:
                    os.fdatasync(self._fd)
                os.close(self._fd)
                self._fd = None

    # -- opening ---------------------------------------------------------------------------------------

    def _open_segments(self) -> list[_Segment]:
        """The segments on disk, each record checked; a torn last record (a crash mid-append) is cut off."""
        paths = sorted(p for p in self.directory.iterdir() if p.name.endswith(SUFFIX) and p.name[:-4].isdigit())
        segments = []
        for i, path in enumerate(paths):
            segment = _Segment(int(path.name[:-4]), path)
            if segments and segment.first != segments[-1].end:
                raise CheckpointError(
                    f"write-ahead log {self.directory} has a gap: {segments[-1].path.name} ends at position "
                    f"{segments[-1].end} but the next file is {path.name}; records are missing (restore them "
                    "from a backup, or start over with a new checkpoint directory)")
            data = path.read_bytes()
            good = _scan(data, segment)
            if good < len(data):
                if i < len(paths) - 1:
                    raise CheckpointError(
                        f"write-ahead log file {path} is corrupt at byte {good} (record {segment.end}): only the "
                        "last file's last record can be cut short by a crash. Restore it from a backup, or start "
                        "over with a new checkpoint directory")
                os.truncate(path, good)  # a torn append: never synced, so never acknowledged nor planned
            segments.append(segment)
        return segments


class MemoryLog:
    """The same interface in memory, for a query without a checkpoint: nothing survives the process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._records: list[bytes] = []
        self._first = 0  # position of _records[0]

    def append(self, record: bytes) -> int:
        with self._lock:
            self._records.append(record)
            return self._first + len(self._records) - 1

    def sync(self) -> int:
        return self.end

    @property
    def start(self) -> int:
        return self._first

    @property
    def end(self) -> int:
        return self._first + len(self._records)

    durable = end

    def read(self, start: int, end: int) -> list[bytes]:
        with self._lock:
            if not self._first <= start <= end <= self._first + len(self._records):
                raise ValueError(f"cannot read positions [{start}, {end}); the buffer holds "
                                 f"[{self._first}, {self._first + len(self._records)})")
            return self._records[start - self._first: end - self._first]

    def delete_before(self, position: int) -> None:
        with self._lock:
            drop = max(0, min(position - self._first, len(self._records)))
            del self._records[:drop]
            self._first += drop

    def close(self) -> None:
        pass


def _scan(data: bytes, segment: _Segment) -> int:
    """Index the whole records of ``data`` into ``segment``; the byte where they stop."""
    at = 0
    while at + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, at)
        body = data[at + _FRAME.size: at + _FRAME.size + length]
        if len(body) < length or zlib.crc32(body) != crc:
            break
        segment.starts.append(at)
        at += _FRAME.size + length
    segment.size = at
    return at


def _records(data: bytes, path: Path, offset: int, count: int) -> list[bytes]:
    records, at = [], 0
    for _ in range(count):
        length, crc = _FRAME.unpack_from(data, at)
        body = data[at + _FRAME.size: at + _FRAME.size + length]
        if len(body) < length or zlib.crc32(body) != crc:
            raise CheckpointError(f"write-ahead log file {path} is corrupt at byte {offset + at}: a record's "
                                  "checksum does not match; restore it from a backup, or start over with a new "
                                  "checkpoint directory")
        records.append(body)
        at += _FRAME.size + length
    return records


def _fsync(path: Path) -> None:
    """fsync a file, or a directory (so that a file made or removed in it stays so)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
