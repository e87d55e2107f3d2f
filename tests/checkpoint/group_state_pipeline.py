"""The applyInPandasWithState pipeline the crash tests kill: run as a child process,
``python group_state_pipeline.py INPUT OUTPUT [--fail-at PHASE:BATCH]``.

A checkpointed ``applyInPandasWithState`` over a files source (one JSON file a batch) into the duckdb sink:
per device a running count and sum of ids (state), and sessions that close on an event-time timeout. Every
output row carries the state it was computed from, so a state restored twice or not at all shows in the
sink. It prints ``running`` once started and exits when every file is processed (trigger available_now).
"""

import argparse
from pathlib import Path

import pandas as pd
from pipeline import die_at

import stream_nb as sn
from stream_nb.checkpoint import phases
from stream_nb.sql.group_state import GroupStatePlan
from stream_nb.types import parse_schema

SCHEMA = "ts timestamp, device string, id bigint"
GAP_MS = 8_000


def sessions(key, frames, state):
    if state.hasTimedOut:
        count, ids, last = state.get
        state.remove()
        yield pd.DataFrame({"device": [key[0]], "kind": ["closed"], "count": [count], "ids": [ids]})
        return
    count, ids, last = state.get if state.exists else (0, 0, 0)
    for frame in frames:
        count, ids = count + len(frame), ids + int(frame["id"].sum())
        last = max(last, int(frame["ts"].max().value // 1_000_000))
    state.update((count, ids, last))
    state.setTimeoutTimestamp(last + GAP_MS)
    yield pd.DataFrame({"device": [key[0]], "kind": ["open"], "count": [count], "ids": [ids]})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input_dir")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--fail-at", help="PHASE:BATCH")
    args = parser.parse_args()
    if args.fail_at:
        phase, batch = args.fail_at.split(":")
        assert phase in phases.PHASES, f"--fail-at: unknown phase {phase!r}; one of {phases.PHASES}"
        die_at(phase, int(batch))
    plan = GroupStatePlan(sessions, ["device"], parse_schema("device string, kind string, count bigint, ids bigint"),
                          parse_schema("count bigint, ids bigint, last bigint"), "append", "EventTimeTimeout")
    readings = sn.sources.files(args.input_dir, format="json", schema=SCHEMA, max_files_per_trigger=1)
    q = sn.start("SELECT * FROM readings WATERMARK ts DELAY OF INTERVAL 5 SECONDS", name="sessions",
                 output_mode="append", trigger="available_now", sources={"readings": readings}, group_state=plan,
                 checkpoint=args.output_dir / "checkpoint-sessions",
                 sink=sn.sinks.duckdb(args.output_dir / "sink.duckdb", "sessions"))
    print("running", flush=True)
    q.await_termination()
    print("done", flush=True)


if __name__ == "__main__":
    main()
