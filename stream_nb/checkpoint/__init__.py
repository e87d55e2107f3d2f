"""Checkpoints: offset and commit logs, versioned state files, recovery, the writer lock (Spark's layout)."""

from stream_nb.checkpoint.checkpoint import Checkpoint, Recovery
from stream_nb.checkpoint.files import CheckpointError

__all__ = ["Checkpoint", "CheckpointError", "Recovery"]
