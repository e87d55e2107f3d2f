"""Progress reports with Spark's field names (StreamingQueryProgress), one dict per batch."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """Spark's timestamp format for progress: ``2026-11-24T10:00:00.123Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def batch_progress(*, query, batch_id: int, start: int, end: int, latest: int, num_rows: int,
                   durations_ms: dict[str, int], operator, output_rows: int, rows_updated: int,
                   since_last_s: float | None, timestamp: str) -> dict:
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
        "eventTime": {},
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
    if operator.name != "stateless":
        progress["stateOperators"].append({
            "operatorName": operator.name,
            "numRowsTotal": operator.state_rows,
            "numRowsUpdated": rows_updated,
            "numRowsRemoved": 0,
            "numRowsDroppedByWatermark": 0,
            "memoryUsedBytes": operator.memory_bytes,
        })
    return progress
