"""Spark's higher-order and array functions where DuckDB's of the same shape give other values, or none:
handlers for ``spark_functions.py``'s dispatch (run over the typed tree, innermost calls first).

* ``transform(xs, (x, i) -> ...)`` and ``filter(xs, (x, i) -> ...)``: Spark's index counts from 0, DuckDB's
  lambda index from 1;
* ``forall(xs, x -> p)`` is ``NOT exists(xs, x -> NOT p)``, three-valued as Spark's (NULL when no element is
  false and one is NULL);
* ``zip_with(xs, ys, (x, y) -> ...)`` pads the shorter array with NULLs, NULL if either is;
* ``arrays_zip(xs, ys)`` names its fields after the arguments (a column's name, else its position, as
  Spark), and zips two empty arrays into an empty one;
* ``reverse`` of an array, and ``get(xs, i)`` (from 0, NULL out of bounds or below 0);
* ``transform_keys(m, (k, v) -> ...)``, ``transform_values(m, (k, v) -> ...)`` and ``map_filter(m, (k, v) ->
  ...)``, which DuckDB lacks: over the map's entries, then back to a map.
"""

from __future__ import annotations

from sqlglot import exp

_I = "__i"  # the position a rewrite walks the arrays by (from 0)


def _call(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=[a.copy() for a in args])


def _replace(node: exp.Expression, new: exp.Expression, type_: str | None = None) -> None:
    new.type = exp.DataType.build(type_) if type_ else (node.type.copy() if node.type is not None else None)
    node.replace(new)


def _params(lambda_: exp.Lambda) -> list[str]:
    return [p.name for p in lambda_.expressions]


def _substitute(body: exp.Expression, values: dict[str, exp.Expression]) -> exp.Expression:
    """``body`` with each reference to a lambda parameter in ``values`` (a bare name, or an unqualified column)
    replaced by its expression."""
    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in values:
            return exp.paren(values[node.name].copy(), copy=False)
        if isinstance(node, exp.Identifier) and node.name in values and not isinstance(node.parent, (exp.Column, exp.Lambda)):
            return exp.paren(values[node.name].copy(), copy=False)
        return node
    return body.copy().transform(swap)


def _index_from_zero(node: exp.Transform | exp.ArrayFilter) -> None:
    lambda_ = node.args.get("expression")
    if not isinstance(lambda_, exp.Lambda) or len(lambda_.expressions) != 2:
        return
    index = _params(lambda_)[1]
    shifted = exp.Cast(this=exp.Sub(this=exp.to_identifier(index), expression=exp.Literal.number(1)),  # an int,
                       to=exp.DataType.build("INT"))  # as Spark's (DuckDB's index is a bigint)
    lambda_.set("this", _substitute(lambda_.this, {index: shifted}))


def _forall(node: exp.Anonymous) -> None:
    array, lambda_ = (node.expressions + [None, None])[:2]
    if not isinstance(lambda_, exp.Lambda) or len(node.expressions) != 2:
        return
    negated = exp.Lambda(this=exp.Not(this=exp.paren(lambda_.this.copy(), copy=False)),
                         expressions=[p.copy() for p in lambda_.expressions])
    _replace(node, exp.Not(this=_call("spark_exists", _call("list_transform", array, negated))), "BOOLEAN")


def _zip_with(node: exp.Anonymous) -> None:
    if len(node.expressions) != 3 or not isinstance(node.expressions[2], exp.Lambda):
        return
    left, right, lambda_ = node.expressions
    x, y = (_params(lambda_) + [None, None])[:2]
    body = _substitute(lambda_.this, {x: _at(left), y: _at(right)})
    _replace(node, _zipped(left, right, body=body))


def _arrays_zip(node: exp.ArraysZip) -> None:
    arrays = node.expressions
    if len(arrays) < 1:
        return
    fields = [exp.PropertyEQ(this=exp.to_identifier(a.name if isinstance(a, exp.Column) else str(i)), expression=_at(a))
              for i, a in enumerate(arrays)]
    _replace(node, _zipped(*arrays, body=exp.Struct(expressions=fields)))


