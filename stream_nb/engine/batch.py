"""One micro-batch of a query, as the phases of Spark's ``MicroBatchExecution.runBatch``: write the offsets,
read each input's rows, let the operator compute the output, hand it to the sink, commit the state, write
the commit. Each phase is timed for ``durationMs``; the crash tests can stop the process between any two
(``checkpoint.phases``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from stream_nb.checkpoint import phases
from stream_nb.engine.history import STATE_LIMIT, BatchTrace, record
from stream_nb.engine.inputs import Ranges
from stream_nb.engine.operators import make_operator
from stream_nb.engine.progress import batch_progress, event_time_stats, now_iso, source_progress
from stream_nb.engine.udf_calls import unknown_function
from stream_nb.sql.errors import StreamSQLError


@dataclass(frozen=True)
class Done:
    """What a committed batch changes in its query's bookkeeping."""

    ranges: Ranges
    next_watermark_us: int
    progress: dict
    trace: BatchTrace


def run_batch(q, batch_id: int, ranges: Ranges, latest: dict[str, int], started: float, *, planned: bool,
              ahead_limit: dict[str, int]) -> Done:
    """Run batch ``batch_id`` of query ``q`` over ``ranges`` (``planned``: its offsets are in the log already,
    a batch run again after a restart; ``ahead_limit``: where the next batch may read up to, for reading it
    ahead). Raises if any phase fails: nothing after that phase happened."""
    inputs = q._inputs
    timestamp = now_iso()
    watermark = q._watermark_us  # the committed watermark: this batch runs with it
    if q._checkpoint is not None and not planned:  # written while the batch runs: durable before the sink
        q._checkpoint.plan_batch(inputs.sources, inputs.entry(batch_id, ranges, watermark), background=True)
    logged = time.perf_counter()

    first = inputs.names[0]  # the one input a query reads ahead for (one input only)
    ahead = None if inputs.several else q._ahead.take(*ranges[first], watermark)
    tables = inputs.read(ranges) if ahead is None else {first: ahead[0]}
    got = time.perf_counter()
    latest_events = inputs.latest_event_times(q._con, tables)
    next_watermark = q._watermarks.advance(latest_events)
    if not q._stopping and not inputs.several:  # the next batch's rows and partials, while this one merges
        q._ahead.start(ranges[first][1], ahead_limit[first], next_watermark)
    batch = inputs.for_operator(tables)
    if ahead is None:
        output = q._operator.process(q._con, batch, watermark)
    else:
        output = q._operator.process(q._con, batch, watermark, ahead[1])
    if q._checkpoint is not None:
        q._checkpoint.planned()
    phases.reached(phases.OFFSETS_WRITTEN, batch_id)
    if q._sink_can.replaced:  # q.result: told which rows replace others, it compacts less
        q.sink.add_batch(batch_id, output.table, output.keys, replaced=output.replaced)
    else:
        q.sink.add_batch(batch_id, output.table, output.keys)
    phases.reached(phases.SINK_COMMITTED, batch_id)
    for stream in q._downstream:
        stream.add_data(output.table)
    q._operator.commit(output)
    committed = time.perf_counter()

    checkpoint = q._checkpoint
    if checkpoint is not None:  # written and fsyncing while the batch's stats and trace are made; renamed in below
        per_input = dict(q._watermarks.per_input_us) if inputs.several else None
        checkpoint.start_commit(batch_id, q._operator, output, next_watermark, per_input)
    try:
        declared = [i for i in inputs.items if i.event_time is not None]
        event_time = event_time_stats([tables[i.name].column(i.event_time.column) for i in declared],
                                      watermark if declared else None)
        state_rows = q._operator.state_rows
        trace = record(q._picture, batch_id, _one_table(tables), output, watermark,
                       datetime(watermark) if declared else None,
                       q._operator.state_view() if state_rows <= STATE_LIMIT else None, state_rows)
    finally:
        if checkpoint is not None:  # in place when the batch returns; durable (settled) by the next one's thread
            checkpoint.finish_commit()
    for _, i in inputs.distinct:
        if i.can.commit:  # read and committed: the source may let those rows go (FROM up's buffer)
            if checkpoint is not None:  # only once the commit survives a power loss (MQTT's log)
                checkpoint.settle()
            i.source.commit(ranges[i.name][1])
    done = time.perf_counter()

    durations = {"latestOffset": _ms(logged - started), "getBatch": _ms(got - logged),
                 "addBatch": _ms(committed - got), "walCommit": _ms(done - committed),
                 "triggerExecution": _ms(done - started)}
    since_last = None if q._last_batch_start is None else started - q._last_batch_start
    q._last_batch_start = started
    sources = [source_progress(i.source, start=ranges[i.name][0], end=ranges[i.name][1], latest=latest[i.name],
                               num_rows=tables[i.name].num_rows, durations_ms=durations, since_last_s=since_last)
               for i in inputs.items]
    progress = batch_progress(
        query=q, batch_id=batch_id, sources=sources, durations_ms=durations, operator=q._operator,
        output_rows=output.table.num_rows, rows_updated=output.state_rows_updated, since_last_s=since_last,
        timestamp=timestamp, event_time=event_time, late_rows=output.num_dropped,
        rows_removed=0 if output.expired is None else len(output.expired))
    return Done(ranges, next_watermark, progress, trace)


def output_schema(plan, con: duckdb.DuckDBPyConnection, empty) -> pa.Schema:
    """Run the plan once over no rows (``empty``: the operator's batch without rows): the output's schema,
    and DuckDB's verdict on the SQL, up front."""
    probe = make_operator(plan)
    try:
        return probe.process(con, empty).table.schema
    except duckdb.Error as err:
        unknown = unknown_function(err, plan.sql)  # a name no function has: say how to make one
        raise unknown or StreamSQLError(f"the query cannot run: {str(err).splitlines()[0]}", sql=plan.sql) from None


def _one_table(tables: dict[str, pa.Table]) -> pa.Table:
    """The batch's rows as one table for the teaching view: several inputs' rows one after the other, each
    with the columns of all (null where an input has none)."""
    if len(tables) == 1:
        return next(iter(tables.values()))
    return pa.concat_tables(list(tables.values()), promote_options="permissive")


def datetime(micros: int) -> pd.Timestamp:
    return pd.Timestamp(micros, unit="us", tz="UTC")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
