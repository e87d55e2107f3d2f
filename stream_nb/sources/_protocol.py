"""The Source protocol: what the engine needs of a stream.

An offset is an int that only grows: rows for memory, rate and sensors, files for the files source.
``read(start, end)`` must be deterministic — the same offsets give the same rows — so that a batch can be
replayed after a failure, which is what makes exactly-once possible.

Required: ``schema``, ``latest_offset()``, ``read(start, end)``. Everything else a source may do is a
capability it declares by name in ``capabilities`` (a frozenset of the names below; a class without it
declares none). The engine asks the declaration, once, at ``sn.start`` (``source_traits``), and checks that
each declared capability's members are there; it never looks for a method to decide what a source can do.
"""

from __future__ import annotations

from dataclasses import make_dataclass
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

# capability -> (the members it needs, what it means): the one list of what a source may declare
CAPABILITIES: dict[str, tuple[tuple[str, ...], str]] = {
    "max_per_trigger": (("max_per_trigger",), ("attribute max_per_trigger (int | None): at most this many offsets "
                        "in one batch")),
    "concurrent_reads": ((), ("read may run on another thread while latest_offset and checkpoint_log run; with "
                         "max_per_trigger, the engine reads the next batch ahead")),
    "checkpoint_metadata": (("checkpoint_metadata", "restore_checkpoint_metadata"),
                            ("checkpoint_metadata() -> dict / restore_checkpoint_metadata(dict): fixed facts that "
                            "give offsets their meaning (a start time), kept in the checkpoint")),
    "checkpoint_log": (("checkpoint_log", "restore_checkpoint_log"),
                       ("checkpoint_log(start, end) -> list[str] / restore_checkpoint_log(list): what offsets stood "
                       "for (the files source's files), kept in the checkpoint")),
    "commit": (("commit",), ("commit(end): the query has committed every offset before end and will not read "
               "them again (Spark's Source.commit), so the source may let them go")),
    "attach": (("attach", "detach"), "attach() once the query has started, detach() when it stops"),
    "prepare": (("prepare",), ("prepare() first thing when a query over it starts, before its DuckDB connection "
                "and its checkpoint's recovery: begin what takes a while (a Kafka source connects and fetches from "
                "where it will start), so the first batch finds it done; attach() still follows")),
    "close": (("close",), ("close() when a query reading it stops: ends what the source runs for it (threads); "
              "other queries may go on reading, so it must leave the source readable (and may be called twice)")),
    "checkpoint_dir": (("open_checkpoint",), ("open_checkpoint(directory: Path): a directory of the source's own "
                       "in the checkpoint (<checkpoint>/sources/<i>/, e.g. the MQTT source's write-ahead log), "
                       "given once when a checkpointed query starts, after recovery and before the first batch")),
    "spark_offsets": (("spark_offset",), ("spark_offset(end) -> dict: the offset as Spark writes it (Kafka's "
                      "{topic: {partition: offset}}), kept as sparkOffset in the input's line of the offset log")),
    "push": (("wait_for_data",), ("wait_for_data(offset, timeout) -> (latest offset, arrival): block until rows "
             "after offset are there (or timeout seconds pass); arrival is time.perf_counter() when the row at "
             "offset arrived, None if unknown. Continuous processing hands each row on as it arrives")),
    "encoded_reads": (("read_encoded",), ("read_encoded(start, end) -> (table, {column: the same rows "
                      "dictionary-encoded}): read's table, and string columns as the source holds them "
                      "encoded (parquet's dictionaries), which an aggregation groups by their indices")),
}
# the names, as constants for the classes that declare them
(MAX_PER_TRIGGER, CONCURRENT_READS, CHECKPOINT_METADATA, CHECKPOINT_LOG, COMMIT, ATTACH, PREPARE, CLOSE, CHECKPOINT_DIR,
 SPARK_OFFSETS, PUSH, ENCODED_READS) = CAPABILITIES

