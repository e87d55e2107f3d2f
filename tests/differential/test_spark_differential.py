"""Each query of cases.py on PySpark Structured Streaming and on stream_nb, same batches: same output.

And each query Spark refuses (cases.REFUSALS), stream_nb refuses too. Run alone with
``python -m pytest -m spark tests/differential``. A failure prints the case, the rows only one side has, and
every batch each side emitted.
"""

import pytest

from tests.differential.cases import CASES, EXTENSIONS, REFUSALS
from tests.differential.spark_runner import (
    emits_what_spark_emits,
    refusal,
    refuses_what_spark_refuses,
    run_spark,
    run_stream_nb,
)

pytestmark = pytest.mark.spark


def test_there_are_enough_cases_and_each_mode_is_covered():
    assert len(CASES) >= 25
    assert len({case.name for case in CASES}) == len(CASES)
    assert {case.output_mode for case in CASES} == {"append", "update", "complete"}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_stream_nb_emits_what_spark_emits(case, spark, tmp_path):
    report = emits_what_spark_emits(case, spark, tmp_path)
    if report:
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("case", REFUSALS, ids=[case.name for case in REFUSALS])
def test_stream_nb_refuses_what_spark_refuses(case, spark, tmp_path):
    report = refuses_what_spark_refuses(case, spark, tmp_path)
    if report:
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("case", EXTENSIONS, ids=[case.name for case in EXTENSIONS])
def test_stream_nb_runs_what_it_deliberately_adds_to_spark(case, spark, tmp_path):
    assert refusal(run_spark, spark, case, tmp_path) is not None, f"Spark now runs {case.sql!r}: compare instead"
    assert run_stream_nb(case), f"stream_nb emitted nothing for {case.name}"
