"""Reading offset ranges of topics' partitions with one consumer: assign and seek, as Spark's Kafka source.

Batches read consecutive ranges, so the consumer is not sent back (a seek drops what it has fetched ahead):
the messages it hands over past a range's end are kept for the next range, which starts there. Only a range
that starts elsewhere (a replay, a new partition, after an error) seeks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from itertools import pairwise

import numpy as np

from stream_nb.sources.errors import SourceError
from stream_nb.sources.kafka_bulk import open_consumer
from stream_nb.sources.kafka_offsets import TopicPartition, report_data_loss
from stream_nb.sources.kafka_records import Chunk, chunk_from_messages

POLL_SECONDS = 0.2
MOST_MESSAGES = 100_000  # messages asked of the consumer at a time

Ranges = dict[TopicPartition, tuple[int, int]]  # (topic, partition) -> (first offset, end offset exclusive)
Run = tuple[TopicPartition, Chunk]  # consecutive messages of one partition (offsets increasing)


class Cancelled(Exception):
    """A read ahead that nobody waits for any more, stopped."""


class ConfluentConsumer:
    """confluent-kafka's Consumer behind the interface of ``kafka_bulk.BulkConsumer``: where that cannot run."""

    def __init__(self, kafka, config: dict, logger, headers: bool = False):
        self._kafka, self._consumer = kafka, kafka.Consumer(config, logger=logger)
        self._headers = headers

    def assign(self, starts: dict[TopicPartition, int]) -> None:
        self._consumer.assign([self._kafka.TopicPartition(t, p, o) for (t, p), o in starts.items()])

    def consume(self, most: int, timeout: float) -> tuple[Chunk, list]:
        messages = self._consumer.consume(most, timeout=timeout)
        errors = [m for m in messages if m.error() is not None]
        good = [m for m in messages if m.error() is None] if errors else messages
        return chunk_from_messages(good, self._headers), errors

    def position(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        found = self._consumer.position([self._kafka.TopicPartition(t, p) for t, p in partitions])
        return {(tp.topic, tp.partition): tp.offset for tp in found}

    def close(self) -> None:
        self._consumer.close()


def _runs(chunk: Chunk) -> list[Run]:
    """The consumer hands over a fetch's messages partition by partition: cut them where the partition (or the
    topic) changes (in bulk: per-message Python is what reading costs here)."""
    if not len(chunk):
        return []
    keys = chunk.partitions.astype(np.int64) | (chunk.codes.astype(np.int64) << 32)
    cuts = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), len(chunk)]
    return [((chunk.topics[chunk.codes[a]], int(chunk.partitions[a])), chunk.slice(a, b)) for a, b in pairwise(cuts)]


