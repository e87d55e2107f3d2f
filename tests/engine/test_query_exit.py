"""A process exits cleanly with its queries running or stopped (engine/query.py's termination closes the
query's DuckDB connection; engine/registry.py stops running queries at exit): a DuckDB connection whose last
reference falls on the engine's daemon thread while the interpreter shuts down aborts the process
("terminate called ... FATAL: exception not rethrown"). Real processes, real exits, several of each at once
(the abort depends on timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = Path(__file__).with_name("exit_pipeline.py")
RUNS = 4


def exits(tmp_path: Path, mode: str) -> list[tuple[int, str, str]]:
    children = [subprocess.Popen([sys.executable, str(PIPELINE), str(tmp_path / f"run{i}"), mode],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(RUNS)]
    return [(child.returncode, out, err) for child in children for out, err in [child.communicate(timeout=120)]]


@pytest.mark.parametrize("mode", ["leave", "stop"])
def test_a_process_exits_cleanly_with_its_queries_left_running_or_stopped(tmp_path, mode):
    for code, out, err in exits(tmp_path, mode):
        assert "terminate called" not in err and "Fatal Python error" not in err, err[-2000:]
        assert code == 0 and "ready" in out, f"exit {code}:\n{err[-2000:]}"


def test_a_terminated_query_has_closed_its_connection(tmp_path):
    import pyarrow as pa

    import stream_nb as sn
    source = sn.sources.memory(pa.schema([("x", pa.int64())]))
    q = sn.start("SELECT x * 2 AS y FROM s", sources={"s": source}, trigger="manual")
    source.add_data(pa.table({"x": [1, 2]}))
    q.step()
    q.stop()
    with pytest.raises(Exception, match="(?i)closed"):
        q._con.execute("SELECT 1")
