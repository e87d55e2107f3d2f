"""Exactly once across crashes: a pipeline killed with SIGKILL 30 times, or made to die between any two steps
of a batch, restarted each time, ends with sinks holding exactly what an uninterrupted run holds — nothing
lost, nothing twice."""

import json
import random
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from crash import fail_at, kill_at_random, run_to_completion

import stream_nb as sn
from stream_nb.checkpoint import phases

FILES = 60
ROWS = 40


def write_readings(folder, files):
    """Files of readings, out of order within a few seconds, with some rows far behind (late)."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    folder.mkdir()
    row_id = 0
    for f in range(files):
        lines = []
        for _ in range(ROWS):
            seconds = f * 3 + rng.uniform(-4, 4) - (rng.random() < 0.05) * 40
            lines.append(json.dumps({"ts": (start + timedelta(seconds=seconds)).isoformat(),
                                     "device": f"d{rng.randrange(4)}", "temp": round(rng.uniform(-5, 30), 2),
                                     "id": row_id}))
            row_id += 1
        (folder / f"part-{f:03d}.json").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def input_dir(tmp_path):
    return write_readings(tmp_path / "input", FILES)


def windows(output_dir):
    with duckdb.connect(str(output_dir / "sink.duckdb"), read_only=True) as con:
        return con.sql("SELECT w.start::VARCHAR, w.end::VARCHAR, device, n, total, last_id FROM windows "
                       "ORDER BY ALL").fetchall()


def projected(output_dir, sink="files-sink"):
    frame = sn.read_files_sink(output_dir / sink)
    return sorted(frame.astype(str).itertuples(index=False, name=None))


def unioned(output_dir):
    return projected(output_dir, "union-sink")


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


CRASH_BATCH = 3  # a batch with state behind it and batches after it
# the query each sink is fed by; "union": a query of two inputs, each replayed for its own range
SINKS = {"duckdb": ("windowed", windows), "files": ("stateless", projected), "union": ("union", unioned)}


@pytest.fixture(scope="module")
def few_files(tmp_path_factory):
    return write_readings(tmp_path_factory.mktemp("crash-steps") / "input", 10)


@pytest.fixture(scope="module")
def uninterrupted(few_files, tmp_path_factory):
    """What each sink holds after a run without a crash, by sink (run once for all the phases)."""
    runs = {}

    def rows(sink):
        if sink not in runs:
            query, sink_rows = SINKS[sink]
            out = tmp_path_factory.mktemp(f"uninterrupted-{sink}")
            run_to_completion(few_files, out, only=query)
            runs[sink] = sink_rows(out)
        return runs[sink]
    return rows


@pytest.mark.parametrize("phase", phases.PHASES)
@pytest.mark.parametrize("sink", SINKS)
def test_a_crash_at_each_step_of_a_batch_ends_as_an_uninterrupted_run(sink, phase, few_files, uninterrupted,
                                                                     tmp_path):
    query, sink_rows = SINKS[sink]
    fail_at(phase, CRASH_BATCH, few_files, tmp_path, only=query)
    checkpoint = tmp_path / f"checkpoint-{query}"
    assert (checkpoint / "offsets" / str(CRASH_BATCH)).exists()  # the process died inside the batch it names
    assert (checkpoint / "commits" / str(CRASH_BATCH)).exists() == (phase == phases.COMMIT_WRITTEN)
    assert not (checkpoint / "offsets" / str(CRASH_BATCH + 1)).exists()
    run_to_completion(few_files, tmp_path, only=query)

    expected = uninterrupted(sink)
    assert len(expected) > 10
    assert sink_rows(tmp_path) == expected


@pytest.mark.parametrize(("order", "phase"), [("state first", phases.STATE_WRITTEN),
                                              ("commit first", phases.COMMIT_WRITTEN)])
def test_a_crash_between_renaming_the_state_and_the_commit_in_either_order_ends_as_an_uninterrupted_run(
        order, phase, few_files, uninterrupted, tmp_path):
    """The state and commits/N are made durable together, so either rename may be on disk without the other:
    a commit without its state is no commit, and batch N runs again."""
    options = ("--commit-first",) if order == "commit first" else ()
    fail_at(phase, CRASH_BATCH, few_files, tmp_path, only="windowed", options=options)
    checkpoint = tmp_path / "checkpoint-windowed"
    state = checkpoint / "state" / "0" / f"{CRASH_BATCH + 1}.delta"
    assert state.exists() == (order == "state first")
    assert (checkpoint / "commits" / str(CRASH_BATCH)).exists() == (order == "commit first")
    run_to_completion(few_files, tmp_path, only="windowed")

    assert (checkpoint / "commits" / str(CRASH_BATCH)).exists()
    expected = uninterrupted("duckdb")
    assert len(expected) > 10
    assert windows(tmp_path) == expected
