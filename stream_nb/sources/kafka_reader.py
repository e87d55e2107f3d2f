"""Reading offset ranges of topics' partitions with one consumer: assign and seek, as Spark's Kafka source.

Batches read consecutive ranges, so the consumer is not sent back (a seek drops what it has fetched ahead):
the messages it hands over past a range's end are kept for the next range, which starts there. Only a range
that starts elsewhere (a replay, a new partition, after an error) seeks.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise, repeat

import numpy as np

from stream_nb.sources.errors import SourceError
from stream_nb.sources.kafka_offsets import TopicPartition, report_data_loss

POLL_SECONDS = 0.2
MOST_MESSAGES = 100_000  # messages asked of the consumer at a time

Ranges = dict[TopicPartition, tuple[int, int]]  # (topic, partition) -> (first offset, end offset exclusive)


@dataclass
class Run:
    """Consecutive messages of one partition, with their offsets (increasing)."""

    messages: list
    offsets: np.ndarray

    def slice(self, start: int, stop: int) -> Run:
        return Run(self.messages[start:stop], self.offsets[start:stop])


@dataclass
class Fetched:
    """What ``fetch`` read, in topic, partition then offset order: the messages, their partitions and offsets,
    and their topics as (topic, how many messages in a row) runs."""

    messages: list
    partitions: np.ndarray
    offsets: np.ndarray
    topics: list[tuple[str, int]]


def _runs(messages: list, several_topics: bool) -> list[tuple[TopicPartition, Run]]:
    """The consumer hands over a fetch's messages partition by partition: cut them where the partition (or the
    topic) changes (in bulk: per-message Python is what reading costs here)."""
    if not messages:
        return []
    message, n = type(messages[0]), len(messages)
    partitions = np.fromiter(map(message.partition, messages), np.int32, n)
    offsets = np.fromiter(map(message.offset, messages), np.int64, n)
    keys = partitions.astype(np.int64)
    if several_topics:
        codes: dict[str, int] = {}
        topic_codes = np.fromiter((codes.setdefault(t, len(codes)) for t in map(message.topic, messages)),
                                  np.int64, n)
        keys |= topic_codes << 32
    cuts = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), n]
    return [((messages[a].topic(), int(partitions[a])), Run(messages[a:b], offsets[a:b])) for a, b in pairwise(cuts)]


class RangeReader:
    """``fetch(ranges)``: the messages of ``[first, end)`` of each (topic, partition), in that order."""

    def __init__(self, kafka, config: dict, servers: str, *, logger,
                 watermarks: Callable[[TopicPartition], tuple[int, int] | None], outage_seconds: float,
                 fail_on_data_loss: bool = True):
        self._kafka, self._config, self.servers = kafka, config, servers
        self._logger, self._watermarks, self._outage = logger, watermarks, outage_seconds
        self._fail = fail_on_data_loss
        self._consumer = None
        self._assigned: set[TopicPartition] = set()
        self._ahead: dict[TopicPartition, list[Run]] = {}  # messages handed over past the last range's end
        self._next: dict[TopicPartition, int] = {}   # where each partition's next range must start to use them

    def fetch(self, ranges: Ranges) -> Fetched:
        try:
            return self._fetch({tp: (min(first, end), end) for tp, (first, end) in ranges.items()})
        except BaseException:
            self._assigned = set()  # a half-read range: seek again next time
            raise

    def prefetch(self, starts: dict[TopicPartition, int]) -> None:
        """Connect and assign each partition at ``starts`` now, where the next range is expected to begin: the
        client fetches in the background (a new consumer takes a second or so to its first message) while the
        query plans, and ``fetch`` finds the messages there."""
        if self._consumer is None:
            self._consumer = self._kafka.Consumer(self._config, logger=self._logger)
        if starts:
            self._consumer.assign([self._kafka.TopicPartition(t, p, o) for (t, p), o in starts.items()])
        self._assigned, self._ahead, self._next = set(starts), {}, dict(starts)

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._assigned, self._ahead, self._next = set(), {}, {}
        if consumer is not None:
            consumer.close()

    def _assign(self, starts: dict[TopicPartition, int]) -> None:
        self._consumer.assign([self._kafka.TopicPartition(t, p, o) for (t, p), o in starts.items()])
        self._assigned, self._ahead = set(starts), {}

    def _fetch(self, ranges: Ranges) -> Fetched:
        kafka = self._kafka
        if self._consumer is None:
            self._consumer = kafka.Consumer(self._config, logger=self._logger)
        consumer = self._consumer
        if set(ranges) != self._assigned or any(self._next.get(tp) != first for tp, (first, _) in ranges.items()):
            self._assign({tp: first for tp, (first, _) in ranges.items()})
        several_topics = len({t for t, _ in ranges}) > 1
        got: dict[TopicPartition, list[Run]] = {tp: [] for tp in ranges}
        at = {tp: first for tp, (first, _) in ranges.items()}
        ahead = self._ahead
        self._ahead = self._take([(tp, run) for tp, runs in ahead.items() for run in runs], ranges, got, at)
        progressed = time.monotonic()
        while pending := [tp for tp in ranges if at[tp] < ranges[tp][1]]:
            left = sum(ranges[tp][1] - at[tp] for tp in pending)
            messages = consumer.consume(min(left, MOST_MESSAGES), timeout=POLL_SECONDS)
            errors = list(map(kafka.Message.error, messages))
            if any(map(operator.is_not, errors, repeat(None))):  # (a KafkaError refuses == None)
                seek = {}
                for message, error in zip(messages, errors, strict=True):
                    if error is not None:
                        seek.update(self._error(message, ranges, at))
                messages = [m for m, error in zip(messages, errors, strict=True) if error is None]
                if seek:  # offsets gone, skipped (fail_on_data_loss=False): read on from what is there
                    at.update(seek)
                    self._assign({tp: at[tp] for tp in ranges})
                    messages = []
            for tp, past in self._take(_runs(messages, several_topics), ranges, got, at).items():
                self._ahead.setdefault(tp, []).extend(past)
            if messages:
                progressed = time.monotonic()
            elif pending:  # offsets with no message (compaction, transaction markers): the position tells
                for position in consumer.position([kafka.TopicPartition(t, p) for t, p in pending]):
                    tp = (position.topic, position.partition)
                    if position.offset >= 0 and tp in at:
                        at[tp] = max(at[tp], position.offset)
            if time.monotonic() - progressed > self._outage:
                waiting = {f"{t}[{p}]": f"{at[t, p]} of {ranges[t, p][1]}" for t, p in pending}
                raise SourceError(f"kafka source: no message from the broker at {self.servers} for "
                                  f"{self._outage:.0f} s while reading partitions (at offset of end) {waiting}")
        self._next = {tp: end for tp, (_, end) in ranges.items()}
        order = [tp for tp in sorted(got) if any(run.messages for run in got[tp])]
        runs = [run for tp in order for run in got[tp] if run.messages]
        counts = [sum(len(run.messages) for run in got[tp]) for tp in order]
        topics: list[tuple[str, int]] = []
        for (t, _), count in zip(order, counts, strict=True):
            if topics and topics[-1][0] == t:
                topics[-1] = (t, topics[-1][1] + count)
            else:
                topics.append((t, count))
        return Fetched([m for run in runs for m in run.messages],
                       np.concatenate([np.full(len(run.messages), tp[1], np.int32) for tp in order
                                       for run in got[tp] if run.messages] or [np.empty(0, np.int32)]),
                       np.concatenate([run.offsets for run in runs] or [np.empty(0, np.int64)]), topics)

    @staticmethod
    def _take(runs: list[tuple[TopicPartition, Run]], ranges: Ranges, got: dict[TopicPartition, list[Run]],
              at: dict[TopicPartition, int]) -> dict[TopicPartition, list[Run]]:
        """Runs of one partition's messages (in offset order) into ``got`` up to each range's end; returns
        what is past the end, per partition."""
        past = {}
        for tp, run in runs:
            if tp not in ranges or not run.messages:
                continue
            end = ranges[tp][1]
            start, stop = np.searchsorted(run.offsets, [at[tp], end])
            if stop > start:
                got[tp].append(run.slice(start, stop))
                at[tp] = min(int(run.offsets[stop - 1]) + 1, end)
            if stop < len(run.messages):
                at[tp] = end
                past.setdefault(tp, []).append(run.slice(stop, len(run.messages)))
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
