"""Spark's ``QuantileSummaries`` (catalyst ``util/QuantileSummaries.scala``): the Greenwald-Khanna summary that
``df.approxQuantile`` builds, so that an answer within ``relativeError`` is the very value Spark answers.

A summary is a sorted list of samples ``(value, g, delta)``: ``g`` the least rank jump from the sample before,
``delta`` how far the rank may be off. Values wait in a head buffer, then go in sorted, 50,000 at a time; a
summary of 10,000 samples or more is compressed (neighbours merged while ``g + g' + delta' < 2 e n``). A query
walks the samples to the first whose rank range holds ``ceil(p n)`` within the summary's error. With a
relativeError of 0 nothing merges and the answer is the exact rank's value.

>>> summary = Summary(0.25)
>>> for x in [5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 7.0, 8.0]:
...     summary = summary.insert(x)
>>> summary.compress().query([0.0, 0.5, 0.9])
[1.0, 3.0, 8.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

COMPRESS_THRESHOLD = 10_000  # QuantileSummaries.defaultCompressThreshold
HEAD_SIZE = 50_000  # QuantileSummaries.defaultHeadSize


@dataclass(frozen=True)
class Stats:
    value: float
    g: int
    delta: int


class Summary:
    def __init__(self, relative_error: float, sampled: tuple[Stats, ...] = (), count: int = 0):
        self.relative_error = relative_error
        self.sampled = sampled
        self.count = count  # of the values in ``sampled`` (not those in the head buffer)
        self._head: list[float] = []

    def insert(self, x: float) -> Summary:
        self._head.append(x)
        if len(self._head) < HEAD_SIZE:
            return self
        inserted = self._head_inserted()
        return inserted.compress() if len(inserted.sampled) >= COMPRESS_THRESHOLD else inserted

    def _head_inserted(self) -> Summary:
        """The head buffer's values among the samples, sorted; a new one's delta ``floor(2 e n)`` unless it is the
        smallest or the largest yet."""
        if not self._head:
            return self
        count, samples, i, old = self.count, [], 0, self.sampled
        head = sorted(self._head)
        for j, x in enumerate(head):
            while i < len(old) and old[i].value <= x:
                samples.append(old[i])
                i += 1
            count += 1
            last = i == len(old) and j == len(head) - 1
            delta = 0 if not samples or last else math.floor(2 * self.relative_error * count)
            samples.append(Stats(x, 1, delta))
        samples += old[i:]
        return Summary(self.relative_error, tuple(samples), count)

    def compress(self) -> Summary:
        inserted = self._head_inserted()
        return Summary(self.relative_error, _compressed(inserted.sampled, 2 * self.relative_error * inserted.count),
                       inserted.count)

    def merge(self, other: Summary) -> Summary:
        """Two compressed summaries as one: a sample of one side between the other's gets that side's error."""
        if other.count == 0:
            return Summary(self.relative_error, self.sampled, self.count)
        if self.count == 0:
            return Summary(other.relative_error, other.sampled, other.count)
        extra_self = math.floor(2 * other.relative_error * other.count)
        extra_other = math.floor(2 * self.relative_error * self.count)
        merged, i, j, mine, theirs = [], 0, 0, self.sampled, other.sampled
        while i < len(mine) and j < len(theirs):
            if mine[i].value < theirs[j].value:
                s, extra, i = mine[i], extra_self if j > 0 else 0, i + 1
            else:
                s, extra, j = theirs[j], extra_other if i > 0 else 0, j + 1
            merged.append(Stats(s.value, s.g, s.delta + extra))
        merged += mine[i:] + theirs[j:]
        error, count = max(self.relative_error, other.relative_error), self.count + other.count
        return Summary(error, _compressed(tuple(merged), 2 * error * count), count)

    def query(self, probabilities: list[float]) -> list[float] | None:
        """Each probability's value (of a compressed summary); None when it has no value."""
        samples = self.sampled
        if not samples:
            return None
        target = max(s.delta + s.g for s in samples) // 2
        index, min_rank = 0, samples[0].g
        answers = [0.0] * len(probabilities)
        for p, position in sorted((p, i) for i, p in enumerate(probabilities)):
            if p <= self.relative_error:
                answers[position] = samples[0].value
            elif p >= 1 - self.relative_error:
                answers[position] = samples[-1].value
            else:
                index, min_rank, answers[position] = self._find(index, min_rank, target, p)
        return answers

    def _find(self, index: int, min_rank: int, target: float, p: float) -> tuple[int, int, float]:
        samples, rank = self.sampled, math.ceil(p * self.count)
        current = samples[index]
        while index < len(samples) - 1:
            if min_rank + current.delta - target <= rank <= min_rank + target:
                return index, min_rank, current.value
            index += 1
            current = samples[index]
            min_rank += current.g
        return len(samples) - 1, 0, samples[-1].value


def _compressed(samples: tuple[Stats, ...], threshold: float) -> tuple[Stats, ...]:
    """GK's COMPRESS, from the largest sample down: a sample merges into the one after it while their ``g``s and
    its ``delta`` stay under ``threshold``; the smallest and the largest samples stay."""
    if not samples:
        return ()
    kept: list[Stats] = []
    head = samples[-1]
    for sample in samples[-2:0:-1]:
        if sample.g + head.g + head.delta < threshold:
            head = Stats(head.value, head.g + sample.g, head.delta)
        else:
            kept.append(head)
            head = sample
    kept.append(head)
    if samples[0].value <= head.value and len(samples) > 1:
        kept.append(samples[0])
    return tuple(reversed(kept))


def approx_quantiles(values: list[float], probabilities: list[float], relative_error: float) -> list[float]:
    """Spark's ``approxQuantile`` of one column's values (no NULL or NaN among them), in the order they come, as
    one partition gives them (local[1]): inserted into a summary, which Spark's tree aggregation then merges
    with its empty start twice (each merge compresses); no value, no answer."""
    summary = Summary(relative_error)
    for x in values:
        summary = summary.insert(x)
    for _ in range(2):  # the partition's fold, then the driver's, each from an empty summary
        summary = Summary(relative_error).compress().merge(summary.compress())
    return summary.query(list(probabilities)) or []
