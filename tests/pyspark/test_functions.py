import pytest

from stream_nb.pyspark.sql import functions as F


@pytest.mark.parametrize(("column", "sql", "name"), [
    (F.window("ts", "10 seconds", "5 seconds"), "WINDOW(`ts`, '10 seconds', '5 seconds')", "window"),
    (F.count("*"), "COUNT(*)", "count(1)"),
    (F.avg("n"), "AVG(`n`)", "avg(n)"),
    (F.col("n") + 1, "`n` + 1", "(n + 1)"),
    (F.when(F.col("n") > 1, "big").otherwise("small"), "CASE WHEN `n` > 1 THEN 'big' ELSE 'small' END",
     "CASE WHEN (n > 1) THEN big ELSE small END"),
    (F.explode(F.split("value", " ")), "EXPLODE(SPLIT(`value`, ' '))", "col"),
    (F.col("w.start"), "`w`.`start`", "start"),
    (F.upper("word").alias("u"), "UPPER(`word`) AS `u`", "u"),
])
def test_each_function_is_the_spark_sql_call_named_as_spark_names_it(column, sql, name):
    assert (column._sql(), column._name) == (sql, name)


def test_a_column_in_a_python_condition_is_refused_with_sparks_message():
    with pytest.raises(ValueError, match="CANNOT_CONVERT_COLUMN_INTO_BOOL"):
        bool(F.col("a") > 1)


def test_string_and_date_functions_run_on_a_static_dataframe(spark):
    import datetime

    df = spark.createDataFrame([("Hello World", datetime.datetime(2024, 3, 5, 7, 8, 9))], "s string, t timestamp")
    row = df.select(F.lower("s").alias("l"), F.length("s").alias("n"), F.year("t").alias("y"),
                    F.hour("t").alias("h"), F.concat_ws("-", "s", "s").alias("c")).collect()[0]
    assert (row.l, row.n, row.y, row.h, row.c) == ("hello world", 11, 2024, 7, "Hello World-Hello World")


@pytest.mark.parametrize(("text", "name"), [
    ("n + 1", "(n + 1)"), ("upper(word) AS u", "u"), ("count(*)", "count(1)"), ("n > 1 AND n < 3", "((n > 1) AND (n < 3))"),
])
def test_expr_names_its_column_as_spark_does(text, name):
    assert F.expr(text)._name == name


def test_functions_spark_types_int_are_int(spark):
    import datetime

    df = spark.createDataFrame([("ab", datetime.datetime(2024, 1, 1))], "s string, t timestamp")
    assert df.select(F.length("s"), F.year("t"), F.hour("t")).dtypes == [
        ("length(s)", "int"), ("year(t)", "int"), ("hour(t)", "int")]


def test_a_bad_expr_is_refused_with_its_text():
    from stream_nb.pyspark.errors import AnalysisException

    with pytest.raises(AnalysisException, match=r"PARSE_SYNTAX_ERROR.*n \+\)"):
        F.expr("(n +)")


def test_from_json_of_a_malformed_document_gives_null_fields_as_pysparks_permissive_mode(spark):
    df = spark.createDataFrame([("not json",), ('{"v": 2, "kind": 3}',), (None,)], "s string")
    rows = df.select(F.from_json("s", "kind STRING, v INT").alias("j")).collect()
    assert [r.j if r.j is None else tuple(r.j) for r in rows] == [(None, None), ("3", 2), None]
