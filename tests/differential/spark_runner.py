"""Run one query on PySpark Structured Streaming and on stream_nb, fed the same batches; compare what each emits.

Both sides get the same rows as the same micro-batches and write every batch to a foreachBatch function, so
they are compared on what they *emit*, rebuilt the same way for the output mode:

* append: every row ever emitted (a multiset);
* update: the final table, each emitted row upserted by the case's key (the GROUP BY columns);
* complete: the last batch's table.

That result is compared after every input batch, once both sides have processed it and gone idle: a window
emitted a batch early or late shows even when the final results agree. Batch ids are not compared (Spark
runs a no-data batch whenever the watermark moves, stream_nb only when it would emit or evict).

Spark reads each batch as one JSON-lines file (``maxFilesPerTrigger`` 1) and runs with a 0-second
processing-time trigger; after each file the runner waits until Spark has consumed it and gone idle, so a
no-data batch (when the watermark lets state be emitted or evicted) has run too, as ``process_all_available``
does on the stream_nb side. Spark's rows are collected with ``df.collect()``: no pandas, no Arrow in Spark.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

import stream_nb as sn

SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "1g",
    "spark.sql.adaptive.enabled": "false",  # off in streaming anyway; saves a warning per query
    # State store upkeep runs on a timer; none is needed in a short test, and one that fires while the
    # session stops logs a stack trace.
    "spark.sql.streaming.stateStore.maintenanceInterval": "600s",
}
_SPARK_TIMEOUT_S = 60  # one batch on a 2-core machine takes well under a second


@dataclass(frozen=True)
class Case:
    """One query, its input as micro-batches, and how to read what it emits.

    ``batches`` hold rows as tuples in the schema's column order. ``watermark`` is ``(column, delay)``, given to
    Spark as ``withWatermark`` and to stream_nb as ``watermark=`` (or, with ``watermark_in_sql``, as the
    ``WATERMARK`` clause after ``FROM <source>``). ``key`` names the output columns that identify a row in
    update mode.
    """

    name: str
    sql: str
    output_mode: str
    batches: tuple[tuple[tuple, ...], ...]
    schema: str = "ts timestamp, device string, temp double"
    watermark: tuple[str, str] | None = None
    key: tuple[str, ...] = ()
    source: str = "events"
    watermark_in_sql: bool = False
    why: str = ""

    def __post_init__(self):
        if self.output_mode not in ("append", "update", "complete"):
            raise ValueError(f"{self.name}: unknown output mode {self.output_mode!r}")
        if self.watermark_in_sql and self.watermark is None:
            raise ValueError(f"{self.name}: watermark_in_sql needs a watermark")
        width = len(self.columns)
        for i, batch in enumerate(self.batches):
            for row in batch:
                if len(row) != width:
                    raise ValueError(f"{self.name}: batch {i} row {row} does not fit {self.schema!r}")

    @property
    def columns(self) -> list[str]:
        return [part.split()[0] for part in re.split(r",(?![^()<>]*[)>])", self.schema)]  # not decimal(10,2)'s
        # comma, nor map<string, double>'s

    def rows(self, batch: tuple[tuple, ...]) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in batch]

    def stream_nb_sql(self) -> str:
        if not self.watermark_in_sql:
            return self.sql
        column, delay = self.watermark
        clause = f"FROM {self.source} WATERMARK {column} DELAY OF INTERVAL {delay.upper()}"
        return self.sql.replace(f"FROM {self.source}", clause, 1)


@dataclass
class Emitted:
    """What one side emitted: each batch's id, columns and rows (values normalised by ``value``).

    ``fed[k]`` is how many batches had been emitted once input batch k was processed and the query idle.
    """

    side: str
    batches: list[tuple[int, list[str], list[tuple]]] = field(default_factory=list)
    fed: list[int] = field(default_factory=list)

    def add(self, batch_id: int, columns: list[str], rows: list[tuple]) -> None:
        self.batches.append((batch_id, list(columns), [tuple(value(v) for v in row) for row in rows]))

    def mark_fed(self) -> None:
        self.fed.append(len(self.batches))

    @property
    def columns(self) -> list[str] | None:
        return self.batches[-1][1] if self.batches else None

    def table(self, output_mode: str, key: tuple[str, ...], upto: int | None = None) -> list[tuple]:
        """The rows the output mode makes of the emitted batches (of the first ``upto`` of them)."""
        batches = self.batches[:upto]
        if output_mode == "complete":
            return list(batches[-1][2]) if batches else []
        if output_mode == "append":
            return [row for _, _, rows in batches for row in rows]
        table: dict = {}
        for _, columns, rows in batches:
            missing = [k for k in key if k not in columns]
            if missing:
                raise AssertionError(f"{self.side}: key column(s) {missing} not in the output {columns}")
            at = [columns.index(k) for k in key]
            for row in rows:
                table[canonical(tuple(row[i] for i in at))] = row
        return list(table.values())

    def log(self) -> str:
        lines = []
        for i, (batch_id, columns, rows) in enumerate(self.batches):
            lines.extend(f"  -- input batch {k} processed" for k, n in enumerate(self.fed) if n == i)
            lines.append(f"  batch {batch_id}: {len(rows)} row(s) {columns}")
            lines.extend(f"    {show(row)}" for row in sorted(rows, key=canonical))
        lines.extend(f"  -- input batch {k} processed" for k, n in enumerate(self.fed) if n == len(self.batches))
        return "\n".join(lines)


# -- values -------------------------------------------------------------------------------------------------


def value(v: Any) -> Any:
    """One output value as plain Python: UTC datetimes, structs as tuples, NaN/NaT/NA as None.

    >>> value({"start": pd.Timestamp("2024-01-01", tz="UTC"), "end": None})
    (datetime.datetime(2024, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), None)
    >>> value(float("nan")) is None and value(pd.NA) is None
    True
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)) and getattr(v, "shape", None) == ():
        v = v.item()  # a numpy scalar
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, datetime):
        # Spark hands timestamps out naive, in the Python process's local zone: astimezone reads them so.
        return v.astimezone(UTC)
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, Mapping):
        return tuple(value(x) for x in v.values())
    if isinstance(v, (tuple, list)) or (hasattr(v, "tolist") and getattr(v, "ndim", 0) == 1):
        return tuple(value(x) for x in v)  # a Spark Row is a tuple; an array comes to pandas as a numpy array
    return v


