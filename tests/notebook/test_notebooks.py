"""Every notebook in notebooks/ runs top to bottom in a real kernel (nbclient). The notebooks check their own
results in ``assert`` cells; here we also check that the live views were displayed."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import WIDGET_VIEW

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "event_time.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, cell.source
        shown = " ".join(str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)
        assert "stream_nb:" not in shown, f"the cell showed an error:\n{cell.source}\n{shown}"
        if cell.source.startswith("%%stream") or ".show(" in cell.source or "side_by_side(" in cell.source:
            assert any(WIDGET_VIEW in o.get("data", {}) for o in cell.outputs), cell.source
