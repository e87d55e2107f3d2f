"""The static DataFrame API against PySpark 4's answers (found by random differential programs run on both):
each expected value or error below is what PySpark 4 (local, session time zone UTC, ANSI off) gives."""

import itertools

import pytest

from stream_nb.pyspark.errors import AnalysisException, PySparkTypeError, PySparkValueError
from stream_nb.pyspark.sql import Window
from stream_nb.pyspark.sql import functions as F


@pytest.fixture
def df(spark):
    return spark.createDataFrame([("a", 1, 1.0), ("a", 2, None), ("b", None, 3.0), ("b", 2, float("nan")),
                                  (None, 5, -1.0), ("a", 1, 2.0)], "k string, v int, x double")


@pytest.mark.parametrize("call", [F.count_distinct("v"), F.countDistinct("v", "x"), F.sum_distinct("v"),
                                  F.expr("avg(DISTINCT v)")])
def test_an_aggregate_of_distinct_values_over_a_window_is_refused(df, call):
    """Spark: [DISTINCT_WINDOW_FUNCTION_UNSUPPORTED] Distinct window functions are not supported: "count(DISTINCT
    v) OVER (PARTITION BY k ...)" (DuckDB would answer it)."""
    with pytest.raises(AnalysisException, match="Distinct window functions are not supported") as err:
        df.withColumn("c", call.over(Window.partitionBy("k"))).collect()
    assert err.value.getCondition() == "DISTINCT_WINDOW_FUNCTION_UNSUPPORTED"


def test_sql_refuses_a_distinct_window_function_too(spark, df):
    df.createOrReplaceTempView("distinct_windows")
    with pytest.raises(AnalysisException, match="DISTINCT_WINDOW_FUNCTION_UNSUPPORTED"):
        spark.sql("SELECT k, count(DISTINCT v) OVER (PARTITION BY k ORDER BY v) AS c FROM distinct_windows").collect()
    rows = spark.sql("SELECT k, count(v) OVER (PARTITION BY k) AS c FROM distinct_windows").collect()
    assert sorted((r.k or "", r.c) for r in rows) == [("", 1), ("a", 3), ("a", 3), ("a", 3), ("b", 1), ("b", 1)]


@pytest.fixture
def typed(spark):
    return spark.createDataFrame([("a", 1, None, 1.5, None), (None, None, 7, float("nan"), "2024-01-02")],
                                 "k string, g int, v bigint, x double, s string")


def test_fillna_of_a_number_reads_it_as_a_double_and_its_columns_nullable_as_sparks_casts(typed):
    """PySpark hands fillna's number over as a double: 1e12 fills an int column with 2147483647 (a double's cast);
    coalesce(nanvl(x, NULL), CAST(v AS type)) is never NULL where that cast never is (x), else nullable (g, v)."""
    filled = typed.fillna(10**12)
    assert [tuple(r) for r in filled.collect()] == [("a", 1, 1000000000000, 1.5, None),
                                                    (None, 2147483647, 7, 1e12, "2024-01-02")]
    assert [(f.name, f.nullable) for f in filled.schema.fields] == [
        ("k", True), ("g", True), ("v", True), ("x", False), ("s", True)]
    assert [f.nullable for f in typed.fillna("z").schema.fields] == [False, True, True, True, False]
    assert [f.nullable for f in typed.fillna(True).schema.fields] == [True] * 5


def test_fillna_of_a_dict_fills_each_column_it_names_whatever_its_type_cast_to_it(typed):
    """Spark's fill(Map): no kind check, the value cast to the column (a string to an int, an int to a string);
    names in any case, the last of two for one column winning; a column none has is Spark's error."""
    filled = typed.fillna({"K": 1, "g": "5", "x": 1, "X": 2.0, "s": "q"})
    assert [tuple(r) for r in filled.collect()] == [("a", 1, None, 1.5, "q"), ("1", 5, 7, 2.0, "2024-01-02")]
    assert [f.nullable for f in filled.schema.fields] == [False, True, True, False, False]
    with pytest.raises(AnalysisException, match="UNRESOLVED_COLUMN.WITH_SUGGESTION"):
        typed.fillna({"zz": 1})
    with pytest.raises(AnalysisException, match="`zz` cannot be resolved"):
        typed.fillna(1, subset=["zz"])
    with pytest.raises(AnalysisException, match="UNRESOLVED_COLUMN"):
        typed.dropna(subset=["zz"])