def canonical(v: Any) -> Any:
    """A sortable, hashable form of a normalised value; floats rounded to 12 significant digits."""
    if v is None:
        return (0,)
    if isinstance(v, bool):
        return (1, v)
    if isinstance(v, (int, float)):
        return (2, float(f"{v:.12g}"))
    if isinstance(v, str):
        return (3, v)
    if isinstance(v, (datetime, date)):
        return (4, v.isoformat())
    if isinstance(v, tuple):
        return (5, tuple(canonical(x) for x in v))
    return (6, repr(v))


def close(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def show(v: Any) -> str:
    if isinstance(v, datetime):  # the day is left out when it is the cases' day, 2024-01-01
        text = v.strftime("%H:%M:%S.%f").rstrip("0").rstrip(".")
        return text if v.date() == date(2024, 1, 1) else f"{v.date()} {text}"
    if isinstance(v, tuple):
        return "(" + ", ".join(show(x) for x in v) + ")"
    return repr(v)


def difference(spark_rows: list[tuple], sn_rows: list[tuple]) -> str | None:
    """None when both hold the same rows (floats to 1e-9); else the rows only one side has."""
    a, b = sorted(spark_rows, key=canonical), sorted(sn_rows, key=canonical)
    if len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True)):
        return None
    only_spark = Counter(map(canonical, a)) - Counter(map(canonical, b))
    only_sn = Counter(map(canonical, b)) - Counter(map(canonical, a))
    lines = [f"Spark has {len(a)} row(s), stream_nb {len(b)}."]
    for title, surplus, rows in (("only in Spark", only_spark, a), ("only in stream_nb", only_sn, b)):
        shown = []
        for row in rows:
            if surplus[canonical(row)] > 0:
                surplus[canonical(row)] -= 1
                shown.append(row)
        lines.append(f"{title} ({len(shown)}):")
        lines.extend(f"  {show(row)}" for row in shown)
    return "\n".join(lines)


