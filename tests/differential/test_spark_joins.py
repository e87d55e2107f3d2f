"""Each query over several streams (cases_joins.py) on PySpark and on stream_nb, same batches: same output.

And each such query Spark refuses, stream_nb refuses too, naming the reason. A case whose stream_nb side is
not built yet names the missing piece in ``pending``: its test is expected to fail (strictly, so it turns red
the moment the piece lands and the mark must go). Spark's side always has to run: a Spark failure is never
taken for the expected one. Run alone with ``python -m pytest -m spark tests/differential/test_spark_joins.py``.
"""

import re

import pytest

import stream_nb as sn
from tests.differential.cases_joins import CASES, REFUSALS
from tests.differential.spark_runner import compare, refusal
from tests.differential.streams import run_spark, run_stream_nb

pytestmark = pytest.mark.spark


class StreamNbDiffers(AssertionError):
    """stream_nb's side failed or differed from Spark's (what a pending case expects)."""


def marked(cases):
    return [pytest.param(case, id=case.name, marks=[pytest.mark.xfail(
        reason=case.pending, raises=StreamNbDiffers, strict=True)] if case.pending else [])
            for case in cases]


def test_there_are_enough_cases_of_each_kind():
    assert len(CASES) >= 30 and len(REFUSALS) >= 6
    assert len({case.name for case in CASES + REFUSALS}) == len(CASES) + len(REFUSALS)
    sqls = " ".join(case.sql for case in CASES)
    for join in (" JOIN ", " LEFT JOIN ", " RIGHT JOIN ", " FULL OUTER JOIN ", " LEFT SEMI JOIN ", "window_time"):
        assert join in sqls, f"no case with {join.strip()}"


@pytest.mark.parametrize("case", marked(CASES))
def test_stream_nb_emits_what_spark_emits(case, spark, tmp_path):
    expected = run_spark(spark, case, tmp_path)
    assert expected.fed, f"Spark ran no batch of {case.name}"
    try:
        got = run_stream_nb(case)
    except Exception as err:
        raise StreamNbDiffers(f"stream_nb fails on {case.name}: {type(err).__name__}: {err}") from err
    report = compare(case, expected, got)
    if report:
        raise StreamNbDiffers(report)


@pytest.mark.parametrize("case", marked(REFUSALS))
def test_stream_nb_refuses_what_spark_refuses_naming_the_reason(case, spark, tmp_path):
    spark_error = refusal(run_spark, spark, case, tmp_path)
    assert spark_error is not None, f"Spark runs {case.sql!r} in {case.output_mode} mode: not a refusal case"
    error = refusal(run_stream_nb, case)
    if isinstance(error, sn.StreamingQueryException):
        error = error.__cause__
    spark_says = str(spark_error).strip().splitlines()[0]
    if not isinstance(error, sn.StreamSQLError):
        raise StreamNbDiffers(f"case {case.name}: Spark refuses {case.sql!r} in {case.output_mode} mode "
                              f"({spark_says}); stream_nb " + (f"fails with {type(error).__name__}: {error}"
                                                                if error else "runs it"))
    if not re.search(case.reason, str(error), re.IGNORECASE):
        raise StreamNbDiffers(f"case {case.name}: stream_nb refuses, but its message does not name the reason "
                              f"({case.reason!r}; Spark: {spark_says}):\n{error}")