def test_fill_and_drop_read_a_name_with_a_dot_as_one_column(spark):
    df = spark.createDataFrame([(None,), (2.0,)], "`a.b` double")
    assert [tuple(r) for r in df.fillna(1.0).collect()] == [(1.0,), (2.0,)]
    assert df.dropna().count() == 1


def test_dropna_refuses_another_how_with_sparks_error(typed):
    with pytest.raises(PySparkValueError, match=r"VALUE_NOT_ALLOWED.*\['any', 'all'\]"):
        typed.dropna(how="xx")


def test_a_literal_is_never_null_and_a_cast_of_one_as_sparks_cast_may_give_null(spark):
    """PySpark 4's nullability of literals and casts of them (Cast.forceNullable, ANSI off)."""
    import datetime as dt

    df = spark.createDataFrame([(1,)], "a int").select(
        F.lit(dt.date(2024, 1, 1)).alias("date"), F.lit(dt.datetime(2024, 1, 1, 5)).alias("ts"),
        F.lit(float("nan")).alias("nan"), F.expr("DATE '2024-01-01'").alias("typed"),
        F.expr("CAST('2024-01-01' AS DATE)").alias("parsed"), F.lit("2024-01-01").cast("date").alias("string_date"),
        F.lit(1).cast("string").alias("to_string"), F.lit(1.5).cast("int").alias("double_int"),
        F.lit(True).cast("int").alias("bool_int"), F.expr("cast(1.5 as decimal(3,2))").alias("wider"),
        F.expr("cast(12.5 as decimal(3,2))").alias("narrower"), F.lit(1).cast("decimal(12,2)").alias("int_fits"),
        F.lit(1).cast("decimal(11,2)").alias("int_may_not"), F.expr("-1").alias("negative"))
    assert [f.name for f in df.schema.fields if f.nullable] == [
        "parsed", "string_date", "double_int", "narrower", "int_may_not"]


def nullable(df) -> list[str]:
    return [f.name for f in df.schema.fields if f.nullable]


def test_nullability_of_expressions_as_sparks_analyzer_says(df):
    """PySpark 4's df.schema: an expression NULL only of a NULL operand is never NULL of never-NULL ones; CASE
    with every branch and ELSE never NULL; IS NULL, size (ANSI off), greatest of one never-NULL value; a
    division may be NULL (by 0), a CASE without ELSE too."""
    out = df.select(F.when(F.col("v") > 1, 1).otherwise(0).alias("case"), F.when(F.col("v") > 1, 1).alias("no_else"),
                    F.col("x").isNull().alias("is_null"), F.size(F.split("k", ",")).alias("size"),
                    F.greatest("v", F.lit(1)).alias("greatest"), (F.lit(1) == 1).alias("eq"),
                    F.upper(F.lit("a")).alias("upper"), (F.lit(4) / 2).alias("div"), (F.lit(4) % 3).alias("mod"),
                    F.length(F.lit("ab")).alias("length"), F.count("*").over(Window.partitionBy("k")).alias("n"),
                    F.lag(F.lit(1)).over(Window.orderBy("v")).alias("lag"))
    assert nullable(out) == ["no_else", "div", "mod", "lag"]


def test_a_union_is_never_null_where_each_side_is_by_position_and_a_join_where_its_side_keeps_every_row(df, spark):
    one = df.select(F.lit(1).alias("one"), "k")
    assert nullable(one.union(df.select(F.lit(2), "k"))) == ["k"]
    assert nullable(one.union(df.select(F.lit(None).cast("int"), "k"))) == ["one", "k"]
    assert nullable(one.unionByName(df.select("k", F.lit(3).alias("one")))) == ["k"]
    other = spark.createDataFrame([("a", "p")], "k string, s string").select("k", F.lit(1).alias("o"), "s")
    assert nullable(one.join(other, ["k"], "inner")) == ["k", "s"]
    assert nullable(one.join(other, ["k"], "left")) == ["k", "o", "s"]
    assert nullable(one.join(other, ["k"], "right")) == ["k", "one", "s"]
    assert nullable(one.join(other, one.k == other.k, "left_semi")) == ["k"]
    semi = one.join(other, one.k == other.k, "left_semi")
    assert nullable(semi.unionByName(semi.select("k", "one"))) == ["k"]  # a side's a.* read by position
    assert nullable(one.join(other, "k").select(one.one, "s")) == ["s"]
    assert nullable(one.alias("a").select("a.one", "a.k")) == ["k"]


