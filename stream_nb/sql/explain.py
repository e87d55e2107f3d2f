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
    lines += [f"watermark  {w.column} on {w.table}, delay {w.delay}" for w in plan.watermarks]
    lines.append(f"output     {plan.output_mode} mode")
    lines.append("")
    if plan.aggregate is None:
        lines += ["== Stateless: runs per batch over the batch's rows (DuckDB) ==", plan.stateless_sql]
        return "\n".join(lines)
    agg = plan.aggregate
    lines += [
        "== 1. Stateless, per batch (DuckDB): keys and aggregate inputs ==", agg.pre_sql,
        *(["(only picks columns: run as an Arrow column selection)"] if agg.pre_projection else []), "",
        "== 2. Partial aggregates per key, per batch, over 1. (Arrow hash aggregation) ==",
        "GROUP BY " + (", ".join(agg.keys) or "()") + ": " + ", ".join(
            f"{p.name} = {p.describe()}" for p in agg.partials), "",
        "== 3. State: one row per key, partials merged batch by batch ==",
        "keys       " + (", ".join(f"{k} = {t}" for k, t in zip(agg.keys, agg.key_texts)) or "(global)"),
    ]
    for a in agg.aggregates:
        merges = ", ".join(f"{p.name} [{p.merge}]" for p in a.partials)
        lines.append(f"aggregate  {a.column} = {a.text}: {merges}")
    lines += ["", "== 4. Final, over the keys a batch changed (DuckDB) ==", agg.final_sql]
    return "\n".join(lines)
