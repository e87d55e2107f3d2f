"""stream_nb's server extension (``stream_nb/server/``) in a real ``jupyter lab``: BokehJS from the installed
bokeh package, for logged-in users only, named by version and cached for good."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import bokeh
import pytest

from stream_nb.server import bokehjs


def _get(url: str, token: str | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_the_list_names_bokehs_files_in_load_order(lab):
    status, _, body = _get(f"{lab.url}stream_nb/bokehjs", lab.token)
    assert status == 200
    listed = json.loads(body)
    version = bokeh.__version__
    assert listed["version"] == version
    assert listed["js"] == [f"/stream_nb/static/{name}-{version}.min.js"
                            for name in ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables")]


def test_a_file_is_bokehs_own_cached_for_good(lab):
    name = f"bokeh-{bokeh.__version__}.min.js"
    status, headers, body = _get(f"{lab.url}stream_nb/static/{name}", lab.token)
    assert status == 200
    assert body == bokehjs.files()[name].read_bytes()
    assert headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in headers["Cache-Control"]


@pytest.mark.parametrize("path", ["stream_nb/bokehjs", f"stream_nb/static/bokeh-{bokeh.__version__}.min.js"])
def test_nothing_without_logging_in(lab, path):
    status, headers, _ = _get(f"{lab.url}{path}")
    assert status in (302, 403), status
    if status == 302:
        assert "/login" in headers["Location"]


def test_other_files_are_not_there(lab):
    for name in ("bokeh-0.0.1.min.js", "bokeh-mathjax.min.js", "compiler.js"):
        assert _get(f"{lab.url}stream_nb/static/{name}", lab.token)[0] == 404


def test_kernels_of_the_server_know_the_page_loads_bokehjs(lab):
    """The server extension tells the kernels it starts (by their environment) that the page has BokehJS."""
    from jupyter_client import BlockingKernelClient

    headers = {"Authorization": f"token {lab.token}"}
    request = urllib.request.Request(f"{lab.url}api/kernels", data=b"{}", method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        kernel_id = json.loads(response.read())["id"]
    client = BlockingKernelClient(connection_file=str(lab.runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    printed: list[str] = []
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(
            "import stream_nb.server as s; print(s.page_has_bokehjs())", timeout=60,
            output_hook=lambda m: printed.append(m["content"]["text"]) if m["msg_type"] == "stream" else None)
    finally:
        client.stop_channels()
        urllib.request.urlopen(urllib.request.Request(f"{lab.url}api/kernels/{kernel_id}", method="DELETE",
                                                      headers=headers), timeout=60).close()
    assert reply["content"]["status"] == "ok"
    assert "".join(printed).strip() == "True"
