"""Crash and restart: run a child process, kill it with SIGKILL at a random moment, start it again."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

PIPELINE = Path(__file__).with_name("pipeline.py")


def start(input_dir: Path, output_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(PIPELINE), str(input_dir), str(output_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run_to_completion(input_dir: Path, output_dir: Path, timeout: float = 120) -> None:
    child = start(input_dir, output_dir)
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0 and "done" in out, f"pipeline failed (exit {child.returncode}):\n{err[-3000:]}"


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
