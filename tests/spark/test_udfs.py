"""The query's Python functions (``sn.udf``) run on Spark too: the same SQL on both engines, the same rows; the
PySpark program ``q.to_pyspark()`` writes registers the ones its SQL calls."""

from __future__ import annotations

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.engine.triggers import Trigger
from stream_nb.udfs import unregister

ROWS = [{"device": "a", "temp": 20.0}, {"device": "b", "temp": None}, {"device": "a", "temp": -5.5}]


@pytest.fixture(autouse=True)
def _functions():
    sn.udf("spark_fahrenheit", lambda c: None if c is None else c * 9 / 5 + 32, "double")
    sn.udf("spark_shout", lambda s: s.str.upper() + "!", "string", vectorized=True)
    yield
    unregister("spark_fahrenheit")
    unregister("spark_shout")


@pytest.mark.spark
@pytest.mark.timeout(900)  # a loaded machine starts Spark slowly
def test_scalar_and_vectorized_functions_give_the_same_rows_on_spark(cluster_spark):
    sql = "SELECT spark_shout(device) AS who, spark_fahrenheit(temp) AS f FROM src"
    results = {}
    for engine in ("stream_nb", "spark"):
        src = sn.sources.memory("device string, temp double")
        src.add_data(ROWS)
        options = {"engine": "spark", "spark": cluster_spark} if engine == "spark" else {}
        q = sn.start(sql, sources={"src": src}, trigger="available_now", **options)
        q.await_termination(timeout=300)
        results[engine] = q.result.sort_values("f", na_position="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(results["spark"], results["stream_nb"], check_dtype=False)
    assert results["spark"]["who"].tolist() == ["B!", "A!", "A!"]


def test_the_pyspark_program_registers_the_functions_its_sql_calls():
    from stream_nb.spark.program import pyspark_program
    from stream_nb.sql.plan import plan_query

    src = sn.sources.memory("device string, temp double")
    sql = "SELECT spark_shout(device) AS who, SPARK_FAHRENHEIT(temp) AS f FROM src"
    plan = plan_query(sql, namespaces=[{"src": src}])
    program = pyspark_program(plan, sql, trigger=Trigger.parse(None), checkpoint=None, name="q")
    assert ("from pyspark.sql.functions import pandas_udf\n"
            "spark.udf.register('spark_fahrenheit', spark_fahrenheit, 'DOUBLE')\n"
            "spark.udf.register('spark_shout', pandas_udf(spark_shout, 'STRING'))\n") in program
    compile(program, "program.py", "exec")
