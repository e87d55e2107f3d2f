"""A stream-stream join's state watermark from its time-range condition, as Spark derives it
(``StreamingJoinHelper.getStateValueWatermark``).

Each conjunct ``l < r`` (``<=``, ``>``, ``>=``, and BETWEEN as two ``>=``/``<=``) is solved for one side's time
column: written as ``l - r < 0``, split into terms (columns and constants, each maybe negated); if exactly one
term is this side's time and it is negated, and every other column is the other side's watermarked time, then
``this_time > other_watermark + constants``: rows of this side at or behind that value can never match a
row to come, and are evicted. Spark works in milliseconds: ``(watermark_ms * 1000 + constants_us) / 1000``,
truncated, minus 1 for a non-strict comparison; over several conjuncts, the least.

The planner finds the terms (``value_bounds``); the engine evaluates them with each batch's watermark
(``state_watermark_ms``), so the rule is written once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from stream_nb.intervals import parse_interval


@dataclass(frozen=True)
class ValueBound:
    """One conjunct's bound on a side's time: ``time > sign * watermark + constant_us`` (``inclusive``: the
    conjunct was ``<=``/``>=``, so one millisecond less is evicted)."""

    sign: int          # how the other side's watermarked time enters: +1, -1, or 0 (not at all)
    constant_us: float
    inclusive: bool

    def state_watermark_ms(self, watermark_ms: int) -> int:
        """>>> ValueBound(1, -60_000_000.0, True).state_watermark_ms(100_000)
        39999
        """
        value = (self.sign * watermark_ms * 1000.0 + self.constant_us) / 1000.0
        return int(value) - (1 if self.inclusive else 0)  # Java's toLong truncates toward zero


def state_watermark_ms(bounds: tuple[ValueBound, ...], watermark_ms: int) -> int | None:
    """The least state watermark the bounds give at this watermark, or None without bounds."""
    return min((b.state_watermark_ms(watermark_ms) for b in bounds), default=None)


def value_bounds(condition: exp.Expression | None, this_side: set[str], other_side: set[str],
                 other_watermarked: str | None) -> tuple[ValueBound, ...]:
    """The bounds ``condition`` puts on a column of ``this_side`` (qualified column names, ``alias.col``) from
    the other side's watermarked column ``other_watermarked``; empty when the other side has no watermark.

    >>> import sqlglot
    >>> on = sqlglot.parse_one("c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE", read="spark")
    >>> value_bounds(on, {"i.ts"}, {"c.ts"}, "c.ts")  # impressions wait for clicks up to a minute later
    (ValueBound(sign=1, constant_us=-60000000.0, inclusive=True),)
    >>> value_bounds(on, {"c.ts"}, {"i.ts"}, "i.ts")
    (ValueBound(sign=1, constant_us=0.0, inclusive=True),)
    """
    if condition is None or other_watermarked is None:
        return ()
    bounds = []
    for conjunct in _conjuncts(condition):
        for less, more, inclusive in _comparisons(conjunct):
            bound = _solve(less, more, this_side, other_side, other_watermarked)
            if bound is not None:
                bounds.append(ValueBound(bound[0], bound[1], inclusive))
    return tuple(bounds)


def _conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    condition = condition.unnest()
    return [c.unnest() for c in condition.flatten()] if isinstance(condition, exp.And) else [condition]


def _comparisons(node: exp.Expression) -> list[tuple[exp.Expression, exp.Expression, bool]]:
    """``(less, more, inclusive)`` for ``less < more`` (or ``<=``)."""
    if isinstance(node, exp.LT):
        return [(node.this, node.expression, False)]
    if isinstance(node, exp.LTE):
        return [(node.this, node.expression, True)]
    if isinstance(node, exp.GT):
        return [(node.expression, node.this, False)]
    if isinstance(node, exp.GTE):
        return [(node.expression, node.this, True)]
    if isinstance(node, exp.Between):
        return [(node.args["low"], node.this, True), (node.this, node.args["high"], True)]
    return []


def _name(column: exp.Column) -> str:
    return f"{column.table}.{column.name}" if column.table else column.name


def _solve(less: exp.Expression, more: exp.Expression, this_side: set[str], other_side: set[str],
           other_watermarked: str) -> tuple[int, float] | None:
    """Solve ``less - more < 0`` for this side's time: ``(sign of the watermark, constant µs)``, or None."""
    columns = {_name(c) for c in [*less.find_all(exp.Column), *more.find_all(exp.Column)]}
    if len(columns & this_side) > 1 or len(columns & other_side) > 1:
        return None  # two columns of one side: Spark cannot solve it
    terms = _terms(less, False) + _terms(more, True)
    if terms is None or any(t is None for t in terms):
        return None
    unique = list(dict.fromkeys(terms))  # Spark collects the terms into a set
    mine = [t for t in unique if t[0] in this_side]
    if len(mine) != 1 or not mine[0][1]:
        return None  # it must read `-this_time`: only then is this side's time bounded from below
    sign, constant = 0, 0.0
    for name, negated, value in unique:
        if (name, negated, value) == mine[0]:
            continue
        if name is None:
            constant += -value if negated else value
        elif name == other_watermarked:
            sign += -1 if negated else 1
        else:
            return None  # a column without a watermark: Spark cannot evaluate it
    return sign, constant


Term = tuple  # (column name or None, negated, constant µs for a literal)


def _terms(node: exp.Expression, negate: bool) -> list[Term] | None:
    """The commutative terms of ``node`` (Spark's ``collectTerms``); a None among them makes it unsolvable."""
    node = node.unnest()
    if isinstance(node, exp.Add):
        return _terms(node.this, negate) + _terms(node.expression, negate)
    if isinstance(node, exp.Sub):
        return _terms(node.this, negate) + _terms(node.expression, not negate)
    if isinstance(node, exp.Neg):
        return _terms(node.this, not negate)
    if isinstance(node, exp.Cast):
        kind = node.to.this
        numeric = kind in exp.DataType.NUMERIC_TYPES or kind in exp.DataType.TEMPORAL_TYPES
        return _terms(node.this, negate) if numeric else [None]
    if isinstance(node, exp.Column):
        return [(_name(node), negate, 0.0)]
    if isinstance(node, exp.Interval):
        micros = _interval_us(node)
        return [None] if micros is None else [(None, negate, micros)]
    if isinstance(node, exp.Literal) and not node.is_string:
        return [(None, negate, float(node.this) * 1_000_000.0)]  # a number of seconds
    return [None]


def _interval_us(node: exp.Interval) -> float | None:
    unit = node.args.get("unit")
    text = f"{node.this.name} {unit.name if unit is not None else ''}".strip()
    if any(word in text.lower() for word in ("month", "year")):
        return None  # imprecise: Spark refuses months and years here
    try:
        return parse_interval(text).total_seconds() * 1_000_000.0
    except ValueError:
        return None
