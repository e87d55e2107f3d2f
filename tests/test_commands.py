"""The README's first command on a bare machine: ``make lab`` serves JupyterLab with the extension, as root too,
and ``pip install`` builds the extension with no Node.js on the machine (Node.js comes from PyPI)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_serves_jupyterlab_with_the_extension_whoever_runs_it(tmp_path):
    port, token = _free_port(), "t0ken"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    lab = subprocess.Popen(
        ["make", "lab", f"LAB_ARGS=--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        page = _wait_for(f"http://127.0.0.1:{port}/lab?token={token}", lab)
        assert "stream-nb" in page, "JupyterLab's page does not list the stream-nb extension"
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        output = lab.communicate(timeout=30)[0]
    assert "Running as root is not recommended" not in output, output


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make lab exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.5)  # the server is starting: poll its port
    raise AssertionError(f"JupyterLab did not answer at {url} within {timeout} s")


def _can_hide_node() -> bool:
    """Whether this process may bind-mount over /usr/bin/node in a mount namespace of its own (root, Linux)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    done = subprocess.run(["unshare", "-m", "mount", "--bind", "/dev/null", "/dev/null"], capture_output=True,
                          check=False)
    return done.returncode == 0


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not _can_hide_node(), reason="needs root and mount namespaces to hide Node.js")
def test_pip_install_builds_the_extension_on_a_machine_without_nodejs(tmp_path):
    """Every `node`, `npm` and `npx` on the PATH fails, as on a machine with Python alone."""
    source = tmp_path / "src"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(source)], check=True)
    fake = tmp_path / "no-node"
    fake.write_text("#!/bin/sh\necho 'node: not installed' >&2\nexit 127\n")
    fake.chmod(0o755)
    hide = "; ".join(f"mount --bind {fake} {path}" for tool in ("node", "npm", "npx")
                     for path in {shutil.which(tool)} - {None})
    venv = tmp_path / "venv"
    script = (f"{hide}; node --version; {sys.executable} -m venv {venv} && "
              f"{venv}/bin/pip install --quiet --no-deps {source}")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, check=False)
    assert "node: not installed" in done.stderr, "Node.js was not hidden"
    assert done.returncode == 0, done.stdout + done.stderr
    built = venv / "share/jupyter/labextensions/stream-nb"
    assert (built / "package.json").exists() and list((built / "static").glob("remoteEntry.*.js")), \
        f"no prebuilt extension in {built}"
