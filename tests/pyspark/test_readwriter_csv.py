"""``spark.readStream.csv`` and ``spark.read.csv`` take Spark's default: no header line (columns by position, as
the schema names them) unless ``option("header", True)``. Expected rows: what PySpark 4.3 returns for the same
files."""

import pytest


def _rows(spark, df, name):
    q = df.writeStream.format("memory").queryName(name).start()
    q.processAllAvailable()
    q.stop()
    return [tuple(row) for row in spark.sql(f"SELECT * FROM {name}").collect()]


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "a.csv").write_text("1,x\n2,y\n")
    return str(tmp_path)


def test_read_stream_csv_has_no_header_line_by_default(spark, folder):
    df = spark.readStream.schema("a INT, b STRING").csv(folder)
    assert _rows(spark, df, "csv_default") == [(1, "x"), (2, "y")]


def test_format_csv_load_has_no_header_line_by_default(spark, folder):
    df = spark.readStream.format("csv").schema("a INT, b STRING").load(folder)
    assert _rows(spark, df, "csv_format") == [(1, "x"), (2, "y")]


@pytest.mark.parametrize("header", [True, "true", "True"])
def test_option_header_true_reads_the_first_line_as_names(spark, folder, header):
    df = spark.readStream.schema("`1` STRING, x STRING").option("header", header).csv(folder)
    assert _rows(spark, df, "csv_header") == [("2", "y")]


def test_csv_keyword_header_true(spark, folder):
    df = spark.readStream.csv(folder, schema="`1` INT, x STRING", header=True)
    assert _rows(spark, df, "csv_keyword") == [(2, "y")]


def test_static_read_csv_without_a_schema_names_columns_c0_c1_of_strings(spark, folder):
    df = spark.read.csv(folder)
    assert df.columns == ["_c0", "_c1"]
    assert [tuple(row) for row in df.collect()] == [("1", "x"), ("2", "y")]
    named = spark.read.option("header", True).csv(folder)
    assert named.columns == ["1", "x"] and [tuple(row) for row in named.collect()] == [("2", "y")]
    assert [tuple(row) for row in spark.read.option("inferSchema", True).csv(folder).collect()] == \
        [(1, "x"), (2, "y")]