def test_a_cross_join_with_keys_or_a_condition_is_an_inner_join(df, spark):
    """Spark: join(other, ["k"], "cross") joins on k (stream_nb wrote CROSS JOIN ... ON, which DuckDB refused)."""
    other = spark.createDataFrame([("a", "p"), ("b", "q")], "k string, s string")
    assert sorted((tuple(r) for r in df.join(other, ["k"], "cross").select("k", "v", "s").collect()), key=str) == [
        ("a", 1, "p"), ("a", 1, "p"), ("a", 2, "p"), ("b", 2, "q"), ("b", None, "q")]
    assert df.join(other, df.k == other.k, "cross").count() == 5
    assert df.crossJoin(other).count() == 12


@pytest.mark.parametrize(("window", "condition"), [
    (F.row_number().over(Window.partitionBy("k")), "WINDOW_FUNCTION_FRAME_NOT_ORDERED"),
    (F.lag("v").over(Window.partitionBy("k")), "WINDOW_FUNCTION_FRAME_NOT_ORDERED"),
    (F.rank().over(Window.orderBy("v").rowsBetween(-1, 1)), "_LEGACY_ERROR_TEMP_1036"),
    (F.sum("v").over(Window.orderBy("k", "v").rangeBetween(-1, 1)), "DATATYPE_MISMATCH.RANGE_FRAME_MULTI_ORDER"),
    (F.sum("v").over(Window.orderBy(F.to_date(F.lit("2024-01-01"))).rangeBetween(-1, 1)),
     "DATATYPE_MISMATCH.RANGE_FRAME_INVALID_TYPE"),
    (F.sum("v").over(Window.orderBy("k").rangeBetween(-1, 0)),
     "DATATYPE_MISMATCH.SPECIFIED_WINDOW_FRAME_UNACCEPTED_TYPE"),
])
def test_windows_spark_refuses_are_refused(df, window, condition):
    """PySpark 4 refuses these with these conditions (DuckDB answered the first three)."""
    with pytest.raises(AnalysisException) as err:
        df.withColumn("w", window).collect()
    assert err.value.getCondition() == condition
    ranked = df.withColumn("w", F.row_number().over(Window.orderBy("v").rowsBetween(Window.unboundedPreceding, 0)))
    assert ranked.count() == 6  # the frame a ranking function has anyway is accepted


def test_over_the_window_class_itself_is_refused_as_pyspark_refuses_it():
    with pytest.raises(PySparkTypeError, match="should be WindowSpec, got type"):
        F.sum("v").over(Window)


@pytest.mark.parametrize(("build", "condition"), [
    (lambda df: df.select("zz"), "UNRESOLVED_COLUMN.WITH_SUGGESTION"),
    (lambda df: df.filter("zz > 1"), "UNRESOLVED_COLUMN.WITH_SUGGESTION"),
    (lambda df: df.groupBy("k").agg(F.col("v")), "MISSING_AGGREGATION"),
    (lambda df: df.select(F.sum("v"), "k"), "MISSING_GROUP_BY"),
    (lambda df: df.select("k").union(df.select("k", "v")), "NUM_COLUMNS_MISMATCH"),
    (lambda df: df.unionByName(df.select("k")), "UNRESOLVED_COLUMN_AMONG_FIELD_NAMES"),
    (lambda df: df.dropDuplicates(["zz"]), "UNRESOLVED_COLUMN_AMONG_FIELD_NAMES"),
    (lambda df: df.filter(F.col("v")), "DATATYPE_MISMATCH.FILTER_NOT_BOOLEAN"),
    (lambda df: df.select(F.create_map(F.lit("a"), "v").alias("m")).distinct(),
     "UNSUPPORTED_FEATURE.SET_OPERATION_ON_MAP_TYPE"),
    (lambda df: df.select(F.create_map(F.lit("a"), "v").alias("m")).orderBy("m"),
     "DATATYPE_MISMATCH.INVALID_ORDERING_TYPE"),
])
def test_what_the_analyzer_refuses_has_sparks_condition(df, build, condition):
    with pytest.raises(AnalysisException) as err:
        build(df).collect()
    assert err.value.getCondition() == condition


