"""stream_nb's Jupyter server extension: BokehJS from the installed bokeh package, for offline charts.

The front end (``labextension/``, loaded by JupyterLab and Notebook 7) asks ``GET {base_url}stream_nb/bokehjs``
for the files and loads them into the page once, from ``{base_url}stream_nb/static/bokeh-<version>.min.js``
and its companions. Both routes need a logged-in user. So a chart renders with no internet, and no notebook
output has to carry BokehJS inline (see ``page_has_bokehjs``).

Enabled by ``etc/jupyter/jupyter_server_config.d/stream_nb.json``, which the wheel installs.
"""

from __future__ import annotations

from stream_nb.server.bokehjs import page_has_bokehjs


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "stream_nb.server"}]


def _load_jupyter_server_extension(server_app) -> None:
    """Add the BokehJS routes, and tell the kernels this server starts that their pages load BokehJS."""
    from stream_nb.server.bokehjs import announce
    from stream_nb.server.handlers import setup_handlers

    setup_handlers(server_app.web_app)
    announce()
    server_app.log.info("stream_nb: BokehJS served from the installed bokeh package at %sstream_nb/static/",
                        server_app.web_app.settings.get("base_url", "/"))


__all__ = ["page_has_bokehjs"]
