"""The Kafka source: topics' messages as a stream, read by offset range (Spark's Kafka source).

It reads one topic, several (Spark's ``subscribe`` of ``"a,b"``), or every topic whose name matches a regular
expression (Spark's ``subscribePattern``); topics and partitions that appear later are read from their earliest
offset, as Spark reads them.

The checkpoint is the truth, as in Spark: the source joins no consumer group and commits nothing to Kafka. Each
batch's per-partition offset ranges are planned and logged before it runs (``kafka_offsets.py``), then read
with the consumer's assign and seek, so a restart reads exactly the same messages again: exactly once end to end
with the files and duckdb sinks.

The broker is asked for each partition's end offset (its high watermark); messages up to it are read, and no
further. A broker that is down when the query starts is an error at once, naming the address; one that goes
down while the query runs is waited for (the query reads nothing new meanwhile) for up to ``OUTAGE_SECONDS``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
import warnings
from collections.abc import Mapping

import pyarrow as pa

from stream_nb.sources._protocol import (
    ATTACH,
    CHECKPOINT_LOG,
    CHECKPOINT_METADATA,
    CLOSE,
    CONCURRENT_READS,
    MAX_PER_TRIGGER,
    PREPARE,
    SPARK_OFFSETS,
)
from stream_nb.sources.errors import SourceError, check_offsets
from stream_nb.sources.kafka_ahead import StepAhead
from stream_nb.sources.kafka_offsets import (
    EARLIEST,
    LATEST,
    Offsets,
    TopicPartition,
    from_spark_json,
    losses,
    parse_starting_offsets,
    report_data_loss,
    spark_json,
    split_backlog,
    step_from_json,
    step_json,
)
from stream_nb.sources.kafka_reader import RangeReader
from stream_nb.sources.kafka_records import source_schema, to_table
from stream_nb.types import parse_schema

__all__ = ["KafkaSource", "kafka"]

_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")  # Kafka's legal topic names
# Spark's DataStreamReader options that are not librdkafka settings: what each is here
_SPARK_OPTIONS = {
    "subscribe": "the topic argument ('a' or 'a,b' or a list)", "subscribepattern": "pattern=",
    "assign": "starting_offsets naming every partition", "startingoffsets": "starting_offsets=",
    "maxoffsetspertrigger": "max_offsets_per_trigger=", "failondataloss": "fail_on_data_loss=",
    "includeheaders": "include_headers=",
}
CONNECT_SECONDS = 5     # how long the first contact with the broker may take before the query is refused
OUTAGE_SECONDS = 120    # how long a running query waits for a broker that went away before it fails
# librdkafka's own log (a connection refused while a broker restarts...): there for who looks, never printed
_LOG = logging.getLogger("stream_nb.sources.kafka.librdkafka")
_LOG.addHandler(logging.NullHandler())


def _check_options(config: dict) -> None:
    """A Spark option or a setting librdkafka does not know, refused at once naming it (not at the start)."""
    for name in config:
        if name.lower() in _SPARK_OPTIONS:
            raise ValueError(f"kafka source: options[{name!r}] is a Spark option, not a librdkafka setting; here "
                             f"it is {_SPARK_OPTIONS[name.lower()]}")
    kafka = _client()
    try:
        kafka.Consumer(config, logger=_LOG).close()
    except kafka.KafkaException as err:
        raise ValueError(f"kafka source: options: {err.args[0].str()} (options are librdkafka consumer settings, "
                         "https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md)") from None


def _subscription(topic, pattern) -> tuple[tuple[str, ...], re.Pattern | None]:
    """The topics named (Spark's ``subscribe``: one, ``"a,b"`` or a list), or the pattern (``subscribePattern``,
    a regular expression a whole topic name must match, as Java's ``Matcher.matches``): exactly one of them."""
    if (topic is None) == (pattern is None):
        raise ValueError("kafka source: give the topics to read (topic='events', 'a,b' or a list), or a regular "
                         f"expression their names match (pattern='sensors-.*'), not {'both' if topic else 'neither'}")
    if pattern is not None:
        try:
            return (), re.compile(pattern)
        except (re.error, TypeError) as err:
            raise ValueError(f"kafka source: pattern {pattern!r} is not a regular expression: {err}") from None
    names = topic.split(",") if isinstance(topic, str) else list(topic) if isinstance(topic, list | tuple) else None
    names = [n.strip() if isinstance(n, str) else n for n in names] if names is not None else None
    bad = [n for n in names if not isinstance(n, str) or not _TOPIC.fullmatch(n)] if names else [topic]
    if bad:
        raise ValueError(
            f"kafka source: topic is a topic's name (letters, digits, '.', '_', '-'), several as 'a,b' or a list, "
            f"not {bad[0]!r}; to read every topic whose name matches a regular expression, give pattern= instead "
            "(Spark's subscribePattern)")
    return tuple(dict.fromkeys(names)), None


def _client():
    try:
        import confluent_kafka
    except ImportError:
        raise ImportError("the Kafka source and sink need confluent-kafka: pip install 'stream_nb[kafka]' "
                          "(or pip install confluent-kafka)") from None
    return confluent_kafka


POLL_SECONDS = 0.001  # continuous processing: between two looks at the partitions' end offsets


class KafkaSource:
    """Kafka topics as a stream (see ``kafka``). Offset n is the n-th planned step (``kafka_offsets.py``)."""

    capabilities = frozenset({MAX_PER_TRIGGER, CONCURRENT_READS, CHECKPOINT_METADATA, CHECKPOINT_LOG, ATTACH,
                              PREPARE, CLOSE, SPARK_OFFSETS, "push"})

    def __init__(self, servers: str, topic: str | list[str] | None = None, *, pattern: str | None = None,
                 starting_offsets: str | Mapping = "earliest", schema=None,
                 max_offsets_per_trigger: int | None = None, fail_on_data_loss: bool = True,
                 include_headers: bool = False, options: Mapping | None = None):
        if not isinstance(servers, str) or not servers.strip():
            raise ValueError(f"kafka source: servers is the brokers' 'host:port[,host:port]', not {servers!r}")
        self.topics, self._pattern = _subscription(topic, pattern)
        if not isinstance(fail_on_data_loss, bool):
            raise TypeError(f"kafka source: fail_on_data_loss is True or False, not {fail_on_data_loss!r}")
        if max_offsets_per_trigger is not None and (isinstance(max_offsets_per_trigger, bool) or not isinstance(
                max_offsets_per_trigger, int) or max_offsets_per_trigger < 1):
            raise ValueError("kafka source: max_offsets_per_trigger must be a positive int or None, "
                             f"not {max_offsets_per_trigger!r}")
        _client()
        self.servers, self.fail_on_data_loss = servers, fail_on_data_loss
        # as Spark's options: the topics as subscribe's 'a,b' (None with a pattern), the pattern as given
        self.topic = ",".join(self.topics) or None
        self.pattern = pattern
        if not isinstance(include_headers, bool):
            raise TypeError(f"kafka source: include_headers is True or False, not {include_headers!r}")
        self.include_headers = include_headers
        self.value_schema = parse_schema(schema) if schema is not None else None
        self.schema = source_schema(self.value_schema, include_headers)
        self.description = (f"KafkaV2[Subscribe[{self.topic}]]" if self.topics
                            else f"KafkaV2[SubscribePattern[{pattern}]]")
        self.max_offsets_per_trigger = max_offsets_per_trigger
        # each step already holds at most max_offsets_per_trigger offsets: one step per batch
        self.max_per_trigger = 1 if max_offsets_per_trigger else None
        self._starting = parse_starting_offsets(starting_offsets, self.subscribed,
                                                self.topics[0] if self.topics else "topic")
        self._config = {
            "bootstrap.servers": servers,
            "group.id": f"stream_nb-{uuid.uuid4()}",  # librdkafka needs one; nothing is ever committed to it
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "error",             # an offset gone from the broker is reported, not skipped
            "isolation.level": "read_uncommitted",    # as Spark's Kafka source
            "reconnect.backoff.max.ms": 1000,         # back soon after a broker restart
            # A new client's first request (the start's metadata) waited half of librdkafka's 100 ms here in about
            # half the starts: it picks a broker to connect to at most once per reconnect.backoff.ms / 2, and a
            # request made while the bootstrap connection was being replaced waited that out (a query's start
            # 57 -> 8 ms, median of 8). The backoff still doubles up to the maximum above while a broker is down.
            "reconnect.backoff.ms": 10,
            # A fetch response of ~1 MB in all: the partitions take turns, so the first batch's messages of every
            # partition come in the first few responses. A broker that fills a response from one partition (Tansu
            # does) sent a partition's whole backlog (16 MB) before the next's: the first 50,000-message batch of
            # a 3-partition backlog waited for ~130,000 messages (113 -> 54 ms, 200,000 messages backlogged),
            # for ~3% more CPU over a 1 M-message backlog (more, smaller fetches).
            "max.partition.fetch.bytes": 1 << 20,
            "fetch.max.bytes": 1 << 20,
            # librdkafka stops fetching a partition that has queued.min.messages waiting and then waits a whole
            # second (fetch.queue.backoff.ms) before it looks again: a batch read while that second runs waits it
            # out. Keep a few batches prefetched, and look again soon. Not more: 1,000,000 a partition fetched a
            # whole backlog at once (memory, cold caches, the broker's and librdkafka's CPU spent before the
            # batches need it): a 1 M-message backlog read 2.16 -> 1.73 s, 1.7 -> 1.3 s (same process, A/B).
            "queued.min.messages": 50_000,
            "fetch.queue.backoff.ms": 10,
            # how long the broker may hold a fetch that finds little new: a batch (and a live view) waits on it;
            # librdkafka's 500 ms made a 200,000-message backlog read ~1.5x slower from a local broker
            "fetch.wait.max.ms": 10,
            **{k.removeprefix("kafka."): v for k, v in (options or {}).items()},
        }
        if "message.max.bytes" in self._config and not any(k.removeprefix("kafka.") == "fetch.max.bytes"
                                                            for k in options or {}):
            del self._config["fetch.max.bytes"]  # (librdkafka wants it >= message.max.bytes: its own default)
        _check_options(self._config)
        self._lock = threading.Lock()        # the steps
        self._meta_lock = threading.Lock()   # the client asking for partitions and their offsets
        self._read_lock = threading.Lock()   # the client reading messages
        self._meta = self._reader = None
        self._ahead = StepAhead()            # the next step, read while the engine aggregates this one
        self._starts: Offsets | None = None  # where offset 0 begins in each partition
        self._steps: list[tuple[Offsets, Offsets]] = []  # (end, starts not where the last step ended)
        self._reached = False
        self._away_since: float | None = None
        self._prepared: dict[TopicPartition, tuple[int, int]] | None = None  # what prepare found, for attach
        self._queries = 0  # the queries reading it (prepared, not closed)

    # -- what offsets mean, kept in the checkpoint ---------------------------------------------------------

    def subscribed(self, name: str) -> bool:
        """Whether this source reads topic ``name`` (a pattern matches no internal topic, ``__``..., as Kafka's
        consumer excludes them)."""
        if self._pattern is None:
            return name in self.topics
        return not name.startswith("__") and self._pattern.fullmatch(name) is not None

    def _subscription_json(self) -> dict:
        if self._pattern is not None:
            return {"pattern": self.pattern}
        return {"topic": self.topics[0]} if len(self.topics) == 1 else {"topics": list(self.topics)}

    def checkpoint_metadata(self) -> dict:
        """The topics (or pattern) and the starting offsets, resolved against the broker once ("latest" is then
        fixed)."""
        with self._lock:
            return {**self._subscription_json(), "startingOffsets": spark_json(self._resolve_starts())}

    def restore_checkpoint_metadata(self, stored: dict) -> None:
        kept = {k: stored[k] for k in ("topic", "topics", "pattern") if k in stored}
        if kept != self._subscription_json():
            raise ValueError(f"the checkpoint's query read {kept}, and this source reads "
                             f"{self._subscription_json()}; as in Spark, changing the subscribed topics is not "
                             "allowed: give a query on other topics a new checkpoint directory")
        with self._lock:
            self._starts = from_spark_json(stored["startingOffsets"])

    def checkpoint_log(self, start: int, end: int) -> list[dict]:
        """The steps that offsets ``start`` to ``end`` stand for: each partition's end offset after each."""
        with self._lock:
            return [step_json(*step) for step in self._steps[start:end]]

    def restore_checkpoint_log(self, steps: list) -> None:
        with self._lock:  # (steps written when a source read one topic name no topic: they are that one's)
            self._steps = [step_from_json(step, self.topics[0] if len(self.topics) == 1 else None)
                           for step in steps]

    def spark_offset(self, end: int) -> dict:
        """Offset ``end`` as Spark writes a Kafka source's offset: ``{"topic": {"0": 23, "1": 5}}``."""
        with self._lock:
            return spark_json(self._ends(end))

    def prepare(self) -> None:
        """A query starts (first thing, before its DuckDB connection and its checkpoint's recovery): the starting
        offsets are resolved, and the reading client connects and fetches from them, beside the rest of the
        start, so the first batch finds its messages fetched (the first 50,000 of a backlog took ~40 ms to come,
        after the start's ~35 ms). A broker out of reach refuses the start here, naming its address. Starting
        offsets given per partition are resolved by attach only: a restart takes the checkpoint's instead, which
        it has not read yet (and those given may not fit the topic any more).

        A query started on a source that no running query reads (the cell run again) plans anew, from its own
        starting offsets, as Spark's new query would: "latest" is the end now, not where an earlier query began."""
        with self._lock:
            if not self._queries:
                self._starts, self._steps = None, []
        self._prepared = self._start_reading(None, resolve=not isinstance(self._starting, dict))
        with self._lock:
            self._queries += 1

    def attach(self) -> None:
        """A query has started: the starting offsets are resolved now if they were not, as Spark does ("latest"
        is the end at the start), and the reading client fetches from where the next batch begins (after a
        restart, the checkpoint's offsets); a broker out of reach refuses the start, naming its address."""
        found, self._prepared = self._prepared, None  # (what prepare found, at this query's start)
        self._start_reading(found)

    def _start_reading(self, found: dict[TopicPartition, tuple[int, int]] | None, resolve: bool = True) -> dict | None:
        with self._lock:
            if found is None:
                found = self._watermarks()  # one ask: the starting offsets and the partitions to assign
            if resolve:
                self._resolve_starts(found)
            expected = self._ends(len(self._steps))  # where the next batch begins, unless it replays one
            # (a partition gone is not assigned: latest_offset reports it)
            expected = {tp: offset for tp, offset in expected.items() if tp in (found or {})}
        with self._read_lock:
            self._open_reader().prefetch(expected)
        return found

    def detach(self) -> None:
        pass

    # -- the Source protocol -----------------------------------------------------------------------------

    def latest_offset(self) -> int:
        """Plans steps up to each partition's end offset now (split by ``max_offsets_per_trigger``)."""
        with self._lock:
            self._resolve_starts()
            found = self._watermarks()
            if found is None:
                return len(self._steps)  # the broker is away: nothing new until it is back
            previous = self._ends(len(self._steps))
            starts = losses(previous, found, self.fail_on_data_loss)
            kept = {tp: o for tp, o in previous.items() if tp in found}  # a partition gone is read no more
            new = {tp: low for tp, (low, high) in found.items() if tp not in previous and high > low}
            for (topic, partition), low in new.items():
                if low != 0:  # as Spark: what came before a new partition's earliest offset was not read
                    report_data_loss(topic, partition, f"the partition was found with offsets from {low}, not 0",
                                     self.fail_on_data_loss)
            starts.update(new)
            begin = {**kept, **starts}
            target = {tp: found[tp][1] for tp in begin}
            for k, end in enumerate(split_backlog(begin, target, self.max_offsets_per_trigger)):
                if end != previous or (starts and k == 0):
                    self._steps.append((end, starts if k == 0 else {}))
                    starts = {}
            if starts or kept.keys() != previous.keys():  # nothing to read, but where partitions are changed
                self._steps.append((target, starts))
            return len(self._steps)

    def wait_for_data(self, offset: int, timeout: float) -> tuple[int, None]:
        """Continuous processing's poll loop: ask the broker for the partitions' end offsets every
        millisecond until there is a step after ``offset`` or ``timeout`` s pass. The latest offset, and None
        for the arrival (a message's time is in the message)."""
        deadline = time.monotonic() + timeout
        while True:
            latest = self.latest_offset()
            if latest > offset or time.monotonic() >= deadline:
                return latest, None
            time.sleep(POLL_SECONDS)

    def read(self, start: int, end: int) -> pa.Table:
        """The messages of steps ``start`` to ``end``, in topic, partition then offset order."""
        ranges = self._ranges(start, end)
        table = self._ahead.take((start, end))
        if table is None:
            table = self._fetch(ranges) if ranges else self.schema.empty_table()
        if self.max_per_trigger:  # one step a batch: the next one, if planned, is read now, on a thread
            with self._lock:
                planned = len(self._steps) > end
            following = self._ranges(end, end + 1) if planned else None
            if following:
                self._ahead.start((end, end + 1), lambda cancel: self._fetch(following, cancel))
        return table

    def _ranges(self, start: int, end: int) -> dict[TopicPartition, tuple[int, int]]:
        """Each partition's offsets ``[first, end)`` in steps ``start`` to ``end`` (none if nothing to read)."""
        with self._lock:
            check_offsets(start, end, len(self._steps), self.description)
            begin = self._ends(start)
            # a later step's start wins: offsets before it were gone from the broker when it was planned
            for _, starts in self._steps[start:end]:
                begin.update(starts)
            until = self._ends(end)
        if all(until[tp] == begin[tp] for tp in until):
            return {}
        return {tp: (begin[tp], until[tp]) for tp in sorted(until)}

    def _fetch(self, ranges: dict[TopicPartition, tuple[int, int]], cancel=None) -> pa.Table:
        with self._read_lock:
            messages = self._open_reader().fetch(ranges, cancel)
        return to_table(messages, self.value_schema, self.include_headers)

    def close(self) -> None:
        """Close the broker connections (a query that prepared it has stopped); a later call opens them again."""
        with self._lock:
            self._queries = max(0, self._queries - 1)
        self._ahead.close()
        self._prepared = None
        with self._meta_lock:
            meta, self._meta = self._meta, None
        with self._read_lock:
            reader, self._reader = self._reader, None
        for client in (meta, reader):
            if client is not None:
                client.close()

    def _open_reader(self) -> RangeReader:
        if self._reader is None:
            self._reader = RangeReader(_client(), self._config, self.servers, logger=_LOG,
                                       watermarks=self._partition_watermarks, outage_seconds=OUTAGE_SECONDS,
                                       fail_on_data_loss=self.fail_on_data_loss, headers=self.include_headers)
        return self._reader

    # -- the broker ----------------------------------------------------------------------------------------

    def _ends(self, offset: int) -> Offsets:
        """Each partition's end after ``offset`` steps (the starting offsets for 0)."""
        return dict(self._steps[offset - 1][0]) if offset else dict(self._starts or {})

    def _resolve_starts(self, found: dict[TopicPartition, tuple[int, int]] | None = None) -> Offsets:
        """Where offset 0 begins, resolved once (``found``: the partitions' offsets if just asked)."""
        if self._starts is None:
            found = self._watermarks() if found is None else found
            if isinstance(self._starting, dict):
                self._starts = self._specific_starts(found)
            else:
                self._starts = {p: lh[0 if self._starting == "earliest" else 1] for p, lh in found.items()}
        return self._starts

    def _specific_starts(self, found: dict[TopicPartition, tuple[int, int]]) -> Offsets:
        if set(self._starting) != set(found):  # as Spark: every partition, or none
            raise SourceError(
                f"kafka source: starting_offsets names partitions {spark_json(dict.fromkeys(self._starting, 0))} "
                f"and the topics read have partitions {spark_json(dict.fromkeys(found, 0))} (offsets shown as 0); "
                "give every partition (-2 for earliest, -1 for latest)")
        starts = {}
        for (topic, p), offset in self._starting.items():
            low, high = found[topic, p]
            starts[topic, p] = low if offset == EARLIEST else high if offset == LATEST else offset
            if not low <= starts[topic, p] <= high:
                raise SourceError(f"kafka source: starting offset {offset} of topic {topic!r} partition {p} "
                                  f"is outside what the broker holds, offsets {low} to {high}")
        return starts

    def _partition_watermarks(self, tp: TopicPartition) -> tuple[int, int] | None:
        return (self._watermarks() or {}).get(tp)

    def _watermarks(self) -> dict[TopicPartition, tuple[int, int]] | None:
        """Each partition's (earliest, end) offset; a topic that does not exist yet has none. None while a
        broker reached before is away (not for longer than OUTAGE_SECONDS: then, or at first contact, an
        error naming its address)."""
        kafka = _client()
        with self._meta_lock:
            if self._meta is None:
                self._meta = kafka.Consumer(self._config, logger=_LOG)
            try:
                # one topic: its metadata alone; several or a pattern: every topic's, to see new ones
                one = self.topics[0] if len(self.topics) == 1 else None
                topics = self._meta.list_topics(one, timeout=CONNECT_SECONDS).topics
                partitions = [(name, p) for name in sorted(topics) if self.subscribed(name)
                              and topics[name].error is None for p in sorted(topics[name].partitions)]
                found = self._offsets(kafka, partitions)
            except kafka.KafkaException as err:
                return self._away(err)
        self._reached, self._away_since = True, None
        return found

    def _offsets(self, kafka, partitions: list[TopicPartition]) -> dict[TopicPartition, tuple[int, int]]:
        """Each partition's (earliest, end) offset: one ListOffsets request for all the partitions' earliest and
        one for their ends (the watermark query asks two per partition, one partition after the other: a round
        trip each, in every batch's latest_offset)."""
        if not partitions:
            return {}
        asked = {}
        for spec in (EARLIEST, LATEST):  # Kafka's -2 and -1 timestamps, as librdkafka's watermark query sends
            for tp in self._meta.offsets_for_times([kafka.TopicPartition(t, p, spec) for t, p in partitions],
                                                   timeout=CONNECT_SECONDS):
                if tp.error is not None:
                    raise kafka.KafkaException(tp.error)
                asked.setdefault((tp.topic, tp.partition), []).append(tp.offset)
        return {tp: tuple(asked[tp]) for tp in partitions}

    def _away(self, err) -> None:
        now = time.monotonic()
        if self._reached and self._away_since is None:
            self._away_since = now
            warnings.warn(f"kafka source: the broker at {self.servers} does not answer ({err.args[0].str()}); "
                          f"the query waits for it up to {OUTAGE_SECONDS} s", stacklevel=2)
        if self._reached and now - self._away_since < OUTAGE_SECONDS:
            return None  # noqa: RET501 - None: away for now, as _watermarks says
        waited = CONNECT_SECONDS if not self._reached else now - self._away_since
        raise SourceError(f"kafka source: cannot reach the Kafka broker at {self.servers} (waited {waited:.0f} s): "
                          f"{err.args[0].str()}. Is it running, and is that its host:port?") from None

    def __repr__(self) -> str:
        return f"{self.description} ({self.servers}, {len(self._steps)} steps planned)"


def kafka(servers: str, topic: str | list[str] | None = None, *, pattern: str | None = None,
          starting_offsets: str | Mapping = "earliest", schema=None, max_offsets_per_trigger: int | None = None,
          fail_on_data_loss: bool = True, include_headers: bool = False,
          options: Mapping | None = None) -> KafkaSource:
    """Kafka topics as a stream, with Spark's Kafka columns: ``key``, ``value`` (binary), ``topic``,
    ``partition``, ``offset``, ``timestamp``, ``timestampType``.

    Replayable: the checkpoint keeps each batch's offsets per topic and partition, so a query started again on
    it reads exactly the same messages (exactly once end to end with the files and duckdb sinks). Nothing is
    committed to a consumer group. Partitions (and, with several topics or a pattern, topics) that appear while
    the query runs are read from their earliest offset. Offsets the query has not read that are gone from the
    broker (retention, a deleted topic) stop the query with an error saying so, as Spark's
    ``failOnDataLoss=true``; with ``fail_on_data_loss=False`` each is a warning and the query reads on.

    Args:
        servers: the brokers, ``"host:port[,host:port]"`` (Spark's ``kafka.bootstrap.servers``).
        topic: the topic to read, or several: ``"a,b"`` or ``["a", "b"]`` (Spark's ``subscribe``).
        pattern: instead of ``topic``, a regular expression: every topic whose whole name matches it is read,
            those created later too (Spark's ``subscribePattern``; internal ``__`` topics never).
        starting_offsets: where a new query begins: ``"earliest"``, ``"latest"``, or Spark's JSON
            ``'{"topic": {"0": 23, "1": -2}}'`` naming every partition of every topic (-2 earliest, -1 latest).
        schema: the JSON value's columns (a Spark DDL string or ``{"col": "type"}``): each value is parsed into
            them, beside the Kafka columns. A value that is not such a JSON object stops the query with an error
            naming its topic, partition and offset (its offsets stay uncommitted, so nothing is lost).
        max_offsets_per_trigger: at most this many messages in one batch, shared among the partitions.
        fail_on_data_loss: Spark's ``failOnDataLoss``. False: offsets gone before they were read are skipped
            with a warning (from a partition's earliest offset after retention, from its new end when its end
            went back, as Spark), instead of stopping the query.
        include_headers: Spark's ``includeHeaders``: a ``headers`` column after ``timestampType``, each
            message's headers in order as ``array<struct<key: string, value: binary>>`` (NULL for a message
            without any). Read through confluent-kafka's Consumer, which hands them over (slower than the bulk
            reader the source uses otherwise).
        options: librdkafka settings for the consumer (``"kafka."`` in front, as Spark writes them, is dropped).
    """
    return KafkaSource(servers, topic, pattern=pattern, starting_offsets=starting_offsets, schema=schema,
                       max_offsets_per_trigger=max_offsets_per_trigger, fail_on_data_loss=fail_on_data_loss,
                       include_headers=include_headers, options=options)
