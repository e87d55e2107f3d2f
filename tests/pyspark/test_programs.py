"""Each PySpark program of programs.py on real PySpark (local[2]) and on ``stream_nb.pyspark``: same tables.

The same JSON-lines batches go to both, one file per micro-batch; after each, both have processed it (and,
on Spark, any no-data batch it brings) and the query's memory-sink table (``SELECT * FROM <queryName>``) is
compared, so a row emitted a batch early or late shows. PySpark's side is the reference and must always run;
a program whose stream_nb side is not there yet names the missing piece (``pending``) and is expected to fail,
strictly, so the mark goes the moment the piece lands. Run alone with
``python -m pytest -m spark tests/pyspark/test_programs.py``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.differential.spark_runner import _SPARK_TIMEOUT_S, difference, value
from tests.pyspark.programs import COLLECTED, PROGRAMS, Program

pytestmark = pytest.mark.spark


class StreamNbDiffers(AssertionError):
    """stream_nb's side failed or its table differed from PySpark's (what a pending program expects)."""


@pytest.fixture(scope="module")
def pyspark_modules():
    pytest.importorskip("pyspark", reason="the PySpark program suite needs the `spark` extra")
    from pyspark.sql import functions, types

    from tests.differential.spark_runner import spark_session

    return spark_session(), functions, types


@pytest.fixture(scope="module")
def stream_nb_modules():
    from stream_nb.pyspark.sql import SparkSession, functions, types

    return SparkSession.builder.getOrCreate(), functions, types


def run(prog: Program, modules, workdir: Path, wait) -> list[tuple[list[str], list[tuple]]]:
    """The program's output table (columns, rows) after each input batch."""
    spark, F, T = modules
    indir, staging = workdir / "input", workdir / "staging"
    indir.mkdir(parents=True)
    staging.mkdir()
    query = prog.build(spark, F, T, str(indir))
    tables = []
    try:
        for i, batch in enumerate(prog.batches):
            staged = staging / f"batch-{i:04d}.json"
            staged.write_text("".join(json.dumps(row) + "\n" for row in batch))
            staged.rename(indir / staged.name)  # atomic: no reader lists a half-written file
            wait(query, i + 1)
            tables.append(table(spark, query))
    finally:
        query.stop()
    return tables


def table(spark, query) -> tuple[list[str], list[tuple]]:
    if query.name in COLLECTED:
        return [], [tuple(value(v) for v in row) for row in COLLECTED[query.name]]
    df = spark.sql(f"SELECT * FROM {query.name}")
    return list(df.columns), [tuple(value(v) for v in row) for row in df.collect()]


def spark_wait(query, files: int) -> None:
    """Until Spark has committed the batch of the ``files``-th file and run out of work (no-data batch too)."""
    deadline = time.monotonic() + _SPARK_TIMEOUT_S
    while _files_consumed(query) < files:
        if time.monotonic() > deadline:
            raise TimeoutError(f"Spark did not consume input file {files} within {_SPARK_TIMEOUT_S} s")
        query.processAllAvailable()  # may return early if a trigger listed the folder before the file came
    query.processAllAvailable()


def _files_consumed(query) -> int:
    progress = query.lastProgress
    ends = [source["endOffset"] for source in progress["sources"]] if progress else []
    ends = [json.loads(end) if isinstance(end, str) else end for end in ends]
    return min((int(end["logOffset"]) + 1 if end else 0) for end in ends) if ends else 0


def stream_nb_wait(query, files: int) -> None:
    query.processAllAvailable()


def test_there_are_enough_programs_and_each_output_mode_is_covered():
    source = Path(__file__).with_name("programs.py").read_text()
    assert len(PROGRAMS) >= 40
    assert len({p.name for p in PROGRAMS}) == len(PROGRAMS)
    for mode in ("append", "update", "complete"):
        assert f'"{mode}")' in source or mode == "append", f"no program in {mode} mode"


def marked(programs):
    return [pytest.param(p, id=p.name, marks=[pytest.mark.xfail(reason=p.pending, raises=StreamNbDiffers,
                                                                 strict=True)] if p.pending else [])
            for p in programs]


@pytest.mark.parametrize("prog", marked(PROGRAMS))
def test_program_gives_pysparks_table_after_every_batch(prog, pyspark_modules, stream_nb_modules, tmp_path):
    expected = run(prog, pyspark_modules, tmp_path / "pyspark", spark_wait)
    try:
        got = run(prog, stream_nb_modules, tmp_path / "stream_nb", stream_nb_wait)
    except Exception as err:
        raise StreamNbDiffers(f"stream_nb fails on {prog.name}: {type(err).__name__}: {err}") from err
    for k, ((spark_columns, spark_rows), (columns, rows)) in enumerate(zip(expected, got, strict=True)):
        if columns != spark_columns:
            raise StreamNbDiffers(f"{prog.name}: columns differ: PySpark {spark_columns}, stream_nb {columns}")
        diff = difference(spark_rows, rows)
        if diff:
            raise StreamNbDiffers(f"{prog.name}: the table differs after input batch {k} of "
                                  f"0..{len(prog.batches) - 1}:\n{diff}")
