"""``q.explain()``: the incremental plan a student can read next to the Spark guide."""

from __future__ import annotations

from datetime import timedelta

import sqlglot
from sqlglot import exp

from stream_nb.intervals import format_interval
from stream_nb.sql.aggregates import CO_MOMENTS
from stream_nb.sql.dialect import parse
from stream_nb.types import describe_schema


def explain(plan) -> str:
    if getattr(plan, "join", None) is not None:  # a stream-stream join explains itself (sql/joins.py)
        from stream_nb.sql.join_explain import explain_join

        return explain_join(plan)
    if getattr(plan, "chain", None) is not None:  # chained stateful operators, each explained (sql/chain_explain.py)
        from stream_nb.sql.chain_explain import explain_chain

        return explain_chain(plan)
    lines = ["== Streaming query ==", plan.sql.strip(), ""]
    lines += [(f"stream     {stream.name}: {getattr(stream.source, 'description', type(stream.source).__name__)} "
               f"({describe_schema(stream.source.schema)})") for stream in plan.bindings.streams.values()]
    lines += [f"static     {name}: {s.table.num_rows} rows ({describe_schema(s.table.schema)})"
              for name, s in plan.bindings.statics.items()]
    several = len(plan.bindings.streams) > 1
    for name, event_time in plan.event_times.items():  # one per input that declares a watermark
        lines.append(f"watermark  {f'{name}: ' if several else ''}max({event_time.column}) seen - "
                     f"{event_time.delay_us / 1e6:g} seconds, computed after each batch, used from the next")
    if several and plan.event_times:
        lines.append(f"watermark  the query's: the {plan.watermark_policy} of its inputs' watermarks")
    lines.append(f"output     {plan.output_mode} mode")
    if plan.rules:  # the planner's rewrites that changed the query (sql/rules.py), in the order they ran
        lines.append(f"rewritten  by {', '.join(plan.rules)}")
    lines.append("")
    if plan.dedup is not None:
        dedup = plan.dedup
        lines += ["== 1. Stateless, per batch (DuckDB): rows and their keys ==", dedup.pre_sql, "",
                  "== 2. Deduplication: the first row of each key, never the key again ==",
                  "keys       " + ", ".join(f"{k} = {t}" for k, t in zip(dedup.keys, dedup.key_texts))]
        if dedup.expires_after_us is not None:  # dropDuplicatesWithinWatermark
            lines.append(f"eviction   a key once the watermark reaches its first row's event time + "
                         f"{dedup.expires_after_us / 1e6:g} seconds; rows at or behind the watermark are late")
        else:
            lines.append(_eviction(dedup.event_time_key, dedup.key_texts))
        return "\n".join(lines)
    if plan.group_state is not None:  # applyInPandasWithState (group_state.py)
        from stream_nb.sql.group_state import explain_lines

        return "\n".join(lines + explain_lines(plan))
    if plan.aggregate is None:
        limit = getattr(plan, "limit", None)
        if limit is not None and limit.pre_sql is not None:
            lines += ["== 1. Stateless, per batch (DuckDB): the rows the LIMIT counts ==", limit.pre_sql, ""]
        lines += ["== Stateless: runs per batch over the batch's rows (DuckDB) ==", plan.stateless_sql]
        if limit is not None:
            lines += ["", f"== Global limit: the stream's first {limit.count} rows, ever ==",
                      ("state      how many rows have passed so far (one count, checkpointed with each batch); "
                       f"a batch lets through at most {limit.count} minus it, in its order, then nothing")]
        return "\n".join(lines)
    agg = plan.aggregate
    lines += [
        "== 1. Stateless, per batch (DuckDB): keys and aggregate inputs ==", agg.pre_sql,
        *(["(only picks columns: run as an Arrow column selection)"] if agg.pre_projection else []),
        *([(f"then {agg.keys[agg.window[0]]} = {agg.key_texts[agg.window[0]]}: each row's window "
            "{start, end} (several when sliding), assigned in Arrow")] if agg.window else []), "",
        "== 2. Partial aggregates per key, per batch, over 1. (Arrow hash aggregation) ==",
        "GROUP BY " + (", ".join(agg.keys) or "()") + ": " + ", ".join(
            f"{p.name} = {p.describe()}" for p in agg.partials), "",
        "== 3. State: one row per key, partials merged batch by batch ==",
        "keys       " + (", ".join(f"{k} = {t}" for k, t in zip(agg.keys, agg.key_texts)) or "(global)"),
    ]
    for a in agg.aggregates:
        merges = ", ".join(f"{p.name} [{p.merge}]" for p in a.partials)
        lines.append(f"aggregate  {a.column} = {a.text}: {merges}")
    lines.append(_eviction(agg.event_time_key, agg.key_texts, plan.output_mode))
    emitted = {"append": "the groups the watermark has closed", "update": "the keys a batch changed",
               "complete": "every key"}[plan.output_mode]
    lines += ["", f"== 4. Final, over {emitted} (DuckDB) ==", agg.final_sql]
    lines += _picked(agg.final_pick)
    return "\n".join(lines)


