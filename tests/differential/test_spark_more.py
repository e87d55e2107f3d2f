"""Each query of cases_more.py on PySpark Structured Streaming and on stream_nb, same batches: same output.

And each query there that Spark refuses, stream_nb refuses too. Run alone with
``python -m pytest -m spark tests/differential/test_spark_more.py``.
"""

import pytest

import stream_nb as sn
from tests.differential.cases_more import CASES, REFUSALS
from tests.differential.spark_runner import compare, refusal, run_spark, run_stream_nb

pytestmark = pytest.mark.spark


def test_case_names_are_unique_across_the_suites():
    from tests.differential import cases

    names = [case.name for case in CASES + REFUSALS + cases.CASES + cases.REFUSALS + cases.EXTENSIONS]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_stream_nb_emits_what_spark_emits(case, spark, tmp_path):
    expected = run_spark(spark, case, tmp_path)
    got = run_stream_nb(case)
    report = compare(case, expected, got)
    if report:
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("case", REFUSALS, ids=[case.name for case in REFUSALS])
def test_stream_nb_refuses_what_spark_refuses(case, spark, tmp_path):
    spark_error = refusal(run_spark, spark, case, tmp_path)
    assert spark_error is not None, f"Spark runs {case.sql!r} in {case.output_mode} mode: not a refusal case"
    error = refusal(run_stream_nb, case)
    if isinstance(error, sn.StreamingQueryException):
        error = error.__cause__
    if not isinstance(error, sn.StreamSQLError):
        spark_says = str(spark_error).strip().splitlines()[0]
        pytest.fail(f"case {case.name}: Spark refuses {case.sql!r} in {case.output_mode} mode "
                    f"({spark_says}); stream_nb " + (f"fails with {type(error).__name__}: {error}" if error
                                                     else "runs it"), pytrace=False)
