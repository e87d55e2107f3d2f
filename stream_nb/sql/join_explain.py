"""``q.explain()`` of a stream-stream join: both inputs, each side's rows per batch and state rule, the output."""

from __future__ import annotations

from datetime import timedelta

from stream_nb.intervals import format_interval
from stream_nb.sql.joins import JoinPlan, JoinSide
from stream_nb.types import describe_schema


def explain_join(plan) -> str:
    """``q.explain()`` of a stream-stream join: both inputs, each side's rows per batch and state, the output."""
    join = plan.join
    lines = ["== Streaming query ==", plan.sql.strip(), ""]
    for side in (join.left, join.right):
        source = plan.bindings.streams[side.input].source
        lines.append(f"stream     {side.input} ({side.alias}): {getattr(source, 'description', type(source).__name__)}"
                     f" ({describe_schema(source.schema)})")
        event_time = plan.event_times.get(side.input)
        if event_time is not None:
            lines.append(f"watermark  {side.input}: max({event_time.column}) seen - {event_time.delay_us / 1e6:g} "
                         "seconds")
    if plan.event_times:
        lines.append(f"           the query's watermark: the {plan.watermark_policy} of the inputs', computed after "
                     "each batch, used from the next")
    lines += [f"output     {plan.output_mode} mode", "",
              f"== Stream-stream join: {join.join_type} (Spark's symmetric hash join) ==",
              "keys       " + ", ".join(join.key_texts),
              f"condition  {join.condition_text or '(none beyond the keys)'}", ""]
    for number, side in enumerate((join.left, join.right), start=1):
        lines += [(f"== {number}. {side.input} ({side.alias}): its new rows per batch (DuckDB); __pass = its own "
                  "conditions =="), side.pre_sql, f"state      {_state_rule(join, side)}", ""]
    outer = {"LeftOuter": "left", "RightOuter": "right", "FullOuter": "either"}.get(join.join_type)
    lines.append("== 3. Output: new rows of each side joined with the other side's state ==")
    if outer:
        lines.append(f"           and the {outer} side's rows that never matched, NULL-padded, when the watermark "
                     "evicts them from the state")
    if join.join_type == "LeftSemi":
        lines.append("           each left row once, at its first match")
    lines.append(join.output_sql)
    return "\n".join(lines)


def _state_rule(join: JoinPlan, side: JoinSide) -> str:
    if side.eviction == "key":
        return (f"evicted when the join key {join.key_texts[join.key_eviction]} (its end, for a window) is at or "
                "behind the watermark")
    if side.eviction == "value":
        bound = min(side.bounds, key=lambda b: b.constant_us - (1000 if b.inclusive else 0))
        offset = -bound.constant_us / 1e6
        when = f"watermark {'+' if offset < 0 else '-'} {abs(offset):g} seconds" if offset else "watermark"
        return (f"a row is evicted when {side.alias}.{side.event_time} is at or behind the {when}"
                f"{' (minus 1 ms: the bound is inclusive)' if bound.inclusive else ''}: the range condition "
                "proves no row still to come can match it")
    return "kept: no watermark bounds it (it grows with the stream)"


def join_steps(plan) -> list[tuple[str, list[str]]]:
    """The teaching view's steps of a stream-stream join: each batch, what each side keeps, what comes out, and
    the watermark."""
    join = plan.join
    on = " AND ".join([*join.key_texts, *([join.condition_text] if join.condition_text else [])])
    per_batch = [f"read the rows that arrived in {join.left.input} and in {join.right.input} since the last batch",
                 "drop each side's late rows: event time at or behind the previous batch's watermark",
                 (f"join {join.left.alias}'s new rows with {join.right.alias}'s state, then {join.right.alias}'s "
                  f"new rows with {join.left.alias}'s state and new rows: {on}")]
    emitted = ["each joined pair once, in the batch its second row arrives"]
    outer = {"LeftOuter": [join.left], "RightOuter": [join.right], "FullOuter": [join.left, join.right]}
    for side in outer.get(join.join_type, []):
        emitted.append(f"{side.alias}'s rows that never matched, NULL-padded, when the watermark evicts them "
                       "(a batch without data runs for it)")
    if join.join_type == "LeftSemi":
        emitted = [f"each {join.left.alias} row once, at its first match"]
    watermark = [f"{name}: the latest {event_time.column} seen minus "
                 f"{format_interval(timedelta(microseconds=event_time.delay_us))}"
                 for name, event_time in plan.event_times.items()]
    if watermark:
        watermark.append(f"the query's watermark: the {plan.watermark_policy} of the inputs', computed after each "
                         "batch, used from the next; it never goes back")
    return [("each batch", per_batch),
            ("kept in state", [f"{side.alias}: {_state_rule(join, side)}" for side in (join.left, join.right)]),
            (f"emitted ({plan.output_mode} mode)", emitted), *([("the watermark", watermark)] if watermark else [])]
