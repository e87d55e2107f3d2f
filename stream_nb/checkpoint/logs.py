"""The offset log and the commit log, in Spark's layout and format, readable with ``cat``.

``offsets/N`` is written before batch N runs: the watermark it runs with, then one line per input (in the
plan's order of inputs) with the offsets it reads. ``commits/N`` is written once its sink has committed: the
watermark for the next batch (and each input's, for a query with several). On a restart, a batch with
offsets but no commit is run again with the same offsets.

    $ cat checkpoint/offsets/3
    v1
    {"batchTimestampMs": 1767225600000, "batchWatermarkMs": 7000, "batchWatermarkUs": 7000000}
    {"endOffset": 400, "startOffset": 300}
    crc32 61e59fca

The last line is the checksum of the lines before it (``files.seal``); logs written without one still read.
A source that declares ``spark_offsets`` has its offset as Spark writes it beside, under ``sparkOffset``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stream_nb.checkpoint.files import CheckpointError, numbered, read_text, seal, write_atomically

VERSION = "v1"


@dataclass(frozen=True)
class OffsetEntry:
    """One batch's offsets: ``ranges[i]`` is input i's ``(start, end)``, in the plan's order of inputs."""

    batch_id: int
    ranges: tuple[tuple[int, int], ...]
    watermark_us: int
    spark_offsets: tuple[dict | None, ...] = ()  # per input: Spark's form of its end offset, if it has one

    @property
    def start(self) -> int:
        """The start offset of a query's only input."""
        return self._only[0]

    @property
    def end(self) -> int:
        """The end offset of a query's only input."""
        return self._only[1]

    @property
    def _only(self) -> tuple[int, int]:
        if len(self.ranges) != 1:
            raise ValueError(f"batch {self.batch_id} reads {len(self.ranges)} inputs: ask ranges, not start/end")
        return self.ranges[0]


def write_offsets(directory: Path, entry: OffsetEntry, timestamp_ms: int) -> None:
    meta = {"batchWatermarkMs": entry.watermark_us // 1000, "batchWatermarkUs": entry.watermark_us,
            "batchTimestampMs": timestamp_ms}
    lines = []
    for i, (start, end) in enumerate(entry.ranges):
        line = {"startOffset": start, "endOffset": end}
        spark = entry.spark_offsets[i] if i < len(entry.spark_offsets) else None
        if spark is not None:
            line["sparkOffset"] = spark
        lines.append(line)
    _write(directory / "offsets" / str(entry.batch_id), [meta, *lines])


def read_offsets(directory: Path, batch_id: int, inputs: int = 1) -> OffsetEntry:
    """Batch ``batch_id``'s offsets, for a query with ``inputs`` inputs."""
    path = directory / "offsets" / str(batch_id)
    meta, *offsets = _read(path, lines=1 + inputs)
    try:
        return OffsetEntry(batch_id, tuple((int(o["startOffset"]), int(o["endOffset"])) for o in offsets),
                           int(meta["batchWatermarkUs"]), tuple(o.get("sparkOffset") for o in offsets))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"offset log {path} is corrupt (missing or bad field: {err})") from None


def write_commit(directory: Path, batch_id: int, next_watermark_us: int,
                 input_watermarks_us: dict[str, int | None] | None = None) -> None:
    """``input_watermarks_us``: each input's watermark, for a query with several (one input's is the query's)."""
    write_atomically(*commit_file(directory, batch_id, next_watermark_us, input_watermarks_us))


def commit_file(directory: Path, batch_id: int, next_watermark_us: int,
                input_watermarks_us: dict[str, int | None] | None = None) -> tuple[Path, bytes]:
    """Where ``commits/N`` goes and what it holds (``write_commit`` writes it)."""
    meta = {"nextBatchWatermarkMs": next_watermark_us // 1000, "nextBatchWatermarkUs": next_watermark_us}
    if input_watermarks_us is not None:
        meta["inputWatermarksUs"] = input_watermarks_us
    return directory / "commits" / str(batch_id), _sealed([meta])


def read_commit(directory: Path, batch_id: int) -> tuple[int, dict[str, int | None] | None]:
    """The watermark the batch after ``batch_id`` runs with, and each input's if the log keeps them."""
    path = directory / "commits" / str(batch_id)
    (meta,) = _read(path, lines=1)
    try:
        inputs = meta.get("inputWatermarksUs")
        if inputs is not None:
            inputs = {str(name): None if us is None else int(us) for name, us in inputs.items()}
        return int(meta["nextBatchWatermarkUs"]), inputs
    except (KeyError, TypeError, ValueError, AttributeError) as err:
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
    write_atomically(path, _sealed(lines))


def _sealed(lines: list[dict]) -> bytes:
    return seal("\n".join([VERSION, *(json.dumps(line, sort_keys=True) for line in lines)]) + "\n")


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
