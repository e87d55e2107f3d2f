"""``q.explain()``: the incremental plan a student can read next to the Spark guide."""

from __future__ import annotations

from stream_nb.types import describe_schema


def explain(plan) -> str:
    stream = plan.stream
    lines = [
        "== Streaming query ==",
        plan.sql.strip(),
        "",
        f"stream     {stream.name}: {getattr(stream.source, 'description', type(stream.source).__name__)} "
        f"({describe_schema(stream.source.schema)})",
    ]
    lines += [f"static     {name}: {s.table.num_rows} rows ({describe_schema(s.table.schema)})"
              for name, s in plan.bindings.statics.items()]
    if plan.event_time is not None:
        lines.append(f"watermark  max({plan.event_time.column}) seen - {plan.event_time.delay_us / 1e6:g} seconds, "
                     "computed after each batch, used from the next")
    lines.append(f"output     {plan.output_mode} mode")
    lines.append("")
    if plan.dedup is not None:
        dedup = plan.dedup
        lines += ["== 1. Stateless, per batch (DuckDB): rows and their keys ==", dedup.pre_sql, "",
                  "== 2. Deduplication: the first row of each key, never the key again ==",
                  "keys       " + ", ".join(f"{k} = {t}" for k, t in zip(dedup.keys, dedup.key_texts))]
        lines.append(_eviction(dedup.event_time_key, dedup.key_texts))
        return "\n".join(lines)
    if plan.aggregate is None:
        lines += ["== Stateless: runs per batch over the batch's rows (DuckDB) ==", plan.stateless_sql]
        return "\n".join(lines)
    agg = plan.aggregate
    lines += [
        "== 1. Stateless, per batch (DuckDB): keys and aggregate inputs ==", agg.pre_sql,
        *(["(only picks columns: run as an Arrow column selection)"] if agg.pre_projection else []),
        *([f"then {agg.keys[agg.window[0]]} = {agg.key_texts[agg.window[0]]}: each row's window "
           "{start, end} (several when sliding), assigned in Arrow"] if agg.window else []), "",
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
