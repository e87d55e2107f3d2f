"""Exactly once across crashes: a pipeline killed with SIGKILL 30 times, restarted each time, ends with
sinks holding exactly what an uninterrupted run holds — nothing lost, nothing twice."""

import json
import random
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from crash import kill_at_random, run_to_completion

import stream_nb as sn

FILES = 60
ROWS = 40


@pytest.fixture
def input_dir(tmp_path):
    """60 files of readings, out of order within a few seconds, with some rows far behind (late)."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    folder = tmp_path / "input"
    folder.mkdir()
    row_id = 0
    for f in range(FILES):
        lines = []
        for _ in range(ROWS):
            seconds = f * 3 + rng.uniform(-4, 4) - (rng.random() < 0.05) * 40
            lines.append(json.dumps({"ts": (start + timedelta(seconds=seconds)).isoformat(),
                                     "device": f"d{rng.randrange(4)}", "temp": round(rng.uniform(-5, 30), 2),
                                     "id": row_id}))
            row_id += 1
        (folder / f"part-{f:03d}.json").write_text("\n".join(lines) + "\n")
    return folder


def windows(output_dir):
    with duckdb.connect(str(output_dir / "sink.duckdb"), read_only=True) as con:
        return con.sql("SELECT w.start::VARCHAR, w.end::VARCHAR, device, n, total, last_id FROM windows "
                       "ORDER BY ALL").fetchall()


def projected(output_dir):
    frame = sn.read_files_sink(output_dir / "files-sink")
    return sorted(frame.astype(str).itertuples(index=False, name=None))


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_writes_nothing_twice(input_dir, tmp_path):
    reference = tmp_path / "uninterrupted"
    run_to_completion(input_dir, reference)

    crashed = tmp_path / "crashed"
    rng = random.Random(2026)
    kills = 0
    while kills < 30:
        kills += kill_at_random(input_dir, crashed, rng, most_seconds=0.6)
    run_to_completion(input_dir, crashed)

    expected_windows, got_windows = windows(reference), windows(crashed)
    assert len(expected_windows) > 20
    assert got_windows == expected_windows
    expected_rows, got_rows = projected(reference), projected(crashed)
    assert len(expected_rows) > FILES * ROWS / 2
    assert got_rows == expected_rows
    assert len({row[0] for row in got_rows}) == len(got_rows)  # every id once
