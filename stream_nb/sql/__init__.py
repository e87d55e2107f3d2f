"""The SQL front end: parse Spark SQL (with WATERMARK), resolve names, validate, plan the incremental query."""

from stream_nb.sql.errors import OutputModeError, StreamSQLError
from stream_nb.sql.plan import AggregatePlan, Plan, plan_query

__all__ = ["AggregatePlan", "OutputModeError", "Plan", "StreamSQLError", "plan_query"]
