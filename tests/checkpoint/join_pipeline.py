"""The join pipeline the crash tests kill: run as a child process,
``python join_pipeline.py IMPRESSIONS CLICKS OUTPUT [--fail-at PHASE:BATCH]``.

A checkpointed LEFT OUTER stream-stream join of two files sources (one file of each a batch, as JSON), with a
watermark on each and a time range, into the duckdb sink. It prints ``running`` once it has started, and exits
when it has processed every file (trigger available_now). ``--fail-at`` makes the process die (``os._exit``)
the moment a batch reaches a step (``stream_nb.checkpoint.phases``).
"""

import argparse
from pathlib import Path

from pipeline import die_at

import stream_nb as sn
from stream_nb.checkpoint import phases

JOIN = """
    SELECT i.ad_id, i.ts AS shown, i.campaign, c.ts AS clicked
    FROM impressions i WATERMARK ts DELAY OF INTERVAL 10 SECONDS
    LEFT JOIN clicks c WATERMARK ts DELAY OF INTERVAL 10 SECONDS
      ON i.ad_id = c.ad_id AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 30 SECONDS
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("impressions")
    parser.add_argument("clicks")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--fail-at", help="PHASE:BATCH")
    args = parser.parse_args()
    if args.fail_at:
        phase, batch = args.fail_at.split(":")
        assert phase in phases.PHASES, f"--fail-at: unknown phase {phase!r}; one of {phases.PHASES}"
        die_at(phase, int(batch))
    sources = {
        "impressions": sn.sources.files(args.impressions, format="json", max_files_per_trigger=1,
                                        schema="ts timestamp, ad_id string, campaign string"),
        "clicks": sn.sources.files(args.clicks, format="json", max_files_per_trigger=1,
                                   schema="ts timestamp, ad_id string"),
    }
    q = sn.start(JOIN, name="joined", output_mode="append", trigger="available_now", sources=sources,
                 checkpoint=args.output_dir / "checkpoint-join",
                 sink=sn.sinks.duckdb(args.output_dir / "sink.duckdb", "joined"))
    print("running", flush=True)
    q.await_termination()
    print("done", flush=True)


if __name__ == "__main__":
    main()
