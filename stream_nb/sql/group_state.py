"""Arbitrary stateful processing (Spark's ``applyInPandasWithState``) in a plan: the query's SQL runs per batch
as a stateless query, and a Python function keeps state per group on top of it (``engine/group_state.py``).

Reached from the PySpark API (``df.groupBy(...).applyInPandasWithState(...)``), which hands ``sn.start`` a
``GroupStatePlan`` beside the SQL of the DataFrame it groups. Spark's rules (``UnsupportedOperationChecker``)
are checked here, before anything runs: no aggregation, deduplication or join before it (stream_nb does not
chain them yet), the function's output mode equal to the query's, a watermark for event-time timeouts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from stream_nb.sql.errors import OutputModeError, StreamSQLError

if TYPE_CHECKING:
    from stream_nb.sql.plan import Plan

TIMEOUTS = ("NoTimeout", "ProcessingTimeTimeout", "EventTimeTimeout")
FUNCTION_MODES = ("append", "update")


@dataclass(frozen=True)
class GroupStatePlan:
    """What runs on top of the per-batch SQL: ``func(key, Iterator[pandas.DataFrame], GroupState)``."""

    func: Callable[..., Any]
    keys: list[str]              # the grouping columns, as the per-batch SQL names them
    output_schema: pa.Schema     # outputStructType
    state_schema: pa.Schema      # stateStructType
    function_mode: str           # "append" | "update": the function's output mode
    timeout: str                 # one of TIMEOUTS
    clock: Any = None            # what processing time is read from (engine/clock.py; None: wall time)

    @property
    def func_name(self) -> str:
        return getattr(self.func, "__qualname__", None) or repr(self.func)


def attach(plan: Plan, group_state: GroupStatePlan, output_mode: str | None, clock: Any = None) -> Plan:
    """The plan of the grouped DataFrame's SQL with the function on top, checked as Spark checks it."""
    where = "applyInPandasWithState"
    if group_state.timeout not in TIMEOUTS:
        raise StreamSQLError(f"{where}: timeoutConf must be one of {', '.join(TIMEOUTS)} (GroupStateTimeout), "
                             f"not {group_state.timeout!r}")
    if group_state.function_mode not in FUNCTION_MODES:
        raise StreamSQLError(f"{where}: outputMode must be 'append' or 'update', not {group_state.function_mode!r}")
    if plan.stateless_sql is None:
        what = "a join" if plan.join is not None else "a deduplication" if plan.dedup is not None \
            else "an aggregation"
        raise StreamSQLError(f"{where} after {what} is not supported by stream_nb yet: group the stream's rows "
                             "directly, and do the rest in the function", sql=plan.sql)
    if len(plan.inputs) != 1:
        raise StreamSQLError(f"{where} over several streams (a union) is not supported by stream_nb yet",
                             sql=plan.sql)
    mode = output_mode or group_state.function_mode
    if mode != group_state.function_mode:
        raise OutputModeError(f"{where} in {group_state.function_mode} mode is not supported with "
                              f"{mode.capitalize()} output mode on a streaming DataFrame/Dataset (as in Spark: the "
                              "query's output mode must be the function's)",
                              hint=f"use outputMode('{group_state.function_mode}') on the writer")
    if group_state.timeout == "EventTimeTimeout" and plan.event_time is None:
        raise StreamSQLError("Watermark must be specified in the query using '[Dataset/DataFrame].withWatermark()' "
                             "for using event-time timeout in a [map|flatMap]GroupsWithState. Event-time timeout "
                             "not supported without watermark.")
    spec = replace(group_state, clock=clock if clock is not None else group_state.clock)
    return replace(plan, group_state=spec, output_mode=mode, columns=list(group_state.output_schema.names))


def explain_lines(plan: Plan) -> list[str]:
    """``q.explain()``'s steps for a plan with a function on top."""
    gs = plan.group_state
    when = {"NoTimeout": "never times out",
            "ProcessingTimeTimeout": "times out when the batch's processing time passes setTimeoutDuration's",
            "EventTimeTimeout": "times out when the watermark passes setTimeoutTimestamp's"}[gs.timeout]
    from stream_nb.types import describe_schema

    state = describe_schema(gs.state_schema)
    return ["== 1. Stateless, per batch (DuckDB): the grouped DataFrame's rows ==", plan.stateless_sql, "",
            (f"== 2. applyInPandasWithState: {gs.func_name}(key, rows, state) per group of "
             f"({', '.join(gs.keys)}) with new rows, then per timed-out group (no rows) =="),
            f"state      one row per group: {state}; a group {when}",
            f"output     {', '.join(gs.output_schema.names)} ({gs.function_mode} mode): the rows it returns"]
