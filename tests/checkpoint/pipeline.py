"""The pipeline the crash tests kill: run as a child process, ``python pipeline.py INPUT OUTPUT``.

Two checkpointed queries over a files source, one file a batch: a windowed aggregation with a watermark into
the duckdb sink, and a stateless projection into the files sink. It prints ``running`` once both have
started, and exits when both have processed every file (trigger available_now).
"""

import sys
from pathlib import Path

import stream_nb as sn

SCHEMA = "ts timestamp, device string, temp double, id bigint"
WINDOWED = """
    SELECT window(ts, '10 seconds') AS w, device, count(*) AS n, sum(temp) AS total, max(id) AS last_id
    FROM readings WATERMARK ts DELAY OF INTERVAL 5 SECONDS
    GROUP BY window(ts, '10 seconds'), device
"""
STATELESS = "SELECT id, device, ts, temp * 10 AS deci FROM readings WHERE temp > 0"


def main(input_dir: str, output_dir: str) -> None:
    out = Path(output_dir)
    windowed = sn.start(
        WINDOWED, name="windowed", output_mode="append", trigger="available_now",
        sources={"readings": sn.sources.files(input_dir, format="json", schema=SCHEMA, max_files_per_trigger=1)},
        checkpoint=out / "checkpoint-windowed", sink=sn.sinks.duckdb(out / "sink.duckdb", "windows"))
    stateless = sn.start(
        STATELESS, name="stateless", trigger="available_now",
        sources={"readings": sn.sources.files(input_dir, format="json", schema=SCHEMA, max_files_per_trigger=1)},
        checkpoint=out / "checkpoint-stateless", sink=sn.sinks.files(out / "files-sink"))
    print("running", flush=True)
    windowed.await_termination()
    stateless.await_termination()
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
