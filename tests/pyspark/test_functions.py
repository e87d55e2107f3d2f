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
    ("`s` || 'x'", "concat(s, x)"), ("instr(s, 'a')", "instr(s, a)"), ("locate('a', s)", "locate(a, s, 1)"),
    ("isnull(x)", "(x IS NULL)"), ("a <=> b", "(a <=> b)"), ("a div b", "(a div b)"), ("s not like 'a'", "(NOT s LIKE a)"),
    ("x between 1 and 2", "between(x, 1, 2)"), ("date_add(current_date(), 1)", "date_add(current_date(), 1)"),
    ("struct(a, b)", "struct(a, b)"), ("from_json(j, 'a INT')", "from_json(j)"), ("ceil(x)", "CEIL(x)"),
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


def test_spark_35s_aggregate_aliases_on_a_stream_named_as_spark_names_them(spark):
    import stream_nb as sn

    rows = sn.sources.memory("k string, v double, b boolean")
    out = spark.readStream.load(rows).groupBy("k").agg(
        F.first_value("v"), F.first_value("v", F.lit(True)).alias("first_nn"), F.last_value("v"),
        F.any_value("v", True).alias("any_nn"), F.count_if(F.col("v") > 0), F.bool_and("b"), F.some("b"),
        F.array_agg("v"))
    # as PySpark 3.5 names them (array_agg is collect_list)
    assert out.columns == ["k", "first_value(v)", "first_nn", "last_value(v)", "any_nn", "count_if((v > 0))",
                           "bool_and(b)", "some(b)", "collect_list(v)"]
    q = out.writeStream.outputMode("complete").format("memory").queryName("aliases").start()
    try:
        rows.add_data([{"k": "a", "v": None, "b": True}, {"k": "a", "v": 1.0, "b": False}])
        q.processAllAvailable()
        (row,) = spark.sql("SELECT * FROM aliases").collect()
    finally:
        q.stop()
    assert tuple(row) == ("a", None, 1.0, 1.0, 1.0, 1, False, True, [1.0])


def test_a_map_column_is_a_dict_and_explodes_into_key_and_value_as_in_pyspark(spark, tmp_path):
    from stream_nb.pyspark.sql.types import (
        DoubleType,
        IntegerType,
        MapType,
        StringType,
        StructField,
        StructType,
    )

    (tmp_path / "a.json").write_text('{"id": 1, "m": {"a": 2.5, "b": 1.0}}\n{"id": 2, "m": null}\n')
    schema = StructType([StructField("id", IntegerType()), StructField("m", MapType(StringType(), DoubleType()))])
    df = spark.readStream.schema(schema).json(str(tmp_path))
    picked = df.select("id", "m", F.col("m")["a"].alias("a"), F.map_keys("m").alias("k"),
                       F.map_contains_key("m", "b").alias("has_b"))
    q = picked.writeStream.format("memory").queryName("maps").start()
    exploded = df.select("id", F.explode("m")).writeStream.format("memory").queryName("entries").start()
    try:
        q.processAllAvailable()
        exploded.processAllAvailable()
        rows = sorted(spark.sql("SELECT * FROM maps").collect(), key=lambda r: r.id)
        assert [r.asDict() for r in rows] == [
            {"id": 1, "m": {"a": 2.5, "b": 1.0}, "a": 2.5, "k": ["a", "b"], "has_b": True},
            {"id": 2, "m": None, "a": None, "k": None, "has_b": None}]
        assert spark.sql("SELECT * FROM maps ORDER BY id").toPandas()["m"].tolist() == [{"a": 2.5, "b": 1.0}, None]
        entries = spark.sql("SELECT * FROM entries").collect()
        assert sorted((r.id, r.key, r.value) for r in entries) == [(1, "a", 2.5), (1, "b", 1.0)]
    finally:
        q.stop()
        exploded.stop()


def test_more_of_pysparks_functions_run_as_spark_sqls_of_their_name(spark):
    import datetime

    df = spark.createDataFrame([(2.0, 7, "hello", datetime.date(2024, 1, 3))], "a double, i int, s string, d date")
    row = df.select(F.pmod("i", 3).alias("pmod"), F.power("a", 3).alias("pow"), F.sign(F.lit(-2.5)).alias("sign"),
                    F.nvl2("s", "i", F.lit(0)).alias("nvl2"), F.try_divide("a", F.lit(0)).alias("div"),
                    F.make_date(F.lit(2024), F.lit(2), "i").alias("day"), F.next_day("d", "Mon").alias("monday"),
                    F.left("s", F.lit(2)).alias("left"), F.base64("s").alias("b64"),
                    F.timestamp_millis(F.lit(1000)).alias("ms"),
                    F.named_struct(F.lit("x"), "i").alias("st")).collect()[0]
    assert row.asDict(recursive=True) == {
        "pmod": 1, "pow": 8.0, "sign": -1.0, "nvl2": 7, "div": None, "day": datetime.date(2024, 2, 7),
        "monday": datetime.date(2024, 1, 8), "left": "he", "b64": "aGVsbG8=", "ms": datetime.datetime(1970, 1, 1, 0, 0, 1),
        "st": {"x": 7}}
    assert F.power("a", 2)._name == "POWER(a, 2)" and F.sign("a")._name == "SIGNUM(a)"