# -- Spark --------------------------------------------------------------------------------------------------


def spark_session():
    """The local[2] SparkSession the suite shares (one per test process)."""
    from pyspark.sql import SparkSession

    # Python workers (pandas UDFs, applyInPandasWithState) run this interpreter, with pandas and pyarrow
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master("local[2]").appName("stream_nb-differential")
    for k, v in SPARK_CONF.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # Two warnings every query gives, which say nothing about the case: keep failure reports readable.
    log4j = spark._jvm.org.apache.logging.log4j
    for logger in ("org.apache.spark.sql.execution.streaming.runtime.MicroBatchExecution",
                   "org.apache.spark.sql.execution.streaming.MicroBatchExecution",
                   "org.apache.spark.scheduler.DAGScheduler"):
        log4j.core.config.Configurator.setLevel(logger, log4j.Level.ERROR)
    return spark


def run_spark(spark, case: Case, workdir: Path) -> Emitted:
    """Run ``case`` on Spark Structured Streaming: one JSON-lines file per batch, one micro-batch per file."""
    inbox, staging, checkpoint = workdir / "input", workdir / "staging", workdir / "checkpoint"
    inbox.mkdir(parents=True)
    staging.mkdir()
    emitted = Emitted("Spark")

    def collect(df, batch_id):
        emitted.add(batch_id, df.columns, [tuple(row) for row in df.collect()])

    stream = spark.readStream.schema(case.schema).option("maxFilesPerTrigger", 1).json(str(inbox))
    if case.watermark is not None:
        stream = stream.withWatermark(*case.watermark)
    stream.createOrReplaceTempView(case.source)
    query = (spark.sql(case.sql).writeStream.outputMode(case.output_mode).foreachBatch(collect)
             .option("checkpointLocation", str(checkpoint)).trigger(processingTime="0 seconds").start())
    try:
        for i, batch in enumerate(case.batches):
            staged = staging / f"batch-{i:04d}.json"
            staged.write_text("".join(json.dumps(_json_row(row)) + "\n" for row in case.rows(batch)))
            staged.rename(inbox / staged.name)  # atomic: Spark never lists a half-written file
            _wait_consumed(query, files=i + 1)
            emitted.mark_fed()
    finally:
        query.stop()
    return emitted


def _wait_consumed(query, files: int) -> None:
    """Until Spark has committed the batch of the ``files``-th file and run out of work (no-data batch too)."""
    deadline = time.monotonic() + _SPARK_TIMEOUT_S
    while _files_consumed(query) < files:
        if time.monotonic() > deadline:
            raise TimeoutError(f"Spark did not consume input file {files} within {_SPARK_TIMEOUT_S} s")
        # It may return early if a trigger that listed the folder before the file appeared ends idle.
        query.processAllAvailable()
    query.processAllAvailable()  # begins after that batch's commit: returns once a trigger finds no work


def _files_consumed(query) -> int:
    progress = query.lastProgress
    end = progress["sources"][0]["endOffset"] if progress and progress["sources"] else None
    if isinstance(end, str):
        end = json.loads(end)
    return int(end["logOffset"]) + 1 if end else 0


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if isinstance(v, datetime) else v)
            for k, v in row.items()}


# -- stream_nb ----------------------------------------------------------------------------------------------


