"""The Sink protocol: where each batch's output goes.

``add_batch(batch_id, table, keys=None)`` must be idempotent on the query's ``batch_id``: after a failure the
engine may hand the same batch again, and it must not be written twice. ``keys`` holds, in update mode, the
group keys of each output row (the state's keys, which the output's columns need not show), so a sink can upsert.
Optional: ``bind(schema, output_mode, key_columns)`` is called once when the query is planned (``key_columns``:
in update mode, the output column showing each group key, None where the query does not show it);
``open(query_id)`` once it starts, with the query's id (kept in its checkpoint; a new one without): a sink that
outlives the query (a table, a folder) keys "already committed" on (query id, batch id), since another query
writing there later starts again at batch 0; ``close()`` when it stops; ``description`` names it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pyarrow as pa


@runtime_checkable
class Sink(Protocol):
    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None: ...
