"""Each input of a query as a Spark streaming DataFrame, and the kernel's feed of in-kernel sources to Spark.

Where Spark has the source, Spark reads it itself (files -> its file source with the same options, rate ->
rate, socket -> socket, kafka -> its Kafka source when the connector jar is on the classpath); the others
(memory, sensors, ads, mqtt, kafka without the jar) are read through the ``stream_nb`` Python data source
(``datasource.py``), fed from this kernel by ``Feed``: the same rows the stream_nb source gives for the same
offsets. The declared watermark of an input becomes ``withWatermark`` on its DataFrame, before the temp view
that the SQL reads is made.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pyarrow as pa

from stream_nb.sources._protocol import source_traits
from stream_nb.sources.files import FilesSource
from stream_nb.sources.rate import RateSource
from stream_nb.sources.socket import SocketSource
from stream_nb.spark import datasource
from stream_nb.sql.dialect import DIALECT, _take_watermarks
from stream_nb.sql.plan import Plan

_HOST = "127.0.0.1"
_KEPT_READS = 20       # reads kept per source for the teaching view's history (as many batches as it keeps)
_KEPT_ROWS = 5_000     # rows kept of each


class Feed:
    """An HTTP server on loopback through which Spark's Python processes read sources living in the kernel:
    ``/<token>/latest`` (the latest offset), ``/<token>/read?start=S&end=E`` (the rows, Arrow IPC),
    ``/<token>/commit?end=E`` (Spark committed up to E); and, for a query over Spark Connect, whose
    foreachBatch runs in the server, ``POST /<token>/batch?id=N`` (a batch's rows for the query's sink, Arrow
    IPC). One per kernel, started on first use."""

    def __init__(self):
        self._sources: dict[str, Any] = {}
        self._sinks: dict[str, Any] = {}  # token -> a BatchWriter (write_table)
        self._planned: dict[str, int] = {}  # token -> the end offset of the last rows Spark planned a batch on
        self._read: dict[str, dict[tuple[int, int], pa.Table]] = {}  # token -> recent reads, for q.history
        self._lock = threading.Lock()
        self._held = threading.Lock()  # while held, Spark's readers wait for the latest offsets (``hold``)
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # http.server calls it so
                feed._answer(self)

            def do_POST(self):
                feed._take_batch(self)

            def log_message(self, *args):  # every request would print to the notebook's stderr
                pass

        self._server = ThreadingHTTPServer((_HOST, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{_HOST}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="stream_nb-spark-feed", daemon=True).start()

    def add(self, source: Any) -> str:
        token = uuid.uuid4().hex
        with self._lock:
            self._sources[token] = source
        return token

    def add_sink(self, writer: Any) -> str:
        token = uuid.uuid4().hex
        with self._lock:
            self._sinks[token] = writer
        return token

    def remove(self, token: str) -> None:
        with self._lock:
            self._sources.pop(token, None)
            self._sinks.pop(token, None)
            self._planned.pop(token, None)
            self._read.pop(token, None)

    def latest(self, token: str) -> int:
        with self._lock:
            source = self._sources[token]
        return source.latest_offset()

    def planned(self, token: str) -> int:
        """How far Spark has planned batches over the source (what its reader read), 0 before any."""
        with self._lock:
            return self._planned.get(token, 0)

    def rows_read(self, token: str, start: int, end: int) -> pa.Table | None:
        """The rows handed to Spark for offsets [start, end) of the source, if among the last ones (at most
        ``_KEPT_ROWS`` of them, evenly spread: the teaching view draws a sample anyway)."""
        with self._lock:
            return self._read.get(token, {}).get((start, end))

    @contextlib.contextmanager
    def hold(self):
        """Rows added to several sources inside ``with feed().hold():`` reach Spark in one batch: its readers
        wait for the latest offsets until the block ends."""
        with self._held:
            yield

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(request.path)
        token, _, what = url.path.strip("/").partition("/")
        params = {k: int(v[0]) for k, v in urllib.parse.parse_qs(url.query).items()}
        with self._lock:
            source = self._sources.get(token)
        try:
            if source is None:
                raise LookupError(f"no source {token} in this kernel's feed (its query has stopped)")
            if what == "latest":  # start: where Spark's next batch begins (all before it is planned)
                with self._held:
                    body = str(source.latest_offset()).encode()
                with self._lock:
                    self._planned[token] = max(self._planned.get(token, 0), params.get("start", 0))
            elif what == "read":
                rows = source.read(params["start"], params["end"])
                body = _ipc(rows)
                with self._lock:
                    self._planned[token] = max(self._planned.get(token, 0), params["end"])
                    reads = self._read.setdefault(token, {})
                    reads[(params["start"], params["end"])] = _kept(rows)
                    for old in list(reads)[:-_KEPT_READS]:
                        del reads[old]
            elif what == "commit":
                if "commit" in getattr(source, "capabilities", ()):
                    source.commit(params["end"])
                body = b"ok"
            else:
                raise LookupError(f"unknown request {what!r}")
            request.send_response(200)
        except Exception as err:  # noqa: BLE001 - the reader in Spark raises it, named
            body = f"{type(err).__name__}: {err}".encode()
            request.send_response(500)
        _reply(request, body)

    def _take_batch(self, request: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(request.path)
        token, _, what = url.path.strip("/").partition("/")
        data = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        with self._lock:
            writer = self._sinks.get(token)
        try:
            if writer is None or what != "batch":
                raise LookupError(f"no sink {token} in this kernel's feed (its query has stopped)")
            with pa.ipc.open_stream(data) as reader:
                table = reader.read_all()
            writer.write_table(table, int(urllib.parse.parse_qs(url.query)["id"][0]))
            body = b"ok"
            request.send_response(200)
        except Exception as err:  # noqa: BLE001 - the server's foreachBatch raises it, named
            body = f"{type(err).__name__}: {err}".encode()
            request.send_response(500)
        _reply(request, body)


def _reply(request: BaseHTTPRequestHandler, body: bytes) -> None:
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


_feed: Feed | None = None
_feed_lock = threading.Lock()


def feed() -> Feed:
    global _feed
    with _feed_lock:
        if _feed is None:
            _feed = Feed()
        return _feed


def _kept(rows: pa.Table) -> pa.Table:
    if rows.num_rows <= _KEPT_ROWS:
        return rows
    return rows.take(pa.array(np.linspace(0, rows.num_rows - 1, _KEPT_ROWS).astype(np.int64)))


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def register_data_source(spark) -> None:
    """Make format ``stream_nb`` known to the session; the module goes to the workers by value."""
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(datasource)
    spark.dataSource.register(datasource.StreamNbDataSource)


def spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def has_kafka_connector(spark) -> bool:
    try:
        spark._jvm.java.lang.Class.forName("org.apache.spark.sql.kafka010.KafkaSourceProvider")
    except Exception:  # noqa: BLE001 - py4j raises its own error for a class not found
        return False
    return True


def read_stream(spark, source: Any, tokens: list[str]):
    """The source as a streaming DataFrame of the session; tokens of sources fed from the kernel are appended
    to ``tokens`` (removed from the feed when the query stops)."""
    reader = spark.readStream
    if isinstance(source, FilesSource):
        reader = reader.format(source.format).schema(spark_schema(source.schema))
        if source.format == "csv":
            reader = reader.option("header", str(source.header).lower())
        if source.max_per_trigger is not None:
            reader = reader.option("maxFilesPerTrigger", source.max_per_trigger)
        return reader.load(source.path)
    if isinstance(source, RateSource):
        reader = reader.format("rate").option("rowsPerSecond", max(1, round(source.rows_per_second)))
        ramp = int(source.ramp_up_time.total_seconds())
        return (reader.option("rampUpTime", f"{ramp}s") if ramp else reader).load()
    if isinstance(source, SocketSource):
        return (reader.format("socket").option("host", source.host).option("port", source.port)
                .option("includeTimestamp", source.include_timestamp).load())
    if type(source).__name__ == "KafkaSource" and has_kafka_connector(spark):
        return kafka_stream(reader, source)
    token = feed().add(source)
    tokens.append(token)
    cap = source_traits(source).max_per_trigger
    reader = (reader.format(datasource.FORMAT).option("feed", feed().url).option("source", token)
              .option("schema", spark_schema(source.schema).json()))
    return (reader.option("maxRowsPerTrigger", cap) if cap else reader).load()


def kafka_stream(reader, source: Any):
    """Spark's own Kafka source, with the stream_nb source's servers, subscription and options."""
    return reader.format("kafka").options(**kafka_options(source)).load()


def kafka_options(source: Any) -> dict[str, str]:
    """Spark's Kafka source options for a ``sn.sources.kafka`` source: servers, the topics or the pattern,
    the starting offsets (Spark's JSON for given ones), ``maxOffsetsPerTrigger``, ``failOnDataLoss`` and
    ``includeHeaders``. The
    source's librdkafka settings are its own client's, not passed (Spark's Kafka consumer refuses several)."""
    from stream_nb.sources.kafka_offsets import spark_json

    starting = source._starting  # as parsed by the source: 'earliest', 'latest' or {(topic, partition): n}
    options = {"kafka.bootstrap.servers": source.servers,
               "startingOffsets": starting if isinstance(starting, str) else json.dumps(spark_json(starting)),
               "failOnDataLoss": str(source.fail_on_data_loss).lower()}
    if source.topic is not None:
        options["subscribe"] = source.topic
    else:
        options["subscribePattern"] = source.pattern
    if source.max_offsets_per_trigger is not None:
        options["maxOffsetsPerTrigger"] = str(source.max_offsets_per_trigger)
    if getattr(source, "include_headers", False):
        options["includeHeaders"] = "true"
    return options


def input_frames(spark, plan: Plan, tokens: list[str], fed: dict[str, str] | None = None) -> dict[str, Any]:
    """Each input's DataFrame, with its watermark (``withWatermark``), by its name in the SQL; ``fed`` gets the
    feed's token of each input the kernel feeds."""
    frames = {}
    for name, stream in plan.bindings.streams.items():
        before = len(tokens)
        frame = read_stream(spark, stream.source, tokens)
        if fed is not None and len(tokens) > before:
            fed[name] = tokens[-1]
        event_time = plan.event_times.get(name)
        if event_time is not None:
            frame = frame.withWatermark(event_time.column, f"{event_time.delay_us} microseconds")
        frames[name] = frame
    return frames


def without_watermark_clauses(sql: str) -> str:
    """The SQL as written, less stream_nb's ``WATERMARK col DELAY OF INTERVAL ...`` clauses (Spark has none;
    they become ``withWatermark``).

    >>> without_watermark_clauses("SELECT * FROM s WATERMARK ts DELAY OF INTERVAL 10 SECONDS WHERE x > 1")
    'SELECT * FROM s WHERE x > 1'
    """
    tokens = DIALECT.tokenize(sql)
    kept, _ = _take_watermarks(tokens, sql)
    kept_ids = {id(t) for t in kept}
    out, at = [], 0
    for token in tokens:
        if id(token) not in kept_ids:
            out.append(sql[at:token.start].rstrip() if not out or at < token.start else "")
            at = token.end + 1
    out.append(sql[at:])
    return "".join(out)
