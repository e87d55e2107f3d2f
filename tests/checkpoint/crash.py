"""Crash and restart: run the pipeline in a child process, make it die (SIGKILL at a random moment, or
``os._exit`` at a named step of a batch: ``fail_at``), start it again."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline import FAIL_EXIT

PIPELINE = Path(__file__).with_name("pipeline.py")
REPO = Path(__file__).parents[2]


def start(input_dir: Path, output_dir: Path, *options: str) -> subprocess.Popen:
    # the child imports stream_nb from the tree these tests are in (not whatever copy is installed)
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(PIPELINE), str(input_dir), str(output_dir), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run_to_completion(input_dir: Path, output_dir: Path, timeout: float = 120, only: str | None = None) -> None:
    child = start(input_dir, output_dir, *(["--only", only] if only else []))
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0 and "done" in out, f"pipeline failed (exit {child.returncode}):\n{err[-3000:]}"


def fail_at(phase: str, batch_id: int, input_dir: Path, output_dir: Path, only: str | None = None,
            timeout: float = 120, options: tuple[str, ...] = ()) -> None:
    """Run the pipeline until batch ``batch_id`` reaches ``phase`` (stream_nb.checkpoint.phases), where the
    process dies at once (``os._exit``: no cleanup, as a crash); fails if it ended any other way."""
    child = start(input_dir, output_dir, "--fail-at", f"{phase}:{batch_id}", *(["--only", only] if only else []),
                  *options)
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == FAIL_EXIT and "done" not in out, \
        f"pipeline did not die at {phase} of batch {batch_id} (exit {child.returncode}):\n{err[-3000:]}"


def kill_at_random(input_dir: Path, output_dir: Path, rng: random.Random, most_seconds: float) -> bool:
    """Start the pipeline and SIGKILL it a random moment after it starts running; False if it finished first."""
    child = start(input_dir, output_dir)
    line = child.stdout.readline()
    if "running" not in line:
        child.kill()
        _, err = child.communicate()
        raise AssertionError(f"pipeline did not start:\n{line}{err[-3000:]}")
    time.sleep(rng.uniform(0, most_seconds))
    child.send_signal(signal.SIGKILL)  # a child that has just finished by itself is not killed
    _, err = child.communicate()
    killed = child.returncode == -signal.SIGKILL
    assert killed or child.returncode == 0, f"pipeline failed (exit {child.returncode}):\n{err[-3000:]}"
    return killed