def test_a_python_float_is_a_double_literal_named_as_spark_names_it(spark):
    # PySpark 4.3's columns, types and values for the same select (1.5 written in SQL text is a decimal; a
    # Python float given to lit or an operator is a double)
    df = spark.createDataFrame([(1, 2.0)], "id int, x double")
    out = df.select(F.lit(1.5), F.col("id") * 1.5, F.when(F.col("id") > 0, 1).otherwise(1.5),
                    F.lit(0.1) + F.lit(0.2), F.lit(1e20), F.col("x") - (-1.5))
    assert out.columns == ["1.5", "(id * 1.5)", "CASE WHEN (id > 0) THEN 1 ELSE 1.5 END", "(0.1 + 0.2)", "1.0E20",
                           "(x - -1.5)"]
    assert {kind for _, kind in out.dtypes} == {"double"}
    assert tuple(out.collect()[0]) == (1.5, 1.5, 1.0, 0.30000000000000004, 1e20, 3.5)


def test_operator_and_cast_names_are_pyspark_4s(spark):
    # PySpark 4.3's names: 1 + c is c + 1, -c is negative(c), a cast is named after what it casts when that has
    # a name (a column, an alias, through casts), else CAST(... AS T)
    df = spark.createDataFrame([(1, 2.0)], "id int, x double")
    out = df.select(1 + F.col("id"), 2 * F.col("x"), 10 - F.col("id"), -F.col("x"), (F.col("id") + 1).cast("double"),
                    F.col("id").alias("k").cast("string"), F.col("x").cast("int").cast("string"),
                    (F.col("x") * 2).cast("decimal(10,2)"))
    assert out.columns == ["(id + 1)", "(x * 2)", "(10 - id)", "negative(x)", "CAST((id + 1) AS DOUBLE)", "k", "x",
                           "CAST((x * 2) AS DECIMAL(10,2))"]
    assert tuple(out.collect()[0])[:5] == (2, 4.0, 9, -2.0, 2.0)


def test_a_backquoted_name_is_one_part_dots_and_all():
    assert (F.col("`i`")._sql(), F.col("`i`")._name) == ("`i`", "i")
    assert F.col("`a.b`")._sql() == "`a.b`" and F.col("s.`x.y`")._sql() == "`s`.`x.y`"
    assert F.col("`x``y`")._name == "x`y"


