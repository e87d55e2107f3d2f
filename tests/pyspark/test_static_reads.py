"""``spark.read`` of csv, json and parquet files keeps a NULL a NULL (through pandas a NULL double was NaN), and a
NaN the file holds a NaN. Expected values: what PySpark 4.3 gives for the same files."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stream_nb.pyspark.sql import Row
from stream_nb.pyspark.sql import functions as F


@pytest.fixture
def files(tmp_path):
    (tmp_path / "nulls.csv").write_text("a,x\n1,1.5\n2,\n")
    (tmp_path / "nulls.json").write_text('{"a":1,"x":1.5}\n{"a":2}\n')
    pq.write_table(pa.table({"a": [1, 2], "x": [1.5, None]}), tmp_path / "nulls.parquet")
    return tmp_path


def _reads(spark, files):
    return {
        "csv inferSchema": spark.read.csv(str(files / "nulls.csv"), header=True, inferSchema=True),
        "csv schema": spark.read.schema("a int, x double").csv(str(files / "nulls.csv"), header=True),
        "parquet": spark.read.parquet(str(files / "nulls.parquet")),
        "json": spark.read.json(str(files / "nulls.json")),
    }


@pytest.mark.parametrize("kind", ["csv inferSchema", "csv schema", "parquet", "json"])
def test_a_missing_double_reads_as_null_not_nan(spark, files, kind):
    df = _reads(spark, files)[kind]
    assert df.schema["x"].dataType.simpleString() == "double"
    assert [tuple(r) for r in df.collect()] == [(1, 1.5), (2, None)]
    assert df.where(F.col("x").isNull()).count() == 1
    assert df.agg(F.avg("x"), F.count("x")).collect() == [Row(**{"avg(x)": 1.5, "count(x)": 1})]


def test_a_missing_double_shows_as_null(spark, files, capsys):
    spark.read.parquet(str(files / "nulls.parquet")).show()
    assert capsys.readouterr().out == (
        "+---+----+\n"
        "|  a|   x|\n"
        "+---+----+\n"
        "|  1| 1.5|\n"
        "|  2|NULL|\n"
        "+---+----+\n\n")


def test_a_nan_in_a_parquet_file_stays_nan_beside_a_null(spark, tmp_path):
    pq.write_table(pa.table({"x": [float("nan"), None, 2.0]}), tmp_path / "nan.parquet")
    df = spark.read.parquet(str(tmp_path / "nan.parquet"))
    assert df.where(F.isnan("x")).count() == 1 and df.where(F.col("x").isNull()).count() == 1
    assert df.agg(F.count("x")).collect()[0][0] == 2


def test_inferred_schemas_are_sparks_csv_ints_that_fit_are_int_json_fields_in_name_order_times_strings(spark,
                                                                                                      tmp_path):
    (tmp_path / "small.csv").write_text("a,b\n1,2.5\n2,\n")
    (tmp_path / "big.csv").write_text("a,b\n1,2.5\n3000000000,3\n")
    (tmp_path / "x.json").write_text('{"z": 1, "a": "2024-01-01T00:00:01", "m": {"y": 1, "b": 2}}\n')
    read = spark.read.csv
    assert read(str(tmp_path / "small.csv"), header=True, inferSchema=True).schema.simpleString() == \
        "struct<a:int,b:double>"
    assert read(str(tmp_path / "big.csv"), header=True, inferSchema=True).schema.simpleString() == \
        "struct<a:bigint,b:double>"
    json = spark.read.json(str(tmp_path / "x.json"))
    assert json.schema.simpleString() == "struct<a:string,m:struct<b:bigint,y:bigint>,z:bigint>"
    assert tuple(json.collect()[0]) == ("2024-01-01T00:00:01", (2, 1), 1)
