"""The Sink protocol: where each batch's output goes.

Required: ``add_batch(batch_id, table, keys=None)``, idempotent on the query's ``batch_id``: after a failure the
engine may hand the same batch again, and it must not be written twice. ``keys`` holds, in update mode, the
group keys of each output row (the state's keys, which the output's columns need not show), so a sink can upsert.
``description`` (str), optional, names it in progress and in the view.

Everything else is a capability the sink declares by name in ``capabilities`` (a frozenset of the names below;
a class without it declares none). The engine and the view ask the declaration (``sink_traits``), checked once
at ``sn.start``; they never look at the sink's class or probe it for a method.
"""

from __future__ import annotations

from dataclasses import make_dataclass
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from stream_nb.sources._protocol import declared, has_member

# capability -> (the members it needs, what it means): the one list of what a sink may declare
CAPABILITIES: dict[str, tuple[tuple[str, ...], str]] = {
    "bind": (("bind",), ("bind(schema, output_mode, key_columns) once the query is planned; key_columns: in "
             "update mode, the output column showing each group key, None where the query does not show it")),
    "open": (("open",), ("open(query_id) once the query starts, with its id (kept in its checkpoint; a new one "
             "without): a sink that outlives the query (a table, a folder) keys 'already committed' on "
             "(query id, batch id), since another query writing there later starts again at batch 0")),
    "close": (("close",), "close() when the query stops"),
    "result": (("result",), ("result: the result table as of the last committed batch, a pandas DataFrame "
               "(q.result and the live views read it)")),
    "changes": (("changes_since", "table"), ("changes_since(batch_id) -> sinks.memory.Changes and table() -> "
                "pyarrow.Table: the views read only what the batches after the one they showed changed")),
    "row_limit": (("max_rows", "dropped_rows"), ("max_rows / dropped_rows: the result keeps at most max_rows rows "
                  "and has dropped this many (the view says so)")),
    "replaced": ((), "add_batch takes replaced=: how many of the batch's rows replace an earlier row"),
    "rebuilt_from_state": ((), ("the result lives only in memory: after a restart on a checkpoint, in update and "
                           "complete mode, the engine hands it the state's result rows as the last batch")),
}
# the names, as constants for the classes that declare them
(BIND, OPEN, CLOSE, RESULT, CHANGES, ROW_LIMIT, REPLACED, REBUILT_FROM_STATE) = CAPABILITIES


@runtime_checkable
class Sink(Protocol):
    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None: ...


# What a sink declared it can do: its description, and a flag per capability, by its name.
SinkTraits = make_dataclass("SinkTraits", [("description", str), *((c, bool, False) for c in CAPABILITIES)],
                            frozen=True)


def sink_traits(sink: Any) -> SinkTraits:
    """Check ``sink`` against the protocol and read its declared capabilities.

    >>> class Printer:
    ...     capabilities = frozenset({"close"})
    ...     def add_batch(self, batch_id, table, keys=None): print(batch_id, table.num_rows)
    ...     def close(self): print("closed")
    >>> traits = sink_traits(Printer())
    >>> traits.close, traits.result, traits.description
    (True, False, 'Printer')
    """
    what = f"sink {type(sink).__name__}"
    if not has_member(sink, "add_batch"):
        raise TypeError(f"{what} lacks add_batch(batch_id, table, keys=None), which a sink needs (the Sink "
                        "protocol in stream_nb/sinks/_protocol.py)")
    capabilities = declared(sink, CAPABILITIES, what)
    return SinkTraits(str(getattr(sink, "description", type(sink).__name__)), **{c: True for c in capabilities})


def result_of(sink: Any, traits: SinkTraits, query_name: str):
    """``q.result``: the result table a sink keeps (the memory sink), or an error naming where the query writes."""
    if not traits.result:
        raise AttributeError(f"q.result comes from a sink that keeps the result (the memory sink); "
                             f"{query_name!r} writes to {traits.description}")
    return sink.result