def test_a_window_function_is_named_with_its_ordering_and_its_frame_as_spark_names_it():
    from stream_nb.pyspark.sql import Window

    by_s = Window.partitionBy("s")
    ordered = by_s.orderBy("i")
    assert F.row_number().over(ordered)._name == \
        "row_number() OVER (PARTITION BY s ORDER BY i ASC NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    assert F.sum("i").over(ordered)._name == \
        "sum(i) OVER (PARTITION BY s ORDER BY i ASC NULLS FIRST RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    assert F.lag("i").over(ordered)._name == \
        "lag(i, 1, NULL) OVER (PARTITION BY s ORDER BY i ASC NULLS FIRST ROWS BETWEEN -1 FOLLOWING AND -1 FOLLOWING)"
    assert F.lead("i", 2, 0).over(by_s.orderBy(F.desc("i")))._name == \
        "lead(i, 2, 0) OVER (PARTITION BY s ORDER BY i DESC NULLS LAST ROWS BETWEEN 2 FOLLOWING AND 2 FOLLOWING)"
    assert F.sum("i").over(by_s)._name == \
        "sum(i) OVER (PARTITION BY s ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    assert F.avg("i").over(ordered.rowsBetween(-2, Window.currentRow))._name == \
        "avg(i) OVER (PARTITION BY s ORDER BY i ASC NULLS FIRST ROWS BETWEEN -2 FOLLOWING AND CURRENT ROW)"


def test_nth_value_is_the_frames_nth_value_counting_nulls_or_not(spark):
    """PySpark 4's rows: [('a', 1, None, None, None), ('a', 2, 10, None, None), ('a', 3, 10, 20, None),
    ('b', 1, None, None, 5)], and its name for an unaliased nth_value(v, 1) over the window."""
    from stream_nb.pyspark.sql import Window

    df = spark.createDataFrame([("a", 1, None), ("a", 2, 10), ("a", 3, 20), ("b", 1, 5)], "k string, t int, v int")
    w = Window.partitionBy("k").orderBy("t")
    result = df.select("k", "t", F.nth_value("v", 2).over(w).alias("n2"), F.nth_value("v", 2, True).over(w).alias("n2i"),
                       F.nth_value("v", 1).over(w))
    assert sorted(map(tuple, result.collect())) == [
        ("a", 1, None, None, None), ("a", 2, 10, None, None), ("a", 3, 10, 20, None), ("b", 1, None, None, 5)]
    assert result.columns[-1] == \
        "nth_value(v, 1) OVER (PARTITION BY k ORDER BY t ASC NULLS FIRST RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"


def test_order_by_the_expression_a_group_by_grouped_by_sorts_by_its_column(spark):
    df = spark.createDataFrame([("b",), ("a",), ("b",)], "s string")
    result = df.groupBy(F.upper("s")).count().orderBy(F.upper("s").desc())
    assert [tuple(r) for r in result.collect()] == [("B", 2), ("A", 1)]


def test_a_timestamp_a_static_query_computes_is_sparks_timestamp_not_timestamp_ntz(spark):
    import datetime

    df = spark.createDataFrame([("2024-01-01 01:02:03", datetime.datetime(2024, 1, 1, 5), 1700000000)],
                               "s string, t timestamp, e bigint")
    made = df.select(F.to_timestamp("s").alias("a"), F.date_trunc("hour", "t").alias("b"),
                     F.timestamp_seconds("e").alias("c"), (F.col("t") + F.expr("INTERVAL 1 HOUR")).alias("d"),
                     F.col("s").cast("timestamp_ntz").alias("ntz"))
    assert made.schema.simpleString() == "struct<a:timestamp,b:timestamp,c:timestamp,d:timestamp,ntz:timestamp_ntz>"
    assert tuple(made.collect()[0]) == (datetime.datetime(2024, 1, 1, 1, 2, 3), datetime.datetime(2024, 1, 1, 5),
                                        datetime.datetime(2023, 11, 14, 22, 13, 20), datetime.datetime(2024, 1, 1, 6),
                                        datetime.datetime(2024, 1, 1, 1, 2, 3))


def test_functions_have_sparks_result_types_and_the_ones_pyspark_has_are_there(spark):
    import datetime

    df = spark.createDataFrame([("abc", datetime.datetime(2024, 3, 5), datetime.date(2024, 1, 1), [1, 2, 3], 2.5)],
                               "s string, t timestamp, d date, a array<int>, x double")
    typed = df.select(F.datediff("t", "d").alias("dd"), F.locate("b", "s").alias("lo"), F.instr("s", "c").alias("ins"),
                      F.levenshtein("s", F.lit("abd")).alias("lev"), F.octet_length("s").alias("oct"),
                      F.array_size("a").alias("asz"), F.array_position("a", 2).alias("ap"),
                      F.factorial(F.lit(5)).alias("fa"), F.weekday("t").alias("wd"), F.bit_length("s").alias("bl"),
                      F.rint("x").alias("ri"), F.split_part("s", F.lit("b"), F.lit(2)).alias("sp"))
    assert typed.schema.simpleString() == (
        "struct<dd:int,lo:int,ins:int,lev:int,oct:int,asz:int,ap:bigint,fa:bigint,wd:int,bl:int,ri:double,sp:string>")
    assert tuple(typed.collect()[0]) == (64, 2, 3, 1, 3, 3, 2, 120, 1, 24, 2.0, "c")


def test_json_tuple_gives_a_string_column_per_field_as_spark(spark):
    """PySpark 4's answers: c0, c1 ... (or the alias's names), NULL for an absent field or a value not JSON."""
    df = spark.createDataFrame([('{"a": 1.50, "b": "x", "c": {"d": [1, 2]}}',), ("not json",), (None,)], "j string")
    assert [tuple(r) for r in df.select(F.json_tuple("j", "a", "b", "c")).collect()] == [
        ("1.5", "x", '{"d":[1,2]}'), (None, None, None), (None, None, None)]
    assert df.select(F.json_tuple("j", "a", "b").alias("x", "y")).columns == ["x", "y"]
    assert df.select("j", F.json_tuple("j", "b")).columns == ["j", "c0"]
