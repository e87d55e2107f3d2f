"""The planner only plans (issue 13 item 2): nothing under stream_nb/sql imports the engine, DuckDB or Arrow's
compute functions; running a plan at batch time is the engine's."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import stream_nb

SQL = Path(stream_nb.__file__).parent / "sql"
MODULES = sorted(SQL.glob("*.py"))
BATCH_TIME = ("stream_nb.engine", "duckdb", "pyarrow.compute")

# The sql package alone, in a fresh interpreter: ``stream_nb`` as a bare package, so that its __init__ (which
# starts the engine for sn.start) does not run and only what stream_nb.sql itself imports is loaded. (Arrow's
# compute is loaded by stream_nb.types and the sources the planner reads schemas from: checked per module.)
ALONE = f"""
import importlib, pkgutil, sys, types
package = types.ModuleType("stream_nb")
package.__path__ = [{str(SQL.parent)!r}]
sys.modules["stream_nb"] = package
import stream_nb.sql
for info in pkgutil.iter_modules(stream_nb.sql.__path__):
    importlib.import_module("stream_nb.sql." + info.name)
print(sorted(name for name in sys.modules if name.startswith(("stream_nb.engine", "duckdb"))))
"""


def imported(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports, at the top or inside a function, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def test_importing_every_sql_module_loads_neither_the_engine_nor_duckdb():
    loaded = subprocess.run([sys.executable, "-c", ALONE], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


@pytest.mark.parametrize("path", MODULES, ids=[path.name for path in MODULES])
def test_no_sql_module_imports_what_runs_at_batch_time(path):
    wrong = [f"{path.name}:{line} imports {name}" for name, line in imported(path)
             if any(name == prefix or name.startswith(prefix + ".") for prefix in BATCH_TIME)]
    assert wrong == []
