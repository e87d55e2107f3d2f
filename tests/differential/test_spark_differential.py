"""Each query of cases.py on PySpark Structured Streaming and on stream_nb, same batches: same output.

And each query Spark refuses (cases.REFUSALS), stream_nb refuses too. Run alone with
``python -m pytest -m spark tests/differential``. A failure prints the case, the rows only one side has, and
every batch each side emitted.
"""

import pytest

import stream_nb as sn
from tests.differential.cases import CASES, EXTENSIONS, REFUSALS
from tests.differential.spark_runner import compare, refusal, run_spark, run_stream_nb

pytestmark = pytest.mark.spark


def test_there_are_enough_cases_and_each_mode_is_covered():
    assert len(CASES) >= 25
    assert len({case.name for case in CASES}) == len(CASES)
    assert {case.output_mode for case in CASES} == {"append", "update", "complete"}


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


@pytest.mark.parametrize("case", EXTENSIONS, ids=[case.name for case in EXTENSIONS])
def test_stream_nb_runs_what_it_deliberately_adds_to_spark(case, spark, tmp_path):
    assert refusal(run_spark, spark, case, tmp_path) is not None, f"Spark now runs {case.sql!r}: compare instead"
    assert run_stream_nb(case), f"stream_nb emitted nothing for {case.name}"
