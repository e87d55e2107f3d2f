"""Versioned operator state on disk: ``state/<operator>/<version>.delta`` and ``<version>.snapshot``.

Version v is the state after batch v - 1 committed. A delta holds the rows a batch changed, and the
watermark through which it evicted keys (schema metadata, written and read by ``engine/watermark.py``; checkpoints
written before 2026-11-24 list the evicted keys instead, flagged ``__removed``, and still restore), so
checkpointing costs what the batch changed; every ``snapshot_every``
versions a snapshot holds every row, so a restore reads one snapshot and at most that many deltas. Files are
Arrow IPC (never pickle), written atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from stream_nb.checkpoint.files import (
    CheckpointError,
    Unsealed,
    numbered,
    read_table,
    state_file,
    write_atomically,
)

REMOVED = "__removed"  # older deltas: rows that delete their key


class StateStore:
    def __init__(self, directory: Path, snapshot_every: int = 10):
        self.directory = directory
        self.snapshot_every = snapshot_every
        self._purged = False  # purged once: after that only a new snapshot makes files obsolete

    def write(self, version: int, changes: Callable[[], pa.Table], everything: Callable[[], pa.Table]) -> None:
        """Store version ``version``: a snapshot every ``snapshot_every`` versions, else a delta."""
        write_atomically(*self.file(version, changes, everything))

    def file(self, version: int, changes: Callable[[], pa.Table],
             everything: Callable[[], pa.Table]) -> tuple[Path, Unsealed | memoryview]:
        """Where version ``version`` goes and its bytes (``write`` writes them; their checksum is computed as
        they are written: ``files.state_file``)."""
        if version % self.snapshot_every == 0:
            return self._path(version, "snapshot"), state_file(everything())
        return self._path(version, "delta"), state_file(changes())

    def has(self, version: int) -> bool:
        """Whether version ``version`` is on disk (as a delta or a snapshot)."""
        return self._path(version, "delta").exists() or self._path(version, "snapshot").exists()

    def read(self, version: int) -> list[pa.Table]:
        """The tables to apply, in order, to rebuild version ``version``: a snapshot (or nothing, from
        version 0), then the deltas after it."""
        if version == 0:
            return []
        snapshots = [v for v in numbered(self.directory, ".snapshot") if v <= version]
        base = snapshots[-1] if snapshots else 0
        tables = [read_table(self._path(base, "snapshot"))] if snapshots else []
        for v in range(base + 1, version + 1):
            path = self._path(v, "delta")
            if not path.exists():
                # deltas before the latest snapshot are purged: a missing early one means the snapshot went
                found = f"from snapshot {base}" if snapshots else "with no snapshot at or before it"
                raise CheckpointError(f"state file {path} is missing: the checkpoint cannot restore "
                                      f"version {version} of {self.directory} ({found}, so every delta "
                                      f"from version {base + 1} is needed; a lost snapshot leaves the same "
                                      "gap); use a new checkpoint directory")
            tables.append(read_table(path))
        return tables

    def purge(self, committed: int) -> None:
        """Delete files no restore of ``committed`` (or later) needs: those before its latest snapshot."""
        if self._purged and committed % self.snapshot_every:
            return  # no snapshot since the last purge: nothing became obsolete
        self._purged = True
        snapshots = [v for v in numbered(self.directory, ".snapshot") if v <= committed]
        if not snapshots:
            return
        for kind in ("delta", "snapshot"):
            for v in numbered(self.directory, f".{kind}"):
                if v < snapshots[-1]:
                    self._path(v, kind).unlink(missing_ok=True)

    def _path(self, version: int, kind: str) -> Path:
        return self.directory / f"{version}.{kind}"