def _picked(pick) -> list[str]:
    """How the final query runs when it is row by row: which columns skip DuckDB."""
    if pick is None:
        return []
    shown = [name for name, source in pick.columns if not name.startswith("__")]
    as_is = [name for name, source in pick.columns if isinstance(source, str) and name in shown]
    means = [f"{name} = {source[0]} / {source[1]}" for name, source in pick.columns
             if isinstance(source, tuple) and name in shown]
    lines = []
    if as_is:
        lines.append(f"(taken from the state rows as they are, in Arrow: {', '.join(as_is)})")
    if means:
        lines.append(f"(averages finished in Arrow: {'; '.join(means)})")
    if pick.sql is None:
        lines.append("(nothing left for DuckDB to compute: no DuckDB call)")
    else:
        lines.append(f"(DuckDB computes the rest: {pick.sql})")
    return lines


def _eviction(key, texts: list[str], mode: str = "append") -> str:
    if key is None or mode == "complete":
        return "eviction   none: state keeps every key" + (" (complete mode)" if mode == "complete" else "")
    what = f"{texts[key.index]}{'.' + key.field if key.field else ''}"
    return f"eviction   keys with {what} <= watermark; rows with {what} <= watermark are late and dropped"


# -- for students: the same plan as steps in the Spark guide's words ----------------------------------------

_KEPT = {"count_all": "a running count of rows", "count": "a running count of {x} values",
         "sum": "a running sum of {x}", "sum_double": "a running sum of {x}", "mean": "a running mean of {x}",
         "m2": "the spread of {x} (sum of squared deviations)", "min": "the smallest {x} so far",
         "max": "the largest {x} so far",
         "first": "the first {x} seen", "first_nonnull": "the first {x} seen", "last": "the latest {x}",
         "last_nonnull": "the latest {x}", "distinct": "the set of distinct {x} values seen",
         "list": "every {x} value seen, in arrival order", "set": "each distinct {x} value seen, once",
         "max_by_ord": "the row with the largest ordering value so far", "max_by_value": "its value",
         "min_by_ord": "the row with the smallest ordering value so far", "min_by_value": "its value",
         "m3": "the skew of {x} (sum of cubed deviations)", "m4": "the tails of {x} (sum of fourth powers)",
         "co_n": "the running count, means and spreads of the ({x}) pairs without NULL, and the sum of the "
                 "products of their deviations",
         "co_ma": "", "co_mb": "", "co_ck": "", "co_m2a": "", "co_m2b": ""}  # (said once, by co_n)
_EMITTED = {"append": "each group once, when the watermark passes its end (it can no longer change); "
                      "then its state is dropped",
            "update": "the groups this batch changed (added to or created), with their new values",
            "complete": "the whole result table, every group, after every batch"}


def shown_as(plan) -> dict[str, str]:
    """Each output column and the expression it shows, as written (unqualified, functions in lower case).

    >>> import stream_nb as sn
    >>> from stream_nb.sql.plan import plan_query
    >>> src = sn.sources.memory("device string, temp double")
    >>> plan = plan_query("SELECT device, avg(s.temp) AS t FROM s GROUP BY device", namespaces=[{"s": src}])
    >>> shown_as(plan)
    {'device': 'device', 't': 'avg(temp)'}
    """
    select = _outer_select(plan)
    if select is None or any(isinstance(item, exp.Star) for item in select.selects):
        return {}
    return {name: _text(item.unalias()) for name, item in zip(plan.columns, select.selects)}


