"""The one place checkpoint files are written and read: atomically, checksummed, and with errors that name
the file.

Every checkpoint file carries a CRC32 of its content, so a flipped byte is found, not restored: a text file
(logs, JSON) ends with a line ``crc32 <8 hex digits>`` over the lines before it; an Arrow IPC state file keeps
``stream_nb.crc32`` in its footer's metadata, over the bytes before the footer. Files written before
2026-11-30 have no checksum and still read.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import struct
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import ipc

CHECKSUM = "crc32 "  # a text file's last line
FOOTER_CHECKSUM = b"stream_nb.crc32"  # an Arrow file's footer metadata


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: corrupt, incompatible, or in use. The message names the file."""


def write_atomically(path: Path, data: Data) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never a part:
    a temporary file in the same directory, fsync, rename over, fsync the directory. An OSError (a full
    disk, a read-only filesystem) keeps its errno and names ``path``."""
    write_together([(path, data)])


def write_together(files: Sequence[tuple[Path, Data]], reached: Callable[[int], None] | None = None) -> None:
    """Write several files as ``write_atomically`` does, all durable on return, in two fsync waits instead of
    two a file: every temporary file is written and fsynced at once (their fsyncs overlapping), each is renamed
    in, in order (``reached(i)`` runs once file i is in), then their directories are fsynced at once. So until
    it returns, a crash may leave any of the renames without the others (a power loss keeps any subset): a
    caller whose files depend on each other tells that case apart when it reads them (a batch's commit without
    its state: ``Checkpoint.recover``). A failure leaves no temporary file behind. (``Writing`` does it in
    halves, for a caller with work to do while the disk syncs.)"""
    sync_directories(Writing(files, here=True).finish(reached))


class Writing:
    """Files being written as ``write_together`` writes them, in two halves: made here (each a temporary file
    written, its fsync started), renamed in by ``finish`` once every fsync is done, so the caller does other
    work while the disk syncs. ``here``: the first fsync runs in ``finish``'s thread (one thread handoff less,
    for a caller that finishes at once); else every fsync starts now, on the fsync threads. A failure, here
    or in ``finish``, leaves no temporary file behind; so does ``abandon``."""

    def __init__(self, files: Sequence[tuple[Path, Data]], *, here: bool = False):
        self._files = list(files)
        self._temps: list[tuple[Path, str]] = []
        self._descriptors: list[int] = []
        self._syncs: list = []
        self._here = here
        # an Unsealed file's CRC is computed on a thread (zlib releases the GIL) while the files are opened and
        # the others written here; it is written in place, and its file, last
        checksums = {index: _fsyncs().submit(data.checksum) for index, (_, data) in enumerate(self._files)
                     if isinstance(data, Unsealed)}
        try:
            for path, _ in self._files:
                temp, fd = _guarded(path, _create, path)
                self._temps.append((path, temp))
                self._descriptors.append(fd)
            for index, (path, data) in sorted(enumerate(self._files), key=lambda item: item[0] in checksums):
                if index in checksums:
                    data = data.sealed(checksums.pop(index).result())
                _guarded(path, _write_all, self._descriptors[index], data)
            opened = list(zip((path for path, _ in self._temps), self._descriptors))
            self._syncs = [_fsyncs().submit(_guarded, path, os.fsync, fd) for path, fd in opened[here:]]
        except BaseException:
            for checksum in checksums.values():  # none left running on a buffer that may go
                checksum.result()
            self.abandon()
            raise

    def finish(self, reached: Callable[[int], None] | None = None) -> list[Path]:
        """Wait for the fsyncs, rename each file in, in order (``reached(i)`` once file i is in); returns a file
        of each directory, whose fsync makes the renames durable (``sync_directories``)."""
        try:
            self._wait()
            for index, (path, temp) in enumerate(list(self._temps)):
                _guarded(path, os.replace, temp, path)
                self._temps[index] = (path, "")
                if reached is not None:
                    reached(index)
        finally:
            self.abandon()  # whatever is not renamed in by now (a failure) goes
        named: dict[Path, Path] = {}
        for path, _ in self._files:
            named.setdefault(path.parent, path)  # each directory once, named by a file in it
        return list(named.values())

    def abandon(self) -> None:
        """Close the files and remove those not renamed in (after their fsyncs: none is left running)."""
        try:
            self._wait()
        except OSError:
            pass  # the write that failed says so (finish); abandoning only cleans up
        finally:
            for fd in self._descriptors:
                os.close(fd)
            self._descriptors = []
            for _, temp in self._temps:
                if temp:
                    with contextlib.suppress(OSError):
                        os.unlink(temp)
            self._temps = [(path, "") for path, _ in self._temps]

    def _wait(self) -> None:
        """Every fsync done: the first here (``here``), the others on their threads; raises the first failure."""
        syncs, self._syncs = self._syncs, []
        failed: list[OSError] = []
        if self._here and self._descriptors:
            self._here = False
            try:
                _guarded(self._temps[0][0], os.fsync, self._descriptors[0])
            except OSError as err:
                failed.append(err)
        for sync in syncs:
            try:
                sync.result()
            except OSError as err:
                failed.append(err)
        if failed:
            raise failed[0]


def sync_directories(paths: Sequence[Path]) -> None:
    """fsync the directory of each of ``paths`` (its renames made durable against a power loss), all at once."""
    opened: list[tuple[Path, int]] = []
    try:
        for path in paths:
            opened.append((path, _guarded(path, os.open, path.parent, os.O_RDONLY | os.O_CLOEXEC)))
        _fsync_all(opened)
    finally:
        for _, directory in opened:
            os.close(directory)


# The temporary file's name is unique to this process and thread (no two writers share one), so it is opened
# with O_TRUNC, not searched for with O_EXCL as tempfile.mkstemp does (a leftover of a dead process with the
# same pid is overwritten); O_NOFOLLOW refuses a symlink planted in its place. Mode 0o600, as mkstemp's.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


def _create(path: Path) -> tuple[str, int]:
    """A temporary file beside ``path``, open for writing (its directory made if missing): (its name, fd).
    One open a file: the directory is made only when the open says it is missing, not asked for every time."""
    temp = os.path.join(path.parent, f".{path.name}.{os.getpid()}-{threading.get_native_id()}.tmp")
    try:
        return temp, os.open(temp, _CREATE, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    return temp, os.open(temp, _CREATE, 0o600)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """``data`` written to ``fd`` straight from its buffer (no file object, no copy), a short write resumed."""
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view):]


def _fsync_all(files: list[tuple[Path, int]]) -> None:
    """fsync each file, all at once: the first here, the others on threads (an fsync releases the GIL)."""
    if len(files) > 1:
        futures = [_fsyncs().submit(_guarded, path, os.fsync, fd) for path, fd in files[1:]]
        try:
            _guarded(files[0][0], os.fsync, files[0][1])
        finally:
            for future in futures:
                future.result()
    elif files:
        _guarded(files[0][0], os.fsync, files[0][1])


@functools.cache
def _fsyncs() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="stream_nb-fsync")


def _guarded(path: Path, call, *args, **kwargs):
    """``call(...)``, an OSError from it keeping its errno and naming ``path`` (the file being written)."""
    try:
        return call(*args, **kwargs)
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
    """An Arrow table as an Arrow IPC file (what state files are: never pickle), its checksum in the footer."""
    write_atomically(path, table_file(table))


def table_file(table: pa.Table) -> memoryview:
    """The bytes ``write_table`` writes (``state_file``, sealed)."""
    data = state_file(table)
    return data.sealed(data.checksum()) if isinstance(data, Unsealed) else data


def state_file(table: pa.Table) -> Unsealed | memoryview:
    """An Arrow IPC file of ``table``, built once: the footer's metadata holds a placeholder of the checksum's
    length, and since the bytes before the footer do not depend on it, their CRC is written over it in place
    (``Unsealed``: ``Writing`` computes it on a thread while it opens the files; were the placeholder found more
    than once in the footer, as a column's name, a second build is made, with the checksum)."""
    data = _ipc_file(table, {FOOTER_CHECKSUM: _PLACEHOLDER})
    footer = _footer_start(data)
    view = memoryview(data).cast("B")  # Arrow's buffer exports signed chars
    # a flatbuffers string: its length (uint32), its bytes, a NUL
    found = _find_all(view[footer:], struct.pack("<I", len(_PLACEHOLDER)) + _PLACEHOLDER + b"\0")
    if len(found) != 1 or not data.is_mutable:
        return memoryview(_ipc_file(table, {FOOTER_CHECKSUM: f"{zlib.crc32(view[:footer]):08x}".encode()}))
    return Unsealed(view, footer, footer + found[0] + 4)


class Unsealed:
    """An Arrow state file whose footer's checksum is still its placeholder: ``checksum()`` is the CRC of the
    bytes before the footer (any thread: zlib releases the GIL), ``sealed(checksum)`` the file with it."""

    def __init__(self, view: memoryview, footer: int, at: int):
        self._view, self._footer, self._at = view, footer, at

    def checksum(self) -> bytes:
        return f"{zlib.crc32(self._view[:self._footer]):08x}".encode()

    def sealed(self, checksum: bytes) -> memoryview:
        self._view[self._at:self._at + len(checksum)] = checksum  # in Arrow's buffer as it is: no copy
        return self._view


Data = bytes | memoryview | Unsealed  # a file's content


_ONE_THREAD = ipc.IpcWriteOptions(use_threads=False)
_PLACEHOLDER = b"\0" * 8  # as long as the checksum's 8 hex digits, and no checksum's


def _find_all(view: memoryview, pattern: bytes) -> list[int]:
    data = view.tobytes()  # the footer: the schema and the blocks' places, small
    found, at = [], data.find(pattern)
    while at >= 0:
        found.append(at)
        at = data.find(pattern, at + 1)
    return found


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
    # no thread pool: an uncompressed file has nothing to share out, and handing buffers round costs 3x the build
    with ipc.new_file(sink, table.schema, metadata=metadata, options=_ONE_THREAD) as writer:
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
