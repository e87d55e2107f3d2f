"""The pipeline the Kafka crash test kills: run as a child process,
``python kafka_pipeline.py SERVERS TOPIC OUTPUT [--until-caught-up]``.

A checkpointed query reading the topic's JSON messages into the duckdb sink, a few hundred messages a batch.
It prints ``running`` once it has started; it runs until it is killed, or with ``--until-caught-up`` until it
has read everything the topic holds (trigger available_now), then prints ``done``.
"""

import argparse
from pathlib import Path

import stream_nb as sn

QUERY = "SELECT id, device, partition, offset FROM events"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("servers")
    parser.add_argument("topic")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--until-caught-up", action="store_true")
    args = parser.parse_args()
    events = sn.sources.kafka(args.servers, args.topic, schema="id bigint, device string",
                              max_offsets_per_trigger=300)
    q = sn.start(QUERY, name="kafka_pipeline", sources={"events": events},
                 trigger="available_now" if args.until_caught_up else None,
                 checkpoint=args.output_dir / "checkpoint", sink=sn.sinks.duckdb(args.output_dir / "sink.duckdb",
                                                                                 "messages"))
    print("running", flush=True)
    q.await_termination()
    print("done", flush=True)


if __name__ == "__main__":
    main()