def run_stream_nb(case: Case) -> Emitted:
    """Run ``case`` on stream_nb: a memory source fed batch by batch, ``process_all_available`` after each."""
    emitted = Emitted("stream_nb")

    def collect(df: pd.DataFrame, batch_id: int) -> None:
        emitted.add(batch_id, list(df.columns), list(df.itertuples(index=False, name=None)))

    source = sn.sources.memory(case.schema)
    watermark = None
    if case.watermark is not None and not case.watermark_in_sql:
        watermark = {case.source: case.watermark}
    query = sn.start(case.stream_nb_sql(), sources={case.source: source}, output_mode=case.output_mode,
                     trigger="manual", watermark=watermark, sink=sn.sinks.foreach_batch(collect))
    try:
        for batch in case.batches:
            source.add_data(case.rows(batch))
            query.process_all_available(timeout=_SPARK_TIMEOUT_S)
            emitted.mark_fed()
    finally:
        query.stop()
    return emitted


def refusal(run, *args) -> Exception | None:
    """The error with which a side refuses the query (up front, or in its first batch); None if it runs."""
    try:
        run(*args)
    except Exception as err:  # noqa: BLE001 - any refusal counts; the test looks at its kind
        return err
    return None


# -- the comparison -----------------------------------------------------------------------------------------


def emits_what_spark_emits(case: Case, spark, workdir: Path) -> str | None:
    """The case run on Spark and on stream_nb: what differs, or None."""
    return compare(case, run_spark(spark, case, workdir), run_stream_nb(case))


def refuses_what_spark_refuses(case: Case, spark, workdir: Path) -> str | None:
    """A case Spark refuses: None if stream_nb refuses it too (a StreamSQLError), else what it did."""
    spark_error = refusal(run_spark, spark, case, workdir)
    assert spark_error is not None, f"Spark runs {case.sql!r} in {case.output_mode} mode: not a refusal case"
    error = refusal(run_stream_nb, case)
    if isinstance(error, sn.StreamingQueryException):
        error = error.__cause__
    if isinstance(error, sn.StreamSQLError):
        return None
    spark_says = str(spark_error).strip().splitlines()[0]
    return (f"case {case.name}: Spark refuses {case.sql!r} in {case.output_mode} mode ({spark_says}); stream_nb "
            + (f"fails with {type(error).__name__}: {error}" if error else "runs it"))


def compare(case: Case, spark: Emitted, mine: Emitted) -> str | None:
    """None when both sides emitted the same; else a report fit to paste into an issue.

    The result is compared after every input batch (once both sides are idle), not only at the end, so that
    a window emitted too early or too late shows even when the final results agree.
    """
    problems = []
    if spark.columns is not None and mine.columns is not None and spark.columns != mine.columns:
        problems.append(f"columns differ: Spark {spark.columns}, stream_nb {mine.columns}")
    last = len(case.batches) - 1
    for k in range(len(case.batches)):
        diff = difference(spark.table(case.output_mode, case.key, spark.fed[k]),
                          mine.table(case.output_mode, case.key, mine.fed[k]))
        if diff:
            when = "at the end" if k == last else f"after input batch {k} of 0..{last}"
            problems.append(f"{case.output_mode} result ({_reading(case)}) differs {when}:\n{diff}")
            if k != last:
                final = difference(spark.table(case.output_mode, case.key), mine.table(case.output_mode, case.key))
                problems.append(f"at the end: {final or 'the same'}")
            break
    if not problems:
        return None
    return "\n".join([f"case {case.name}: {case.sql}", f"output mode {case.output_mode}, "
                      f"watermark {case.watermark}" + (f"; the case checks: {case.why}" if case.why else ""),
                      *problems,
                      "Spark emitted:", spark.log(), "stream_nb emitted:", mine.log()])


def _reading(case: Case) -> str:
    return {"append": "all rows emitted", "complete": "the last batch's table",
            "update": f"the table upserted by {list(case.key)}"}[case.output_mode]
