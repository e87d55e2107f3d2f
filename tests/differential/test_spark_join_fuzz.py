"""Random stream-stream join cases (fuzz_joins.py), each on PySpark and on stream_nb with the same batches: the
same output after every batch, or the same refusal.

A fixed set of seeds runs here (about three minutes); ``STREAM_NB_JOIN_FUZZ_SEEDS=100-400`` runs others while
hunting, and ``python -m tests.differential.fuzz_joins SEED`` prints a case to minimise by hand. A discrepancy
found this way is fixed at its root and its minimised case goes to cases_joins.py with the rule it shows.
Run alone with ``python -m pytest -m spark tests/differential/test_spark_join_fuzz.py``.
"""

from __future__ import annotations

import os

import pytest

import stream_nb as sn
from tests.differential.fuzz_joins import as_compared, case, describe
from tests.differential.spark_runner import compare, refusal
from tests.differential.streams import run_spark, run_stream_nb

pytestmark = pytest.mark.spark


# Seeds whose case stream_nb does not run as Spark yet, and why: each is expected to fail (strictly, so the
# mark must go when the piece lands). None now.
GAPS: dict[int, str] = {}


def seeds() -> list:
    first, _, last = os.environ.get("STREAM_NB_JOIN_FUZZ_SEEDS", "0-23").partition("-")
    return [pytest.param(seed, marks=[pytest.mark.xfail(reason=GAPS[seed], strict=True)] if seed in GAPS else [])
            for seed in range(int(first), int(last or first) + 1)]


@pytest.mark.parametrize("seed", seeds())
def test_a_random_join_case_runs_as_on_spark(seed, spark, tmp_path):
    drawn = case(seed)
    try:
        expected = run_spark(spark, drawn, tmp_path)
    except TimeoutError:
        raise
    except Exception as spark_error:  # noqa: BLE001 - Spark refuses the query: stream_nb must too
        error = refusal(run_stream_nb, drawn)
        if isinstance(error, sn.StreamingQueryException):
            error = error.__cause__
        spark_says = str(spark_error).strip().splitlines()[0]
        assert isinstance(error, sn.StreamSQLError), (
            f"{describe(drawn)}\nSpark refuses it ({spark_says}); stream_nb "
            + (f"fails with {type(error).__name__}: {error}" if error else "runs it"))
        return
    assert expected.fed, f"Spark ran no batch of {drawn.name}"
    got = run_stream_nb(drawn)
    report = compare(as_compared(drawn), expected, got)
    assert report is None, f"{describe(drawn)}\n{report}"
