"""Small helpers over the query's syntax tree, shared by the planner's rewrites."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlglot import exp

from stream_nb.sql.dialect import literal_decimal
from stream_nb.sql.windows import (
    WindowSpec,
    contains_row,
    explode_for_sliding,
    has_event_time,
    is_window_call,
    time_table,
    window_struct,
)

BATCH = "__batch"  # the name the batch's rows have in DuckDB (a single-input plan)
AGG = "__agg"      # the finished aggregates, in the final query
STATE = "__state"  # the state rows a batch emits, in DuckDB


def batch_table(input_name: str | None = None) -> str:
    """The name an input's batch rows have in the plan's SQL: ``__batch`` for the one input of a single-input
    plan (``input_name`` None), ``__batch_<input name>`` for each input of a multi-input plan.

    >>> batch_table(), batch_table("clicks")
    ('__batch', '__batch_clicks')
    """
    return BATCH if input_name is None else f"{BATCH}_{input_name}"


def sources_of(select: exp.Select) -> list[exp.Expression]:
    from_ = select.args.get("from_")
    return ([from_.this] if from_ else []) + [join.this for join in select.args.get("joins") or []]



def reads(node: exp.Expression, stream: str) -> bool:
    return any(t.name == stream for t in node.find_all(exp.Table))



def select_chain(tree: exp.Query, stream: str) -> list[exp.Select]:
    """The SELECTs from the outermost down to the one whose FROM (or JOIN) reads the stream directly."""
    chain = []
    node = tree
    while isinstance(node, exp.Select):
        chain.append(node)
        node = next((_as_query(source) for source in sources_of(node) if reads(source, stream)), None)
    return chain


def _as_query(source: exp.Expression) -> exp.Expression | None:
    return source.this if isinstance(source, exp.Subquery) else None


def aggregates_in(select: exp.Select) -> list[exp.AggFunc]:
    found = []
    for part in [*select.expressions, select.args.get("having"), select.args.get("order")]:
        if part is not None:
            found.extend(n for n in part.find_all(exp.AggFunc) if n.find_ancestor(exp.Select) is select)
    return found



def replace_stream(tree: exp.Expression, stream: str, batch: str = BATCH) -> None:
    """Read the stream's rows from the batch table ``batch`` (``batch_table``) instead."""
    for table in tree.find_all(exp.Table):
        if table.name == stream:
            table.set("this", exp.to_identifier(batch))
            table.set("db", None)
            table.set("catalog", None)



def to_duckdb(tree: exp.Expression) -> str:
    return tree.sql(dialect="duckdb")



def apply_window(node: exp.Expression, window: WindowSpec | None, stream: str | None = None) -> None:
    """Rewrite window() calls into DuckDB structs; for sliding windows, repeat each row per window.

    Each call is computed in the SELECT that holds it, over the FROM source its column names (the stream, or
    a subquery over it): that SELECT keeps only rows with an event time and, when sliding, reads its source
    repeated once per candidate window. A SELECT without a window() call is left as it is (a window that
    the engine assigns in Arrow needs neither). ``stream`` is no longer needed: kept for callers."""
    if window is not None:
        apply_windows(node, lambda call: replace(window, column=call.expressions[0].copy()))


def apply_windows(node: exp.Expression, spec_of: Callable[[exp.Anonymous], WindowSpec],
                  struct_of: Callable[[WindowSpec], exp.Expression] = window_struct) -> None:
    """``apply_window`` with each call's own spec (``spec_of(call)``, its time qualified as its SELECT reads
    it) and struct (``struct_of(spec)``)."""
    owners: dict[int, tuple[exp.Select, WindowSpec, exp.Expression]] = {}
    for call in [n for n in node.find_all(exp.Anonymous) if is_window_call(n)]:
        spec = spec_of(call)
        struct = struct_of(spec)
        owner = call.find_ancestor(exp.Select)
        call.replace(struct.copy())
        if owner is not None:
            owners.setdefault(id(owner), (owner, spec, struct))
    for owner, spec, struct in owners.values():
        owner.where(has_event_time(spec), copy=False)
        source = _source_named(owner, time_table(spec))
        if spec.sliding and source is not None:
            source.replace(explode_for_sliding(source, spec))
            owner.where(contains_row(spec, struct), copy=False)


def _source_named(select: exp.Select, name: str) -> exp.Expression | None:
    """The table or subquery in ``select``'s FROM or JOINs that is called ``name``."""
    return next((source for source in sources_of(select) if source.alias_or_name == name), None)


def replace_typed(node: exp.Expression, build) -> None:
    """Put ``build(node)`` where ``node`` was (it may hold ``node`` itself), typed as Spark types ``node``."""
    kind = node.type
    placeholder = exp.Null()
    node.replace(placeholder)
    new = build(node)
    new.type = kind
    placeholder.replace(new)


def bottom_up(tree: exp.Expression, *kinds: type[exp.Expression]) -> list[exp.Expression]:
    """The nodes of those kinds, each after the nodes inside it, so rewriting one leaves the rest valid."""
    return [node for node in reversed(list(tree.walk(bfs=False))) if isinstance(node, kinds)]


def is_text(node: exp.Expression) -> bool:
    return node is not None and node.type is not None and node.type.this in exp.DataType.TEXT_TYPES


def decimal_digits(kind: exp.DataType) -> tuple[int, int]:
    """(precision, scale) of a decimal type: Spark's default (10, 0) where it says none, scale 0 where only the
    precision.

    >>> decimal_digits(exp.DataType.build("DECIMAL(12, 2)")), decimal_digits(exp.DataType.build("DECIMAL"))
    ((12, 2), (10, 0))
    """
    digits = [int(e.this.name) for e in kind.expressions]
    return (digits[0], digits[1] if len(digits) > 1 else 0) if digits else (10, 0)


def decimal_of(node: exp.Expression) -> tuple[int, int] | None:
    """(precision, scale) of a decimal value: a literal's digits (``2.50`` and ``-2.50`` are decimal(3,2); their
    type says no digits, dialect.py), else its type's; None for a value of another type, or a computed decimal
    whose type says no digits (``1.5 + 1``: sqlglot does not follow Spark's decimal arithmetic).

    >>> decimal_of(exp.Neg(this=exp.Literal.number("2.50")))
    (3, 2)
    """
    while isinstance(node, (exp.Neg, exp.Paren)):
        node = node.this
    literal = literal_decimal(node)
    if literal is not None:
        return literal
    kind = node.type
    if kind is None or kind.this != exp.DataType.Type.DECIMAL or not kind.expressions and not isinstance(node, exp.Cast):
        return None
    return decimal_digits(kind)