def test_describe_crosstab_pivot_and_decimal_literals_as_spark(spark):
    import decimal

    df = spark.createDataFrame([("a", True, decimal.Decimal("1.25"), 1.5), ("a", None, decimal.Decimal("-2.50"), None),
                                ("b", False, None, float("nan"))], "k string, b boolean, d decimal(10,2), x double")
    assert [tuple(r) for r in df.describe("d").collect()][1] == ("mean", "-0.625000")  # avg of the decimal
    table = df.crosstab("k", "b")  # the values as text, sorted so; counts never NULL
    assert table.columns == ["k_b", "false", "null", "true"]
    assert [f.nullable for f in table.schema.fields] == [True, False, False, False]
    assert df.groupBy("k").pivot("x").count().columns == ["k", "null", "1.5", "NaN"]
    assert sorted(df.groupBy("k").pivot("d").count().columns) == ["-2.50", "1.25", "k", "null"]
    literal = df.select(F.lit(decimal.Decimal("-2.50")).alias("l"))
    assert literal.dtypes == [("l", "decimal(3,2)")] and not literal.schema["l"].nullable
    assert literal.first().l == decimal.Decimal("-2.50")
    assert not df.rollup("k").agg(F.grouping_id()).schema["grouping_id()"].nullable


def test_rows_a_window_ties_are_numbered_in_their_input_order_as_sparks_stable_sort(spark):
    """PySpark 4 (checked on 400 rows): row_number / lag over ORDER BY g numbers rows with one g in the order they
    came, a ROWS frame reads them so, and so does a sort over that window (DuckDB's sort is not stable)."""
    rows = [(i, "ab"[i * 7 % 3 % 2], i * 5 % 3) for i in range(300)]
    df = spark.createDataFrame(rows, "id int, k string, g int")
    ranked = df.withColumn("r", F.row_number().over(Window.partitionBy("k").orderBy("g"))) \
        .withColumn("before", F.lag("id").over(Window.partitionBy("k").orderBy("g"))) \
        .withColumn("s", F.sum("id").over(Window.partitionBy("k").orderBy("g").rowsBetween(-1, 0)))
    for got in (ranked.collect(), ranked.orderBy("k", "r").collect()):
        by_key = {}
        for row in sorted(got, key=lambda r: (r.k, r.r)):
            by_key.setdefault(row.k, []).append(row)
        for seq in by_key.values():
            assert [(r.g, r.id) for r in seq] == sorted((r.g, r.id) for r in seq)
            assert [r.before for r in seq] == [None] + [r.id for r in seq[:-1]]
            assert [r.s for r in seq] == [seq[0].id] + [a.id + b.id for a, b in itertools.pairwise(seq)]


def test_to_pandas_gives_structs_and_maps_as_dicts_an_integer_a_float_where_one_is_null(spark):
    """PySpark 4.3's toPandas: a struct is a dict; its int field (or a map's values) floats where one is NULL,
    which stays None."""
    df = spark.createDataFrame([("a", 1, 5), ("b", None, 6)], "k string, g int, h int")
    frame = df.select(F.struct("k", "g").alias("s"), F.struct(F.struct("k").alias("i"), "h").alias("t"),
                      F.create_map(F.lit("a"), F.col("g")).alias("m")).toPandas()
    assert frame.values.tolist() == [[{"k": "a", "g": 1.0}, {"i": {"k": "a"}, "h": 5}, {"a": 1.0}],
                                     [{"k": "b", "g": None}, {"i": {"k": "b"}, "h": 6}, {"a": None}]]
    assert type(frame.iloc[0, 1]["h"]) is int


def test_a_collected_list_holds_no_null_as_sparks_schema_says(df):
    """PySpark 4: collect_list / collect_set are array<...> with containsNull false, grouped or over a window."""
    grouped = df.groupBy("k").agg(F.collect_list("v").alias("l"), F.collect_set("x").alias("s"))
    windowed = df.select(F.collect_list("v").over(Window.partitionBy("k")).alias("l"))
    for frame in (grouped, windowed, grouped.select("l"), grouped.union(grouped)):
        assert not frame.schema["l"].dataType.containsNull and not frame.schema["l"].nullable
