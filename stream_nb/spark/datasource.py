"""The Spark Python data source through which a stream_nb source's rows reach Spark (format ``stream_nb``).

Its methods run in Spark's Python processes, not in the kernel: the stream reader's ``latestOffset`` and
``partitions`` in a Python process the Spark driver starts, ``read`` on the executors. A memory source lives in
the kernel, so the reader asks the kernel's feed (``sources.Feed``, an HTTP server on loopback: the driver runs
where the kernel runs) for the latest offset and for the rows between two offsets, as Arrow IPC; those bytes
travel inside the InputPartition to the executor, whose ``read`` only decodes them. So an executor needs
pyspark and pyarrow, not stream_nb (the module is pickled by value), and Spark sees exactly the rows the
stream_nb source reads for the same offsets (``read(start, end)``). Offsets are ``{"offset": N}``, the
stream_nb source's own int, so Spark's offset log reads as stream_nb's does.

Over Spark Connect the query's foreachBatch function runs in the server's Python too: ``BatchPoster`` posts
each batch's rows back to the feed, where the kernel's sink writes them.

This module imports nothing of stream_nb: it is shipped to Spark's Python workers as it is.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.types import StructType

FORMAT = "stream_nb"
_TIMEOUT_S = 60


class StreamNbDataSource(DataSource):
    """Options: ``feed`` (the kernel feed's URL), ``source`` (the source's token there), ``schema`` (a Spark
    StructType as JSON), ``maxRowsPerTrigger`` (optional: at most this many offsets in one batch)."""

    @classmethod
    def name(cls) -> str:
        return FORMAT

    def schema(self) -> StructType:
        return StructType.fromJson(json.loads(self.options["schema"]))

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:
        cap = self.options.get("maxRowsPerTrigger")
        return FeedReader(f"{self.options['feed']}/{self.options['source']}", int(cap) if cap else None)


class RowsPartition(InputPartition):
    """One batch's rows, as Arrow IPC stream bytes (read on the driver, decoded on an executor)."""

    def __init__(self, ipc: bytes):
        super().__init__(ipc)
        self.ipc = ipc


class FeedReader(DataSourceStreamReader):
    def __init__(self, url: str, max_per_trigger: int | None):
        self.url = url
        self.max_per_trigger = max_per_trigger

    def initialOffset(self) -> dict:
        return {"offset": 0}

    def latestOffset(self, start: dict, limit) -> dict:
        latest = int(self._get("latest", start=int(start["offset"])))
        if self.max_per_trigger is not None and type(limit).__name__ != "ReadAllAvailable":
            latest = min(latest, int(start["offset"]) + self.max_per_trigger)
        return {"offset": latest}

    def partitions(self, start: dict, end: dict) -> list[InputPartition]:
        low, high = int(start["offset"]), int(end["offset"])
        if high <= low:
            return []
        return [RowsPartition(self._get("read", start=low, end=high))]

    def read(self, partition: RowsPartition):
        with pa.ipc.open_stream(partition.ipc) as reader:
            yield from reader

    def commit(self, end: dict) -> None:
        self._get("commit", end=int(end["offset"]))

    def _get(self, what: str, **params) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}/{what}{query}", timeout=_TIMEOUT_S) as response:
                return response.read()
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"stream_nb feed {self.url}: {what} failed: {err.read().decode()}") from err
        except OSError as err:
            raise RuntimeError(f"stream_nb feed {self.url} is out of reach ({err}): the kernel that started the "
                               "query feeds its memory, sensors and other in-kernel sources to Spark, and must "
                               "run on the machine of Spark's driver") from err


class BatchPoster:
    """The foreachBatch function of a query over Spark Connect, run by the server's Python worker: it posts the
    batch's rows to the kernel's feed (``/<token>/batch?id=N``, Arrow IPC), where the query's sink writes them;
    an error of the sink comes back and fails the batch, as it would in the kernel."""

    def __init__(self, url: str):
        self.url = url

    def __call__(self, df, batch_id: int) -> None:
        table = df.toArrow()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        request = urllib.request.Request(f"{self.url}/batch?id={int(batch_id)}", data=sink.getvalue().to_pybytes(),
                                         method="POST", headers={"Content-Type": "application/vnd.apache.arrow.stream"})
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                response.read()
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"stream_nb sink {self.url}: batch {batch_id} failed: {err.read().decode()}") from err
        except OSError as err:
            raise RuntimeError(f"stream_nb sink {self.url} is out of reach ({err}): the Spark Connect server "
                               "hands each batch to the kernel that started the query, and must run on its "
                               "machine") from err
