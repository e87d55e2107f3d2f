"""The operator protocol: everything the engine asks of the operator that runs a query's batches.

Every operator kind (stateless, aggregate, windowed aggregate, session window, deduplication) implements all
of it, so the query, the checkpoint, the progress report and the teaching view call one set of methods and
never ask an operator what it can do.

A batch goes: ``process`` (computes the output from the batch's rows, one table per input; changes nothing)
→ the sink takes the output → ``commit`` (the state changes become permanent) → the checkpoint stores
``changes`` (the delta) or ``dump`` (a snapshot). A restart calls ``restore`` with the snapshot and deltas,
then ``result_rows`` to rebuild a memory sink in update and complete mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    from stream_nb.engine.output import Output


@runtime_checkable
class Operator(Protocol):
    """What one query's operator does with each batch and with its state.

    >>> sorted(m for m in dir(Operator) if not m.startswith("_"))  # doctest: +NORMALIZE_WHITESPACE
    ['changes', 'commit', 'dump', 'has_expired', 'memory_bytes', 'process', 'restore', 'result_rows',
     'state_rows', 'state_view']
    """

    name: str          # Spark's operator name, as progress reports it ("stateless" for none)
    stateful: bool     # whether it holds state the checkpoint must keep
    checkpointed: bool  # set by the query when a checkpoint asks for ``changes``

    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table | dict[str, pa.Table],
                watermark_us: int = 0) -> Output:
        """The batch's output at this watermark (rows, late rows, the pending state change); writes nothing.
        ``batch``: a single-input plan's rows as one table; a multi-input plan's as a dict by input name
        (``plan.inputs``), holding every input (an empty table with its schema when it had no new rows).
        ``watermark_us`` is the query's (global) watermark, combined over the inputs by the plan's policy."""

    def commit(self, output: Output) -> None:
        """Make the pending state change of ``output`` permanent: its batch is in the sink."""

    def has_expired(self, watermark_us: int) -> bool:
        """Whether a batch without data would emit or evict something at this watermark (Spark's no-data
        batch)."""

    def changes(self, output: Output) -> pa.Table:
        """The committed batch's state delta, for the checkpoint."""

    def dump(self) -> pa.Table:
        """A snapshot of the whole state, for the checkpoint."""

    def restore(self, tables: list[pa.Table]) -> None:
        """Rebuild the state from a checkpoint: a snapshot, then deltas, in order."""

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> Output | None:
        """The result table the state holds (update and complete mode), to rebuild a memory sink after a
        restart; None when the state holds no result rows (the sink then holds what this run emits)."""

    def state_view(self) -> Callable[[], pa.Table | None] | None:
        """A copy of the state now, made into a table only when the teaching view asks."""

    @property
    def state_rows(self) -> int:
        """Rows of state held."""

    @property
    def memory_bytes(self) -> int:
        """Bytes of state held (an estimate)."""
