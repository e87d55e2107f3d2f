"""What a live chart draws: its kind, x, y columns and series (``--by``), checked against a query's output.

The magic's options and ``q.show``'s arguments both become a ``ChartSpec``; ``resolve`` fills in what is left
out and refuses a column that is not there (naming the columns that are) or is not a number (a duration is one:
it is drawn in seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from stream_nb.notebook.results import DURATION, NUMBER, TIME

KINDS = ("line", "bar", "scatter", "area")
ROLLOVER = 2_000       # points kept per series


class ChartOptionError(ValueError):
    """A chart option that does not fit the query's output (an unknown column, a chart kind)."""


@dataclass(frozen=True)
class ChartSpec:
    """What to draw: ``kind`` of chart, ``x`` column, ``y`` columns, one series per value of ``by``.

    >>> ChartSpec.parse("line", x="w.start", y="avg_temp,max_temp", by="device").y
    ('avg_temp', 'max_temp')
    """

    kind: str = "line"
    x: str | None = None
    y: tuple[str, ...] = ()
    by: str | None = None
    rollover: int = ROLLOVER

    @classmethod
    def parse(cls, kind: str | None = None, *, x: str | None = None, y: str | list[str] | None = None,
              by: str | None = None, rollover: int = ROLLOVER) -> ChartSpec | None:
        """A spec from the magic's or ``q.show``'s options; None when no chart is asked for."""
        if kind is None and x is None and not y and by is None:
            return None
        kind = kind or "line"
        if kind not in KINDS:
            raise ChartOptionError(f"unknown chart {kind!r}: choose one of {', '.join(KINDS)}")
        ys = y.split(",") if isinstance(y, str) else list(y or [])
        return cls(kind, x, tuple(c.strip() for c in ys if c.strip()), by, rollover)

    def resolve(self, kinds: dict[str, str], query_name: str) -> ChartSpec:
        """Check the columns against the query's output; fill in ``x`` and ``y`` when they are left out."""
        for option, column in [("--x", self.x), ("--by", self.by), *(("--y", c) for c in self.y)]:
            if column is not None and column not in kinds:
                raise ChartOptionError(_unknown_column(option, column, kinds, query_name))
        x = self.x or next((c for c, k in kinds.items() if k == TIME), None) or next(iter(kinds))
        free = [c for c in kinds if c not in (x, self.by)]  # a number first, else a duration
        y = self.y or tuple(c for c in free if kinds[c] == NUMBER)[:1] or \
            tuple(c for c in free if kinds[c] == DURATION)[:1]
        if not y:
            raise ChartOptionError(f"--y: the output of {query_name!r} has no numeric column to plot; "
                                   f"its columns are {', '.join(kinds)}")
        bad = [c for c in y if kinds[c] not in (NUMBER, DURATION)]
        if bad:
            numeric = ", ".join(c for c, k in kinds.items() if k in (NUMBER, DURATION))
            raise ChartOptionError(f"--y: column {bad[0]!r} is not a number ({kinds[bad[0]]}); "
                                   f"numeric columns: {numeric}")
        return replace(self, x=x, y=y)


def _unknown_column(option: str, column: str, kinds: dict[str, str], query_name: str) -> str:
    message = (f"{option}: the output of {query_name!r} has no column {column!r}; "
               f"its columns are {', '.join(kinds)}")
    fields = [c for c in kinds if c.startswith(column + ".")]
    if fields:
        message += f" ({column!r} is a struct, e.g. a window: use {' or '.join(fields)})"
    return message
