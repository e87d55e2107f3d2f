"""``q.explain()`` and the teaching view's steps for chained stateful operators (``sql/chain.py``): the query,
then each operator as a query of its own, and how the watermark reaches each one."""

from __future__ import annotations

from stream_nb.sql.chain import STAGE, WINDOW_TIME

_KIND = {"aggregate": "aggregation (stateStoreSave)", "session": "session windows (sessionWindowStateStoreSaveExec)",
         "dedup": "deduplication (dedupe)", "join": "stream-stream join (symmetricHashJoin)"}


def kind(stage) -> str:
    if stage.join is not None:
        return "join"
    if stage.aggregate is not None:
        return "session" if stage.aggregate.session is not None else "aggregate"
    return "dedup"


def explain_chain(plan) -> str:
    from stream_nb.sql.explain import explain

    chain = plan.chain
    lines = ["== Streaming query ==", plan.sql.strip(), "",
             (f"operators  {len(chain.stages)} stateful operators, one after another in each batch (Spark's chained "
             "stateful operators): each one's output is the next one's input"),
             f"output     {plan.output_mode} mode", "",
             ("watermark  each operator runs with what the one before can still emit behind (Spark's "
              "WatermarkPropagator): an aggregation or a deduplication passes the query's watermark on, a join the "
              "least of it and its sides' state watermarks; an operator after the first judges late rows by the "
              "previous batch's, so what the one before emits in a batch is never late for it"), ""]
    for index, stage in enumerate(chain.stages):
        reads = "the stream" if index == 0 else f"what operator {index - 1} emits, as the stream {STAGE.format(index - 1)}"
        lines.append(f"======== Operator {index}: {_KIND[kind(stage)]}, over {reads} ========")
        for hidden, column in (chain.window_times[index - 1] if index else {}).items():
            lines.append(f"({hidden} is window_time({column}): the window's end - 1 microsecond, its rows' event "
                         "time)")
        own = explain(stage).split("\n")
        own = own[own.index("") + 1:] if "" in own else own  # its SQL is the query's, shown above
        lines += [line for line in own if not (index and line.startswith("watermark  "))]  # the query's, above
        lines.append("")
    return "\n".join(lines).rstrip()


def chain_steps(plan, steps) -> list[tuple[str, list[str]]]:
    """The teaching view's steps (``explain.student_steps``), operator by operator."""
    found = []
    aliases = [side.alias for stage in plan.chain.stages if stage.join is not None
               for side in (stage.join.left, stage.join.right)]
    for index, stage in enumerate(plan.chain.stages):
        for heading, lines in (_join_steps(stage) if stage.join is not None else steps(stage)):
            if heading == "the watermark" and index:
                continue  # one watermark for every operator: said once
            if index and heading == "each batch":  # it reads no offsets: the rows the one before emits now
                lines = [f"take the rows operator {index - 1} emits in this batch", *lines[1:]]
            found.append((f"operator {index} ({kind(stage)}): {heading}",
                          [_plain(line, plan.chain.window_times[index - 1] if index else {}, aliases)
                           for line in lines]))
    return found


def _join_steps(stage) -> list[tuple[str, list[str]]]:
    join = stage.join
    on = " AND ".join([*join.key_texts, *([join.condition_text] if join.condition_text else [])])
    joined = f"join each side's new rows with the other side's rows ({join.join_type}): {on}"
    return [("each batch", [f"read the rows that arrived in {join.left.input} and {join.right.input}", joined]),
            ("kept in state", [_side_state(side) for side in (join.left, join.right)]),
            ("emitted", ["the joined rows, to the next operator, in the same batch"])]


def _side_state(side) -> str:
    if side.eviction == "key":
        return f"{side.alias}'s rows, until the join key's event time is at or behind the watermark"
    if side.eviction == "value":
        return (f"{side.alias}'s rows, until {side.alias}.{side.event_time} is at or behind the watermark less "
                "what the range condition lets a match lag")
    return f"{side.alias}'s rows, for ever (no watermark bounds them)"


def _plain(text: str, window_times: dict[str, str], aliases: list[str]) -> str:
    for hidden, column in window_times.items():
        text = text.replace(hidden, f"window_time({column})")
    for alias in aliases:  # a join's column as the next operator reads it (sql/chain_join.py): i.ts
        text = text.replace(f"__{alias}_", f"{alias}.")
    return text.replace(WINDOW_TIME.format(""), "window_time of ")