def student_steps(plan) -> list[tuple[str, list[str]]]:
    """The plan as a student follows it: what runs per batch, what is kept in state, what is emitted, and the
    watermark; each a heading and its steps, with the query's own expressions and column names."""
    if getattr(plan, "chain", None) is not None:
        from stream_nb.sql.chain_explain import chain_steps

        return chain_steps(plan, student_steps)
    if getattr(plan, "join", None) is not None:
        from stream_nb.sql.join_explain import join_steps

        return join_steps(plan)
    select = _outer_select(plan)
    stream = " and ".join(plan.bindings.streams)
    where = select.args.get("where") if select is not None else None
    per_batch = [(f"read the rows that arrived in {stream} since the last batch (its offsets, from the last "
                  "committed one to the latest)")]
    if where is not None:
        per_batch.append(f"keep the rows where {_text(where.this)}")
    agg = plan.aggregate
    delay = None if plan.event_time is None else \
        format_interval(timedelta(microseconds=plan.event_time.delay_us))
    watermark = [] if plan.event_time is None else [
        f"after each batch: the latest {plan.event_time.column} seen minus {delay}; it never goes back",
        "the next batch uses it: rows behind it are late" + (
            "; complete mode keeps every group, so nothing is dropped" if plan.output_mode == "complete"
            else "")]
    if agg is None and plan.dedup is None:
        shown = ", ".join(f"{n} = {t}" if n != t else n for n, t in shown_as(plan).items())
        per_batch.append("run the query over these rows alone" + (f": {shown}" if shown else ""))
        limit = getattr(plan, "limit", None)
        if limit is not None:
            per_batch.append(f"let through only as many rows as the LIMIT {limit.count} has left, in the "
                             "batch's order")
        kept = ["nothing: each row is handled once"] if limit is None else \
            [f"how many rows have passed the LIMIT so far: once {limit.count}, nothing more, ever"]
        return [("each batch", per_batch), ("kept in state", kept),
                (f"emitted ({plan.output_mode} mode)", ["every row the batch produced, once"]),
                *([("the watermark", watermark)] if watermark else [])]
    if plan.dedup is not None:
        keys = ", ".join(_plain(t) for t in plan.dedup.key_texts)
        if plan.dedup.event_time_key is not None:
            per_batch.append(f"drop the late rows: those whose {plan.event_time.column} is at or before the "
                             "watermark (counted as numRowsDroppedByWatermark)")
        per_batch.append(f"keep the first row of each {keys} not seen before")
        state = [f"every {keys} seen so far" + (", until the watermark passes it" if
                                               plan.dedup.event_time_key is not None else "")]
        return [("each batch", per_batch), ("kept in state", state),
                (f"emitted ({plan.output_mode} mode)", ["the rows whose key is new, once"]),
                *([("the watermark", watermark)] if watermark else [])]
    groups = ", ".join(_plain(t) for t in agg.key_texts) or "the whole stream (one group)"
    if agg.window is not None:
        spec = agg.window[1]
        size = format_interval(timedelta(microseconds=spec.size_us))
        sliding = (f", every {format_interval(timedelta(microseconds=spec.slide_us))} (a row falls in "
                   f"{spec.copies} windows)") if spec.sliding else ""
        per_batch.append(f"put each row in its window of {size} by {spec.column.name}{sliding}")
    if agg.event_time_key is not None and plan.output_mode != "complete":
        field = agg.event_time_key.field
        what = "whose window ended" if field == "end" else f"whose {plan.event_time.column} is"
        per_batch.append(f"drop the late rows: those {what} at or before the watermark (counted as "
                         "numRowsDroppedByWatermark, never used)")
    texts = [_plain(a.text) for a in agg.aggregates]
    if texts:
        per_batch.append(f"aggregate the batch's rows per group ({groups}): {', '.join(texts)}")
        per_batch.append("merge these into the state: each group's values are added to what it held")
    else:
        per_batch.append(f"find the batch's groups ({groups}) and add the new ones to the state")
    kept = [f"one row per group ({groups})" + (", holding " if texts else "") + "; ".join(
        f"for {t}: {' and '.join(filter(None, (_KEPT.get(p.function, 'a running {x}') for p in a.partials)))}".replace(
            "{x}", _argument(a.text)) for t, a in zip(texts, agg.aggregates))]
    passes = "its end" if agg.event_time_key is not None and agg.event_time_key.field == "end" else \
        f"its {plan.event_time.column if plan.event_time else 'event time'}"
    if agg.event_time_key is not None and plan.output_mode != "complete":
        kept.append(f"a group is dropped from state once the watermark passes {passes}: "
                    "it can no longer change")
    elif plan.output_mode == "complete":
        kept.append("every group, forever (complete mode): state grows with the number of groups")
    having = select.args.get("having") if select is not None else None
    emitted = [_EMITTED[plan.output_mode].replace("its end", passes), "as " + ", ".join(
        f"{n} = {t}" if n != t else n for n, t in shown_as(plan).items())]
    if having is not None:
        emitted.append(f"only the groups where {_text(having.this)}")
    mode = f"emitted ({plan.output_mode} mode)"
    return [("each batch", per_batch), ("kept in state", kept), (mode, emitted),
            *([("the watermark", watermark)] if watermark else [])]


