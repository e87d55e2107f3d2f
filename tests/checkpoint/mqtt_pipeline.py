"""The pipeline the MQTT crash test kills: run as a child process,
``python mqtt_pipeline.py BROKER OUTPUT [--expect N] [--die-after-sync N]``.

A checkpointed query over the MQTT source (topic ``readings/#``, JSON payloads) into the duckdb sink. It prints
``running`` once the query has started (connected and subscribed), then runs until it is killed; with
``--expect N`` it stops once it has processed N messages, and prints ``done``. ``--die-after-sync N`` makes
the process die (``os._exit``) once N messages are synced to the write-ahead log, before the broker hears
them acknowledged: the broker delivers them again, and the log must recognise them.
"""

import argparse
import importlib
import os
import time
from pathlib import Path

import stream_nb as sn

FAIL_EXIT = 86  # the exit status of a process that died at --die-after-sync

SCHEMA = "id bigint, device string, temp double"
SQL = "SELECT id, device, temp, topic FROM readings"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("broker")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--expect", type=int)
    parser.add_argument("--die-after-sync", type=int)
    args = parser.parse_args()
    if args.die_after_sync is not None:
        def die(synced: int) -> None:
            if synced >= args.die_after_sync:
                os._exit(FAIL_EXIT)  # a crash: no acknowledgement, no flush, no atexit
        importlib.import_module("stream_nb.sources.mqtt").synced_hook = die
    source = sn.sources.mqtt(args.broker, "readings/#", schema=SCHEMA)
    q = sn.start(SQL, name="mqtt", sources={"readings": source}, checkpoint=args.output_dir / "checkpoint",
                 sink=sn.sinks.duckdb(args.output_dir / "sink.duckdb", "readings"))
    print("running", flush=True)
    if args.expect is None:
        q.await_termination()
        return
    deadline = time.monotonic() + 120
    while source.latest_offset() < args.expect and time.monotonic() < deadline:
        time.sleep(0.05)  # messages arrive over the network: nothing in this process to wait on
    q.process_all_available(timeout=60)
    held, duplicates = source.latest_offset(), source.duplicates
    q.stop()
    print(f"done: {held} messages, {duplicates} redeliveries recognised", flush=True)


if __name__ == "__main__":
    main()
