"""The offset log and the commit log, in Spark's layout and format, readable with ``cat``.

``offsets/N`` is written before batch N runs: which offsets it reads and the watermark it runs with.
``commits/N`` is written once its sink has committed: the watermark for the next batch. On a restart,
a batch with offsets but no commit is run again with the same offsets.

    $ cat checkpoint/offsets/3
    v1
    {"batchTimestampMs": 1767225600000, "batchWatermarkMs": 7000, "batchWatermarkUs": 7000000}
    {"endOffset": 400, "startOffset": 300}
    crc32 61e59fca

The last line is the checksum of the lines before it (``files.seal``); logs written without one still read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stream_nb.checkpoint.files import CheckpointError, numbered, read_text, seal, write_atomically

VERSION = "v1"


@dataclass(frozen=True)
class OffsetEntry:
    batch_id: int
    start: int
    end: int
    watermark_us: int


def write_offsets(directory: Path, entry: OffsetEntry, timestamp_ms: int) -> None:
    meta = {"batchWatermarkMs": entry.watermark_us // 1000, "batchWatermarkUs": entry.watermark_us,
            "batchTimestampMs": timestamp_ms}
    _write(directory / "offsets" / str(entry.batch_id), [meta, {"startOffset": entry.start, "endOffset": entry.end}])


def read_offsets(directory: Path, batch_id: int) -> OffsetEntry:
    path = directory / "offsets" / str(batch_id)
    meta, offsets = _read(path, lines=2)
    try:
        return OffsetEntry(batch_id, int(offsets["startOffset"]), int(offsets["endOffset"]),
                           int(meta["batchWatermarkUs"]))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"offset log {path} is corrupt (missing or bad field: {err})") from None


def write_commit(directory: Path, batch_id: int, next_watermark_us: int) -> None:
    _write(directory / "commits" / str(batch_id),
           [{"nextBatchWatermarkMs": next_watermark_us // 1000, "nextBatchWatermarkUs": next_watermark_us}])


def read_commit(directory: Path, batch_id: int) -> int:
    """The watermark the batch after ``batch_id`` runs with."""
    path = directory / "commits" / str(batch_id)
    (meta,) = _read(path, lines=1)
    try:
        return int(meta["nextBatchWatermarkUs"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"commit log {path} is corrupt (missing or bad field: {err})") from None


def batches(directory: Path, log: str) -> list[int]:
    return numbered(directory / log)


def purge(directory: Path, keep_from: int, first: int | None = None) -> int:
    """Forget log entries of batches before ``keep_from`` (retention). ``first``: what the last purge
    returned (no entry before it is left), which spares listing the logs; returns the same for the next."""
    for log in ("offsets", "commits"):
        for batch_id in batches(directory, log) if first is None else range(first, keep_from):
            if batch_id < keep_from:
                (directory / log / str(batch_id)).unlink(missing_ok=True)
    return max(keep_from, 0 if first is None else first)


def _write(path: Path, lines: list[dict]) -> None:
    text = "\n".join([VERSION, *(json.dumps(line, sort_keys=True) for line in lines)]) + "\n"
    write_atomically(path, seal(text))


def _read(path: Path, lines: int) -> list[dict]:
    text = read_text(path, "checkpoint log")
    parts = text.splitlines()
    if not parts or parts[0] != VERSION:
        raise CheckpointError(f"checkpoint log {path} is corrupt or from another version: it should start "
                              f"with {VERSION!r}, found {parts[0][:40]!r}" if parts else
                              f"checkpoint log {path} is empty (a torn write?)")
    if len(parts) < lines + 1:
        raise CheckpointError(f"checkpoint log {path} is truncated: {len(parts) - 1} of {lines} lines")
    try:
        return [json.loads(line) for line in parts[1:lines + 1]]
    except json.JSONDecodeError as err:
        raise CheckpointError(f"checkpoint log {path} is corrupt: {err}") from None
