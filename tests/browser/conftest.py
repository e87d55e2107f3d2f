"""A real JupyterLab on loopback and Debian's Chromium driven by Playwright, for the browser tests.

``jupyter lab`` runs from this venv on a free port with a random token, in a temp root folder; its config, data
and runtime folders are temp ones too, so nothing of the user's (settings, workspaces) leaks in, while the
venv's own (the labextensions, stream_nb's server extension) is there as a user's would be. Chromium is
Debian's (``apt-get install chromium``; .ci/run installs it); Playwright never downloads a browser here.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass
class Lab:
    url: str          # http://127.0.0.1:PORT/
    token: str
    root: Path        # the server's root folder
    runtime: Path     # its runtime folder (kernels' connection files)
    log: Path         # the server's output

    def page_url(self, path: str) -> str:
        return f"{self.url}{path}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium; "
                    ".ci/run does it)")
    return CHROMIUM


@pytest.fixture(scope="module")
def artifacts(request) -> Path:
    """Where the module's screenshots go (kept after the run; ignored by git)."""
    folder = ARTIFACTS / Path(request.node.name).stem
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    """``jupyter lab`` on loopback, serving a temp folder with a copy of notebooks/."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    shutil.copytree(Path(__file__).parents[2] / "notebooks", root)
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        env[name] = str(base / name.lower())
    env.pop("STREAM_NB_BOKEHJS", None)   # the server extension sets it for its kernels
    config = base / "jupyter_config_dir"
    config.mkdir()
    # no news feed, no update check: the page asks nothing of the internet (nor shows a toast about it)
    (config / "jupyter_server_config.json").write_text(json.dumps({"LabApp": {
        "news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}))
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps(
        {"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "server.log"
    command = [sys.executable, "-m", "jupyter", "lab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               "--ServerApp.open_browser=False", f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
               "--LabApp.expose_app_in_browser=True"]   # lets the test run JupyterLab's commands
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(f"{url}api/status?token={token}", server, log)
        yield Lab(url=url, token=token, root=root, runtime=Path(env["JUPYTER_RUNTIME_DIR"]), log=log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for(url: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter lab exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def watched_page(browser, height: int = 1000):
    """A page in a context of its own whose console messages, errors and a crash are kept in
    ``page.console_messages`` (a crash said as such: Playwright would only say TargetClosedError)."""
    context = browser.new_context(viewport={"width": 1400, "height": height})
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.on("crash", lambda _: messages.append("pageerror: the page crashed (Chromium's renderer died)"))
    page.console_messages = messages
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, lab):
    with watched_page(browser) as page:
        yield page


def write_notebook(lab: Lab, name: str, cells: list[str]) -> None:
    """A notebook of code cells on the python3 kernel, in the server's root folder."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, lab.root / name)


def logged_problems(messages: list[str]) -> list[str]:
    """The console messages that fail a test: errors, and warnings from bokeh or stream_nb."""
    return [m for m in messages if m.startswith(("error", "pageerror"))
            or (m.startswith("warning") and re.search(r"bokeh|stream_nb", m, re.IGNORECASE))]


# What the browser tests ask the page, shared by them (JupyterLab's app is exposed: --LabApp.expose_app_in_browser).
NB = "window.jupyterapp.shell.currentWidget"
# the notebook is open, its kernel started and idle
READY = f"""() => {{
    const nb = window.jupyterapp && {NB};
    const kernel = nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel;
    return !!(kernel && kernel.status === 'idle' && nb.content.widgets.length);
}}"""
RUN_ALL = "async () => await window.jupyterapp.commands.execute('notebook:run-all-cells')"
# Run All without waiting for it (so the test can look at the page while cells run), then wait for it
RUN_ALL_START = "() => { window._runAll = window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
RUN_ALL_DONE = "async () => await window._runAll"
# the second cell runs: the first has its reply, the second not yet. (Not the kernel's status: with subshells,
# ipykernel 7 publishes "idle" after each subshell message, also while the main shell runs a cell.)
SECOND_CELL_RUNS = f"""() => {{
    const cells = {NB}.content.widgets;
    return cells[0].model.executionState === 'idle' && cells[1].model.executionState === 'running';
}}"""
# an expression's value in the notebook's kernel, printed as JSON (the kernel's namespace has json imported)
KERNEL_VALUE = f"""async (expression) => {{
    const kernel = {NB}.sessionContext.session.kernel;
    const future = kernel.requestExecute({{
        code: 'print(json.dumps(' + expression + '))', silent: false, store_history: false}});
    let text = '';
    future.onIOPub = msg => {{
        if (msg.header.msg_type === 'stream') text += msg.content.text;
        if (msg.header.msg_type === 'error') text += 'ERROR ' + msg.content.ename + ': ' + msg.content.evalue;
    }};
    await future.done;
    return text;
}}"""
# what in the server's log is an error: a traceback, bokeh's lost reference, a comm's failure, an [E ...] line
SERVER_ERRORS = re.compile(r"Traceback|UnknownReferenceError|Exception in comm|^\[E ", re.MULTILINE)


def kernel_value(page, expression: str):
    """``expression``'s value in the open notebook's kernel (JSON), asked as the page would ask it."""
    text = page.evaluate(KERNEL_VALUE, expression)
    assert not text.startswith("ERROR"), f"{expression}: {text}"
    return json.loads(text.strip().splitlines()[-1])


def wait_kernel(page, expression: str, what: str, timeout: float = 60, every: float = 0.2) -> None:
    """Until ``expression`` is true in the kernel: the test waits on the engine's state, asked again and again."""
    deadline = time.monotonic() + timeout
    while not kernel_value(page, expression):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)
