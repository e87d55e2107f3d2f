"""Case ``mqtt_latency``: from an MQTT publish to the sink holding the message, at 1,000 messages/s.

A publisher (paho, QoS 1, in a process of its own) sends 1,000 messages a second to a local mosquitto, each stamped with the wall time
at which it was published. The query reads them with ``sn.sources.mqtt`` (schema= parses the stamp),
``trigger=None``, into a foreachBatch function that notes the wall time at which it holds each batch's rows;
a message's latency is that time minus its stamp. Side by side: with a checkpoint (each message in the
write-ahead log, fsynced before it is acknowledged and before a batch may read it: exactly once) and without
(kept in memory: at most once), so the ratio is what exactly once costs. Every published message must reach
the sink once, or the run counts as a wrong result.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import workload
from .harness import Contender, Failure, Report, ResultMismatch, Stopwatch, Target

NAME = "mqtt_latency"
TITLE = "MQTT publish to sink commit at 1,000 messages/s (QoS 1, mosquitto on loopback)"
DURATION_S = {False: 20.0, True: 4.0}
RUNS = {False: 3, True: 1}
WARMUP_SHARE = 0.2  # messages of the first fifth of a run are not counted (connection, first batches)
RATE = 1_000
TARGET_P99_MS = 50.0
SQL = "SELECT seq, sent FROM m"
_REPO = Path(__file__).parents[1]
WAL, MEMORY = "stream_nb mqtt, checkpoint (write-ahead log)", "stream_nb mqtt, no checkpoint (memory)"


def publish(port: int, seconds: float) -> None:
    """Connect, say ``ready``, wait for a line on stdin, then publish RATE messages a second for ``seconds``,
    each stamped with its publish time, and print how many once the broker has them all. Run in a process of
    its own (``Publisher``), so that it takes nothing from the query's process."""
    from paho.mqtt import client as paho

    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    count = int(seconds * RATE)
    for seq in range(count):
        due = started + seq / RATE
        while (wait := due - time.perf_counter()) > 0:
            time.sleep(min(wait, 0.001))
        info = client.publish("bench/readings", json.dumps({"seq": seq, "sent": time.time()}), qos=1)
    info.wait_for_publish(timeout=60)
    client.disconnect()
    client.loop_stop()
    print(count, flush=True)


class Publisher:
    """``publish`` in a child process, started (and connected) before the timed part."""

    def __init__(self, broker, seconds: float):
        code = f"from benchmarks.mqtt_latency import publish; publish({broker.port}, {seconds})"
        self._child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, cwd=_REPO)
        if self._child.stdout.readline().strip() != "ready":
            self._child.kill()
            raise RuntimeError(f"the publisher did not start:\n{self._child.stderr.read()[-2000:]}")

    def run(self) -> int:
        """Publish; how many messages the broker acknowledged."""
        self._child.stdin.write("go\n")
        self._child.stdin.flush()
        out, err = self._child.communicate(timeout=300)
        if self._child.returncode:
            raise RuntimeError(f"the publisher failed:\n{err[-2000:]}")
        return int(out.split()[-1])


