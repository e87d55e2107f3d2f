"""Reading offset ranges of a topic's partitions with one consumer: assign and seek, as Spark's Kafka source.

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
from stream_nb.sources.kafka_offsets import data_lost

POLL_SECONDS = 0.2
MOST_MESSAGES = 100_000  # messages asked of the consumer at a time

Ranges = dict[int, tuple[int, int]]  # partition -> (first offset, end offset exclusive)


@dataclass
class Run:
    """Consecutive messages of one partition, with their offsets (increasing)."""

    messages: list
    offsets: np.ndarray

    def slice(self, start: int, stop: int) -> Run:
        return Run(self.messages[start:stop], self.offsets[start:stop])


@dataclass
class Fetched:
    """What ``fetch`` read, in partition then offset order: the messages, and their partitions and offsets."""

    messages: list
    partitions: np.ndarray
    offsets: np.ndarray


def _runs(messages: list) -> list[tuple[int, Run]]:
    """The consumer hands over a fetch's messages partition by partition: cut them where the partition changes
    (in bulk: per-message Python is what reading costs here)."""
    if not messages:
        return []
    message = type(messages[0])
    partitions = np.fromiter(map(message.partition, messages), np.int32, len(messages))
    offsets = np.fromiter(map(message.offset, messages), np.int64, len(messages))
    cuts = [0, *(np.flatnonzero(np.diff(partitions)) + 1).tolist(), len(messages)]
    return [(int(partitions[a]), Run(messages[a:b], offsets[a:b])) for a, b in pairwise(cuts)]


class RangeReader:
    """``fetch(ranges)``: the messages of ``[first, end)`` of each partition, partition then offset order."""

    def __init__(self, kafka, config: dict, topic: str, servers: str, *, logger,
                 end_offset: Callable[[int], int | None], outage_seconds: float):
        self._kafka, self._config, self.topic, self.servers = kafka, config, topic, servers
        self._logger, self._end_offset, self._outage = logger, end_offset, outage_seconds
        self._consumer = None
        self._assigned: set[int] = set()
        self._ahead: dict[int, list[Run]] = {}  # messages handed over past the last range's end, per partition
        self._next: dict[int, int] = {}     # where each partition's next range must start to use them

    def fetch(self, ranges: Ranges) -> Fetched:
        try:
            return self._fetch(ranges)
        except BaseException:
            self._assigned = set()  # a half-read range: seek again next time
            raise

    def prefetch(self, starts: dict[int, int]) -> None:
        """Connect and assign each partition at ``starts`` now, where the next range is expected to begin: the
        client fetches in the background (a new consumer takes a second or so to its first message) while the
        query plans, and ``fetch`` finds the messages there."""
        if self._consumer is None:
            self._consumer = self._kafka.Consumer(self._config, logger=self._logger)
        if starts:
            self._consumer.assign([self._kafka.TopicPartition(self.topic, p, o) for p, o in starts.items()])
        self._assigned, self._ahead, self._next = set(starts), {}, dict(starts)

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._assigned, self._ahead, self._next = set(), {}, {}
        if consumer is not None:
            consumer.close()

    def _fetch(self, ranges: Ranges) -> Fetched:
        kafka = self._kafka
        if self._consumer is None:
            self._consumer = kafka.Consumer(self._config, logger=self._logger)
        consumer = self._consumer
        if set(ranges) != self._assigned or any(self._next.get(p) != first for p, (first, _) in ranges.items()):
            consumer.assign([kafka.TopicPartition(self.topic, p, first) for p, (first, _) in ranges.items()])
            self._assigned, self._ahead = set(ranges), {}
        got: dict[int, list[Run]] = {p: [] for p in ranges}
        at = {p: first for p, (first, _) in ranges.items()}
        ahead = self._ahead
        self._ahead = self._take([(p, run) for p, runs in ahead.items() for run in runs], ranges, got, at)
        progressed = time.monotonic()
        while pending := [p for p in ranges if at[p] < ranges[p][1]]:
            left = sum(ranges[p][1] - at[p] for p in pending)
            messages = consumer.consume(min(left, MOST_MESSAGES), timeout=POLL_SECONDS)
            errors = list(map(kafka.Message.error, messages))
            if any(map(operator.is_not, errors, repeat(None))):  # (a KafkaError refuses == None)
                for message, error in zip(messages, errors, strict=True):
                    if error is not None:
                        self._error(message, ranges, at)
                messages = [m for m, error in zip(messages, errors, strict=True) if error is None]
            for p, past in self._take(_runs(messages), ranges, got, at).items():
                self._ahead.setdefault(p, []).extend(past)
            if messages:
                progressed = time.monotonic()
            elif pending:  # offsets with no message (compaction, transaction markers): the position tells
                for position in consumer.position([kafka.TopicPartition(self.topic, p) for p in pending]):
                    if position.offset >= 0:
                        at[position.partition] = max(at[position.partition], position.offset)
            if time.monotonic() - progressed > self._outage:
                waiting = {p: f"{at[p]} of {ranges[p][1]}" for p in pending}
                raise SourceError(f"kafka source: topic {self.topic!r}: no message from the broker at "
                                  f"{self.servers} for {self._outage:.0f} s while reading partitions (at offset "
                                  f"of end) {waiting}")
        self._next = {p: end for p, (_, end) in ranges.items()}
        runs = [run for p in sorted(got) for run in got[p] if run.messages]
        return Fetched([m for run in runs for m in run.messages],
                       np.concatenate([np.full(len(run.messages), p, np.int32) for p in sorted(got)
                                       for run in got[p] if run.messages] or [np.empty(0, np.int32)]),
                       np.concatenate([run.offsets for run in runs] or [np.empty(0, np.int64)]))

    @staticmethod
    def _take(runs: list[tuple[int, Run]], ranges: Ranges, got: dict[int, list[Run]],
              at: dict[int, int]) -> dict[int, list[Run]]:
        """Runs of one partition's messages (in offset order) into ``got`` up to each range's end; returns
        what is past the end, per partition."""
        past = {}
        for p, run in runs:
            if p not in ranges or not run.messages:
                continue
            end = ranges[p][1]
            start, stop = np.searchsorted(run.offsets, [at[p], end])
            if stop > start:
                got[p].append(run.slice(start, stop))
                at[p] = min(int(run.offsets[stop - 1]) + 1, end)
            if stop < len(run.messages):
                at[p] = end
                past.setdefault(p, []).append(run.slice(stop, len(run.messages)))
        return past

    def _error(self, message, ranges: Ranges, at: dict[int, int]) -> None:
        kafka = self._kafka
        err, p = message.error(), message.partition()
        if err.code() == kafka.KafkaError._PARTITION_EOF:
            if p in ranges and message.offset() < ranges[p][1]:  # ends before the planned end: ask again
                end = self._end_offset(p)
                if end is not None and end < ranges[p][1]:
                    raise data_lost(self.topic, p, f"it ends at offset {end}, before offset {ranges[p][1]} "
                                                   "that the batch was planned to read up to")
        elif err.code() == kafka.KafkaError._AUTO_OFFSET_RESET:
            raise data_lost(self.topic, p, f"offset {at.get(p)} is not on the broker any more ({err.str()})")
        elif err.fatal():
            raise SourceError(f"kafka source: topic {self.topic!r} partition {p}: the broker at {self.servers} "
                              f"says: {err.str()}")
        else:
            self._logger.info("kafka source: %s (retrying)", err.str())  # a broker restarting: it reconnects