def explain_for_students(plan) -> str:
    """``student_steps`` as plain text: a heading, then its steps numbered."""
    lines = []
    for heading, steps in student_steps(plan):
        lines.append(heading[0].upper() + heading[1:] + ":")
        lines += [f"  {i}. {step}" for i, step in enumerate(steps, 1)]
    return "\n".join(lines)


def _outer_select(plan) -> exp.Select | None:
    tree, _ = parse(plan.sql)
    return tree if isinstance(tree, exp.Select) else None


def _text(node: exp.Expression) -> str:
    node = node.copy()
    for column in node.find_all(exp.Column):
        column.set("table", None)
    return node.sql("spark", normalize_functions="lower")


def as_written(text: str) -> str:
    """A planner's expression text (qualified, upper case) as a student wrote it.

    >>> as_written("COLLECT_SET(STRUCT(s.temp AS temp))")
    'collect_set(struct(temp AS temp))'
    """
    return _text(sqlglot.parse_one(text, read="spark"))


_plain = as_written


def _argument(text: str) -> str:
    node = sqlglot.parse_one(text, read="spark")
    inner = node.this if isinstance(node.this, exp.Expression) else None
    if inner is not None and type(node).__name__ in CO_MOMENTS and isinstance(node.expression, exp.Expression):
        return f"{_text(inner)}, {_text(node.expression)}"
    if isinstance(inner, exp.Distinct):
        inner = inner.expressions[0] if inner.expressions else None
    return _text(inner) if inner is not None else "*"


def internal_names(plan) -> dict[str, str]:
    """The planner's column names (``__k0``, ``__x0``, ``__d0``) and what they hold, as written: for showing a
    stateful operator's own rows (late rows by key, a session's buffered rows) to people.

    >>> import stream_nb as sn
    >>> from stream_nb.sql.plan import plan_query
    >>> plan = plan_query("SELECT device, avg(temp) AS t FROM s GROUP BY device",
    ...                   namespaces=[{"s": sn.sources.memory("device string, temp double")}])
    >>> internal_names(plan)
    {'__k0': 'device', '__x0': 'temp'}
    """
    if plan.aggregate is not None:
        agg = plan.aggregate
        names = {k: _plain(t) for k, t in zip(agg.keys, agg.key_texts)}
        names.update({a.argument: _argument(a.text) for a in agg.aggregates if a.argument is not None})
        if agg.session is not None:  # the session operator keeps rows: that key holds each row's event time
            call = sqlglot.parse_one(agg.key_texts[agg.session.index], read="spark")
            names[agg.keys[agg.session.index]] = _text((call.expressions or [call.this])[0])
        return names
    if plan.dedup is not None:
        return {k: _plain(t) for k, t in zip(plan.dedup.keys, plan.dedup.key_texts)}
    return {}
