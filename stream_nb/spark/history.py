"""The teaching view's batch traces (``q.history``) of a query on Spark, from what Spark lets the kernel see.

Per batch, Spark's progress gives the input row count, the offsets read, the watermark the batch ran with,
and per stateful operator the state rows, the rows the watermark dropped (``numRowsDroppedByWatermark``) and
those it evicted (``numRowsRemoved``); foreachBatch gives the rows the batch emitted. The input rows
themselves are known for a source the kernel feeds to Spark (memory, sensors, ...): the feed keeps what it
handed Spark for each offset range (``Feed.rows_read``), which the progress names. What is not available:
the input rows of a source Spark reads itself (files, rate, socket, Kafka: counted, not shown), which rows
Spark dropped as late (the view marks those a single input's watermark puts behind it, as stream_nb decides
late rows the same way; the count is Spark's), and the state's rows (Spark keeps them in its state store:
counted, shown in complete mode only, where the emitted result is the state as result rows).
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine.history import EMITTED_LIMIT, BatchTrace, picture_spec, record, sample
from stream_nb.engine.watermark import late_before

KEEP = 20  # batches kept, as the in-kernel engine keeps


class SparkHistory:
    """Takes each batch's emitted rows (``emitted``, from foreachBatch) and turns them, with Spark's progress of
    the batch once it is there, into ``BatchTrace``s (``traces``)."""

    def __init__(self, plan, rows_read):
        self.plan = plan
        self.spec = picture_spec(plan)
        self._rows_read = rows_read  # (input name, start, end) -> the rows the feed handed Spark, or None
        self._emitted: dict[int, tuple[pa.Table, int]] = {}
        self._traces: dict[int, BatchTrace] = {}
        self._lock = threading.Lock()

    def emitted(self, batch_id: int, table: pa.Table) -> None:
        kept = table if table.num_rows <= EMITTED_LIMIT else sample(table)
        with self._lock:
            self._emitted[batch_id] = (kept, table.num_rows)
            for old in sorted(self._emitted)[:-KEEP]:
                del self._emitted[old]

    def traces(self, progress: list[dict]) -> list[BatchTrace]:
        """The traces of the batches whose progress Spark reported and whose output the sink got."""
        with self._lock:
            for report in progress:
                batch_id = report["batchId"]
                if batch_id not in self._traces and batch_id in self._emitted:
                    self._traces[batch_id] = self._trace(report, *self._emitted[batch_id])
            for old in sorted(self._traces)[:-KEEP]:
                del self._traces[old]
            return [self._traces[b] for b in sorted(self._traces)]

    def _trace(self, report: dict, output: pa.Table, num_output: int) -> BatchTrace:
        operators = report.get("stateOperators") or []
        state_rows = sum(op.get("numRowsTotal", 0) for op in operators)
        mark = (report.get("eventTime") or {}).get("watermark") if self.plan.event_times else None
        watermark = pd.Timestamp(mark).to_pydatetime() if mark else None
        watermark_us = 0 if watermark is None else int(pd.Timestamp(mark).value // 1000)
        batch = self._input(report)
        late = batch.slice(0, 0)
        if self.spec.event_time is not None and watermark is not None and batch.num_rows:
            column = batch.column(self.spec.event_time).cast(pa.int64())
            late = batch.filter(pc.fill_null(pc.less(column, late_before(watermark_us, self.spec.window)), False))
        complete = self.plan.output_mode == "complete" and output.num_rows == num_output
        trace = record(self.spec, report["batchId"], batch, SimpleNamespace(table=output, late=late, expired=None),
                       watermark_us, watermark, (lambda: output) if complete else None, state_rows)
        # (Spark's progress JSON counts input rows per source; the top-level numInputRows is not in it)
        read = sum(int(source.get("numInputRows", 0)) for source in report.get("sources") or [])
        return replace(trace, num_input_rows=read,
                       num_output_rows=num_output,
                       num_late_rows=sum(op.get("numRowsDroppedByWatermark", 0) for op in operators),
                       num_evicted_rows=sum(op.get("numRowsRemoved", 0) for op in operators))

    def _input(self, report: dict) -> pa.Table:
        """The batch's input rows when the kernel fed them (a single input), else none (Spark counts them)."""
        if len(self.plan.inputs) == 1 and len(report.get("sources") or []) == 1:
            source = report["sources"][0]
            rows = self._rows_read(self.plan.inputs[0], _offset(source.get("startOffset")),
                                   _offset(source.get("endOffset")))
            if rows is not None:
                return rows
        if len(self.plan.inputs) == 1:
            return self.plan.stream.source.schema.empty_table()
        return pa.table({})


def _offset(text) -> int | None:
    """The stream_nb feed's offset in Spark's progress (``{"offset": N}`` as JSON text; none before the first)."""
    if text is None:
        return 0
    try:
        value = json.loads(text) if isinstance(text, str) else text
        return int(value["offset"])
    except (ValueError, TypeError, KeyError):
        return None  # another source's offset: not the feed's

