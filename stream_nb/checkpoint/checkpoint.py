"""A query's checkpoint directory, in Spark's layout:

    metadata          the query id and what its offsets and state depend on (JSON)
    offsets/N         written before batch N runs (logs.py)
    commits/N         written after batch N's sink committed
    state/0/...       the operator's versioned state (state_store.py)
    sources/<i>/...   what input i's offsets stand for (the files source's files), and its start time
    lock              one writer at a time (lock.py)

Recovery: if ``commits/N`` exists (and, for a stateful query, the state it commits), run N + 1; else run N again
with the offsets of ``offsets/N``.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import time
import uuid
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from stream_nb.checkpoint import logs, phases
from stream_nb.checkpoint.compatibility import check_compatible, fingerprint
from stream_nb.checkpoint.files import (
    CheckpointError,
    Writing,
    numbered,
    read_json,
    sync_directories,
    write_json,
)
from stream_nb.checkpoint.lock import WriterLock
from stream_nb.checkpoint.state_store import StateStore
from stream_nb.sources._protocol import source_traits
from stream_nb.sources.memory import MemorySource

_log = logging.getLogger(__name__)
COMPACT_EVERY = 10  # batches between compactions of the source log
# A memory source's rows live in one object of one process; the checkpoint names the object it read from.
_memory_sources: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_retention(retention) -> None:
    """``checkpoint_retention`` is Spark's ``spark.sql.streaming.minBatchesToRetain``: a positive int.

    >>> check_retention(0)
    Traceback (most recent call last):
    ...
    ValueError: checkpoint_retention must be a whole number of batches, at least 1 (as Spark's ...), not 0: ...
    """
    if isinstance(retention, bool) or not isinstance(retention, int) or retention < 1:
        raise ValueError(
            "checkpoint_retention must be a whole number of batches, at least 1 (as Spark's "
            f"spark.sql.streaming.minBatchesToRetain), not {retention!r}: it is how many batches of offsets and "
            "commits the checkpoint keeps, and a restart needs at least the last one")


@dataclass(frozen=True)
class Recovery:
    """Where a restarted query goes on from."""

    next_batch_id: int
    offsets: tuple[int, ...]       # per input (the plan's order): end offset of the last committed batch
    watermark_us: int              # the watermark the next batch runs with
    input_watermarks_us: dict[str, int | None] | None  # each input's, if the commit log keeps them
    redo: logs.OffsetEntry | None  # an uncommitted batch to run again with the same offsets
    state: list[pa.Table]          # the operator's state: a snapshot and deltas to apply in order


class Checkpoint:
    def __init__(self, directory: str | Path, *, query_name: str, plan, retention: int = 100,
                 snapshot_every: int = 10):
        self.directory = Path(directory).expanduser().absolute()
        check_retention(retention)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.retention = retention
        self._keeps_log: list[bool] = []     # per input: whether its source's checkpoint_log is kept (at recover)
        self._logs_from: int | None = None  # no log entry before this batch is left (None: not known yet)
        self._lock = WriterLock(self.directory, query_name)
        self._writer: ThreadPoolExecutor | None = None  # writes a batch's offsets while it runs
        self._planning: Future | None = None
        self._unsettled: tuple[list[Path], int] | None = None  # the last commit's renames, not yet made durable
        self._committing: tuple[Writing, list[str], int] | None = None  # a commit's files, their fsyncs under way
        try:
            self.id = self._metadata(plan)
        except BaseException:
            self._lock.release()
            raise
        self.state = StateStore(self.directory / "state" / "0", snapshot_every)

    def _sources(self, index: int) -> Path:
        """Input ``index``'s directory (Spark's ``sources/<i>``)."""
        return self.directory / "sources" / str(index)

    def _metadata(self, plan) -> str:
        path = self.directory / "metadata"
        current = fingerprint(plan)
        if not path.exists() and self._has_batches():
            # the query id keys the sinks' "already committed": a new one would write a redone batch twice
            raise CheckpointError(
                f"checkpoint file {path} is missing, but {self.directory} holds batches (offsets/, commits/): "
                "the query id it kept is what the sinks know its batches by. Restore the file from a backup, or "
                "start over with a new checkpoint directory")
        if path.exists():
            stored = read_json(path)
            if not isinstance(stored, dict) or "id" not in stored:
                raise CheckpointError(f"checkpoint file {path} is corrupt: it has no query id")
            check_compatible(stored.get("query", {}), current, self.directory)
            if stored.get("query") != current:  # a compatible change: remember the query as it is now
                write_json(path, {**stored, "query": current})
            return stored["id"]
        query_id = str(uuid.uuid4())
        write_json(path, {"id": query_id, "query": current})
        return query_id

    def _has_batches(self) -> bool:
        return bool(logs.batches(self.directory, "offsets") or logs.batches(self.directory, "commits"))

    # -- recovery ----------------------------------------------------------------------------------------

    def recover(self, sources: list, stateful: bool) -> Recovery:
        """Read the logs, restore each input's meaning of offsets (``sources``: the plan's order), and say
        where to go on from."""
        self._keeps_log = [source_traits(source).checkpoint_log for source in sources]  # read once
        for index, source in enumerate(sources):
            self._restore_source_metadata(source, index)
        committed = logs.batches(self.directory, "commits")
        if committed and stateful and not self.state.has(committed[-1] + 1):
            self._uncommit(committed.pop())
        last = committed[-1] if committed else -1
        offsets, watermark, per_input = (0,) * len(sources), 0, None
        if last >= 0:
            if not (self.directory / "offsets" / str(last)).exists():
                raise CheckpointError(
                    f"offset log {self.directory / 'offsets' / str(last)} is missing: batch {last} is committed "
                    f"(commits/{last}) but the offsets it read are gone, so where batch {last + 1} starts is "
                    "unknown. Restore the file from a backup, or start over with a new checkpoint directory")
            offsets = tuple(end for _, end in logs.read_offsets(self.directory, last, len(sources)).ranges)
            watermark, per_input = logs.read_commit(self.directory, last)
        redo = None
        planned = [b for b in logs.batches(self.directory, "offsets") if b > last]
        if planned:
            try:
                redo = logs.read_offsets(self.directory, last + 1, len(sources))
            except (CheckpointError, FileNotFoundError):
                redo = None  # the uncommitted last batch's offsets are torn: it is simply planned again
        for index, source in enumerate(sources):
            self._check_replayable(source, index, max(offsets[index], redo.ranges[index][1] if redo else 0))
            self._restore_source_log(source, index, last + 1 if redo else last)
        return Recovery(next_batch_id=last + 1, offsets=offsets,
                        watermark_us=redo.watermark_us if redo else watermark, input_watermarks_us=per_input,
                        redo=redo, state=self.state.read(last + 1) if stateful else [])

    def _uncommit(self, batch_id: int) -> None:
        """``commits/N`` without the state it commits (version N + 1): the process died (or the machine lost
        power) between the two renames of ``commit_batch``, so batch N never finished. It is run again from
        ``offsets/N`` over state N, as a batch that died before its commit (the sinks know it by its id):
        the commit goes, and the restart says so."""
        path = self.directory / "commits" / str(batch_id)
        _log.warning("checkpoint %s: %s is there but not the state it commits (version %d in %s): batch %d did not "
                     "finish (a crash between writing the two), so it runs again from offsets/%d", self.directory,
                     path, batch_id + 1, self.state.directory, batch_id, batch_id)
        path.unlink()

    def _check_replayable(self, source, index: int, end: int) -> None:
        """A memory source can replay only rows added to the very object, in this process, that the checkpoint
        read: another one (or any after a restart) would silently skip its first ``end`` rows. So say so."""
        if not isinstance(source, MemorySource):
            return
        path = self.directory / "metadata"
        key = "memorySource" if index == 0 else f"memorySource{index}"  # input 0's as one input wrote it
        token = _memory_sources.setdefault(source, str(uuid.uuid4()))
        stored = read_json(path)
        if end > 0 and stored.get(key) != token:
            raise CheckpointError(
                f"checkpoint {self.directory} goes on from offset {end} of {source.description}, but a memory "
                f"source cannot replay offsets [0, {end}): its rows lived in the source object (and the process) "
                f"that the checkpoint read, and this is another one, so the query would skip its first {end} "
                "rows. Give the query a new checkpoint directory (or delete this one) to start over, or read from "
                "a source that can replay after a restart (sn.sources.files, rate, sensors)")
        if stored.get(key) != token:
            write_json(path, {**stored, key: token})

    def _restore_source_metadata(self, source, index: int) -> None:
        path = self._sources(index) / "metadata"
        if not source_traits(source).checkpoint_metadata:
            return
        if path.exists():
            stored = read_json(path)
            try:
                source.restore_checkpoint_metadata(stored)
            except (KeyError, TypeError, ValueError) as err:
                raise CheckpointError(f"checkpoint file {path} is corrupt ({type(err).__name__}: {err}): it does "
                                      f"not hold what {source.description} needs; restore it from a backup or "
                                      "start over with a new checkpoint directory") from None
        elif self._has_batches():  # a new start time would move every row the offsets stand for
            raise CheckpointError(
                f"checkpoint file {path} is missing, but {self.directory} holds batches: what "
                f"{source.description}'s offsets stand for (its start time) is gone. Restore the file from a "
                "backup, or start over with a new checkpoint directory")
        else:
            write_json(path, source.checkpoint_metadata())

    def _restore_source_log(self, source, index: int, through_batch: int) -> None:
        if self._keeps_log[index] and through_batch >= 0:
            logged = self._source_log(index, through_batch)
            if isinstance(getattr(source, "path", None), str):
                _check_inside(source.path, logged)
            source.restore_checkpoint_log([entry for entries in logged.values() for entry in entries])

    def _source_log(self, index: int, through_batch: int) -> dict[Path, list[str]]:
        """Input ``index``'s entries through ``through_batch`` (the latest compaction, then the batches after
        it), by the file they were read from, in order."""
        directory = self._sources(index)
        compacts = [b for b in numbered(directory, ".compact") if b <= through_batch]
        files = [directory / f"{compacts[-1]}.compact"] if compacts else []
        first = compacts[-1] + 1 if compacts else 0
        logged = [b for b in numbered(directory) if first <= b <= through_batch]
        missing = sorted(set(range(first, through_batch + 1)) - set(logged))
        if missing:  # offsets count files: a gap would read its batches' files again, or shift every offset
            raise CheckpointError(
                f"checkpoint file {directory / str(missing[0])} is missing (and no <N>.compact in "
                f"{directory} covers batch {missing[0]}): the files source's log must list the files of every "
                f"batch through {through_batch}, or the query would read them again. Restore it from a backup, or "
                "start over with a new checkpoint directory")
        files += [directory / str(b) for b in logged]
        return {path: read_json(path) for path in files}

    # -- a batch -----------------------------------------------------------------------------------------

    def plan_batch(self, sources: list, entry: logs.OffsetEntry, *, background: bool = False) -> None:
        """Before batch N runs (after ``recover``): the last commit settled (``settle``), then what each input's
        offsets stand for, then the offsets. ``background``: all of it is done (and fsynced) by a thread while
        the batch reads and computes, which costs nothing of an fsync's wait; the engine calls ``planned``
        before the sink sees any of the batch, so its output still follows its offsets being durable, and those
        follow batch N - 1's commit being durable (a crash before that finds batch N unplanned or planned,
        never committed anywhere; ``offsets/N`` on disk always means ``commits/N-1`` too)."""
        self.planned()
        logged = [(self._sources(index) / str(entry.batch_id), source.checkpoint_log(start, end))
                  for index, (source, (start, end)) in enumerate(zip(sources, entry.ranges, strict=True))
                  if self._keeps_log[index]]  # asked of the sources here, on the engine's thread
        timestamp = int(time.time() * 1000)

        def write() -> None:
            self.settle()
            for path, value in logged:
                write_json(path, value)
            logs.write_offsets(self.directory, entry, timestamp)

        if not background:
            write()
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="stream_nb-checkpoint")
        self._planning = self._writer.submit(write)

    def planned(self) -> None:
        """Wait for the offsets ``plan_batch`` writes in the background; raises what writing them raised."""
        planning, self._planning = self._planning, None
        if planning is not None:
            planning.result()

    def commit_batch(self, batch_id: int, operator, output, next_watermark_us: int,
                     input_watermarks_us: dict[str, int | None] | None = None) -> None:
        """After batch N's sink committed: its state and ``commits/N``, durable together on return (two fsync
        waits: both files, then both directories); then retention. A commit whose state is missing is not a
        commit (``recover``), so the two need no order on disk."""
        self.start_commit(batch_id, operator, output, next_watermark_us, input_watermarks_us)
        self.finish_commit()
        self.settle()

    def start_commit(self, batch_id: int, operator, output, next_watermark_us: int,
                     input_watermarks_us: dict[str, int | None] | None = None) -> None:
        """``commit_batch`` in three steps, for a caller with work to do meanwhile: here the state and the
        commit are made and written to temporary files, whose fsyncs start; ``finish_commit`` waits for them
        and renames both in; ``settle`` makes the renames durable against a power loss (fsyncs their
        directories) and applies retention.

        The engine finishes a batch's commit before ``q.step()`` returns and leaves its settle to the next
        batch's ``plan_batch``, which settles on its writing thread, before ``offsets/N+1``, while batch N + 1
        computes (``close`` settles too, and the engine settles before a source may drop rows:
        ``Source.commit``). Why exactly once holds:
        - a process that dies (kill -9, an exception) loses nothing the kernel has: a rename is in the page
          cache as soon as it returns, and a restart reads it. Only a power loss (or a kernel crash) can undo
          a rename whose directory was not fsynced;
        - a power loss before ``settle`` may undo either rename or both. Each file is whole (fsynced before
          its rename), so a restart finds one of three cases that recovery already handles as a crash between
          the phases of a commit: neither file (batch N runs again from ``offsets/N`` over state N), the commit
          without its state (``_uncommit``: the same), the state without the commit (the same; the redone batch
          writes its state again). The sink took batch N once more, as after a crash between
          ``SINK_COMMITTED`` and ``COMMIT_WRITTEN``: it knows the batch by its id;
        - nothing depends on commit N before it settles: batch N + 1's sink waits for ``planned``, and the
          writing thread settles N before it writes ``offsets/N+1`` (so a restart never finds the offsets of
          N + 1 over a commit of N that is gone); retention (deleting old files) runs after the settle, so a
          power loss never keeps a deletion without the newer files it relies on; a source that drops rows
          once they are committed (the MQTT source's write-ahead log) is handed ``commit`` only after
          ``settle``; ``close`` (``q.stop()``) settles before it returns."""
        self.settle()  # a commit left unsettled (none when a plan_batch came between)
        files = [self.state.file(batch_id + 1, lambda: operator.changes(output), operator.dump)] \
            if operator.stateful else []
        files.append(logs.commit_file(self.directory, batch_id, next_watermark_us, input_watermarks_us))
        if not operator.stateful:
            phases.reached(phases.STATE_WRITTEN, batch_id)
        named = [phases.STATE_WRITTEN, phases.COMMIT_WRITTEN][-len(files):]
        if phases.commit_first:
            files, named = files[::-1], named[::-1]
        self._committing = (Writing(files), named, batch_id)

    def finish_commit(self) -> None:
        """The commit ``start_commit`` began, renamed in (its fsyncs waited for); it settles later (``settle``)."""
        committing, self._committing = self._committing, None
        if committing is not None:
            writing, named, batch_id = committing
            unsynced = writing.finish(lambda index: phases.reached(named[index], batch_id))
            self._unsettled = (unsynced, batch_id)

    def settle(self) -> None:
        """Make the last ``commit_batch``'s renames durable against a power loss (fsync their directories),
        then apply retention (files no restart needs any more go). Does nothing if there is none left."""
        unsettled, self._unsettled = self._unsettled, None
        if unsettled is not None:
            directories, batch_id = unsettled
            sync_directories(directories)
            self._retain(batch_id)

    def _retain(self, batch_id: int) -> None:
        self.state.purge(batch_id + 1)
        self._logs_from = logs.purge(self.directory, batch_id - self.retention + 1, self._logs_from)
        if batch_id % COMPACT_EVERY == COMPACT_EVERY - 1:
            for index, keeps in enumerate(self._keeps_log):
                if keeps and self._sources(index).is_dir():
                    self._compact_source_log(index, batch_id)

    def _compact_source_log(self, index: int, batch_id: int) -> None:
        """One file with every entry through ``batch_id``, replacing the per-batch files (as Spark compacts)."""
        logged = self._source_log(index, batch_id)
        if not any(path.suffix != ".compact" for path in logged):
            return
        target = self._sources(index) / f"{batch_id}.compact"
        write_json(target, [entry for entries in logged.values() for entry in entries])
        for path in logged:
            if path != target:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Wait for the writing thread, settle the last commit (durable on return), release the lock."""
        try:
            with contextlib.suppress(Exception):  # the batch they were for failed already, and said so
                self.planned()
            committing, self._committing = self._committing, None
            if committing is not None:  # a batch that failed before its commit was finished: none on disk
                committing[0].abandon()
            try:
                self.settle()
            except OSError as err:  # the query stops all the same; what a restart will do is said
                _log.warning("checkpoint %s: the last commit could not be made durable (%s); a power loss now "
                             "would have its batch run again after a restart", self.directory, err)
        finally:
            if self._writer is not None:
                self._writer.shutdown()
            self._lock.release()


def _check_inside(path: str, logged: dict[Path, list[str]]) -> None:
    """A files source's log lists only files the source found under its path: an entry elsewhere (an edited
    or foreign log) would make the query read any file on the machine, so it is refused, naming the log."""
    parts = Path(os.path.abspath(path)).parts  # as the source lists them: absolute, symlinks kept
    plain = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    root = os.path.normpath(Path(*parts[:plain]))
    for log, entries in logged.items():
        for entry in entries:
            if not isinstance(entry, str) or os.path.commonpath([root, os.path.abspath(entry)]) != root:
                raise CheckpointError(
                    f"checkpoint file {log} lists {entry!r}, which is not under the files source's path {path!r}: "
                    "a checkpoint lists only files the source found there, so this log was edited or belongs to "
                    "another source. The query will not read it: use a new checkpoint directory")
