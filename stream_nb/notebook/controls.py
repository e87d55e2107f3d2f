"""The view's buttons: pause / resume, step (one micro-batch, when paused or on a manual trigger), stop."""

from __future__ import annotations

from collections.abc import Callable


class Controls:
    """Buttons acting on a query; ``sync(state)`` sets what they offer (``status.state_of``'s states)."""

    def __init__(self, query, on_action: Callable[[], None]):
        import ipywidgets as widgets

        self.query = query
        self._on_action = on_action
        small = widgets.Layout(width="auto")
        self.pause = widgets.Button(description="pause", icon="pause", layout=small,
                                    tooltip="stop starting batches; resume goes on from here")
        self.step = widgets.Button(description="step", icon="step-forward", layout=small, disabled=True,
                                   tooltip="run one micro-batch over the data that has arrived")
        self.stop = widgets.Button(description="stop", icon="stop", layout=small,
                                   tooltip="stop the query after the batch in flight")
        self.pause.on_click(self._toggle)
        self.step.on_click(self._step)
        self.stop.on_click(self._stop)
        self.widget = widgets.HBox([self.pause, self.step, self.stop])

    def sync(self, state: str) -> None:
        over = state in ("stopped", "failed")
        paused = state == "paused"
        self.pause.description, self.pause.icon = ("resume", "play") if paused else ("pause", "pause")
        self.pause.disabled = over or state == "step"
        self.step.disabled = over or state not in ("paused", "step")
        self.stop.disabled = over

    def _toggle(self, _button) -> None:
        if self.pause.description == "resume":  # what the view last saw: paused
            self.query.resume()
        else:
            self.query.pause()
        self._on_action()

    def _step(self, _button) -> None:
        try:
            self.query.step()
        except Exception:  # noqa: BLE001 - a failed batch shows in the status bar; a stopped one is over
            pass
        self._on_action()

    def _stop(self, _button) -> None:
        self.query.stop()
        self._on_action()