def _zipped(*arrays: exp.Expression, body: exp.Expression) -> exp.Expression:
    """``body`` at each position ``__i`` of the longest of ``arrays``; NULL if any of them is NULL."""
    longest = _call("greatest", *[_call("len", a) for a in arrays]) if len(arrays) > 1 else _call("len", arrays[0])
    each = _call("list_transform", _call("range", longest),
                 exp.Lambda(this=body, expressions=[exp.to_identifier(_I)]))
    absent = exp.or_(*[exp.Is(this=a.copy(), expression=exp.Null()) for a in arrays])
    return exp.Case().when(absent, exp.Null(), copy=False).else_(each, copy=False)


def _at(array: exp.Expression) -> exp.Expression:
    """``array``'s element at ``__i`` (from 0): NULL past its end."""
    return _call("list_extract", array, exp.Add(this=exp.to_identifier(_I), expression=exp.Literal.number(1)))


# calls that give an array whatever sqlglot could type them (transform's result is not typed)
_ARRAY_CALLS = tuple(getattr(exp, name) for name in (
    "Array", "ArrayAppend", "ArrayPrepend", "ArrayConcat", "ArrayCompact", "ArrayDistinct", "ArrayExcept",
    "ArrayIntersect", "ArrayRemove", "ArraySort", "SortArray", "ArrayFilter", "Transform", "Flatten", "ArraySlice",
    "Split", "RegexpSplit", "ArrayUnion") if hasattr(exp, name))


# the same, as the calls they are rewritten into (innermost first) or that sqlglot leaves by name
_ARRAY_NAMES = {"array_union", "array_repeat", "list_reverse", "list_filter", "list_transform", "list_sort",
                "flatten", "spark_array_union", "spark_array_repeat", "spark_array_except", "spark_array_remove",
                "spark_array_distinct", "spark_array_intersect", "spark_flatten", "spark_sequence"}


def _reverse(node: exp.Reverse) -> None:
    kind = node.this.type
    if kind is not None and kind.this in (exp.DataType.Type.ARRAY, exp.DataType.Type.LIST) or \
            isinstance(node.this, _ARRAY_CALLS) or \
            isinstance(node.this, exp.Anonymous) and node.this.name.lower() in _ARRAY_NAMES:
        new = _call("list_reverse", node.this)
        new.type = kind.copy() if kind is not None else None
        node.replace(new)


def _get(node: exp.Anonymous) -> None:
    if len(node.expressions) != 2:
        return
    array, index = node.expressions
    element = _call("list_extract", array, exp.Add(this=exp.paren(index.copy()), expression=exp.Literal.number(1)))
    below = exp.LT(this=index.copy(), expression=exp.Literal.number(0))
    _replace(node, exp.Case().when(below, exp.Null(), copy=False).else_(element, copy=False))


_E = "__entry"  # the map entry a rewrite walks a map by


def _map_lambda(node: exp.Anonymous) -> None:
    """transform_keys / transform_values / map_filter over ``map_entries(m)``, each entry's key and value given
    to the lambda's two parameters."""
    if len(node.expressions) != 2 or not isinstance(node.expressions[1], exp.Lambda):
        return
    mapping, lambda_ = node.expressions
    names = _params(lambda_)
    if len(names) != 2:
        return
    key, value = (_call("struct_extract", exp.to_identifier(_E), exp.Literal.string(f)) for f in ("key", "value"))
    body = _substitute(lambda_.this, {names[0]: key, names[1]: value})
    entries = _call("map_entries", mapping)
    name = node.name.lower()
    if name == "map_filter":
        kept = _call("list_filter", entries, exp.Lambda(this=body, expressions=[exp.to_identifier(_E)]))
    else:
        pair = {"key": body if name == "transform_keys" else key,
                "value": body if name == "transform_values" else value}
        entry = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(f), expression=e)
                                        for f, e in pair.items()])
        kept = _call("list_transform", entries, exp.Lambda(this=entry, expressions=[exp.to_identifier(_E)]))
    new = _call("map_from_entries", kept)
    new.type = mapping.type.copy() if name == "map_filter" and mapping.type is not None else None  # (a filter
    node.replace(new)                                                                 # keeps the map's type)


BY_CLASS = {exp.Transform: _index_from_zero, exp.ArrayFilter: _index_from_zero, exp.ArraysZip: _arrays_zip,
            exp.Reverse: _reverse}
BY_NAME = {"forall": _forall, "zip_with": _zip_with, "get": _get, "transform_keys": _map_lambda,
           "transform_values": _map_lambda, "map_filter": _map_lambda}
