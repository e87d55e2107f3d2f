"""``StreamingQuery`` with Spark's Python names over stream_nb's query; displayed, it is the live view."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from stream_nb.pyspark.errors import StreamingQueryException

if TYPE_CHECKING:
    import stream_nb


def _of(member: str, doc: str) -> property:
    return property(lambda self: getattr(self._q, member), doc=doc)


class StreamingQuery:
    def __init__(self, query: stream_nb.StreamingQuery, manager: StreamingQueryManager, named: bool = True):
        self._q = query
        self._manager = manager
        self._named = named  # queryName given: Spark's name is None without one (stream_nb's live view has one)

    # Spark's read-only members, each the stream_nb query's member of the same meaning
    id = _of("id", "The query's id, kept in its checkpoint: the same across restarts.")
    runId = _of("run_id", "This run's id: a new one at every start.")

    @property
    def name(self) -> str | None:
        """The query's name (queryName), None when it was started without one."""
        return self._q.name if self._named else None

    isActive = _of("is_active", "Whether the query is running.")
    status = _of("status", "What the query is doing now (message, isDataAvailable, isTriggerActive).")

    @property
    def lastProgress(self) -> StreamingQueryProgress | None:
        """The last batch's progress, or None before the first."""
        progress = self._q.last_progress
        return None if progress is None else StreamingQueryProgress(progress)

    @property
    def recentProgress(self) -> list[StreamingQueryProgress]:
        """The last batches' progress, oldest first."""
        return [StreamingQueryProgress(p) for p in self._q.recent_progress]

    def processAllAvailable(self) -> None:
        self._q.process_all_available()
        self._raise_if_failed()

    def awaitTermination(self, timeout: float | None = None) -> bool | None:
        try:
            stopped = self._q.await_termination(timeout)
        except Exception as err:
            raise StreamingQueryException(str(err), "STREAM_FAILED") from err
        return stopped if timeout is not None else None

    def stop(self) -> None:
        self._q.stop()
        self._manager._stopped(self)

    def exception(self) -> StreamingQueryException | None:
        err = self._q.exception
        return None if err is None else StreamingQueryException(str(err), "STREAM_FAILED")

    def explain(self, extended: bool = False) -> None:
        self._q.explain()

    def _raise_if_failed(self) -> None:
        err = self.exception()
        if err is not None:
            raise err

    def _ipython_display_(self) -> None:
        self._q.show()

    def __repr__(self) -> str:
        return f"<StreamingQuery {self.name} id={self.id} runId={self.runId} active={self.isActive}>"


class StreamingQueryProgress(dict):
    """PySpark 4's progress: a dict (``p["numInputRows"]``) whose fields read as attributes too
    (``p.batchId``, ``p.sources[0].endOffset``), with ``json`` and ``prettyJson``.

    >>> StreamingQueryProgress({"batchId": 3, "sources": [{"numInputRows": 2}]}).sources[0].numInputRows
    2
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self:
            raise AttributeError(f"'StreamingQueryProgress' has no field '{name}' (fields: {', '.join(self)})")
        return _progress(self[name])

    @property
    def json(self) -> str:
        return json.dumps(self, default=str)

    @property
    def prettyJson(self) -> str:
        return json.dumps(self, indent=4, default=str)


def _progress(value: Any) -> Any:
    if isinstance(value, dict):
        return StreamingQueryProgress(value)
    return [_progress(v) for v in value] if isinstance(value, list) else value


class StreamingQueryManager:
    """``spark.streams``: this session's queries."""

    def __init__(self, session: Any):
        self._session = session
        self._queries: list[StreamingQuery] = []
        self._changed = threading.Condition()
        self._terminated: list[StreamingQuery] = []

    def _add(self, query: StreamingQuery) -> None:
        with self._changed:
            self._queries.append(query)
        threading.Thread(target=self._watch, args=(query,), daemon=True).start()

    def _watch(self, query: StreamingQuery) -> None:
        from stream_nb import StreamingQueryException as Failed

        try:
            query._q.await_termination()
        except Failed:
            pass  # a failed query has terminated too; its error stays in query.exception()
        self._stopped(query)

    def _stopped(self, query: StreamingQuery) -> None:
        with self._changed:
            if query not in self._terminated:
                self._terminated.append(query)
            self._changed.notify_all()

    def _by_name(self, name: str) -> StreamingQuery | None:
        found = [q for q in self._queries if q.name == name]
        return found[-1]._q if found else None

    @property
    def active(self) -> list[StreamingQuery]:
        return [q for q in self._queries if q.isActive]

    def get(self, id: str) -> StreamingQuery | None:
        return next((q for q in self._queries if q.id == id and q.isActive), None)

    def awaitAnyTermination(self, timeout: float | None = None) -> bool | None:
        with self._changed:
            done = self._changed.wait_for(lambda: self._terminated, timeout)
        for q in self._terminated:
            q._raise_if_failed()
        return bool(done) if timeout is not None else None

    def resetTerminated(self) -> None:
        with self._changed:
            self._terminated.clear()

    def addListener(self, listener: Any) -> None:
        from stream_nb.pyspark.errors import not_supported

        raise not_supported("StreamingQueryManager.addListener")
