"""The one place checkpoint files are written and read: atomically, checksummed, and with errors that name
the file.

Every checkpoint file carries a CRC32 of its content, so a flipped byte is found, not restored: a text file
(logs, JSON) ends with a line ``crc32 <8 hex digits>`` over the lines before it; an Arrow IPC state file keeps
``stream_nb.crc32`` in its footer's metadata, over the bytes before the footer. Files written before
2026-11-30 have no checksum and still read.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import ipc

CHECKSUM = "crc32 "  # a text file's last line
FOOTER_CHECKSUM = b"stream_nb.crc32"  # an Arrow file's footer metadata


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: corrupt, incompatible, or in use. The message names the file."""


def write_atomically(path: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never a part:
    a temporary file in the same directory, fsync, rename over, fsync the directory. An OSError (a full
    disk, a read-only filesystem) keeps its errno and names ``path``."""
    try:
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
    except OSError as err:
        if err.filename is not None and str(path) in str(err.filename):
            raise
        raise type(err)(err.errno, err.strerror, str(path)) from err


def seal(text: str) -> bytes:
    """A text file's bytes with the checksum line that ``unseal`` checks.

    >>> seal('{"id": 1}\\n')
    b'{"id": 1}\\ncrc32 af53a57c\\n'
    """
    body = text.encode()
    return body + f"{CHECKSUM}{zlib.crc32(body):08x}\n".encode()


def unseal(path: Path, data: bytes) -> str:
    """The text of a file ``seal`` wrote, its checksum checked (a file without one is read as it is)."""
    cut = data.rfind(b"\n", 0, len(data) - 1) + 1
    last = data[cut:]
    if last.startswith(CHECKSUM.encode()):
        body = data[:cut]
        if last.strip() != f"{CHECKSUM}{zlib.crc32(body):08x}".encode():
            raise CheckpointError(f"checkpoint file {path} is corrupt: its content does not match its checksum "
                                  f"({last.strip().decode(errors='replace')!r}); restore it from a backup or start "
                                  "over with a new checkpoint directory")
        data = body
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise CheckpointError(f"checkpoint file {path} is corrupt (not text)") from None


def read_text(path: Path, what: str = "checkpoint file") -> str:
    """A checkpoint text file, checked; a missing one is a CheckpointError that names it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{what} {path} is missing") from None
    return unseal(path, data)


def write_json(path: Path, value: Any) -> None:
    write_atomically(path, seal(json.dumps(value, indent=1, sort_keys=True) + "\n"))


def read_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"checkpoint file {path} is corrupt (not valid JSON: {err}); "
                              "restore it from a backup or start over with a new checkpoint directory") from None


def write_table(path: Path, table: pa.Table) -> None:
    """An Arrow table as an Arrow IPC file (what state files are: never pickle), its checksum in the footer.
    The bytes before the footer do not depend on the footer's metadata, so a first pass gives their CRC."""
    unsealed = _ipc_file(table)
    checksum = f"{zlib.crc32(memoryview(unsealed)[:_footer_start(unsealed)]):08x}"
    # written from Arrow's buffer as it is: a copy into Python bytes costs more than the checksum
    write_atomically(path, memoryview(_ipc_file(table, {FOOTER_CHECKSUM: checksum.encode()})))


def read_table(path: Path) -> pa.Table:
    try:
        with pa.memory_map(str(path)) as source:
            reader = ipc.open_file(source)
            stored = (reader.metadata or {}).get(FOOTER_CHECKSUM)
            if stored is not None:
                data = source.read_buffer()  # the whole file, mapped, not copied
                if f"{zlib.crc32(memoryview(data)[:_footer_start(data)]):08x}".encode() != stored:
                    raise CheckpointError(f"state file {path} is corrupt: its content does not match its checksum; "
                                          "the checkpoint cannot be restored: use a new checkpoint directory")
            return reader.read_all()
    except FileNotFoundError:
        raise CheckpointError(f"state file {path} is missing; the checkpoint cannot be restored: "
                              "use a new checkpoint directory") from None
    except (pa.ArrowInvalid, OSError) as err:
        raise CheckpointError(f"state file {path} is corrupt or truncated ({err}); "
                              "the checkpoint cannot be restored: use a new checkpoint directory") from None


def _ipc_file(table: pa.Table, metadata: dict | None = None) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, table.schema, metadata=metadata) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _footer_start(data) -> int:
    """Where an Arrow IPC file's footer begins: it ends with the footer's length (int32) and ``ARROW1``."""
    (length,) = struct.unpack("<i", bytes(memoryview(data)[-10:-6]))
    return len(data) - 10 - length


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
