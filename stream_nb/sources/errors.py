"""The one exception a source raises when it cannot give the rows asked for."""

from __future__ import annotations


class SourceError(ValueError):
    """A source cannot give the rows asked for: a malformed file, a missing path, offsets out of range.

    ``file`` and ``line`` say where, when known (``line`` is 1-based, as an editor shows it), so that the
    notebook can point at the culprit; the message always says it too: ``file: <path>, line N: <what>``.

    >>> str(SourceError.at("data/b.csv", 3, "column 'temp': invalid value 'abc'"))
    "file: data/b.csv, line 3: column 'temp': invalid value 'abc'"
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.file = file
        self.line = line

    @classmethod
    def at(cls, file: str, line: int | None, what: str) -> SourceError:
        """An error located in a file, and in one of its lines when ``line`` is known."""
        where = f"file: {file}" + (f", line {line}" if line is not None else "")
        return cls(f"{where}: {what}", file=file, line=line)


def check_offsets(start: int, end: int, latest: int | None, source: str) -> None:
    """Raise a SourceError unless ``0 <= start <= end`` (and ``end <= latest`` when ``latest`` is given)."""
    if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start <= end:
        raise SourceError(f"{source}: cannot read offsets [{start!r}, {end!r}); offsets are ints with "
                          "0 <= start <= end")
    if latest is not None and end > latest:
        raise SourceError(f"{source}: cannot read up to offset {end}, only {latest} are available; "
                          "call latest_offset() for the end of what is there")
