"""``window()`` and ``session_window()`` over an expression, as Spark windows any timestamp expression.

The engine assigns windows in Arrow over a column of the rows it aggregates. An expression of the time
(``window(to_timestamp(s), '10 seconds')``, ``window(ts + INTERVAL 1 HOUR, ...)``) is named in a subquery over
the SELECT's FROM (``__window_time0``, the same expression written twice named once), and the window goes
over that column; the rest of the query reads the subquery as it read its FROM, under the same name. As in
Spark, only a window over the watermarked column itself closes by the watermark: over an expression of it the
window's state stays (update, complete), and append mode is refused for want of a watermark.

A SELECT that joins is left as it is: its windows over an expression are refused with a hint (``windows.py``).
"""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sql.windows import is_window_call

WINDOW_TIME = "__window_time"


def name_window_times(tree: exp.Query) -> exp.Query:
    """The query with each window over an expression read from a column naming that expression.

    >>> from stream_nb.sql.dialect import parse
    >>> sql = "SELECT window(to_timestamp(s), '1 minute') AS w FROM e GROUP BY window(to_timestamp(s), '1 minute')"
    >>> print(name_window_times(parse(sql)[0]).sql("spark", pretty=True))
    SELECT
      WINDOW(__window_time0, '1 minute') AS w
    FROM (
      SELECT
        *,
        CAST(s AS TIMESTAMP) AS __window_time0
      FROM e
    ) AS e
    GROUP BY
      WINDOW(__window_time0, '1 minute')
    """
    for select in list(tree.find_all(exp.Select)):
        calls = [call for call in select.find_all(exp.Anonymous)
                 if (is_window_call(call) or is_window_call(call, "session_window")) and call.expressions
                 and not isinstance(call.expressions[0], exp.Column) and call.find_ancestor(exp.Select) is select]
        source = select.args.get("from_")
        if not calls or source is None or select.args.get("joins") or \
                not isinstance(source.this, exp.Table | exp.Subquery):
            continue
        named: dict[str, tuple[str, exp.Expression]] = {}
        for call in calls:
            time = call.expressions[0]
            name, _ = named.setdefault(time.sql(), (f"{WINDOW_TIME}{len(named)}", time.copy()))
            time.replace(exp.column(name))
        scanned = source.this
        alias = scanned.alias_or_name
        inner = exp.Select(expressions=[exp.Star(), *(exp.alias_(time, name) for name, time in named.values())])
        inner.set("from_", exp.From(this=scanned.copy()))
        scanned.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return tree
