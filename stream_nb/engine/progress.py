"""Progress reports with Spark's field names (StreamingQueryProgress), one dict per batch."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.sources._protocol import SPARK_OFFSETS
from stream_nb.types import iso_utc


def now_iso() -> str:
    """Spark's timestamp format for progress: ``2026-11-24T10:00:00.123Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def batch_progress(*, query, batch_id: int, sources: list[dict], durations_ms: dict[str, int], operator,
                   output_rows: int, rows_updated: int, since_last_s: float | None, timestamp: str,
                   event_time: dict, late_rows: int, rows_removed: int) -> dict:
    """A batch's progress. ``sources``: one ``source_progress`` per input, in the plan's order."""
    num_rows = sum(source["numInputRows"] for source in sources)
    progress = {
        "id": query.id,
        "runId": query.run_id,
        "name": query.name,
        "timestamp": timestamp,
        "batchId": batch_id,
        "numInputRows": num_rows,
        "inputRowsPerSecond": num_rows / since_last_s if since_last_s else 0.0,
        "processedRowsPerSecond": num_rows / _seconds(durations_ms),
        "batchDuration": durations_ms["triggerExecution"],
        "durationMs": durations_ms,
        "eventTime": event_time,
        "stateOperators": [],
        "sources": sources,
        "sink": {"description": getattr(query.sink, "description", type(query.sink).__name__),
                 "numOutputRows": output_rows, "metrics": {}},
        "observedMetrics": {},
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
            "numShufflePartitions": 1,  # one partition of state, in this process
            "numStateStoreInstances": 1,
            "customMetrics": {},
        })
    return progress


def source_progress(source, *, start, end, latest, num_rows: int, durations_ms: dict[str, int],
                    since_last_s: float | None) -> dict:
    """One input's entry in ``sources`` (Spark's SourceProgress); a source that writes its offsets as Spark does
    (Kafka's per-partition JSON) shows them so."""
    if SPARK_OFFSETS in getattr(source, "capabilities", ()):
        start, end, latest = (source.spark_offset(offset) for offset in (start, end, latest))
    return {
        "description": getattr(source, "description", type(source).__name__),
        "startOffset": start,
        "endOffset": end,
        "latestOffset": latest,
        "numInputRows": num_rows,
        "inputRowsPerSecond": num_rows / since_last_s if since_last_s else 0.0,
        "processedRowsPerSecond": num_rows / _seconds(durations_ms),
        "metrics": {},
    }


def _seconds(durations_ms: dict[str, int]) -> float:
    return max(durations_ms["triggerExecution"], 1) / 1000


def event_time_stats(columns: list[pa.ChunkedArray], watermark_us: int | None) -> dict:
    """Spark's ``eventTime``: min, max and avg of the batch's event times (over every input with a watermark,
    merged as Spark merges its watermark operators' stats), and the watermark it ran with (None: no input
    declares a watermark, so no ``eventTime``)."""
    if watermark_us is None:
        return {}
    stats = {"watermark": iso_utc(watermark_us)}
    times = [c.cast(pa.int64()) for c in columns if len(c) and c.null_count < len(c)]
    if times:
        column = times[0] if len(times) == 1 else pa.chunked_array([ch for c in times for ch in c.chunks])
        extremes = pc.min_max(column)  # one pass for both
        stats.update(min=iso_utc(extremes["min"].as_py()), max=iso_utc(extremes["max"].as_py()),
                     avg=iso_utc(int(pc.mean(column).as_py())))
    return stats
