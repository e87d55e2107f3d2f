"""Exactly once from Kafka across crashes: a query reading a topic of 3 partitions into the duckdb sink is killed
with SIGKILL at random moments, at least 10 times, while 20,000 messages are produced; started again each time,
it ends with every message in the sink exactly once."""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from kafka_broker import Tansu

from stream_nb.checkpoint import logs

PIPELINE = Path(__file__).with_name("kafka_pipeline.py")
REPO = Path(__file__).parents[2]
MESSAGES, PARTITIONS, KILLS = 20_000, 3, 10


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    with Tansu.started(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


def start(broker, topic, output_dir, *options):
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(PIPELINE), broker.servers, topic, str(output_dir), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def kill_at_random(broker, topic, output_dir, rng):
    child = start(broker, topic, output_dir)
    line = child.stdout.readline()
    if "running" not in line:
        child.kill()
        _, err = child.communicate()
        raise AssertionError(f"pipeline did not start:\n{line}{err[-3000:]}")
    time.sleep(rng.uniform(0, 1.5))  # a random moment of its run: the kill is the test's input, not a wait
    child.send_signal(signal.SIGKILL)
    _, err = child.communicate()
    assert child.returncode == -signal.SIGKILL, f"pipeline ended by itself (exit {child.returncode}):\n{err[-3000:]}"


def produce(broker, topic, done: threading.Event):
    """20,000 messages, round robin over the partitions, in small flushed bursts while the query runs."""
    producer = broker.producer()
    for first in range(0, MESSAGES, 200):
        for i in range(first, min(first + 200, MESSAGES)):
            value = json.dumps({"id": i, "device": f"d{i % 7}"}).encode()
            producer.produce(topic, value=value, partition=i % PARTITIONS)
        assert producer.flush(30) == 0
        time.sleep(0.1)  # spread over the kills
    done.set()


@pytest.mark.slow
def test_sigkill_while_messages_arrive_leaves_every_message_in_the_sink_exactly_once(kafka_broker, tmp_path):
    topic = kafka_broker.create_topic("readings", PARTITIONS)
    produced = threading.Event()
    producer = threading.Thread(target=produce, args=(kafka_broker, topic, produced))
    producer.start()
    rng = random.Random(2026)
    kills = 0
    while kills < KILLS or not produced.is_set():
        kill_at_random(kafka_broker, topic, tmp_path, rng)
        kills += 1
    producer.join()
    assert logs.batches(tmp_path / "checkpoint", "commits"), "the killed runs committed no batch: nothing was tested"
    # Tansu shows a partition's end as the first offset of its last batch plus one: one last message alone each
    for p in range(PARTITIONS):
        kafka_broker.produce(topic, [{"id": MESSAGES + p, "device": "last"}], partition=p)

    child = start(kafka_broker, topic, tmp_path, "--until-caught-up")
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0 and "done" in out, f"pipeline failed (exit {child.returncode}):\n{err[-3000:]}"

    with duckdb.connect(str(tmp_path / "sink.duckdb"), read_only=True) as con:
        total, ids, places = con.sql("SELECT count(*), count(DISTINCT id), count(DISTINCT (\"partition\", \"offset\")) "
                                     "FROM messages").fetchall()[0]
        missing = con.sql(f"SELECT count(*) FROM range({MESSAGES + PARTITIONS}) r(i) "
                          "WHERE i NOT IN (SELECT id FROM messages)").fetchall()[0][0]
    assert kills >= KILLS
    assert (total, ids, places, missing) == (MESSAGES + PARTITIONS,) * 3 + (0,)
