"""What the Kafka source's int offsets stand for: per-partition Kafka offsets, as Spark writes them.

The engine's offsets are ints that only grow (``_protocol.py``); Kafka's are one counter per partition. Offset
``n`` of the source is a *step*: ``steps[n]`` holds each partition's end offset (exclusive) after it, so a batch
over ``[start, end)`` reads, in every partition, from where step ``start - 1`` ended (or the starting offsets)
up to where step ``end - 1`` ends. The steps are kept in the checkpoint (the ``checkpoint_log`` capability, as
the files source keeps its files), which makes ``read`` deterministic and a restart replay exactly.

A step is JSON in Spark's per-topic form, readable with ``cat``: ``{"end": {"events": {"0": 23, "1": 5}}}``,
and ``"start": {"events": {"2": 0}}`` for a partition whose range does not begin where the previous step ended:
one first seen in that step (read from its earliest offset at the time it was found, as Spark reads new
partitions), or, with ``fail_on_data_loss=False``, one whose unread offsets were gone (read from what is left).
That offset is kept so that a replay reads the same rows.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping

from stream_nb.sources.errors import SourceError

EARLIEST, LATEST = -2, -1  # Spark's markers in a starting_offsets JSON

TopicPartition = tuple[str, int]        # (topic, partition)
Offsets = dict[TopicPartition, int]     # (topic, partition) -> Kafka offset


def parse_starting_offsets(spec: str | Mapping, subscribed: Callable[[str], bool],
                           example: str) -> str | Offsets:
    """``"earliest"``, ``"latest"``, or Spark's JSON (``{"topic": {"0": 23, "1": -2}}``, -2 earliest, -1
    latest) as ``{(topic, partition): offset}``; every topic named must be one the source reads
    (``subscribed``); ``example`` is a topic to show in the message.

    >>> parse_starting_offsets('{"events": {"0": 23, "1": -2}}', "events".__eq__, "events")
    {('events', 0): 23, ('events', 1): -2}
    >>> parse_starting_offsets("latest", "events".__eq__, "events")
    'latest'
    """
    if isinstance(spec, str) and spec in ("earliest", "latest"):
        return spec
    where = f"kafka source: starting_offsets {spec!r}"
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError as err:
            raise ValueError(f"{where} is neither 'earliest', 'latest' nor JSON like "
                             f"'{{\"{example}\": {{\"0\": 23, \"1\": -2}}}}' ({err})") from None
    if not isinstance(spec, Mapping) or not spec or not all(
            isinstance(name, str) and subscribed(name) and isinstance(by_partition, Mapping)
            for name, by_partition in spec.items()):
        raise ValueError(f"{where}: give the offsets of the topics this source reads, as {{\"{example}\": "
                         "{\"0\": 23, \"1\": -2}} (a topic, then a partition's number and its offset; -2 "
                         "earliest, -1 latest)")
    offsets = {}
    for name, by_partition in spec.items():
        for partition, offset in by_partition.items():
            if not str(partition).isdigit() or isinstance(offset, bool) or not isinstance(offset, int) \
                    or offset < EARLIEST:
                raise ValueError(f"{where}: partition {partition!r} -> {offset!r}; a partition is a number and "
                                 "an offset an int >= 0, or -2 for earliest, -1 for latest")
            offsets[name, int(partition)] = offset
    return offsets


def spark_json(offsets: Offsets) -> dict[str, dict[str, int]]:
    """Offsets in Spark's Kafka form: topic, then partition, in order.

    >>> spark_json({("events", 1): 5, ("events", 0): 23, ("alerts", 0): 2})
    {'alerts': {'0': 2}, 'events': {'0': 23, '1': 5}}
    """
    out: dict[str, dict[str, int]] = {}
    for topic, partition in sorted(offsets):
        out.setdefault(topic, {})[str(partition)] = offsets[topic, partition]
    return out


def from_spark_json(mapping: Mapping) -> Offsets:
    """The inverse of ``spark_json``; a ValueError if it is not that form."""
    if not isinstance(mapping, Mapping) or not all(isinstance(v, Mapping) for v in mapping.values()):
        raise ValueError(f"not offsets in Spark's form ({{\"topic\": {{\"0\": 23}}}}): {mapping!r}")
    return {(topic, p): o for topic, by_partition in mapping.items() for p, o in _offsets(by_partition).items()}


def step_json(end: Offsets, starts: Offsets) -> dict:
    """One step as the checkpoint keeps it."""
    step = {"end": spark_json(end)}
    if starts:
        step["start"] = spark_json(starts)
    return step


def step_from_json(step, topic: str | None) -> tuple[Offsets, Offsets]:
    """``(end, starts)`` of a step the checkpoint kept; a step written before sources read several topics
    (``{"end": {"0": 23}}``) is of ``topic``. A TypeError or ValueError if it is not one."""
    if not isinstance(step, Mapping) or not isinstance(step.get("end"), Mapping):
        raise TypeError(f"not a Kafka source step ({{\"end\": {{\"topic\": {{\"0\": 23}}}}}}): {step!r}")

    def read(mapping: Mapping) -> Offsets:
        if topic is not None and mapping and not any(isinstance(v, Mapping) for v in mapping.values()):
            return {(topic, p): o for p, o in _offsets(mapping).items()}
        return from_spark_json(mapping)

    return read(step["end"]), read(step.get("start", {}))


def _offsets(mapping: Mapping) -> dict[int, int]:
    offsets = {int(p): o for p, o in mapping.items()}
    if any(isinstance(o, bool) or not isinstance(o, int) or o < 0 for o in offsets.values()):
        raise ValueError(f"offsets are ints >= 0: {dict(mapping)!r}")
    return offsets


def split_backlog(begin: Offsets, end: Offsets, cap: int | None) -> list[Offsets]:
    """The ends of steps that go from ``begin`` to ``end`` taking at most ``cap`` offsets each (one step
    without a cap). As Spark's ``maxOffsetsPerTrigger``, each step shares its cap among the partitions in
    proportion to what each has left to read, and none is starved (``shares``).

    >>> split_backlog({("t", 0): 0, ("t", 1): 0}, {("t", 0): 6, ("t", 1): 2}, 4)
    [{('t', 0): 3, ('t', 1): 1}, {('t', 0): 6, ('t', 1): 2}]
    >>> split_backlog({("t", 0): 0}, {("t", 0): 5}, None)
    [{('t', 0): 5}]
    """
    if cap is None:
        return [dict(end)]
    steps, at = [], dict(begin)
    while True:
        left = {p: end[p] - at[p] for p in end if end[p] > at[p]}
        total = sum(left.values())
        if total == 0:
            return steps
        if total <= cap:
            at = dict(end)
        else:
            share = shares(left, cap)
            at = {p: at[p] + share.get(p, 0) for p in end}
        steps.append(dict(at))


def shares(left: Mapping, cap: int) -> dict:
    """``cap`` offsets (fewer than the ``left`` to read in all) shared among the partitions: one each first, the
    biggest backlogs first while the cap lasts, so that a small partition is not left behind the big ones for many
    batches (Spark rounds a share under one up, for that, and then takes more than the cap); then the rest in
    proportion to what each still has, rounded down, and what rounding left over to the biggest backlogs.

    >>> shares({"a": 10, "b": 1, "c": 1}, 3)
    {'a': 1, 'b': 1, 'c': 1}
    >>> shares({"a": 10, "b": 20, "c": 30}, 7)
    {'a': 1, 'b': 2, 'c': 4}
    """
    order = sorted(left, key=lambda p: (-left[p], p))
    share = {p: int(k < cap) for k, p in enumerate(order)}
    rest = cap - sum(share.values())
    after = {p: left[p] - share[p] for p in left}
    total = sum(after.values())
    if rest and total:
        for p in left:
            share[p] += rest * after[p] // total
        for p in order:  # what rounding down left over
            if sum(share.values()) >= cap:
                break
            share[p] += share[p] < left[p]
    return {p: share[p] for p in left}


def data_lost(topic: str, partition: int, what: str) -> SourceError:
    """Spark's failOnDataLoss error: offsets the query has not read yet are gone from the broker."""
    return SourceError(
        f"kafka source: topic {topic!r} partition {partition}: {what}. Some data may have been lost because it is "
        "not available in Kafka any more: either the data was aged out by Kafka (retention) or the topic may have "
        "been deleted before all the data in the topic was processed. The query stops rather than skip it (as "
        "Spark with failOnDataLoss=true); to go on from what is there, give the source fail_on_data_loss=False "
        "(each loss is then a warning), or start the query again with a new checkpoint directory")