def run(quick: bool, repeats: int) -> Report:
    duration = DURATION_S[quick]
    runs = min(RUNS[quick], repeats)
    report = Report(NAME, f"{TITLE}: {duration:g} s runs, messages of the first {WARMUP_SHARE:.0%} not counted",
                    baseline=MEMORY)
    stats: dict[str, list[dict]] = {WAL: [], MEMORY: []}
    try:
        from stream_nb.sources.mosquitto import MosquittoBroker

        broker = MosquittoBroker()
    except (ImportError, FileNotFoundError) as err:  # no mosquitto here: both contenders skipped, said so
        report.failures += [Failure(name, "skipped", str(err)) for name in (WAL, MEMORY)]
        return report

    def stream_nb_run(clock: Stopwatch, checkpoint: bool, seconds: float = duration) -> dict:
        sn = workload.stream_nb()
        received: list[tuple[float, np.ndarray, np.ndarray]] = []

        def sink(df: pd.DataFrame, batch_id: int) -> None:
            received.append((time.time(), df["seq"].to_numpy(), df["sent"].to_numpy()))

        src = sn.sources.mqtt(broker.address, "bench/#", schema="seq bigint, sent double")
        with tempfile.TemporaryDirectory() as scratch, _quiet():
            q = sn.start(SQL, sources={"m": src}, trigger=None, sink=sn.sinks.foreach_batch(sink),
                         checkpoint=f"{scratch}/cp" if checkpoint else None)
            try:
                publisher = Publisher(broker, seconds)
                with clock:
                    published = publisher.run()
                deadline = time.monotonic() + 60
                while sum(len(s) for _, s, _ in received) < published and time.monotonic() < deadline:
                    time.sleep(0.05)  # the last messages cross the broker and the engine
            finally:
                q.stop()
        if q.exception is not None:
            raise q.exception
        seqs = np.concatenate([s for _, s, _ in received]) if received else np.empty(0, np.int64)
        if len(seqs) != published or len(np.unique(seqs)) != published:
            raise ResultMismatch(f"{published:,} messages published, {len(seqs):,} reached the sink "
                                 f"({len(np.unique(seqs)):,} distinct)")
        first = min(sent.min() for _, _, sent in received if len(sent)) + WARMUP_SHARE * seconds
        latencies = np.concatenate([(at - sent[sent >= first]) * 1e3 for at, _, sent in received])
        return {"latencies": latencies, "batches/s": len(received) / seconds,
                "trigger_ms": statistics.median(p["durationMs"]["triggerExecution"] for p in q.recent_progress
                                                if p["numInputRows"])}

    def contender(name: str, checkpoint: bool) -> Contender:
        def once(clock: Stopwatch) -> dict:
            out = stream_nb_run(clock, checkpoint)
            stats[name].append(out)
            return out
        return Contender(name, once, int(duration * RATE),
                         warmup=lambda: stream_nb_run(Stopwatch(), checkpoint, 1.0))

    try:
        measured = report.run([contender(WAL, True), contender(MEMORY, False)], runs)
    finally:
        broker.stop()
    for name, outs in stats.items():
        if name not in measured or not outs:
            continue
        report.row(name).update({
            "p50 ms": statistics.median(float(np.percentile(o["latencies"], 50)) for o in outs),
            "p99 ms": statistics.median(float(np.percentile(o["latencies"], 99)) for o in outs),
            "max ms": max(float(o["latencies"].max()) for o in outs),
            "rows counted": sum(len(o["latencies"]) for o in outs),
            "batches/s": statistics.median(o["batches/s"] for o in outs),
            "batch ms": statistics.median(o["trigger_ms"] for o in outs),
        })
    wal, memory = report.row(WAL), report.row(MEMORY)
    report.targets = [Target("stream_nb mqtt with a checkpoint, p99 publish → sink, ms",
                             wal["p99 ms"] if wal else None, goal=TARGET_P99_MS, at_least=False)]
    if wal and memory:
        report.targets.append(Target("p50 with the write-ahead log / p50 in memory", wal["p50 ms"] / memory["p50 ms"]))
    report.notes.append(
        "`p50 ms` / `p99 ms`: percentiles of every counted message's latency, publish (its stamp) to the "
        f"foreachBatch function holding it (median over {runs} run(s)); `seconds` is the publishing time. With a "
        "checkpoint each message is fsynced to the write-ahead log (one fsync for all that arrived meanwhile) "
        "before the broker hears it acknowledged and before a batch may read it.")
    return report


class _quiet:
    """The at-most-once warning of the run without a checkpoint is the point of that contender, not news."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.filterwarnings("ignore", message=".*delivers at most once")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
