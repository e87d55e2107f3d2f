"""The pipeline the crash tests kill: run as a child process,
``python pipeline.py INPUT OUTPUT [--only windowed|stateless|union] [--fail-at PHASE:BATCH]``.

Two checkpointed queries over a files source, one file a batch: a windowed aggregation with a watermark into
the duckdb sink, and a stateless projection into the files sink (``--only`` runs one of them). ``--only union``
runs a third: a UNION ALL of two files sources (the even files and the odd ones, one file a batch each) into
another files sink, so a batch has two inputs' offsets to replay. It prints
``running`` once they have started, and exits when they have processed every file (trigger available_now).
``--fail-at`` makes the process die (``os._exit``, no cleanup) the moment a batch reaches a step
(``stream_nb.checkpoint.phases``).
"""

import argparse
import os
from pathlib import Path

import stream_nb as sn
from stream_nb.checkpoint import phases

FAIL_EXIT = 86  # the exit status of a process that died at --fail-at
SCHEMA = "ts timestamp, device string, temp double, id bigint"
WINDOWED = """
    SELECT window(ts, '10 seconds') AS w, device, count(*) AS n, sum(temp) AS total, max(id) AS last_id
    FROM readings WATERMARK ts DELAY OF INTERVAL 5 SECONDS
    GROUP BY window(ts, '10 seconds'), device
"""
STATELESS = "SELECT id, device, ts, temp * 10 AS deci FROM readings WHERE temp > 0"
UNION = "SELECT id, device, ts, temp FROM evens UNION ALL SELECT id, device, ts, temp * 10 AS temp FROM odds"


def readings(path: str):
    return sn.sources.files(path, format="json", schema=SCHEMA, max_files_per_trigger=1)


def start(which: str, input_dir: str, out: Path):
    if which == "windowed":
        return sn.start(WINDOWED, name="windowed", output_mode="append", trigger="available_now",
                        sources={"readings": readings(input_dir)}, checkpoint=out / "checkpoint-windowed",
                        sink=sn.sinks.duckdb(out / "sink.duckdb", "windows"))
    if which == "union":
        return sn.start(UNION, name="union", trigger="available_now", checkpoint=out / "checkpoint-union",
                        sources={"evens": readings(f"{input_dir}/part-*[02468].json"),
                                 "odds": readings(f"{input_dir}/part-*[13579].json")},
                        sink=sn.sinks.files(out / "union-sink"))
    return sn.start(STATELESS, name="stateless", trigger="available_now",
                    sources={"readings": readings(input_dir)}, checkpoint=out / "checkpoint-stateless", sink=sn.sinks.files(out / "files-sink"))


def die_at(phase: str, batch_id: int) -> None:
    def hook(reached: str, batch: int) -> None:
        if (reached, batch) == (phase, batch_id):
            os._exit(FAIL_EXIT)  # a crash: no finally, no flush, no atexit
    phases.hook = hook


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input_dir")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--only", choices=["windowed", "stateless", "union"])
    parser.add_argument("--fail-at", help="PHASE:BATCH")
    parser.add_argument("--commit-first", action="store_true", help="rename a batch's commit in before its state")
    args = parser.parse_args()
    phases.commit_first = args.commit_first
    if args.fail_at:
        phase, batch = args.fail_at.split(":")
        assert phase in phases.PHASES, f"--fail-at: unknown phase {phase!r}; one of {phases.PHASES}"
        die_at(phase, int(batch))
    queries = [start(which, args.input_dir, args.output_dir)
               for which in ([args.only] if args.only else ["windowed", "stateless"])]
    print("running", flush=True)
    for q in queries:
        q.await_termination()
    print("done", flush=True)


if __name__ == "__main__":
    main()
