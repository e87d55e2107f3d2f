"""A continuous query run as its own process, for the kill -9 test: the rate source (it replays after a restart:
its start time is in the checkpoint) into the files sink, epochs every 50 ms, until it is killed."""

import sys

import stream_nb as sn

if __name__ == "__main__":
    out, checkpoint = sys.argv[1], sys.argv[2]
    q = sn.start("SELECT value, value * 2 AS doubled FROM rate", sources={"rate": sn.sources.rate(500)},
                 trigger="continuous 50 milliseconds", sink=sn.sinks.files(out), checkpoint=checkpoint)
    print("started", flush=True)
    q.await_termination()
