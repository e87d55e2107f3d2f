"""The view's buttons: pause / resume, step, stop, as ``q.state`` allows (``engine/lifecycle.buttons``), and a
line saying what the last click did."""

from __future__ import annotations

import html
from collections.abc import Callable

from stream_nb.engine.lifecycle import QueryState, buttons
from stream_nb.notebook.actions import perform

_TOOLTIPS = {"pause": "stop starting batches; resume goes on from here",
             "resume": "start batches again, from where it paused",
             "step": "run one micro-batch over the data that has arrived",
             "stop": "stop the query after the batch in flight"}
_ICONS = {"pause": "pause", "resume": "play", "step": "step-forward", "stop": "stop"}


class Controls:
    """Buttons acting on a query; ``sync(state)`` shows the buttons that state allows."""

    def __init__(self, query, on_action: Callable[[], None]):
        import ipywidgets as widgets

        self.query = query
        self._on_action = on_action
        small = widgets.Layout(width="auto")
        self.pause = widgets.Button(description="pause", icon="pause", layout=small)
        self.step = widgets.Button(description="step", icon="step-forward", layout=small, disabled=True)
        self.stop = widgets.Button(description="stop", icon="stop", layout=small)
        self.said = widgets.HTML(layout=widgets.Layout(margin="0 0 0 8px"))  # what the last click did
        self._buttons = (self.pause, self.step, self.stop)
        self._actions = ["pause", "step", "stop"]
        for index, button in enumerate(self._buttons):
            button.on_click(lambda _button, i=index: self._click(self._actions[i]))
            _clicks_where_sent(button)
        self.sync(query.state)
        self.widget = widgets.HBox([*self._buttons, self.said])

    def sync(self, state: QueryState) -> None:
        for index, (button, (action, enabled)) in enumerate(zip(self._buttons, buttons(state), strict=True)):
            self._actions[index] = action
            if button.description != action:
                button.description, button.icon = action, _ICONS[action]
            button.tooltip = _TOOLTIPS[action]
            button.disabled = not enabled

    def _click(self, action: str) -> None:
        try:
            said, color = perform(self.query, action), "#666"
        except Exception as err:  # noqa: BLE001 - refused, or a step whose batch failed: said under the buttons
            said, color = str(err), "#c62828"
        self.said.value = f'<span style="font-size:12px;color:{color}">{html.escape(said)}</span>'
        self._on_action()


def _clicks_where_sent(widget) -> None:
    """Let a button's clicks run on the thread the front end sent them to.

    ipykernel 7 hands a comm's incoming messages to the shell that comm last spoke from, for replies to find
    their request; a button last spoke from the cell that displayed it or from the engine's thread, both the
    main shell, so a click would wait for the running cell. A click answers no request: JupyterLab 4.4+ sends
    it on a subshell, and there it is done while a cell runs. (Elsewhere this changes nothing.)
    """
    comm = getattr(widget, "comm", None)
    if comm is not None and hasattr(comm, "_reply_subshell_for"):
        comm._reply_subshell_for = lambda data, default: default
