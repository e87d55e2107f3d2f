"""The Source protocol: what the engine needs of a stream.

An offset is an int that only grows: rows for memory, rate and sensors, files for the files source.
``read(start, end)`` must be deterministic — the same offsets give the same rows — so that a batch can be
replayed after a failure, which is what makes exactly-once possible.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pyarrow as pa


@runtime_checkable
class Source(Protocol):
    """A replayable stream of rows (see ``sources/memory.py`` for the smallest one).

    Optional attributes the engine reads when present:
    ``max_per_trigger`` (int | None): at most this many offsets in one batch;
    ``description`` (str): what Spark's progress calls the source's description;
    ``concurrent_reads`` (bool): ``read`` may run on another thread while ``latest_offset`` and
    ``checkpoint_log`` run; with ``max_per_trigger``, it lets the engine read the next batch ahead.

    Optional methods a checkpoint uses, so offsets mean the same rows after a restart:
    ``checkpoint_metadata() -> dict`` / ``restore_checkpoint_metadata(dict)``: fixed facts (a start time);
    ``checkpoint_log(start, end) -> list[str]`` / ``restore_checkpoint_log(list)``: what offsets stood for
    (the files source's files).

    Optional method a query calls when it stops: ``close()`` ends what the source runs for it (the files
    source's read-ahead thread). A source may serve several queries, and other queries go on reading it, so
    ``close`` must leave it readable (starting its threads again if a read needs them).
    """

    schema: pa.Schema

    def latest_offset(self) -> int:
        """The end offset of everything available now (exclusive)."""
        ...

    def read(self, start: int, end: int) -> pa.Table:
        """The rows between two offsets, ``start`` inclusive and ``end`` exclusive, with exactly ``schema``."""
        ...
