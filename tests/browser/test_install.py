"""After ``make lab``'s install (``pip install -e ".[test]"``), Jupyter finds both halves of the extension:
the prebuilt JupyterLab extension (built by hatch-jupyter-builder during the install) and the server
extension."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import stream_nb

JUPYTER = Path(sys.executable).parent / "jupyter"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(*args: str) -> str:
    done = subprocess.run([str(JUPYTER), *args], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return _ANSI.sub("", done.stdout + done.stderr)


def test_labextension_list_shows_it_enabled():
    listed = _run("labextension", "list")
    assert re.search(rf"stream-nb v{re.escape(stream_nb.__version__)} enabled OK \(python, stream_nb\)",
                     listed), listed


def test_server_extension_list_shows_it_enabled():
    listed = _run("server", "extension", "list")
    assert re.search(r"stream_nb\.server enabled", listed), listed
    assert re.search(r"stream_nb\.server\s+OK", listed), listed
