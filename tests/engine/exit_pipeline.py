"""A process that leaves queries running, or stops them, and exits (the engine's exit path): run as a child,
``python exit_pipeline.py DIR leave|stop``. It starts the kinds of query that run threads: a windowed
aggregation over a files source one file a batch (its next batch read and aggregated ahead, on a worker
thread), a projection into a foreach_batch sink, and an available_now query into the files sink that ends by
itself; waits until the first two have committed what is there, prints ``ready``, stops them (``stop``) or not
(``leave``), runs the available_now query to its end and returns: the interpreter exits with whatever runs.
"""

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import stream_nb as sn

WINDOWED = ("SELECT window(ts, '10 seconds') AS w, device, count(*) AS n, avg(temp) AS t FROM events "
            "GROUP BY window(ts, '10 seconds'), device")
STATELESS = "SELECT device, temp * 10 AS deci FROM events WHERE temp > 0"
T0 = datetime(2024, 5, 1, tzinfo=UTC)


def write_files(folder: Path, count: int = 6, rows: int = 200) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(count):
        seconds = [f * 7 + i * 0.1 for i in range(rows)]
        pq.write_table(pa.table({"ts": [T0 + timedelta(seconds=s) for s in seconds],
                                 "device": [f"d{i % 3}" for i in range(rows)],
                                 "temp": [float(i % 11) - 2 for i in range(rows)]}), folder / f"part-{f:03d}.parquet")


def main() -> None:
    base, mode = Path(sys.argv[1]), sys.argv[2]
    write_files(base / "input")
    files = lambda: sn.sources.files(str(base / "input"), format="parquet", max_files_per_trigger=1)
    batches = []
    windowed = sn.start(WINDOWED, name="windowed", output_mode="complete", sources={"events": files()})
    each = sn.start(STATELESS, name="each", sources={"events": files()},
                    sink=sn.sinks.foreach_batch(lambda df, batch_id: batches.append(len(df))))
    windowed.process_all_available()
    each.process_all_available()
    assert len(windowed.result) > 0 and sum(batches) > 0
    print("ready", flush=True)
    if mode == "stop":
        sn.stop_all()
    # last, and nothing after it: the process exits the moment this query has ended by itself, while the
    # engine's thread may still hold the query (the exit that aborted when that dropped its connection)
    sn.start(STATELESS, name="once", trigger="available_now", sources={"events": files()},
             sink=sn.sinks.files(base / "out"), checkpoint=base / "checkpoint").await_termination()


if __name__ == "__main__":
    main()
