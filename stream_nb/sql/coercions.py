"""Spark's implicit casts between strings and other types (non-ANSI), which DuckDB refuses or makes strictly.

One rule over the typed tree, tree in, tree out; the casts it adds are read as Spark reads strings afterwards
(``non_ansi.py``: a string that does not parse is NULL, ' 12 ' is 12, '1.5' as an integer is 1):

* a comparison (``=``, ``<``, ``BETWEEN``, ...) of a string with a number or a boolean casts the string to the
  other side's type (a decimal: to a double), so ``s > 5`` is ``CAST(s AS INT) > 5``;
* ``s IN (1, 7)`` compares strings: the numbers are cast to strings;
* arithmetic on a string reads it as a double (``s + 1``, ``-s``), and so do ``sum``, ``avg`` and the
  variances (Arrow has no sum of strings: the query failed at start);
* ``coalesce``, ``CASE``, ``if`` and ``nvl`` mixing strings and numbers give a string;
* a double given to ``concat`` (or ``||``) is written as Java writes it (``1.0E10``), as a cast to a string is.

DuckDB stopped these with "Cannot compare values of type VARCHAR and type INTEGER_LITERAL", or failed the batch
with "Could not convert string 'x' to INT32".
"""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sql.tree import bottom_up, is_text

_T = exp.DataType.Type
_NUMBERS = {_T.TINYINT, _T.SMALLINT, _T.INT, _T.BIGINT, _T.FLOAT, _T.DOUBLE, _T.DECIMAL}
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
_NUMERIC_AGGREGATES = (exp.Sum, exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance, exp.VariancePop)


def spark_coercions(tree: exp.Expression) -> exp.Expression:
    """Strings beside numbers and booleans as Spark casts them.

    >>> import sqlglot
    >>> from sqlglot.optimizer.annotate_types import annotate_types
    >>> tree = annotate_types(sqlglot.parse_one("SELECT t.s > 5, t.s IN (1, 7), t.s + 1 FROM t", read="spark"),
    ...                       schema={"t": {"s": "STRING"}})
    >>> spark_coercions(tree).sql("spark")
    'SELECT CAST(t.s AS INT) > 5, t.s IN (CAST(1 AS STRING), CAST(7 AS STRING)), CAST(t.s AS DOUBLE) + 1 FROM t'
    """
    for node in bottom_up(tree, *_COMPARISONS, exp.Between, exp.In, *_ARITHMETIC, exp.Neg, exp.Coalesce,
                          exp.Case, exp.If, exp.Concat, exp.ConcatWs, exp.DPipe, *_NUMERIC_AGGREGATES):
        if isinstance(node, _NUMERIC_AGGREGATES):
            if is_text(node.this):
                node.this.replace(_cast(node.this, exp.DataType.build("DOUBLE")))
                node.type = exp.DataType.build("DOUBLE")
        elif isinstance(node, (exp.Concat, exp.ConcatWs, exp.DPipe)):
            for part in list(node.iter_expressions()):
                if part.type is not None and part.type.this in (_T.DOUBLE, _T.FLOAT):
                    part.replace(_cast(part, exp.DataType.build("TEXT")))  # 1.0E10, as Java writes it
        elif isinstance(node, _COMPARISONS):
            _compare(node, "this", node.expression)
            _compare(node, "expression", node.this)
        elif isinstance(node, exp.Between):
            for bound in ("low", "high"):
                _compare(node, bound, node.this)
            other = next((node.args[b] for b in ("low", "high") if _kind(node.args[b]) is not None), None)
            if other is not None:
                _compare(node, "this", other)
        elif isinstance(node, exp.In):
            if is_text(node.this):
                for item in node.expressions:
                    if _kind(item) is not None:
                        item.replace(_cast(item, exp.DataType.build("TEXT")))
        elif isinstance(node, exp.Neg):
            if is_text(node.this):
                node.this.replace(_cast(node.this, exp.DataType.build("DOUBLE")))
                node.type = exp.DataType.build("DOUBLE")
        elif isinstance(node, _ARITHMETIC):
            sides = (node.this, node.expression)
            if any(is_text(side) for side in sides) and any(_is_number(side) or is_text(side) for side in sides):
                for side in sides:
                    if is_text(side):
                        side.replace(_cast(side, exp.DataType.build("DOUBLE")))
                node.type = exp.DataType.build("DOUBLE")  # not an integer the overflow rule would wrap
        else:
            _results_as_text(node)
    return tree


def _kind(node: exp.Expression) -> exp.DataType | None:
    """The type a string beside ``node`` is cast to: a number's (a decimal's: double) or boolean; else None."""
    if node is None or node.type is None:
        return None
    if node.type.this == _T.DECIMAL:
        return exp.DataType.build("DOUBLE")
    if node.type.this in _NUMBERS or node.type.this == _T.BOOLEAN:
        return node.type.copy()
    return None


def _is_number(node: exp.Expression) -> bool:
    return node is not None and node.type is not None and node.type.this in _NUMBERS


def _compare(node: exp.Expression, arg: str, other: exp.Expression) -> None:
    """Cast ``node``'s ``arg`` to ``other``'s type when it is a string and ``other`` a number or boolean."""
    side = node.args.get(arg)
    to = _kind(other)
    if side is not None and to is not None and is_text(side) and not isinstance(side, exp.Null):
        side.replace(_cast(side, to))


def _results_as_text(node: exp.Expression) -> None:
    """coalesce / CASE / if whose results mix strings and numbers: every result a string."""
    if isinstance(node, exp.Coalesce):
        results = [node.this, *node.expressions]
    elif isinstance(node, exp.Case):
        results = [i.args.get("true") for i in node.args.get("ifs") or []] + [node.args.get("default")]
    else:
        results = [node.args.get("true"), node.args.get("false")]
    results = [r for r in results if r is not None]
    if not any(is_text(r) for r in results) or not any(_kind(r) is not None for r in results):
        return
    for result in results:
        if _kind(result) is not None:
            result.replace(_cast(result, exp.DataType.build("TEXT")))
    node.type = exp.DataType.build("TEXT")


def _cast(node: exp.Expression, to: exp.DataType) -> exp.TryCast:
    cast = exp.TryCast(this=node.copy(), to=to.copy())
    cast.type = to.copy()
    return cast
