"""What the planner hands the engine for a stream-stream join (``sql/joins.py`` plans it, ``engine/join.py``
runs it): each side's rows per batch and state rule, the keys and condition, the output, and the names of the
tables the engine's DuckDB queries read."""

from __future__ import annotations

from dataclasses import dataclass

from stream_nb.sql.join_watermark import ValueBound
from stream_nb.sql.tree import batch_table

__all__ = ["LEFT", "LRID", "MATCHED", "NEW", "PASS", "RID", "RIGHT", "RRID", "STATE", "TYPES", "JoinPlan",
           "JoinSide", "batch_table"]

LEFT = "__join_left"      # the left row of each of the batch's output pairs (NULLs on a padded side), in order
RIGHT = "__join_right"    # the right row of each, in the same order: the output joins them positionally
NEW = "__join_new"        # a side's new rows (``__join_new_left``), joined with the other side's state
STATE = "__join_state"    # a side's state (``__join_state_right``)
RID, MATCHED, PASS, LRID, RRID = "__rid", "__matched", "__pass", "__lrid", "__rrid"

# Spark's names for the join types, as its messages and progress say them
TYPES = {("", ""): "Inner", ("", "INNER"): "Inner", ("LEFT", ""): "LeftOuter", ("LEFT", "OUTER"): "LeftOuter",
          ("RIGHT", ""): "RightOuter", ("RIGHT", "OUTER"): "RightOuter", ("FULL", ""): "FullOuter",
          ("FULL", "OUTER"): "FullOuter", ("LEFT", "SEMI"): "LeftSemi"}


@dataclass(frozen=True)
class JoinSide:
    """One side of the join: its rows per batch and how its state is evicted."""

    input: str                       # the stream's name
    alias: str                       # the side's name in ON and SELECT
    pre_sql: str                     # over batch_table(input): the side's columns, keys __k0.., __pass
    event_time: str | None = None    # the side's column the watermark follows (late rows, value eviction)
    event_time_field: str | None = None  # "end" when that column is a window
    eviction: str | None = None      # "key", "value" or None (state kept)
    bounds: tuple[ValueBound, ...] = ()  # for "value": the range condition's bounds on event_time
    # when pre_sql only passes the batch's rows on (a stream, no own conditions, each key one of its columns):
    # the key columns' names as written, and whether rows with a NULL key are dropped (the engine may do it)
    plain_keys: tuple[str, ...] | None = None
    drops_null_keys: bool = False


@dataclass(frozen=True)
class JoinPlan:
    """A stream-stream join, for ``engine/join.py``."""

    join_type: str                  # Spark's: Inner, LeftOuter, RightOuter, FullOuter, LeftSemi
    left: JoinSide
    right: JoinSide
    keys: tuple[str, ...]           # the key columns both sides' pre_sql compute: __k0, __k1, ...
    key_texts: tuple[str, ...]      # the keys as written: i.ad_id = c.ad_id
    key_eviction: int | None        # the key that is an event time (its index), if any
    condition_sql: str | None       # the conjuncts reading both sides, over the aliases
    condition_text: str | None
    output_sql: str                 # the SELECT over LEFT and RIGHT, joined positionally

    @property
    def outer_needs_watermark(self) -> bool:
        """Whether rows come out only when the watermark passes (outer rows, NULL-padded)."""
        return self.join_type in ("LeftOuter", "RightOuter", "FullOuter")

    @property
    def inputs(self) -> tuple[str, str]:
        return self.left.input, self.right.input
