"""``df.join(other, on, how)`` as a SQL join: keys given by name come out once, first, as in Spark; a Column
condition keeps both sides' columns. Stream-static joins and (with watermarks) stream-stream joins are the
engine's."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from stream_nb.pyspark.errors import AnalysisException, PySparkValueError
from stream_nb.pyspark.sql import execution
from stream_nb.pyspark.sql.column import Column

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.dataframe import DataFrame

_sides = itertools.count(1)
_HOW = {
    "inner": ("", "INNER"), "cross": ("", "CROSS"),
    "outer": ("FULL", "OUTER"), "full": ("FULL", "OUTER"), "fullouter": ("FULL", "OUTER"),
    "left": ("LEFT", "OUTER"), "leftouter": ("LEFT", "OUTER"),
    "right": ("RIGHT", "OUTER"), "rightouter": ("RIGHT", "OUTER"),
    "semi": ("LEFT", "SEMI"), "leftsemi": ("LEFT", "SEMI"),
    "anti": ("LEFT", "ANTI"), "leftanti": ("LEFT", "ANTI"),
}


def join(left: DataFrame, right: DataFrame, on: Any, how: str | None) -> DataFrame:
    from stream_nb.pyspark.sql.dataframe import DataFrame

    kind = (how or "inner").lower().replace("_", "")
    if kind not in _HOW:
        raise PySparkValueError(f"Unsupported join type '{how}'. Supported join types include: 'inner', "
                                "'outer', 'full', 'fullouter', 'full_outer', 'leftouter', 'left', 'left_outer', "
                                "'rightouter', 'right', 'right_outer', 'leftsemi', 'left_semi', 'semi', "
                                "'leftanti', 'left_anti', 'anti', 'cross'.", "UNSUPPORTED_JOIN_TYPE")
    side, join_kind = _HOW[kind]
    if join_kind == "CROSS" and on is not None:  # a cross join with keys or a condition is Spark's inner join
        join_kind = "INNER"
    right = _second_scans(left, right)
    l = left if left._alias else left.alias(f"__l{next(_sides)}")
    r = right if right._alias else right.alias(f"__r{next(_sides)}")
    names = [on] if isinstance(on, str) else list(on) if isinstance(on, (list, tuple)) and on and all(
        isinstance(k, str) for k in on) else None
    if names is not None:
        for name in names:
            for df, what in ((left, "left"), (right, "right")):
                if name not in df.columns:
                    raise AnalysisException(f"USING column `{name}` cannot be resolved on the {what} side of "
                                            f"the join. The {what}-side columns: {df.columns}.",
                                            "UNRESOLVED_USING_COLUMN_FOR_JOIN")
        condition = exp.and_(*[exp.EQ(this=exp.column(n, l._alias, quoted=True),
                                      expression=exp.column(n, r._alias, quoted=True)) for n in names])
        items = _using_items(l, r, names, side, join_kind)
    else:
        conditions = on if isinstance(on, (list, tuple)) else [on] if on is not None else []
        if not all(isinstance(c, Column) for c in conditions):
            raise TypeError("DataFrame.join: `on` is a column name, a list of names, or a Column condition")
        condition = _qualified(exp.and_(*[c._unaliased() for c in conditions]), l, r) if conditions else None
        items = [exp.Star()] if join_kind not in ("SEMI", "ANTI") else [exp.column(exp.Star(), l._alias)]
    query = exp.select(*items).from_(l._from()).join(r._from(), on=condition, join_type=f"{side} {join_kind}".strip())
    return DataFrame(left.sparkSession, query, {**left._inputs, **right._inputs},
                     streaming=left._streaming or right._streaming, watermark={**left._watermark,
                                                                               **right._watermark})


def _second_scans(left: DataFrame, right: DataFrame) -> DataFrame:
    """Spark plans a self-join (one stream on both sides, as in ``df.alias("a").join(df.alias("b"), ...)``)
    as two scans of its source, each with its own watermark: the right side's copy of a shared stream becomes
    an input of its own (reading the stream's one reader: ``execution.second_scan``)."""
    from stream_nb.pyspark.sql.dataframe import DataFrame
    from stream_nb.sources import Source

    shared = {n: execution.second_scan(n, n in left._watermark and right._watermark.get(n) is left._watermark[n])
              for n, v in right._inputs.items() if n in left._inputs and isinstance(v, Source)}
    if not shared:
        return right
    query = right._query.copy()
    for table in query.find_all(exp.Table):
        if table.name in shared and not table.args.get("db"):
            table.set("this", exp.to_identifier(shared[table.name]))
    inputs = {shared.get(n, n): v for n, v in right._inputs.items()}
    watermark = {shared.get(n, n): w for n, w in right._watermark.items()}
    return DataFrame(right.sparkSession, query, inputs, streaming=right._streaming, watermark=watermark,
                     alias=right._alias)


def _using_items(l: DataFrame, r: DataFrame, names: list[str], side: str, join_kind: str) -> list[exp.Expression]:
    if side == "FULL":
        keys = [exp.alias_(exp.func("coalesce", exp.column(n, l._alias, quoted=True),
                                    exp.column(n, r._alias, quoted=True)), n, quoted=True) for n in names]
    else:
        owner = r._alias if side == "RIGHT" else l._alias
        keys = [exp.alias_(exp.column(n, owner, quoted=True), n, quoted=True) for n in names]
    rest = [exp.column(n, l._alias, quoted=True) for n in l.columns if n not in names]
    if join_kind not in ("SEMI", "ANTI"):
        rest += [exp.column(n, r._alias, quoted=True) for n in r.columns if n not in names]
    return keys + rest


def _qualified(condition: exp.Expression, l: DataFrame, r: DataFrame) -> exp.Expression:
    """Each unqualified column of the condition named after the side it is on (the engine tells a join's
    sides apart by their aliases; Spark resolves a name found on one side only to that side)."""
    left, right = set(l.columns), set(r.columns)
    condition = condition.copy()
    for column in list(condition.find_all(exp.Column)):
        if column.table or isinstance(column.this, exp.Star):
            continue
        name = column.name
        origin = column.meta.get("inputs")  # df.x or df["x"]: the DataFrame it was taken from
        if name in left and name in right and origin:
            ours, theirs = origin <= set(l._inputs), origin <= set(r._inputs)
            if ours != theirs:  # from one side only (a self-join reads one input on both: ambiguous, as Spark)
                column.set("table", exp.to_identifier(l._alias if ours else r._alias, quoted=True))
                continue
        if name in left and name in right:
            raise AnalysisException(f"Reference `{name}` is ambiguous, could be: [`{l._alias}`.`{name}`, "
                                    f"`{r._alias}`.`{name}`].", "AMBIGUOUS_REFERENCE")
        if name in left or name in right:
            column.set("table", exp.to_identifier(l._alias if name in left else r._alias, quoted=True))
    return condition
