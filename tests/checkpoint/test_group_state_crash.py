"""Exactly once across crashes for applyInPandasWithState: the session pipeline (``group_state_pipeline.py``)
killed with SIGKILL at random moments, or made to die at each step of a batch, restarted each time, ends with
the duckdb sink holding what an uninterrupted run holds: the function's state restored exactly once (a row
computed from state applied twice, or lost, would differ)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from pipeline import FAIL_EXIT

from stream_nb.checkpoint import phases

PIPELINE = Path(__file__).with_name("group_state_pipeline.py")
REPO = Path(__file__).parents[2]
FILES, ROWS = 16, 12


def write_readings(folder: Path) -> Path:
    """Three devices; each is quiet for a while now and then (so its session times out), time moves on."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    folder.mkdir(parents=True)
    ident = 0
    for f in range(FILES):
        rows = []
        for _ in range(ROWS):
            device = rng.choice([d for d in "abc" if (f // 2 + "abc".index(d)) % 4 != 0])  # quiet 2 files in 8
            ident += 1
            at = f * 10 + rng.uniform(-3, 3)
            rows.append({"ts": (start + timedelta(seconds=at)).isoformat(), "device": device, "id": ident})
        (folder / f"part-{f:03d}.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def start(input_dir, output_dir, *options):
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), str(Path(__file__).parent),
                                                      os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(PIPELINE), str(input_dir), str(output_dir), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run_to_completion(input_dir, output_dir):
    child = start(input_dir, output_dir)
    out, err = child.communicate(timeout=180)
    assert child.returncode == 0 and "done" in out, f"pipeline failed (exit {child.returncode}):\n{err[-3000:]}"


def emitted(output_dir):
    with duckdb.connect(str(output_dir / "sink.duckdb"), read_only=True) as con:
        return con.sql("SELECT device, kind, count, ids FROM sessions ORDER BY ALL").fetchall()


@pytest.fixture(scope="module")
def input_dir(tmp_path_factory):
    return write_readings(tmp_path_factory.mktemp("group-state-crash") / "input")


@pytest.fixture(scope="module")
def uninterrupted(input_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    run_to_completion(input_dir, out)
    rows = emitted(out)
    assert any(kind == "closed" for _, kind, _, _ in rows) and any(kind == "open" for _, kind, _, _ in rows)
    return rows


def test_a_session_pipeline_killed_at_random_moments_ends_with_every_row_once(input_dir, uninterrupted, tmp_path):
    rng = random.Random(2026)
    kills = 0
    while kills < 6:
        child = start(input_dir, tmp_path)
        line = child.stdout.readline()
        assert "running" in line, f"pipeline did not start:\n{line}{child.communicate()[1][-3000:]}"
        time.sleep(rng.uniform(0, 0.8))  # a random moment of its run: the kill is the test's input, not a wait
        child.send_signal(signal.SIGKILL)  # a child that has just finished by itself is not killed
        _, err = child.communicate()
        assert child.returncode in (0, -signal.SIGKILL), f"pipeline failed (exit {child.returncode}):\n{err[-3000:]}"
        kills += child.returncode == -signal.SIGKILL
    run_to_completion(input_dir, tmp_path)
    assert emitted(tmp_path) == uninterrupted


@pytest.mark.parametrize("phase", phases.PHASES)
def test_a_session_pipeline_dying_at_each_step_of_a_batch_ends_as_an_uninterrupted_run(phase, input_dir,
                                                                                       uninterrupted, tmp_path):
    crash_batch = 5  # state behind it (and a session closed), batches after it
    child = start(input_dir, tmp_path, "--fail-at", f"{phase}:{crash_batch}")
    out, err = child.communicate(timeout=180)
    assert child.returncode == FAIL_EXIT and "done" not in out, \
        f"pipeline did not die at {phase} of batch {crash_batch} (exit {child.returncode}):\n{err[-3000:]}"
    assert (tmp_path / "checkpoint-sessions" / "commits" / str(crash_batch)).exists() == \
        (phase == phases.COMMIT_WRITTEN)
    run_to_completion(input_dir, tmp_path)
    assert emitted(tmp_path) == uninterrupted
