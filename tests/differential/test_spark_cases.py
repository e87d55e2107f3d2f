"""Each query of the case tables below on PySpark Structured Streaming and on stream_nb, same batches: same
output; and each query there that Spark refuses, stream_nb refuses too.

One table a theme: ``cases_more.py`` (the SQL a Spark user writes beyond ``cases.py``), ``cases_collect.py``
(aggregates that keep values: collect_list, max_by, percentiles, skewness), ``cases_limit.py`` (LIMIT, Spark's
streaming global limit), ``cases_functions.py`` (scalar functions, by value), ``cases_grouping.py`` (ROLLUP,
CUBE, GROUPING SETS). A test's id starts with its
table's theme, so one table runs alone with, e.g., ``python -m pytest -m spark
tests/differential/test_spark_cases.py -k collect/``.
"""

import pytest

from tests.differential import (
    cases,
    cases_collect,
    cases_functions,
    cases_grouping,
    cases_joins,
    cases_limit,
    cases_more,
    cases_unions,
)
from tests.differential.spark_runner import (
    emits_what_spark_emits,
    refuses_what_spark_refuses,
)

pytestmark = pytest.mark.spark

TABLES = {"more": cases_more, "collect": cases_collect, "limit": cases_limit, "functions": cases_functions,
          "grouping": cases_grouping}
CASES = [(f"{theme}/{case.name}", case) for theme, table in TABLES.items() for case in table.CASES]
REFUSALS = [(f"{theme}/{case.name}", case) for theme, table in TABLES.items() for case in table.REFUSALS]


def test_case_names_are_unique_across_the_suites():
    tables = [*TABLES.values(), cases_joins, cases_unions]
    names = [case.name for table in tables for case in table.CASES + table.REFUSALS]
    names += [case.name for case in cases.CASES + cases.REFUSALS + cases.EXTENSIONS]
    assert len(set(names)) == len(names), sorted({n for n in names if names.count(n) > 1})


@pytest.mark.parametrize("case", [case for _, case in CASES], ids=[name for name, _ in CASES])
def test_stream_nb_emits_what_spark_emits(case, spark, tmp_path):
    report = emits_what_spark_emits(case, spark, tmp_path)
    if report:
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("case", [case for _, case in REFUSALS], ids=[name for name, _ in REFUSALS])
def test_stream_nb_refuses_what_spark_refuses(case, spark, tmp_path):
    report = refuses_what_spark_refuses(case, spark, tmp_path)
    if report:
        pytest.fail(report, pytrace=False)
