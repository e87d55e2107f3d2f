"""Errors for people: what went wrong in the SQL, where (line and column, with a caret), and what to do."""

from __future__ import annotations


class StreamSQLError(ValueError):
    """A query that cannot run: a typo, an unknown name, a construct not supported, a wrong output mode.

    >>> print(StreamSQLError("unknown column 'tmp'", sql="SELECT tmp FROM t", start=7, hint="did you mean 'temp'?"))
    unknown column 'tmp' (line 1, column 8)
      SELECT tmp FROM t
             ^
    did you mean 'temp'?
    """

    def __init__(self, message: str, *, sql: str | None = None, start: int | None = None,
                 hint: str | None = None):
        self.message = message
        self.sql = sql
        self.start = start
        self.hint = hint
        self.line, self.column = _line_and_column(sql, start)
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.message
        if self.line is not None:
            text += f" (line {self.line}, column {self.column})"
            source_line = self.sql.splitlines()[self.line - 1] if self.sql.splitlines() else ""
            text += f"\n  {source_line}\n  {' ' * (self.column - 1)}^"
        if self.hint:
            text += f"\n{self.hint}"
        return text


class OutputModeError(StreamSQLError):
    """An output mode that Spark's rules do not allow for this query."""


class UnsupportedValueError(StreamSQLError):
    """A call this cannot give Spark's values for (DuckDB would answer other ones): refused in a static query
    too, where what the rewrites cannot read otherwise goes to DuckDB as it is."""


def _line_and_column(sql: str | None, start: int | None) -> tuple[int | None, int | None]:
    if sql is None or start is None:
        return None, None
    start = max(0, min(start, len(sql)))
    before = sql[:start]
    line = before.count("\n") + 1
    column = start - (before.rfind("\n") + 1) + 1
    return line, column
