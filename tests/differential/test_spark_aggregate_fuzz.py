"""Random single-stream stateful queries (``fuzz_aggregates.random_case``) on PySpark and on stream_nb.

Each seed draws a query (GROUP BY with or without a window, watermark, aggregates, HAVING, WHERE, DISTINCT; or a
deduplication, Spark's dropDuplicates / dropDuplicatesWithinWatermark) and a few small out-of-order batches with late rows, NULLs, NaN and duplicates; stream_nb must emit what Spark
emits after every batch, or refuse the query where Spark refuses it. The seeds are fixed, so a failure is
reproducible: ``random_case(seed)`` gives the case back. To hunt with more seeds, run this file with
``STREAM_NB_FUZZ_SEEDS=1000-1300``.
"""

import os

import pytest

import stream_nb as sn
from tests.differential.fuzz_aggregates import DEDUP_CASES, DataFrameSpark, random_case, random_dedup_case
from tests.differential.spark_runner import compare, refusal, run_spark, run_stream_nb

pytestmark = pytest.mark.spark


def _seeds(default: range) -> list[int]:
    spec = os.environ.get("STREAM_NB_FUZZ_SEEDS")
    if spec:
        lo, _, hi = spec.partition("-")
        return list(range(int(lo), int(hi or lo) + 1))
    return list(default)


def test_the_generator_is_reproducible():
    assert repr(random_case(7)) == repr(random_case(7))  # repr: NaN values are not equal to themselves
    assert repr(random_case(7)) != repr(random_case(8))
    assert repr(random_dedup_case(7)) == repr(random_dedup_case(7))


@pytest.mark.parametrize("seed", _seeds(range(22)))
def test_random_case_emits_what_spark_emits(seed, spark, tmp_path):
    _compare(seed, random_case(seed), spark, tmp_path)


@pytest.mark.parametrize("seed", _seeds(range(6)))
def test_random_deduplication_emits_what_spark_emits(seed, spark, tmp_path):
    case, dedup = random_dedup_case(seed)
    _compare(seed, case, DataFrameSpark(spark, case, dedup), tmp_path)


@pytest.mark.parametrize(("case", "dedup"), DEDUP_CASES, ids=[case.name for case, _ in DEDUP_CASES])
def test_deduplication_case_emits_what_spark_emits(case, dedup, spark, tmp_path):
    _compare(case.name, case, DataFrameSpark(spark, case, dedup), tmp_path)


def _compare(seed, case, spark, tmp_path):
    try:
        spark_side = run_spark(spark, case, tmp_path)
    except TimeoutError:
        raise
    except Exception as spark_error:  # noqa: BLE001 - Spark refuses the query: stream_nb must refuse it too
        error = refusal(run_stream_nb, case)
        if isinstance(error, sn.StreamingQueryException):
            error = error.__cause__
        if not isinstance(error, sn.StreamSQLError):
            spark_says = str(spark_error).strip().splitlines()[0]
            pytest.fail(f"seed {seed}: Spark refuses {case.sql!r} in {case.output_mode} mode ({spark_says}); "
                        f"stream_nb " + (f"fails with {type(error).__name__}: {error}" if error else "runs it"),
                        pytrace=False)
        return
    report = compare(case, spark_side, run_stream_nb(case))
    if report:
        pytest.fail(f"seed {seed}\n{report}\nbatches: {case.batches!r}", pytrace=False)
