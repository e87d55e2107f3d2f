"""What the Kafka source's int offsets stand for: per-partition Kafka offsets, as Spark writes them.

The engine's offsets are ints that only grow (``_protocol.py``); Kafka's are one counter per partition. Offset
``n`` of the source is a *step*: ``steps[n]`` holds each partition's end offset (exclusive) after it, so a batch
over ``[start, end)`` reads, in every partition, from where step ``start - 1`` ended (or the starting offsets)
up to where step ``end - 1`` ends. The steps are kept in the checkpoint (the ``checkpoint_log`` capability, as
the files source keeps its files), which makes ``read`` deterministic and a restart replay exactly.

A step is JSON, readable with ``cat``: ``{"end": {"0": 23, "1": 5}}``, and ``"start": {"2": 0}`` for a
partition first seen in that step (it is read from its earliest offset at the time it was found, as Spark
reads new partitions, and that offset is kept so that a replay reads the same rows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from stream_nb.sources.errors import SourceError

EARLIEST, LATEST = -2, -1  # Spark's markers in a starting_offsets JSON

Offsets = dict[int, int]  # partition -> Kafka offset


def parse_starting_offsets(spec: str | Mapping, topic: str) -> str | dict[int, int]:
    """``"earliest"``, ``"latest"``, or Spark's JSON (``{"topic": {"0": 23, "1": -2}}``, -2 earliest, -1
    latest) as ``{partition: offset}``.

    >>> parse_starting_offsets('{"events": {"0": 23, "1": -2}}', "events")
    {0: 23, 1: -2}
    >>> parse_starting_offsets("latest", "events")
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
                             f"'{{\"{topic}\": {{\"0\": 23, \"1\": -2}}}}' ({err})") from None
    if not isinstance(spec, Mapping) or set(spec) != {topic} or not isinstance(spec[topic], Mapping):
        raise ValueError(f"{where}: give the offsets of topic {topic!r} as {{\"{topic}\": {{\"0\": 23, "
                         "\"1\": -2}} (a partition's number, then its offset; -2 earliest, -1 latest)")
    offsets = {}
    for partition, offset in spec[topic].items():
        if not str(partition).isdigit() or isinstance(offset, bool) or not isinstance(offset, int) \
                or offset < EARLIEST:
            raise ValueError(f"{where}: partition {partition!r} -> {offset!r}; a partition is a number and an "
                             "offset an int >= 0, or -2 for earliest, -1 for latest")
        offsets[int(partition)] = offset
    return offsets


def spark_json(topic: str, offsets: Offsets) -> dict[str, dict[str, int]]:
    """Offsets in Spark's Kafka form, partitions in order.

    >>> spark_json("events", {1: 5, 0: 23})
    {'events': {'0': 23, '1': 5}}
    """
    return {topic: {str(p): offsets[p] for p in sorted(offsets)}}


def step_json(end: Offsets, new_starts: Offsets) -> dict:
    """One step as the checkpoint keeps it."""
    step = {"end": {str(p): end[p] for p in sorted(end)}}
    if new_starts:
        step["start"] = {str(p): new_starts[p] for p in sorted(new_starts)}
    return step


def step_from_json(step) -> tuple[Offsets, Offsets]:
    """``(end, new partitions' starts)`` of a step the checkpoint kept; a ValueError if it is not one."""
    if not isinstance(step, Mapping) or not isinstance(step.get("end"), Mapping):
        raise TypeError(f"not a Kafka source step ({{\"end\": {{\"0\": 23}}}}): {step!r}")
    return _offsets(step["end"]), _offsets(step.get("start", {}))


def _offsets(mapping: Mapping) -> Offsets:
    offsets = {int(p): o for p, o in mapping.items()}
    if any(isinstance(o, bool) or not isinstance(o, int) or o < 0 for o in offsets.values()):
        raise ValueError(f"offsets are ints >= 0: {dict(mapping)!r}")
    return offsets


def split_backlog(begin: Offsets, end: Offsets, cap: int | None) -> list[Offsets]:
    """The ends of steps that go from ``begin`` to ``end`` taking at most ``cap`` offsets each (one step
    without a cap). As Spark's ``maxOffsetsPerTrigger``, each step shares its cap among the partitions in
    proportion to what each has left to read, so none is starved.

    >>> split_backlog({0: 0, 1: 0}, {0: 6, 1: 2}, 4)
    [{0: 3, 1: 1}, {0: 6, 1: 2}]
    >>> split_backlog({0: 0}, {0: 5}, None)
    [{0: 5}]
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
            share = {p: cap * n // total for p, n in left.items()}
            for p in sorted(left, key=lambda p: -left[p]):  # what rounding down left over: biggest backlog first
                if sum(share.values()) >= cap:
                    break
                share[p] += share[p] < left[p]
            at = {p: at[p] + share.get(p, 0) for p in end}
        steps.append(dict(at))


def data_lost(topic: str, partition: int, what: str) -> SourceError:
    """Spark's failOnDataLoss error: offsets the query has not read yet are gone from the broker."""
    return SourceError(
        f"kafka source: topic {topic!r} partition {partition}: {what}. Some data may have been lost because it is "
        "not available in Kafka any more: either the data was aged out by Kafka (retention) or the topic may have "
        "been deleted before all the data in the topic was processed. The query stops rather than skip it (as "
        "Spark with failOnDataLoss=true); to go on from what is there, start the query again with a new checkpoint "
        "directory and starting_offsets")
