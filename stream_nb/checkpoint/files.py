"""The one place checkpoint files are written and read: atomically, and with errors that name the file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: corrupt, incompatible, or in use. The message names the file."""


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never a part:
    a temporary file in the same directory, fsync, rename over, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_json(path: Path, value: Any) -> None:
    write_atomically(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"checkpoint file {path} is corrupt (not valid JSON: {err}); "
                              "restore it from a backup or start over with a new checkpoint directory") from None


def write_table(path: Path, table: pa.Table) -> None:
    """An Arrow table as an Arrow IPC file (what state files are: never pickle)."""
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    write_atomically(path, sink.getvalue().to_pybytes())


def read_table(path: Path) -> pa.Table:
    try:
        with pa.memory_map(str(path)) as source:
            return ipc.open_file(source).read_all()
    except (pa.ArrowInvalid, OSError) as err:
        raise CheckpointError(f"state file {path} is corrupt or truncated ({err}); "
                              "the checkpoint cannot be restored: use a new checkpoint directory") from None


def numbered(directory: Path, suffix: str = "") -> list[int]:
    """The batch numbers of the files ``N<suffix>`` in a directory, ascending (temporary files skipped)."""
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        name = entry.name
        if name.startswith(".") or not name.endswith(suffix):
            continue
        stem = name[: len(name) - len(suffix)] if suffix else name
        if stem.isdigit():
            found.append(int(stem))
    return sorted(found)
