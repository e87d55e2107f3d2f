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


def test_a_header_line_is_skipped_and_the_schema_read_by_position_whatever_the_header_names(spark, tmp_path):
    """Spark's enforceSchema (on by default): with header=true and a schema, the header's names are not
    matched to the schema's; PySpark 4.3 gives these rows for these files."""
    (tmp_path / "a.csv").write_text("b,a\n2,1\n")
    (tmp_path / "b.csv").write_text("ID,Name\n3,zed\n")
    df = spark.readStream.option("header", True).schema("a INT, b STRING").csv(str(tmp_path))
    assert sorted(_rows(spark, df, "csv_by_position")) == [(2, "1"), (3, "zed")]
    static = spark.read.option("header", True).schema("a INT, b STRING").csv(str(tmp_path))
    assert sorted(tuple(row) for row in static.collect()) == [(2, "1"), (3, "zed")]


def test_sep_splits_fields_on_another_character_as_sparks_option(spark, tmp_path):
    (tmp_path / "a.csv").write_text("a;b\n1;x y\n2;z\n")
    streamed = spark.readStream.option("header", True).option("sep", ";").schema("a INT, b STRING").csv(str(tmp_path))
    assert _rows(spark, streamed, "csv_sep") == [(1, "x y"), (2, "z")]
    static = spark.read.csv(str(tmp_path), sep=";", header=True)
    assert [tuple(row) for row in static.collect()] == [("1", "x y"), ("2", "z")]


@pytest.mark.parametrize(("option", "value"), [("multiLine", True), ("mode", "DROPMALFORMED"),
                                               ("timestampFormat", "dd/MM/yyyy HH:mm"), ("nullValue", "NA")])
def test_a_file_option_that_would_be_ignored_is_refused_naming_it(spark, folder, option, value):
    from stream_nb.pyspark.errors import PySparkNotImplementedError

    with pytest.raises(PySparkNotImplementedError, match=option.lower()):
        spark.readStream.schema("a INT, b STRING").option(option, value).csv(folder)
    spark.readStream.schema("a INT, b STRING").option("mode", "FAILFAST").option("multiLine", False).csv(folder)
