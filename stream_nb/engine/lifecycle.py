"""The one state of a query (``q.state``) and what a user may do in it.

The view's buttons, the Streams panel (which gets the buttons over its comm) and the ``%stream`` magics all
read this module; none of them decides for itself.

>>> state = state_of(failed=False, stopped=False, paused=True, manual=False, busy=False)
>>> state, state.actions
(<QueryState.PAUSED: 'paused'>, ('resume', 'step', 'stop'))
>>> [(b.action, b.enabled) for b in buttons(QueryState.WAITING)]
[('pause', True), ('step', False), ('stop', True)]
"""

from __future__ import annotations

import enum
from typing import NamedTuple

ACTIONS = ("pause", "resume", "step", "stop")


class QueryState(enum.Enum):
    """What a query is doing now. The value is the word the panel and the magics show."""

    RUNNING = "running"    # processing a batch now (Spark's status: "Processing new data")
    WAITING = "waiting"    # active, waiting for data to arrive or for the next trigger
    MANUAL = "manual"      # trigger="manual": a batch runs only on q.step()
    PAUSED = "paused"      # q.pause(): no batch starts until q.resume(); q.step() runs one
    STOPPED = "stopped"    # q.stop(), or an available_now query that has read everything
    FAILED = "failed"      # a batch failed: q.exception says why; the query has stopped

    @property
    def is_active(self) -> bool:
        """Whether batches can still run (Spark's ``isActive``)."""
        return self not in (QueryState.STOPPED, QueryState.FAILED)

    @property
    def actions(self) -> tuple[str, ...]:
        """What a user may ask of a query in this state: pause, resume, step, stop."""
        return _ACTIONS[self]

    @property
    def label(self) -> str:
        """How the state reads in the panel, the view and ``%stream list``."""
        return _LABELS.get(self, self.value)

    @property
    def message(self) -> str:
        """Spark's status message for this state (a failure's message adds its cause)."""
        return _MESSAGES[self]


_ACTIONS = {
    QueryState.RUNNING: ("pause", "stop"),
    QueryState.WAITING: ("pause", "stop"),
    QueryState.MANUAL: ("step", "stop"),
    QueryState.PAUSED: ("resume", "step", "stop"),
    QueryState.STOPPED: (),
    QueryState.FAILED: (),
}
_LABELS = {QueryState.WAITING: "running", QueryState.MANUAL: "waiting for step"}  # waiting for data still runs
_MESSAGES = {
    QueryState.RUNNING: "Processing new data",
    QueryState.WAITING: "Waiting for data to arrive",
    QueryState.MANUAL: "Waiting for q.step()",
    QueryState.PAUSED: "Paused",
    QueryState.STOPPED: "Stopped",
    QueryState.FAILED: "Failed",
}


def state_of(*, failed: bool, stopped: bool, paused: bool, manual: bool, busy: bool) -> QueryState:
    """The state from the query's flags. Paused wins over a batch in flight (a step of a paused query is
    still paused), so the buttons do not flicker while batches run."""
    if failed:
        return QueryState.FAILED
    if stopped:
        return QueryState.STOPPED
    if paused:
        return QueryState.PAUSED
    if manual:
        return QueryState.MANUAL
    return QueryState.RUNNING if busy else QueryState.WAITING


class Button(NamedTuple):
    """One of the three buttons a view or the panel shows: pause (or resume), step, stop."""

    action: str
    enabled: bool


def buttons(state: QueryState) -> list[Button]:
    """The buttons for a state: the first is resume while paused, pause otherwise."""
    allowed = state.actions
    first = "resume" if "resume" in allowed else "pause"
    return [Button(first, first in allowed), Button("step", "step" in allowed),
            Button("stop", "stop" in allowed)]


class ActionRefused(Exception):
    """An action the query's state does not allow; the message says why, for the person who asked."""


def check(name: str, state: QueryState, action: str) -> None:
    """Raise ``ActionRefused`` with the reason if ``action`` is not allowed in ``state``.

    >>> check("counts", QueryState.MANUAL, "pause")
    Traceback (most recent call last):
    ...
    stream_nb.engine.lifecycle.ActionRefused: counts runs on a manual trigger: it only runs a batch on step; \
nothing to pause
    """
    if action not in ACTIONS:
        raise ActionRefused(f"unknown action {action!r}: pause, resume, step or stop")
    if action in state.actions:
        return
    if not state.is_active:
        ended = "has failed" if state is QueryState.FAILED else "is stopped"
        raise ActionRefused(f"{name} {ended}; run its cell again to start it anew")
    if state is QueryState.MANUAL and action in ("pause", "resume"):
        raise ActionRefused(f"{name} runs on a manual trigger: it only runs a batch on step; nothing to {action}")
    if action == "pause":
        raise ActionRefused(f"{name} is already paused")
    if action == "resume":
        raise ActionRefused(f"{name} is not paused: it is {state.label}")
    raise ActionRefused(f"{name} is {state.label}: pause it first to run one batch at a time")