_REQUIRED = {"schema": "schema (a pyarrow.Schema)", "latest_offset": "latest_offset()",
             "read": "read(start, end)"}


@runtime_checkable
class Source(Protocol):
    """A replayable stream of rows (see ``sources/memory.py`` for the smallest one).

    ``description`` (str), optional, is what Spark's progress calls the source's description.
    """

    schema: pa.Schema

    def latest_offset(self) -> int:
        """The end offset of everything available now (exclusive)."""
        ...

    def read(self, start: int, end: int) -> pa.Table:
        """The rows between two offsets, ``start`` inclusive and ``end`` exclusive, with exactly ``schema``."""
        ...


# What a source declared it can do, read once when a query starts: a flag per capability, by its name
# (max_per_trigger holds the source's cap, None without).
SourceTraits = make_dataclass("SourceTraits", [("max_per_trigger", int | None, None),
                                               *((c, bool, False) for c in CAPABILITIES if c != MAX_PER_TRIGGER)],
                              frozen=True)


def missing_members(source: Any) -> list[str]:
    """The required members ``source`` lacks, as the protocol writes them (empty for a source)."""
    return [shown for name, shown in _REQUIRED.items() if not has_member(source, name)]


def source_traits(source: Any, name: str | None = None) -> SourceTraits:
    """Check ``source`` against the protocol and read its declared capabilities.

    >>> class Numbers:
    ...     schema = pa.schema([("n", pa.int64())])
    ...     capabilities = frozenset({"max_per_trigger"})
    ...     max_per_trigger = 10
    ...     def latest_offset(self): return 100
    ...     def read(self, start, end): return pa.table({"n": list(range(start, end))})
    >>> traits = source_traits(Numbers())
    >>> traits.max_per_trigger, traits.concurrent_reads
    (10, False)
    """
    what = f"source {name!r} ({type(source).__name__})" if name else f"source {type(source).__name__}"
    missing = missing_members(source)
    if missing:
        raise TypeError(f"{what} lacks {', '.join(missing)}, which a source needs (the Source protocol in "
                        "stream_nb/sources/_protocol.py)")
    capabilities = declared(source, CAPABILITIES, what)
    cap = source.max_per_trigger if MAX_PER_TRIGGER in capabilities else None
    if cap is not None and (type(cap) is not int or cap < 1):
        raise ValueError(f"{what}: max_per_trigger is at most how many offsets one batch reads, a positive int "
                         f"or None; got {cap!r}")
    return SourceTraits(max_per_trigger=cap, **{c: True for c in capabilities if c != MAX_PER_TRIGGER})


def declared(obj: Any, known: dict[str, tuple[tuple[str, ...], str]], what: str) -> frozenset[str]:
    """``obj.capabilities``, checked: each name is one of ``known`` and has the members it needs."""
    capabilities = getattr(obj, "capabilities", frozenset())  # the declaration itself (none without)
    if isinstance(capabilities, str) or not isinstance(capabilities, (set, frozenset, tuple, list)):
        raise TypeError(f"{what}: capabilities is a frozenset of capability names, e.g. "
                        f"frozenset({{{next(iter(known))!r}}}); got {capabilities!r}")
    for capability in capabilities:
        if capability not in known:
            raise ValueError(f"{what} declares the capability {capability!r}, which is not one of: "
                             f"{', '.join(sorted(known))}")
        members, meaning = known[capability]
        lacking = [m for m in members if not has_member(obj, m)]
        if lacking:
            raise TypeError(f"{what} declares the capability {capability!r} but lacks {', '.join(lacking)}: "
                            f"{meaning}")
    return frozenset(capabilities)


def has_member(obj: Any, member: str) -> bool:
    """Whether ``obj`` has ``member``, without running a property (a sink's ``result`` may be costly)."""
    return member in getattr(obj, "__dict__", ()) or any(member in vars(k) for k in type(obj).__mro__)
