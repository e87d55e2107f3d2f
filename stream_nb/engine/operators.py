"""Operators: what one batch does, one operator kind per module, each implementing ``engine/operator.py``
(``process`` computes the batch's output without changing anything; ``commit`` makes its state changes
permanent once the sink has taken the output). This module picks the operator a plan needs.
"""

from __future__ import annotations

import duckdb

from stream_nb.engine import duck
from stream_nb.engine.aggregation import AggregateOperator, BatchPartials
from stream_nb.engine.chain import ChainOperator
from stream_nb.engine.dedup import DedupOperator
from stream_nb.engine.join import JoinOperator
from stream_nb.engine.keyed import KeyedOperator
from stream_nb.engine.limit import LimitOperator
from stream_nb.engine.operator import Operator
from stream_nb.engine.output import Output
from stream_nb.engine.sessions import SessionOperator
from stream_nb.engine.stateless import StatelessOperator
from stream_nb.engine.udf_calls import register_udfs
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.plan import Plan

__all__ = ["AggregateOperator", "BatchPartials", "DedupOperator", "KeyedOperator", "LimitOperator", "Output",
           "SessionOperator", "StatelessOperator", "connect", "make_operator"]


def connect(plan: Plan) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for one query, with its static tables registered."""
    con = duck.connect()
    register_udfs(con, plan.udfs.values())
    for name, static in plan.bindings.statics.items():
        duck.register(con, name, static.table)
    return con


def make_operator(plan: Plan) -> Operator:
    """The stateful (or stateless) operator a plan needs."""
    if plan.group_state is not None:
        if plan.limit is not None:  # the function's operator reads the stateless SQL and would not count rows
            raise StreamSQLError("applyInPandasWithState over a limited stream (DataFrame.limit) is not "
                                 "supported yet", sql=plan.sql, hint="limit the rows inside the function")
        from stream_nb.engine.group_state import GroupStateOperator  # imports the PySpark API's GroupState

        return GroupStateOperator(plan)
    if plan.join is not None:
        return JoinOperator(plan)
    if plan.chain is not None:
        return ChainOperator(plan)
    if plan.aggregate is not None and plan.aggregate.session is not None:
        return SessionOperator(plan)
    if plan.aggregate is not None:
        return AggregateOperator(plan)
    if plan.dedup is not None:
        return DedupOperator(plan)
    if plan.limit is not None:
        return LimitOperator(plan)
    return StatelessOperator(plan)
