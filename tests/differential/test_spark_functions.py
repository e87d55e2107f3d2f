"""Each query of cases_functions.py (Spark's scalar functions, by value) on PySpark Structured Streaming and on
stream_nb, same batches: same output; and what Spark refuses there, stream_nb refuses too. Run alone with
``python -m pytest -m spark tests/differential/test_spark_functions.py``.
"""

import pytest

from tests.differential.cases_functions import CASES, REFUSALS
from tests.differential.spark_runner import (
    emits_what_spark_emits,
    refuses_what_spark_refuses,
)

pytestmark = pytest.mark.spark


def test_case_names_are_unique_across_the_suites():
    from tests.differential import cases, cases_more

    names = [case.name for case in CASES + REFUSALS + cases.CASES + cases.REFUSALS + cases.EXTENSIONS
             + cases_more.CASES + cases_more.REFUSALS]
    assert len(set(names)) == len(names)


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
