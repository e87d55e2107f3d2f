"""One writer per checkpoint: an exclusive lock on ``<checkpoint>/lock``.

``flock`` locks belong to an open file and die with the process that held them, so a lock left by a
crashed kernel is free again, and a second query on the same checkpoint, in this process or another, is
refused. The file says who holds it, for the error message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from stream_nb.checkpoint.files import CheckpointError


class WriterLock:
    def __init__(self, directory: Path, holder: str):
        self.path = directory / "lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = self._holder()
            os.close(self._fd)
            raise CheckpointError(
                f"checkpoint {directory} is in use by {who}: one query at a time writes a checkpoint; "
                "stop that query first, or give this one another checkpoint directory") from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "query": holder}).encode())

    def _holder(self) -> str:
        try:
            info = json.loads(self.path.read_text() or "{}")
            return f"query {info.get('query')!r} (process {info.get('pid')} on {info.get('host')})"
        except (OSError, ValueError):
            return "another query"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
