"""A query's inputs: each one's source, what it declared it can do, its offsets and its event time, in the
plan's order of inputs (the order of the offset log's lines, Spark's ``OffsetSeq``).

A batch reads, for each input, the rows between the offset the last committed batch ended at and the
source's latest offset (at most ``max_per_trigger`` of them). Scans of one stream (a union of a stream with
itself, a self-join: ``stream_nb.pyspark`` makes them read one reader) share one source object: it is asked its
latest offset once per trigger and read once per batch, so every scan of it reads the same rows. A query with
one input gives its operator the table itself; with several, a dict of tables by input name, holding every
input (empty when it had no rows).
A query reading a UNION ALL of its inputs as a table (``sql/unions.py``) gives its operator the union's rows:
the union's SQL over each input's batch table, as one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.checkpoint.compatibility import streams_of
from stream_nb.checkpoint.logs import OffsetEntry
from stream_nb.engine import duck
from stream_nb.engine.watermark import EPOCH_US, Watermarks
from stream_nb.sources._protocol import SourceTraits, source_traits
from stream_nb.sources.derived import underlying_source
from stream_nb.sql.event_time import EventTime
from stream_nb.sql.plan import BATCH, Plan

Ranges = dict[str, tuple[int, int]]  # input name -> (start, end) offsets of one batch


@dataclass(frozen=True)
class Input:
    name: str
    source: Any
    can: SourceTraits
    event_time: EventTime | None  # its declared watermark
    table: str                    # the name its batch's rows have in the plan's SQL


class Inputs:
    """The inputs of one query and where each one is: ``offsets`` (end of the last committed batch) and
    ``latest`` (the source's latest offset when the last trigger looked)."""

    def __init__(self, plan: Plan):
        streams = streams_of(plan)
        event_times = plan.event_times
        # a union of one stream with itself is several inputs' batches too: never one input's rows as they are
        several = len(streams) > 1 or plan.union is not None
        self.plan = plan
        self.con: duckdb.DuckDBPyConnection | None = None  # the query's (set by it): a union runs there
        unioned = plan.union.tables if plan.union is not None else {}  # as the union's SQL reads them
        self.items = [Input(s.name, s.source, source_traits(s.source, s.name), event_times.get(s.name),
                            unioned.get(s.name) or (plan.batch_table(s.name) if several else BATCH))
                      for s in streams]
        self.names = [i.name for i in self.items]
        self.several = several
        self.offsets: dict[str, int] = dict.fromkeys(self.names, 0)
        self.latest: dict[str, int] = dict.fromkeys(self.names, 0)

    def watermarks(self, policy: str, current_us: int = EPOCH_US,
                   per_input_us: dict[str, int | None] | None = None) -> Watermarks:
        """A tracker of the watermarks of the inputs that declare one (``engine/watermark.py``)."""
        return Watermarks({i.name: i.event_time.delay_us for i in self.items if i.event_time is not None},
                          policy, current_us, per_input_us)

    @property
    def sources(self) -> list:
        return [i.source for i in self.items]

    @property
    def distinct(self) -> list[tuple[int, Input]]:
        """Each source once, with its first input and that input's index: what is done to a source itself
        (prepare, attach, open its checkpoint directory, commit, close) is done once, however many scans read
        it, as it is or through a stateless view (``sources/derived.py``, which passes each on to it); each input
        keeps its own offsets and offset-log line (each reads the same range)."""
        seen: set[int] = set()
        return [(index, i) for index, i in enumerate(self.items)
                if id(underlying_source(i.source)) not in seen and not seen.add(id(underlying_source(i.source)))]

    def latest_offsets(self) -> dict[str, int]:
        """Each input's source's latest offset, each source asked once: its scans see it at the same moment."""
        latest = {id(underlying_source(i.source)): i.source.latest_offset() for _, i in self.distinct}
        return {i.name: latest[id(underlying_source(i.source))] for i in self.items}

    def look(self, limit: dict[str, int] | None = None) -> dict[str, int]:
        """Ask every source for its latest offset (once per trigger). ``limit``: where an available_now trigger
        stops; once every input's latest reached it, the sources are not asked again, as Spark's AvailableNow
        reads up to what was there at its start and reports that as the latest (its Kafka source keeps the
        offsets it fetched then): an answer could change no batch, and cost a Kafka source a broker round trip
        (three requests) on each batch's path."""
        if limit is not None and all(self.latest[name] >= end for name, end in limit.items()):
            return dict(self.latest)
        self.latest = self.latest_offsets()
        return self.latest

    def next_ranges(self, latest: dict[str, int], limit: dict[str, int] | None = None, *,
                    capped: bool = True) -> Ranges:
        """The next batch's offsets: up to ``latest`` (or ``limit``, where an available_now trigger stops),
        at most each source's ``max_per_trigger`` (unless not ``capped``: a once trigger's one batch)."""
        ranges = {}
        for i in self.items:
            start = self.offsets[i.name]
            end = latest[i.name] if limit is None else min(latest[i.name], limit[i.name])
            if capped and i.can.max_per_trigger:
                end = min(end, start + i.can.max_per_trigger)
            ranges[i.name] = (start, max(end, start))
        return ranges

    @staticmethod
    def has_rows(ranges: Ranges) -> bool:
        return any(end > start for start, end in ranges.values())

    def behind(self, target: dict[str, int]) -> bool:
        """Whether some input has not been read up to ``target`` yet."""
        return any(self.offsets[name] < end for name, end in target.items())

    def catch_up(self, target: dict[str, int], now: Callable[[], tuple[int, bool]]) -> Callable[[], bool]:
        """A test of whether every input has been processed up to ``target`` and the one batch the watermark
        then made due has run (``now`` gives the next batch's id and whether a batch without data is due). Only that one:
        while rows keep arriving each batch moves the watermark again, and waiting for a batch with nothing
        due would wait for the stream to stop."""
        reached = None  # the id of the first batch to run once every input had reached the target

        def caught_up() -> bool:
            nonlocal reached
            next_batch_id, due = now()
            if self.behind(target):
                return False
            if reached is None:
                reached = next_batch_id
            return not due or next_batch_id > reached
        return caught_up

    def shown(self, offsets: dict[str, int]) -> str:
        """Offsets as an error message says them: the number for one input, ``name offset, ...`` for several."""
        if not self.several:
            return str(offsets[self.names[0]])
        return ", ".join(f"{name} {offsets[name]}" for name in self.names)

    @property
    def data_available(self) -> bool:
        """What the last trigger saw: some input had rows not read yet (Spark's ``isDataAvailable``)."""
        return any(self.latest[name] > offset for name, offset in self.offsets.items())

    def read(self, ranges: Ranges) -> dict[str, pa.Table]:
        # a source read by several scans, as it is or through views of it, is read once; each view runs once
        read: dict[tuple[int, int, int], pa.Table] = {}
        tables = {}
        for i in self.items:
            start, end = ranges[i.name]
            source = underlying_source(i.source)
            if (id(i.source), start, end) not in read:
                if (id(source), start, end) not in read:
                    read[id(source), start, end] = source.read(start, end) if end > start else None
                rows = read[id(source), start, end]
                read[id(i.source), start, end] = (i.source.schema.empty_table() if rows is None else
                                                  rows if source is i.source else i.source.through(rows))
            tables[i.name] = read[id(i.source), start, end]
        return tables

    def release_views(self) -> None:
        """The stateless views of a source that are not its first input (``distinct``) let go of what is theirs
        alone (a DuckDB connection); the source itself was closed once, through the first."""
        first = {id(i.source) for _, i in self.distinct}
        for i in self.items:
            if id(i.source) not in first and hasattr(i.source, "release"):
                first.add(id(i.source))
                i.source.release()

    def empty(self) -> pa.Table | dict[str, pa.Table]:
        """A batch without rows, as the operator takes it."""
        return self.for_operator({i.name: i.source.schema.empty_table() for i in self.items})

    def for_operator(self, tables: dict[str, pa.Table]) -> pa.Table | dict[str, pa.Table]:
        """The operator's batch: one input's table, every input's table by name, or the union's rows."""
        if self.plan.union is not None:
            rows, beside = self._union(tables), self.plan.union.beside
            return {self.plan.union.name: rows, **{name: tables[name] for name in beside}} if beside else rows
        return tables if self.several else tables[self.names[0]]

    def _union(self, tables: dict[str, pa.Table]) -> pa.Table:
        """The rows of the UNION ALL the query reads, on the query's connection (its functions and static
        tables are there); planning alone asks for none, on a connection of its own closed at once."""
        if self.con is None:
            from stream_nb.engine.operators import connect

            with connect(self.plan) as con:
                return self._union_on(con, tables)
        return self._union_on(self.con, tables)

    def _union_on(self, con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> pa.Table:
        for name, table in self.plan.union.tables.items():
            duck.register(con, table, tables[name])
        return duck.query(con, self.plan.union.sql)

    def entry(self, batch_id: int, ranges: Ranges, watermark_us: int) -> OffsetEntry:
        """The offset log's entry for a batch."""
        spark = tuple(i.source.spark_offset(ranges[i.name][1]) if i.can.spark_offsets else None for i in self.items)
        return OffsetEntry(batch_id, tuple(ranges[name] for name in self.names), watermark_us,
                           spark if any(s is not None for s in spark) else ())

    def ranges_of(self, entry: OffsetEntry) -> Ranges:
        return dict(zip(self.names, entry.ranges, strict=True))

    def latest_event_times(self, con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) \
            -> dict[str, int | None]:
        """Each input's latest event time in a batch, over the rows its own pushed-down filters keep (Spark
        computes the watermark below those filters); None for an input without rows or without a watermark."""
        latest, filtered = {}, []
        for i in self.items:
            batch = tables[i.name]
            if i.event_time is None or batch.num_rows == 0:
                latest[i.name] = None
            elif i.event_time.max_sql is not None:
                duck.register(con, i.table, batch)
                filtered.append(i)
            else:
                latest[i.name] = pc.max(batch.column(i.event_time.column)).cast(pa.int64()).as_py()
        if filtered:  # one query for all (a join's two inputs): a query's fixed cost is most of its time
            row = duck.query(con, "SELECT " + ", ".join(f"({i.event_time.max_sql}) AS m{n}"
                                                        for n, i in enumerate(filtered)))
            latest.update({i.name: row.column(n).cast(pa.int64())[0].as_py() for n, i in enumerate(filtered)})
        return {i.name: latest[i.name] for i in self.items}
