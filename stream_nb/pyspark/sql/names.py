"""The name Spark's analyzer gives an unaliased SQL expression (``F.expr``, ``selectExpr``): ``(n + 1)``,
``upper(word)``, ``count(1)``, ``CASE WHEN (n > 1) THEN a ELSE b END``; a column, or a cast of one, keeps its name.

>>> from sqlglot import parse_one
>>> spark_name(parse_one("CASE WHEN n > 1 THEN 'a' ELSE 'b' END", read="spark"))
'CASE WHEN (n > 1) THEN a ELSE b END'
>>> spark_name(parse_one("date_format(ts, 'HH')", read="spark"), "date_format(ts, 'HH')")
'date_format(ts, HH)'
"""

from __future__ import annotations

import re

from sqlglot import exp


def spark_name(node: exp.Expression, text: str = "") -> str:
    """``node``'s Spark name; ``text``, the SQL it was parsed from, gives the function names as written."""
    def name(n: exp.Expression) -> str:
        return spark_name(n, text)

    if isinstance(node, exp.Alias):
        return node.alias
    if isinstance(node, (exp.Column, exp.Dot)):
        return node.name if isinstance(node, exp.Column) else node.expression.name
    if isinstance(node, exp.Literal):
        return node.this
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Paren):
        return name(node.this)
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
        return "count(1)"
    if isinstance(node, exp.Connector):  # AND / OR (sqlglot makes them functions too)
        return f"({name(node.left)} {node.key.upper()} {name(node.right)})"
    if isinstance(node, exp.Func) and _written(node, text) is not None:
        return _function_name(node, text)
    if isinstance(node, exp.Cast) and isinstance(node.this, (exp.Column, exp.Dot)):
        return name(node.this)  # Spark's analyzer names a cast of a column after the column
    if isinstance(node, exp.Cast):
        return f"CAST({name(node.this)} AS {node.to.sql('spark').upper()})"
    if isinstance(node, exp.Case):
        whens = " ".join(f"WHEN {name(i.this)} THEN {name(i.args['true'])}" for i in node.args["ifs"])
        default = node.args.get("default")
        return f"CASE {whens}{f' ELSE {name(default)}' if default is not None else ''} END"
    if isinstance(node, exp.In):
        return f"({name(node.this)} IN ({', '.join(name(e) for e in node.expressions)}))"
    if isinstance(node, exp.Not) and isinstance(node.this, exp.Is):
        return f"({name(node.this.this)} IS NOT NULL)"
    if isinstance(node, exp.Not):
        return f"(NOT {name(node.this)})"
    if isinstance(node, exp.Neg):
        return f"(- {name(node.this)})"
    if isinstance(node, exp.Binary) and not isinstance(node, (exp.Dot, exp.Bracket, exp.Func)):
        op = node.sql("spark")[len(node.left.sql("spark")):-len(node.right.sql("spark")) or None].strip()
        return f"({name(node.left)} {op} {name(node.right)})"
    if isinstance(node, exp.Func):
        return _function_name(node, text)
    return _unquoted(node.sql("spark"))


def _written(node: exp.Expression, text: str) -> str | None:
    """The function name as the query wrote it, where the parser kept its place."""
    start, end = node.meta.get("start"), node.meta.get("end")
    return text[start:end + 1] if text and start is not None and end is not None else None


def _function_name(node: exp.Func, text: str) -> str:
    """``name(arg, ...)`` as written: the name the query used (sqlglot reads instr as STR_POSITION), the
    arguments in the query's order, without the conversions sqlglot puts around them (year(TS_OR_DS_TO_DATE(ts)))."""
    written = _written(node, text)
    if written is None and isinstance(node, exp.Anonymous):
        written = node.name
    if written is None:
        return _unquoted(node.sql("spark"))
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("window", "session_window"):
        return node.name.lower()  # Spark's time windows are columns named window / session_window
    args = [a for a in node.args.values() if isinstance(a, exp.Expression)]
    args += [e for e in node.expressions if e not in args]
    args = sorted((_unconverted(a) for a in args), key=_position)
    if text and not all(any(n.meta for n in a.walk()) for a in args):
        # an argument sqlglot rewrote or added (a date format, a JSON path, a default): the call as written
        return _unquoted(_call_text(node, text))
    return f"{written.lower()}({', '.join(spark_name(a, text) for a in args)})"


def _call_text(node: exp.Func, text: str) -> str:
    """The call as the query wrote it, from its name to its closing parenthesis."""
    depth, quote, end = 0, "", len(text) - 1
    for i in range(node.meta["end"] + 1, len(text)):
        c = text[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                end = i
                break
    call = text[node.meta["start"]:end + 1]
    return re.sub(r"\s*,\s*", ", ", call)


def _unconverted(arg: exp.Expression) -> exp.Expression:
    """An argument without the conversion calls sqlglot adds (they have no place in the text)."""
    while isinstance(arg, exp.Func) and not arg.meta and isinstance(arg.this, exp.Expression) and \
            len([v for v in arg.args.values() if v is not None]) == 1:
        arg = arg.this
    return arg


def _position(arg: exp.Expression) -> float:
    starts = [n.meta["start"] for n in arg.walk() if "start" in n.meta]
    return min(starts) if starts else float("inf")


def _unquoted(text: str) -> str:
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"'((?:[^']|'')*)'", lambda m: m.group(1).replace("''", "'"), text)
    return re.sub(r"\b([A-Za-z_][A-Za-z0-9_]*)\(", lambda m: m.group(1).lower() + "(", text)
