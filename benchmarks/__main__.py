"""``python -m benchmarks [--quick] [--case NAME ...] [--repeats N] [--output FILE]``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from . import (
    checkpoint,
    continuous,
    harness,
    idle_files,
    join_state,
    join_throughput,
    kafka_ingest,
    kernel_latency,
    latency,
    mqtt_latency,
    peers,
    pyspark_api,
    soak,
    spark_engine,
    spark_throughput,
    state_bounded,
    state_growth,
    state_scaling,
    throughput,
    udfs,
    view_update,
)

CASES = {case.NAME: case for case in (  # run in this order
    throughput, state_growth, checkpoint, kernel_latency, spark_throughput, peers, spark_engine, pyspark_api,
    join_throughput, latency, state_bounded,
    join_state, state_scaling, view_update, soak, idle_files, mqtt_latency, kafka_ingest, udfs, continuous)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="stream_nb side by side with PySpark and with one-shot DuckDB and pandas.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes that run in a minute or two (CI)")
    parser.add_argument("--case", action="append", choices=list(CASES), metavar="NAME",
                        help=f"run only this case (repeatable; default: all of {', '.join(CASES)})")
    parser.add_argument("--skip", action="append", choices=list(CASES), metavar="NAME", default=[],
                        help="leave this case out (repeatable)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per contender after one warm-up (default: 5 quick, 3 full)")
    parser.add_argument("--output", metavar="FILE", help="also write the results as markdown to FILE")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 3)

    size = "quick" if args.quick else "full"
    header = [
        f"## stream_nb benchmarks ({size} sizes, {repeats} timed runs each)",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Machine: {harness.machine()}",
        "",
    ]
    print("\n".join(header), flush=True)
    sections, failed = [], False
    for name in [name for name in args.case or CASES if name not in args.skip]:
        started = time.perf_counter()
        with harness.Neighbours() as neighbours:
            report = CASES[name].run(args.quick, repeats)
        took = f"_{name} took {time.perf_counter() - started:.0f} s in all"
        if neighbours.share is not None:
            took += f"; other processes kept {neighbours.share:.0%} of the machine's cores busy meanwhile"
        section = harness.render(report) + f"\n{took}._\n"
        print(section, flush=True)
        sections.append(section)
        failed |= report.failed
    if args.output:
        with open(args.output, "w") as out:
            out.write("\n".join(header + sections))
    if failed:
        print("FAILED: a contender errored or computed a wrong result (see above).", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
