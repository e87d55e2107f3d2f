"""The steps of a batch, named, with a seam for the crash tests: the engine calls ``reached(phase, batch_id)``
between them, and ``hook`` is None in production (a test process sets it to die on the spot, ``os._exit``).

A batch N runs: offsets/N written (while its rows are read and processed) -> the sink commits N -> the state for
N+1 written (stateful queries) -> commits/N written. A crash between any two of these must end, after a restart,
exactly as an uninterrupted run. The state and the commit are renamed in one after the other, so a crash (or a
power loss) may also leave the commit without the state: a restart finds that and runs N again
(``Checkpoint.recover``). Their directories are fsynced later, on the thread that writes offsets/N+1, before it
does (``Checkpoint.start_commit`` says why that keeps exactly once). ``commit_first`` renames the commit first,
for the crash tests of that case (False in production).
"""

from __future__ import annotations

from collections.abc import Callable

OFFSETS_WRITTEN = "offsets_written"  # offsets/N is on disk (written while N ran); nothing of N is in the sink
SINK_COMMITTED = "sink_committed"    # the sink holds batch N; no state or commit of N is on disk
STATE_WRITTEN = "state_written"      # the state for N+1 is renamed in (if any)
COMMIT_WRITTEN = "commit_written"    # commits/N is renamed in: with the state for N+1, batch N is done
PHASES = (OFFSETS_WRITTEN, SINK_COMMITTED, STATE_WRITTEN, COMMIT_WRITTEN)

hook: Callable[[str, int], None] | None = None
commit_first = False


def reached(phase: str, batch_id: int) -> None:
    if hook is not None:
        hook(phase, batch_id)
