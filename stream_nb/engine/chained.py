"""A query's result as a stream for another query (``FROM up``): Spark's chained queries over a memory table.

The upstream query feeds each batch's output into the buffer only while a query reading it runs: the buffer is
hooked on when that query has started (so a refused start leaves nothing behind) and unhooked when it stops.
What the reader has committed is trimmed away (``commit``), so a live buffer holds only the rows not yet read.
"""

from __future__ import annotations

from stream_nb.sources._protocol import ATTACH, COMMIT
from stream_nb.sources.errors import SourceError
from stream_nb.sources.memory import MemorySource


class ResultStream(MemorySource):
    capabilities = frozenset({ATTACH, COMMIT})  # fed while its reader runs; trimmed as the reader commits

    def __init__(self, upstream):
        super().__init__(upstream.schema)
        self.upstream = upstream
        self.description = f"QueryResult[{upstream.name}]"
        self._trimmed = 0  # rows before this offset are gone: the reader committed them

    def attach(self) -> None:
        """The reading query has started: from now on the upstream feeds this buffer."""
        self.upstream._hook(self)

    def detach(self) -> None:
        """The reading query has stopped: the upstream stops feeding it (and the buffer can be freed)."""
        self.upstream._unhook(self)

    def commit(self, end: int) -> None:
        """The reader has committed every row before ``end`` and will not read them again: drop them."""
        with self._lock:
            whole = 0
            while whole < len(self._chunks) and self._starts[whole] + self._chunks[whole].num_rows <= end:
                whole += 1
            del self._chunks[:whole], self._starts[:whole]
            self._trimmed = max(self._trimmed, end)

    def read(self, start: int, end: int):
        if start < self._trimmed and end > start:
            raise SourceError(f"{self.description}: rows [{start}, {self._trimmed}) were committed and dropped; "
                              "they cannot be read again")
        return super().read(start, end)
