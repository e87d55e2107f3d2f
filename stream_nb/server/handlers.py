"""The server extension's two routes, both for logged-in users only.

* ``GET {base_url}stream_nb/bokehjs``: ``{"version": "3.9.2", "js": [url, ...]}``, the files to load, in order.
* ``GET {base_url}stream_nb/static/<file>``: one of those files, from the installed bokeh package.
"""

from __future__ import annotations

import json
from functools import cache

import tornado.web
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from stream_nb.server import bokehjs

_YEAR = 365 * 24 * 3600


class BokehJSListHandler(APIHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        static = url_path_join(self.base_url, "stream_nb", "static")
        self.finish(json.dumps({"version": bokehjs.version(),
                                "js": [url_path_join(static, name) for name in bokehjs.files()]}))


class BokehJSFileHandler(JupyterHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        if name not in bokehjs.files():
            raise tornado.web.HTTPError(404, f"no BokehJS file {name!r} (this server has bokeh "
                                             f"{bokehjs.version()})")
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        # the name carries bokeh's version: the content never changes
        self.set_header("Cache-Control", f"private, max-age={_YEAR}, immutable")
        self.finish(_read(name))


@cache
def _read(name: str) -> bytes:
    return bokehjs.files()[name].read_bytes()


def setup_handlers(web_app) -> None:
    base = url_path_join(web_app.settings.get("base_url", "/"), "stream_nb")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "bokehjs"), BokehJSListHandler),
        (url_path_join(base, "static", r"([\w.-]+\.js)"), BokehJSFileHandler),
    ])