def report_data_loss(topic: str, partition: int, what: str, fail: bool) -> None:
    """As Spark's ``reportDataLoss``: an error with ``fail`` (failOnDataLoss=true), else a warning and the query
    goes on from what the broker still has."""
    if fail:
        raise data_lost(topic, partition, what)
    warnings.warn(f"kafka source: topic {topic!r} partition {partition}: {what}. Some data may have been lost; "
                  "the query goes on (fail_on_data_loss=False)", stacklevel=3)


def losses(previous: Offsets, found: dict[TopicPartition, tuple[int, int]], fail: bool) -> Offsets:
    """Offsets not read yet (each partition's ``previous`` end) that are gone from the broker (``found``: each
    partition's earliest and end offsets now): an error naming them, or (``fail`` False) a warning and where
    each such partition is read on from: as Spark, its earliest offset after retention, its new end when its
    end went back (the topic made again). A partition gone altogether is left out of ``found``'s and warned of.

    >>> losses({("t", 0): 3, ("t", 1): 7}, {("t", 0): (0, 9), ("t", 1): (7, 8)}, fail=True)
    {}
    >>> with warnings.catch_warnings(record=True):
    ...     losses({("t", 0): 3, ("t", 1): 7}, {("t", 0): (5, 9), ("t", 1): (0, 2)}, fail=False)
    {('t', 0): 5, ('t', 1): 2}
    """
    starts = {}
    for (topic, partition), offset in previous.items():
        low, high = found.get((topic, partition), (None, None))
        if high is None:
            what = "the partition is gone (was the topic deleted?)"
        elif high < offset:
            what, starts[topic, partition] = f"its end offset went back from {offset} to {high}", high
        elif low > offset:
            what = f"offsets {offset} to {low - 1} were deleted before the query read them (its earliest offset " \
                   f"is {low})"
            starts[topic, partition] = low
        else:
            continue
        report_data_loss(topic, partition, what, fail)
    return starts
