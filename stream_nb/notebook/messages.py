"""Errors for people, in the notebook: one styled block with the message, never a traceback."""

from __future__ import annotations

import html

_STYLE = ("border-left:4px solid #c62828;background:#fdecea;color:#1a1a1a;padding:6px 10px;margin:2px 0;"
          "font-family:var(--jp-code-font-family,monospace);font-size:12px;white-space:pre-wrap")


def error_bundle(message: str, title: str = "stream_nb") -> dict[str, str]:
    """The error as a display bundle: styled HTML, and plain text for consoles and saved notebooks.

    >>> error_bundle("unknown column 'tmp'")["text/plain"]
    "stream_nb: unknown column 'tmp'"
    """
    block = f'<div style="{_STYLE}"><b>{html.escape(title)}:</b> {html.escape(message)}</div>'
    return {"text/html": block, "text/plain": f"{title}: {message}"}


def show_error(message: str, title: str = "stream_nb") -> None:
    """Display the error in the cell's output; the cell ends normally."""
    from IPython.display import display

    display(error_bundle(message, title), raw=True)


def show_text(html_text: str, plain: str) -> None:
    from IPython.display import display

    display({"text/html": html_text, "text/plain": plain}, raw=True)
