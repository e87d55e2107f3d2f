"""The differential runner for queries over several streams (joins, unions): same batches to Spark and stream_nb.

A ``StreamsCase`` has several inputs, each with its schema and watermark; one micro-batch holds rows for any
subset of them. stream_nb gets one memory source per input, each fed its rows of a batch before
``process_all_available``. Spark gets ONE JSON-lines directory, one file per batch holding every input's rows
tagged with ``__input``, and each input is a view of that one stream (its rows, its columns, its watermark):
two file sources list their directories one after the other within a trigger, so a batch's second file can
land between the two listings and split the batch in two; one file per batch cannot be split. The watermarks
are separate ``withWatermark`` nodes, each over its own input's rows, as with two sources.

What each side emitted is compared as ``spark_runner`` does for one stream (``compare``), after every batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import stream_nb as sn
from tests.differential.spark_runner import _SPARK_TIMEOUT_S, Emitted, _json_row, _wait_consumed

_INPUT = "__input"


@dataclass(frozen=True)
class Input:
    """One stream of a case: its name in the SQL, its schema (Spark DDL), its watermark ``(column, delay)``."""

    name: str
    schema: str
    watermark: tuple[str, str] | None = None

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(name, type) pairs; a decimal(10,2)'s comma does not split."""
        parts = re.split(r",(?![^()]*\))", self.schema)
        return [tuple(part.strip().split(None, 1)) for part in parts]


@dataclass(frozen=True)
class StreamsCase:
    """A query over several streams and its input as micro-batches: ``batches[k]`` maps an input's name to
    its rows (tuples in its schema's order) in batch k; an input left out has no rows in that batch.

    ``pending`` names the piece stream_nb still lacks for this case (the test expects it to fail, strictly:
    remove the word when the piece lands). ``key`` names the output columns that identify a row in update mode.
    """

    name: str
    sql: str
    output_mode: str
    inputs: tuple[Input, ...]
    batches: tuple[Mapping[str, tuple[tuple, ...]], ...]
    key: tuple[str, ...] = ()
    watermark_policy: str = "min"
    why: str = ""
    pending: str = ""
    reason: str = ""  # for a refusal: a regular expression (any case) stream_nb's message must match

    def __post_init__(self):
        if self.output_mode not in ("append", "update", "complete"):
            raise ValueError(f"{self.name}: unknown output mode {self.output_mode!r}")
        names = {i.name for i in self.inputs}
        for k, batch in enumerate(self.batches):
            for name, rows in batch.items():
                if name not in names:
                    raise ValueError(f"{self.name}: batch {k} feeds {name!r}, not an input ({sorted(names)})")
                width = len(self.input(name).columns)
                for row in rows:
                    if len(row) != width:
                        raise ValueError(f"{self.name}: batch {k} row {row} does not fit {name}'s schema")

    def input(self, name: str) -> Input:
        return next(i for i in self.inputs if i.name == name)

    @property
    def watermark(self) -> dict[str, tuple[str, str]]:
        """Each input's watermark (for reports)."""
        return {i.name: i.watermark for i in self.inputs if i.watermark is not None}

    def rows(self, batch: Mapping[str, tuple[tuple, ...]], name: str) -> list[dict[str, Any]]:
        names = [c for c, _ in self.input(name).columns]
        return [dict(zip(names, row, strict=True)) for row in batch.get(name, ())]


def feed(**rows: tuple[tuple, ...]) -> dict[str, tuple[tuple, ...]]:
    """One micro-batch: ``feed(impressions=(...), clicks=(...))``."""
    return rows


# -- Spark --------------------------------------------------------------------------------------------------


def _raw_schema(case: StreamsCase) -> str:
    return ", ".join([f"{_INPUT} string"] + [f"{i.name}__{c} {t}" for i in case.inputs for c, t in i.columns])


def run_spark(spark, case: StreamsCase, workdir: Path) -> Emitted:
    """Run ``case`` on Spark Structured Streaming: one JSON-lines file per batch, one micro-batch per file."""
    from pyspark.sql import functions as F

    inbox, staging, checkpoint = workdir / "input", workdir / "staging", workdir / "checkpoint"
    inbox.mkdir(parents=True)
    staging.mkdir()
    emitted = Emitted("Spark")

    def collect(df, batch_id):
        emitted.add(batch_id, df.columns, [tuple(row) for row in df.collect()])

    raw = spark.readStream.schema(_raw_schema(case)).option("maxFilesPerTrigger", 1).json(str(inbox))
    for stream in case.inputs:
        view = raw.where(F.col(_INPUT) == stream.name).select(
            *[F.col(f"{stream.name}__{c}").alias(c) for c, _ in stream.columns])
        if stream.watermark is not None:
            view = view.withWatermark(*stream.watermark)
        view.createOrReplaceTempView(stream.name)
    # Both are read when the query starts and kept in its checkpoint; one shuffle partition halves the state
    # stores a join opens per batch, which is most of a small batch's time.
    conf = {"spark.sql.streaming.multipleWatermarkPolicy": case.watermark_policy,
            "spark.sql.shuffle.partitions": "1"}
    saved = {k: spark.conf.get(k, None) for k in conf}
    for k, v in conf.items():
        spark.conf.set(k, v)
    try:
        query = (spark.sql(case.sql).writeStream.outputMode(case.output_mode).foreachBatch(collect)
                 .option("checkpointLocation", str(checkpoint)).trigger(processingTime="0 seconds").start())
    finally:
        for k, v in saved.items():
            spark.conf.unset(k) if v is None else spark.conf.set(k, v)
    try:
        for k, batch in enumerate(case.batches):
            staged = staging / f"batch-{k:04d}.json"
            lines = [{_INPUT: i.name, **{f"{i.name}__{c}": v for c, v in _json_row(row).items()}}
                     for i in case.inputs for row in case.rows(batch, i.name)]
            staged.write_text("".join(json.dumps(line) + "\n" for line in lines))
            staged.rename(inbox / staged.name)  # atomic: Spark never lists a half-written file
            _wait_consumed(query, files=k + 1)
            emitted.mark_fed()
    finally:
        query.stop()
    return emitted


# -- stream_nb ----------------------------------------------------------------------------------------------


def run_stream_nb(case: StreamsCase) -> Emitted:
    """Run ``case`` on stream_nb: a memory source per input fed its rows of a batch, then
    ``process_all_available`` (which runs the no-data batches the watermark makes due)."""
    emitted = Emitted("stream_nb")

    def collect(df: pd.DataFrame, batch_id: int) -> None:
        emitted.add(batch_id, list(df.columns), list(df.itertuples(index=False, name=None)))

    sources = {i.name: sn.sources.memory(i.schema) for i in case.inputs}
    options: dict[str, Any] = {}
    if case.watermark_policy != "min":  # Spark's default; passed only when a case asks for another
        options["watermark_policy"] = case.watermark_policy
    query = sn.start(case.sql, sources=sources, output_mode=case.output_mode, trigger="manual",
                     watermark=case.watermark or None, sink=sn.sinks.foreach_batch(collect), **options)
    try:
        for batch in case.batches:
            for name, source in sources.items():
                if batch.get(name):
                    source.add_data(case.rows(batch, name))
            query.process_all_available(timeout=_SPARK_TIMEOUT_S)
            emitted.mark_fed()
    finally:
        query.stop()
    return emitted

