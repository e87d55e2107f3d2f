"""Each query of cases_unions.py (a UNION ALL of streams under a stateful operator) on PySpark and on stream_nb,
same batches: same output. And each such query Spark refuses, stream_nb refuses too, naming the reason.
Run alone with ``python -m pytest -m spark tests/differential/test_spark_unions.py``.
"""

import re

import pytest

import stream_nb as sn
from tests.differential.cases_unions import CASES, REFUSALS
from tests.differential.spark_runner import compare, refusal
from tests.differential.streams import run_spark, run_stream_nb

pytestmark = pytest.mark.spark


def test_case_names_are_unique():
    from tests.differential import cases_joins

    names = [case.name for case in CASES + REFUSALS + cases_joins.CASES + cases_joins.REFUSALS]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_stream_nb_emits_what_spark_emits(case, spark, tmp_path):
    expected = run_spark(spark, case, tmp_path)
    assert expected.fed, f"Spark ran no batch of {case.name}"
    report = compare(case, expected, run_stream_nb(case))
    if report:
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("case", REFUSALS, ids=[case.name for case in REFUSALS])
def test_stream_nb_refuses_what_spark_refuses_naming_the_reason(case, spark, tmp_path):
    spark_error = refusal(run_spark, spark, case, tmp_path)
    assert spark_error is not None, f"Spark runs {case.sql!r} in {case.output_mode} mode: not a refusal case"
    error = refusal(run_stream_nb, case)
    if isinstance(error, sn.StreamingQueryException):
        error = error.__cause__
    spark_says = str(spark_error).strip().splitlines()[0]
    assert isinstance(error, sn.StreamSQLError), (
        f"Spark refuses {case.sql!r} ({spark_says}); stream_nb " + (f"fails with {type(error).__name__}: {error}"
                                                                     if error else "runs it"))
    assert re.search(case.reason, str(error), re.IGNORECASE), (
        f"stream_nb refuses, but its message does not name the reason ({case.reason!r}; Spark: {spark_says}):\n"
        f"{error}")
