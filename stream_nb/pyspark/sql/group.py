"""``GroupedData``: ``df.groupBy(...)`` and its aggregations, as one GROUP BY query."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from stream_nb.pyspark.sql import functions as F
from stream_nb.pyspark.sql.column import Column

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.dataframe import DataFrame


class GroupedData:
    """``sets``: how the keys group, Spark's ``df.rollup``, ``df.cube`` and ``df.groupingSets`` (``sql/
    grouping_sets.py`` runs them): "rollup", "cube", or the grouping sets as lists of Columns."""

    def __init__(self, df: DataFrame, keys: list[Column], sets: str | list[list[Column]] | None = None,
                 pivot: tuple[Column, list[Any] | None] | None = None):
        self._df, self._keys, self._sets, self._pivot = df, keys, sets, pivot

    def pivot(self, pivot_col: str | Column, values: list[Any] | None = None) -> GroupedData:
        """A column per value of ``pivot_col`` (each value given, or every value there is, sorted) for each
        aggregation of ``agg``: see ``pivot.py``."""
        from stream_nb.pyspark.sql.pivot import check_pivot

        check_pivot(self._df, self._sets, self._pivot)
        return GroupedData(self._df, self._keys, pivot=(F.col(pivot_col) if isinstance(pivot_col, str)
                                                        else pivot_col, values))

    def agg(self, *exprs: Column | dict[str, str]) -> DataFrame:
        if len(exprs) == 1 and isinstance(exprs[0], dict):
            aggs = [_by_name(fn, c) for c, fn in _in_sparks_order(exprs[0])]
        else:
            aggs = list(exprs)
        if not aggs or not all(isinstance(a, Column) for a in aggs):
            raise TypeError("[NOT_COLUMN] GroupedData.agg: give aggregate Columns or a dict {column: function}")
        if self._pivot is not None:
            from stream_nb.pyspark.sql.pivot import pivoted

            return pivoted(self._df, self._keys, *self._pivot, aggs)
        keys = self._keys
        source = self._df._from()
        inlined = _window_time_projection(self._df)
        if inlined is not None:
            # the engine chains two aggregations by window(window_time(w)) written in the second one: a
            # projection naming window_time(w) between them is written into it
            names, source = inlined
            keys, aggs = [_substituted(k, names) for k in keys], [_substituted(a, names) for a in aggs]
        items = [k._named() for k in keys] + [a._named() for a in aggs]
        query = exp.select(*items).from_(source)
        if keys:
            query.set("group", self._group([k._unaliased() for k in keys]))
        return self._df._derive(query)

    def _group(self, keys: list[exp.Expression]) -> exp.Group:
        if self._sets == "rollup":
            return exp.Group(expressions=[exp.Rollup(expressions=keys)])
        if self._sets == "cube":
            return exp.Group(expressions=[exp.Cube(expressions=keys)])
        if self._sets is not None:  # Hive's form: the keys in the order given, then the sets over them
            sets = exp.GroupingSets(expressions=[exp.Tuple(expressions=[c._unaliased() for c in s])
                                                 for s in self._sets])
            return exp.Group(expressions=keys, grouping_sets=[sets])
        return exp.Group(expressions=keys)

    def count(self) -> DataFrame:
        # a pivot's is count(1), as Spark's (which refuses the API's * in a pivot: pivot.py)
        return self.agg(Column(exp.Count(this=exp.Literal.number(1) if self._pivot else exp.Star()), "count"))

    def _each(self, fn: str, cols: tuple[str, ...]) -> DataFrame:
        names = list(cols) or self._numeric()
        return self.agg(*[_by_name(fn, c) for c in names])

    def sum(self, *cols: str) -> DataFrame: return self._each("sum", cols)
    def avg(self, *cols: str) -> DataFrame: return self._each("avg", cols)
    def mean(self, *cols: str) -> DataFrame: return self._each("avg", cols)
    def min(self, *cols: str) -> DataFrame: return self._each("min", cols)
    def max(self, *cols: str) -> DataFrame: return self._each("max", cols)

    def _numeric(self) -> list[str]:
        from stream_nb.pyspark.sql.types import NumericType

        keys = {k._name for k in self._keys}
        return [f.name for f in self._df.schema if isinstance(f.dataType, NumericType) and f.name not in keys]

    def applyInPandasWithState(self, func: Any, outputStructType: Any, stateStructType: Any, outputMode: str,
                               timeoutConf: str) -> DataFrame:
        from stream_nb.pyspark.sql.group_state import apply_in_pandas_with_state

        return apply_in_pandas_with_state(self._df, self._keys, func, outputStructType, stateStructType,
                                          outputMode, timeoutConf)


def _in_sparks_order(functions: dict[str, str]) -> list[tuple[str, str]]:
    """The dict's items in the order Spark's agg(dict) gives its columns: PySpark hands the dict to the JVM as a
    java.util.HashMap, whose iteration order is its buckets' (String.hashCode spread, 16 buckets; insertion order
    within one), kept by Scala's Map of up to 4 entries. Larger dicts keep their own order (Scala's HashMap of 5
    or more has a hash-trie order of its own).

    >>> [c for c, _ in _in_sparks_order({"v": "max", "a": "min"})]
    ['a', 'v']
    """
    if len(functions) > 4:
        return list(functions.items())

    def bucket(name: str) -> int:
        h, units = 0, name.encode("utf-16-le")  # String.hashCode over Java's chars, UTF-16 code units
        for low, high in zip(units[::2], units[1::2], strict=True):
            h = (31 * h + (low | high << 8)) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & 15

    return sorted(functions.items(), key=lambda item: bucket(item[0]))  # stable: insertion order in a bucket


def _by_name(fn: str, column: str) -> Column:
    fn = {"mean": "avg", "average": "avg"}.get(fn.lower(), fn.lower())
    if fn == "count":
        return F.count(column if column != "*" else "*")
    return getattr(F, fn)(column)


def _window_time_projection(df: DataFrame) -> tuple[dict[str, exp.Expression], exp.Expression] | None:
    """``SELECT window_time(window) AS t, ... FROM (aggregation)``: each name's expression and the FROM."""
    from stream_nb.pyspark.sql.dataframe import _plain_projection

    query = _plain_projection(df._query)
    if query is None or df._alias is not None or query.args.get("where") is not None:
        return None
    if not any(a.name.lower() == "window_time" for a in query.find_all(exp.Anonymous)):
        return None
    if any(isinstance(e, exp.Star) for e in query.expressions):
        return None
    return {e.alias_or_name: (e.this if isinstance(e, exp.Alias) else e) for e in query.expressions}, \
        query.args["from_"].this.copy()


def _substituted(column: Column, names: dict[str, exp.Expression]) -> Column:
    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in names:
            return names[node.name].copy()
        return node

    return Column(column._expr.copy().transform(swap), column._name)