class RangeReader:
    """``fetch(ranges)``: the messages of ``[first, end)`` of each (topic, partition), in that order."""

    def __init__(self, kafka, config: dict, servers: str, *, logger,
                 watermarks: Callable[[TopicPartition], tuple[int, int] | None], outage_seconds: float,
                 fail_on_data_loss: bool = True, headers: bool = False):
        self._kafka, self._config, self.servers = kafka, config, servers
        self._headers = headers  # includeHeaders: read by confluent-kafka's Consumer, which hands them over
        self._logger, self._watermarks, self._outage = logger, watermarks, outage_seconds
        self._fail = fail_on_data_loss
        self._consumer = None
        self._assigned: set[TopicPartition] = set()
        self._ahead: dict[TopicPartition, list[Chunk]] = {}  # messages handed over past the last range's end
        self._next: dict[TopicPartition, int] = {}   # where each partition's next range must start to use them

    def fetch(self, ranges: Ranges, cancel: threading.Event | None = None) -> list[Run]:
        """``cancel``: set by another thread to end a read that nobody waits for any more (raises Cancelled
        within ``POLL_SECONDS``; the next fetch seeks again)."""
        try:
            return self._fetch({tp: (min(first, end), end) for tp, (first, end) in ranges.items()}, cancel)
        except BaseException:
            self._assigned = set()  # a half-read range: seek again next time
            raise

    def prefetch(self, starts: dict[TopicPartition, int]) -> None:
        """Connect and assign each partition at ``starts`` now, where the next range is expected to begin: the
        client fetches in the background (a new consumer takes a second or so to its first message) while the
        query plans, and ``fetch`` finds the messages there. Assigned there already (the query's start asked
        first, its attach again), what the client fetched meanwhile stays."""
        if self._consumer is not None and set(starts) == self._assigned and \
                all(self._next.get(tp) == offset for tp, offset in starts.items()):
            return
        if starts:
            self._open().assign(starts)
        else:
            self._open()
        self._assigned, self._ahead, self._next = set(starts), {}, dict(starts)

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._assigned, self._ahead, self._next = set(), {}, {}
        if consumer is not None:
            consumer.close()

    def _open(self):
        if self._consumer is None:
            bulk = None if self._headers else open_consumer(self._config, self._logger, MOST_MESSAGES)
            self._consumer = bulk or ConfluentConsumer(self._kafka, self._config, self._logger, self._headers)
        return self._consumer

    def _assign(self, starts: dict[TopicPartition, int]) -> None:
        self._consumer.assign(starts)
        self._assigned, self._ahead = set(starts), {}

    def _fetch(self, ranges: Ranges, cancel: threading.Event | None) -> list[Run]:
        consumer = self._open()
        if set(ranges) != self._assigned or any(self._next.get(tp) != first for tp, (first, _) in ranges.items()):
            self._assign({tp: first for tp, (first, _) in ranges.items()})
        got: dict[TopicPartition, list[Chunk]] = {tp: [] for tp in ranges}
        at = {tp: first for tp, (first, _) in ranges.items()}
        ahead = self._ahead
        self._ahead = self._take([(tp, run) for tp, runs in ahead.items() for run in runs], ranges, got, at)
        progressed = time.monotonic()
        while pending := [tp for tp in ranges if at[tp] < ranges[tp][1]]:
            if cancel is not None and cancel.is_set():
                raise Cancelled
            left = sum(ranges[tp][1] - at[tp] for tp in pending)
            chunk, errors = consumer.consume(min(left, MOST_MESSAGES), POLL_SECONDS)
            seek = {}
            for message in errors:
                seek.update(self._error(message, ranges, at))
            if seek:  # offsets gone, skipped (fail_on_data_loss=False): read on from what is there
                at.update(seek)
                self._assign({tp: at[tp] for tp in ranges})
                chunk = Chunk.empty()
            for tp, past in self._take(_runs(chunk), ranges, got, at).items():
                self._ahead.setdefault(tp, []).extend(past)
            if len(chunk):
                progressed = time.monotonic()
            elif pending:  # offsets with no message (compaction, transaction markers): the position tells
                for tp, offset in consumer.position(pending).items():
                    if offset >= 0 and tp in at:
                        at[tp] = max(at[tp], offset)
            if time.monotonic() - progressed > self._outage:
                waiting = {f"{t}[{p}]": f"{at[t, p]} of {ranges[t, p][1]}" for t, p in pending}
                raise SourceError(f"kafka source: no message from the broker at {self.servers} for "
                                  f"{self._outage:.0f} s while reading partitions (at offset of end) {waiting}")
        self._next = {tp: end for tp, (_, end) in ranges.items()}
        return [(tp, run) for tp in sorted(got) for run in got[tp] if len(run)]

    @staticmethod
    def _take(runs: list[Run], ranges: Ranges, got: dict[TopicPartition, list[Chunk]],
              at: dict[TopicPartition, int]) -> dict[TopicPartition, list[Chunk]]:
        """Runs of one partition's messages (in offset order) into ``got`` up to each range's end; returns
        what is past the end, per partition."""
        past = {}
        for tp, run in runs:
            if tp not in ranges or not len(run):
                continue
            end = ranges[tp][1]
            start, stop = np.searchsorted(run.offsets, [at[tp], end])
            if stop > start:
                got[tp].append(run.slice(start, stop))
                at[tp] = min(int(run.offsets[stop - 1]) + 1, end)
            if stop < len(run):
                at[tp] = end
                past.setdefault(tp, []).append(run.slice(stop, len(run)))
        return past

    def _error(self, message, ranges: Ranges, at: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """What an error message means: raised, logged, or (offsets gone, not failing on data loss) where to
        read on from."""
        kafka = self._kafka
        err, tp = message.error(), (message.topic(), message.partition())
        if err.code() == kafka.KafkaError._PARTITION_EOF:
            if tp in ranges and message.offset() < ranges[tp][1]:  # ends before the planned end: ask again
                end = (self._watermarks(tp) or (None, None))[1]
                if end is not None and end < ranges[tp][1]:
                    report_data_loss(*tp, f"it ends at offset {end}, before offset {ranges[tp][1]} that the "
                                          "batch was planned to read up to", self._fail)
                    at[tp] = ranges[tp][1]  # nothing more to read there in this batch
        elif err.code() == kafka.KafkaError._AUTO_OFFSET_RESET and tp in ranges:
            low = (self._watermarks(tp) or (None, None))[0]
            report_data_loss(*tp, f"offset {at.get(tp)} is not on the broker any more ({err.str()}"
                                  f"{'' if low is None else f'; its earliest offset is {low}'})", self._fail)
            if low is not None:
                return {tp: min(max(low, at[tp]), ranges[tp][1])}
        elif err.fatal():
            raise SourceError(f"kafka source: topic {tp[0]!r} partition {tp[1]}: the broker at {self.servers} "
                              f"says: {err.str()}")
        else:
            self._logger.info("kafka source: %s (retrying)", err.str())  # a broker restarting: it reconnects
        return {}
