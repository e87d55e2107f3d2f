"""Exactly once from MQTT across crashes: a query reading 3,000 QoS 1 messages, published while it runs, is
killed with SIGKILL at random moments (at least 10 times) and restarted each time; the duckdb sink ends with
every message exactly once. What makes it so: the write-ahead log (synced before the broker hears the
acknowledgement), the broker's persistent session (what was published while the query was down, and what was
not acknowledged), and the recognition of a redelivered message the log already holds."""

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
from paho.mqtt import client as paho

sys.path.insert(0, str(Path(__file__).parents[1]))
from mqtt_broker import running_broker

PIPELINE = Path(__file__).with_name("mqtt_pipeline.py")
FAIL_EXIT = 86  # mqtt_pipeline.py's exit status when it dies at --die-after-sync
REPO = Path(__file__).parents[2]
MESSAGES = 3000
KILLS = 10


@pytest.fixture
def broker(tmp_path):
    yield from running_broker(tmp_path / "mosquitto")


def start(broker, output_dir, *options):
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen([sys.executable, str(PIPELINE), broker.address, str(output_dir), *options],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = child.stdout.readline()
    if "running" not in line:
        child.kill()
        _, err = child.communicate()
        raise AssertionError(f"the MQTT pipeline did not start:\n{line}{err[-3000:]}")
    return child


def publish_while_running(broker, done: threading.Event, per_second: float) -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="crash-test-publisher")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    for i in range(MESSAGES):
        payload = json.dumps({"id": i, "device": f"d{i % 5}", "temp": round(20 + (i % 50) / 10, 1)})
        client.publish(f"readings/d{i % 5}", payload, qos=1)
        time.sleep(1 / per_second)  # a steady stream while the query is killed and restarted
    client.publish("readings/end", json.dumps({"id": MESSAGES}), qos=1).wait_for_publish(timeout=60)
    client.disconnect()
    client.loop_stop()
    done.set()


@pytest.mark.slow
def test_sigkill_while_messages_arrive_loses_none_and_writes_none_twice(broker, tmp_path):
    output = tmp_path / "out"
    first = start(broker, output)  # subscribed: the session queues from now on
    published = threading.Event()
    publisher = threading.Thread(target=publish_while_running, args=(broker, published, 150), daemon=True)
    publisher.start()
    rng = random.Random(2026)
    child, kills = first, 0
    while True:
        time.sleep(rng.uniform(0.2, 1.5))
        child.send_signal(signal.SIGKILL)
        _, err = child.communicate()
        assert child.returncode == -signal.SIGKILL, f"the pipeline failed (exit {child.returncode}):\n{err[-3000:]}"
        kills += 1
        if kills >= KILLS and published.is_set():
            break
        child = start(broker, output)
    publisher.join()

    last = start(broker, output, "--expect", str(MESSAGES + 1))
    out, err = last.communicate(timeout=300)
    assert last.returncode == 0 and "done" in out, f"the last run failed (exit {last.returncode}):\n{err[-3000:]}"
    with duckdb.connect(str(output / "sink.duckdb"), read_only=True) as con:
        ids = [row[0] for row in con.sql("SELECT id FROM readings ORDER BY id").fetchall()]
    assert len(ids) == MESSAGES + 1 and ids == list(range(MESSAGES + 1))  # every message, once


def test_a_crash_after_the_log_synced_and_before_the_acknowledgement_writes_nothing_twice(broker, tmp_path):
    output = tmp_path / "out"
    child = start(broker, output, "--die-after-sync", "5")
    publisher = paho.Client(paho.CallbackAPIVersion.VERSION2)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    for i in range(20):
        publisher.publish(f"readings/d{i % 5}", json.dumps({"id": i, "device": "d", "temp": 1.0}), qos=1)
    publisher.publish("readings/end", json.dumps({"id": 20}), qos=1).wait_for_publish(timeout=60)
    publisher.disconnect()
    publisher.loop_stop()
    _, err = child.communicate(timeout=120)
    assert child.returncode == FAIL_EXIT, f"the pipeline did not die after the sync (exit {child.returncode}):\n{err}"

    last = start(broker, output, "--expect", "21")
    out, err = last.communicate(timeout=300)
    assert last.returncode == 0 and "done: 21 messages" in out, f"the last run failed:\n{out}{err[-3000:]}"
    recognised = int(out.split("messages, ")[1].split()[0])
    assert recognised >= 5  # the broker delivered again what it had not heard acknowledged
    with duckdb.connect(str(output / "sink.duckdb"), read_only=True) as con:
        ids = [row[0] for row in con.sql("SELECT id FROM readings ORDER BY id").fetchall()]
    assert ids == list(range(21))
