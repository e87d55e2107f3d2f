"""Exactly once across crashes for a stream-stream join: a LEFT OUTER join of impressions and clicks (two files
sources, state on both sides) killed with SIGKILL at random moments, or made to die at each step of a batch,
restarted each time, ends with the duckdb sink holding what an uninterrupted run holds: every joined row once."""

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

PIPELINE = Path(__file__).with_name("join_pipeline.py")
REPO = Path(__file__).parents[2]
FILES, IMPRESSIONS = 24, 30


def write_ads(folder: Path, files: int) -> tuple[Path, Path]:
    """Impressions (one ad_id each) and half of them clicked 0-40 s later (so some clicks fall out of the 30 s
    range); out of order within a few seconds, a few rows of each far behind (late)."""
    rng = random.Random(11)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    impressions, clicks = folder / "impressions", folder / "clicks"
    impressions.mkdir(parents=True)
    clicks.mkdir()
    pending = []  # (arrival file, click row)
    for f in range(files):
        shown = []
        for k in range(IMPRESSIONS):
            at = f * 5 + rng.uniform(-3, 3) - (rng.random() < 0.03) * 60
            ad = f"ad-{f}-{k}"
            shown.append({"ts": (start + timedelta(seconds=at)).isoformat(), "ad_id": ad,
                          "campaign": f"c{rng.randrange(3)}"})
            if rng.random() < 0.5:
                delay = rng.uniform(0, 40)
                pending.append((f + int(delay // 5) + rng.randrange(2),
                                {"ts": (start + timedelta(seconds=at + delay)).isoformat(), "ad_id": ad}))
        (impressions / f"part-{f:03d}.json").write_text("".join(json.dumps(r) + "\n" for r in shown))
        arrived = [row for due, row in pending if due <= f]
        pending = [(due, row) for due, row in pending if due > f]
        (clicks / f"part-{f:03d}.json").write_text("".join(json.dumps(r) + "\n" for r in arrived))
    return impressions, clicks


def start(inputs, output_dir, *options):
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), str(Path(__file__).parent),
                                                      os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(PIPELINE), *map(str, inputs), str(output_dir), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run_to_completion(inputs, output_dir):
    child = start(inputs, output_dir)
    out, err = child.communicate(timeout=180)
    assert child.returncode == 0 and "done" in out, f"pipeline failed (exit {child.returncode}):\n{err[-3000:]}"


def joined(output_dir):
    with duckdb.connect(str(output_dir / "sink.duckdb"), read_only=True) as con:
        return con.sql("SELECT ad_id, shown::VARCHAR, campaign, clicked::VARCHAR FROM joined ORDER BY ALL").fetchall()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_ads(tmp_path_factory.mktemp("join-crash") / "input", FILES)


@pytest.fixture(scope="module")
def uninterrupted(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    run_to_completion(inputs, out)
    rows = joined(out)
    assert len(rows) > FILES * IMPRESSIONS / 2
    assert any(row[3] is None for row in rows) and any(row[3] is not None for row in rows)  # outer rows and matches
    assert len({row[0] for row in rows}) == len(rows)  # one click at most per impression: each ad once
    return rows


@pytest.mark.slow
def test_a_join_killed_at_random_moments_ends_with_every_joined_row_once(inputs, uninterrupted, tmp_path):
    rng = random.Random(2026)
    kills = 0
    while kills < 15:
        child = start(inputs, tmp_path)
        line = child.stdout.readline()
        assert "running" in line, f"pipeline did not start:\n{line}{child.communicate()[1][-3000:]}"
        time.sleep(rng.uniform(0, 0.8))  # a random moment of its run: the kill is the test's input, not a wait
        child.send_signal(signal.SIGKILL)  # a child that has just finished by itself is not killed
        _, err = child.communicate()
        assert child.returncode in (0, -signal.SIGKILL), f"pipeline failed (exit {child.returncode}):\n{err[-3000:]}"
        kills += child.returncode == -signal.SIGKILL
    run_to_completion(inputs, tmp_path)
    assert joined(tmp_path) == uninterrupted


@pytest.mark.parametrize("phase", phases.PHASES)
def test_a_join_dying_at_each_step_of_a_batch_ends_as_an_uninterrupted_run(phase, inputs, uninterrupted,
                                                                           tmp_path):
    crash_batch = 4  # state on both sides behind it, batches after it
    child = start(inputs, tmp_path, "--fail-at", f"{phase}:{crash_batch}")
    out, err = child.communicate(timeout=180)
    assert child.returncode == FAIL_EXIT and "done" not in out, \
        f"pipeline did not die at {phase} of batch {crash_batch} (exit {child.returncode}):\n{err[-3000:]}"
    checkpoint = tmp_path / "checkpoint-join"
    assert (checkpoint / "commits" / str(crash_batch)).exists() == (phase == phases.COMMIT_WRITTEN)
    offsets = (checkpoint / "offsets" / str(crash_batch)).read_text().splitlines()
    assert len([line for line in offsets if line.startswith("{\"")]) >= 2  # a line per input
    run_to_completion(inputs, tmp_path)
    assert joined(tmp_path) == uninterrupted
