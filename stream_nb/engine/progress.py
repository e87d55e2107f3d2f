"""Progress reports with Spark's field names (StreamingQueryProgress), one dict per batch."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.types import iso_utc


def now_iso() -> str:
    """Spark's timestamp format for progress: ``2026-11-24T10:00:00.123Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def batch_progress(*, query, batch_id: int, start: int, end: int, latest: int, num_rows: int,
                   durations_ms: dict[str, int], operator, output_rows: int, rows_updated: int,
                   since_last_s: float | None, timestamp: str, event_time: dict, late_rows: int,
                   rows_removed: int) -> dict:
    seconds = max(durations_ms["triggerExecution"], 1) / 1000
    input_rate = num_rows / since_last_s if since_last_s else 0.0
    processed_rate = num_rows / seconds
    source = query.source
    progress = {
        "id": query.id,
        "runId": query.run_id,
        "name": query.name,
        "timestamp": timestamp,
        "batchId": batch_id,
        "numInputRows": num_rows,
        "inputRowsPerSecond": input_rate,
        "processedRowsPerSecond": processed_rate,
        "durationMs": durations_ms,
        "eventTime": event_time,
        "stateOperators": [],
        "sources": [{
            "description": getattr(source, "description", type(source).__name__),
            "startOffset": start,
            "endOffset": end,
            "latestOffset": latest,
            "numInputRows": num_rows,
            "inputRowsPerSecond": input_rate,
            "processedRowsPerSecond": processed_rate,
        }],
        "sink": {"description": getattr(query.sink, "description", type(query.sink).__name__),
                 "numOutputRows": output_rows},
    }
    if operator.name == "chain":  # chained stateful operators: one entry each, as Spark (engine/chain.py)
        progress["stateOperators"] = operator.state_operators()
    elif operator.name != "stateless":
        progress["stateOperators"].append({
            "operatorName": operator.name,
            "numRowsTotal": operator.state_rows,
            "numRowsUpdated": rows_updated,
            "numRowsRemoved": rows_removed,
            "numRowsDroppedByWatermark": late_rows,
            "memoryUsedBytes": operator.memory_bytes,
        })
    return progress


def event_time_stats(batch: pa.Table, event_time, watermark_us: int) -> dict:
    """Spark's ``eventTime``: min, max and avg of the batch's event times, and the watermark it ran with."""
    if event_time is None:
        return {}
    stats = {"watermark": iso_utc(watermark_us)}
    column = batch.column(event_time.column).cast(pa.int64())
    if batch.num_rows and column.null_count < len(column):
        stats.update(min=iso_utc(pc.min(column).as_py()), max=iso_utc(pc.max(column).as_py()),
                     avg=iso_utc(int(pc.mean(column).as_py())))
    return stats
