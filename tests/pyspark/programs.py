"""PySpark Structured Streaming programs, written once, run on real PySpark and on ``stream_nb.pyspark``.

Each program is plain PySpark: a function of a ``spark`` session, the ``functions`` module ``F``, the ``types``
module ``T`` and an input directory, that builds a streaming query with the DataFrame API and starts it into a
memory sink named by ``queryName`` (or, for ``foreachBatch``, into ``COLLECTED``). Only the modules it is handed
differ between the two runs. ``@program`` registers it with the JSON-lines batches it is fed, one file per
micro-batch (``maxFilesPerTrigger`` 1). A program whose stream_nb side is not there yet names the missing
piece in ``pending``.

Programs over two streams (joins, union) read ONE directory whose rows carry a ``kind`` and split it with
``where``: two file sources are listed one after the other within a trigger, so a batch written as two files
could be split across two of Spark's micro-batches; one file per batch cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Program:
    name: str
    build: Callable[..., Any]  # (spark, F, T, indir) -> the started StreamingQuery
    batches: tuple[tuple[dict[str, Any], ...], ...]
    pending: str = ""


PROGRAMS: list[Program] = []
COLLECTED: dict[str, list[tuple]] = {}  # what foreachBatch programs write, by query name


def program(batches, pending: str = ""):
    def register(fn):
        PROGRAMS.append(Program(fn.__name__, fn, batches, pending))
        return fn
    return register


def at(seconds: int) -> str:
    return f"2024-01-01T00:{seconds // 60:02d}:{seconds % 60:02d}.000Z"


# -- inputs -------------------------------------------------------------------------------------------------

EVENTS = "ts TIMESTAMP, device STRING, temp DOUBLE, n BIGINT, text STRING, payload STRING"


def _event(s, device, temp, n, text, payload):
    return {"ts": at(s), "device": device, "temp": temp, "n": n, "text": text, "payload": payload}


# Event time moves forward with some disorder; batch 2 holds a row older than the watermark (5 s behind the
# largest time seen) and batch 1 a duplicate of one of batch 0's rows.
EVENT_BATCHES = (
    (_event(1, "a", 20.5, 1, "the quick fox", '{"kind": "x", "v": 1, "tags": ["p", "q"]}'),
     _event(4, "b", 18.0, 2, " the lazy dog ", '{"kind": "y", "v": 2}'),
     _event(7, "a", 22.0, 3, "quick quick", '{"kind": "x", "v": 3, "tags": []}')),
    (_event(12, "c", 25.5, 4, "a fox", '{"kind": "z", "v": 4}'),
     _event(9, "b", 19.0, 5, "lazy", '{"kind": "y"}'),
     _event(7, "a", 22.0, 3, "quick quick", '{"kind": "x", "v": 3, "tags": []}'),
     _event(14, "a", 21.0, 1, "the end", '{"kind": "x", "v": 6}')),
    (_event(23, "a", 23.5, 2, "fox and dog", '{"kind": "z", "v": 7}'),
     _event(21, "c", None, 7, None, None),
     _event(2, "b", 17.5, 9, "late", '{"kind": "y", "v": 9}')),
    (_event(35, "b", 20.0, 3, "quick dog", '{"kind": "y", "v": 10}'),
     _event(31, "a", 24.0, 4, "the fox", '{"kind": "x", "v": 11}'),
     _event(33, "a", 24.5, 5, "fox", '{"kind": "x", "v": 12}')),
    (_event(58, "c", 26.0, 6, "dog", '{"kind": "z", "v": 13}'),
     _event(50, "a", 19.5, 7, "lazy fox", '{"kind": "x", "v": 14}')),
)

ADS = "kind STRING, ad BIGINT, at TIMESTAMP"


def _ad(kind, ad, s):
    return {"kind": kind, "ad": ad, "at": at(s)}


# Impressions and clicks of ads in one stream (``kind``); a click within 10 s of its impression joins.
AD_BATCHES = (
    (_ad("imp", 1, 1), _ad("imp", 2, 2), _ad("click", 1, 5)),
    (_ad("imp", 3, 8), _ad("click", 2, 20), _ad("imp", 4, 12)),
    (_ad("click", 3, 14), _ad("imp", 5, 25), _ad("click", 4, 13)),
    (_ad("imp", 6, 40), _ad("click", 5, 30)),
    (_ad("imp", 7, 70), _ad("click", 6, 72)),
)


def events(spark, indir):
    return spark.readStream.schema(EVENTS).option("maxFilesPerTrigger", 1).json(indir)


def ads(spark, indir):
    return spark.readStream.schema(ADS).option("maxFilesPerTrigger", 1).json(indir)


def memory(df, name, mode="append"):
    return df.writeStream.format("memory").queryName(name).outputMode(mode).start()



# -- projections and filters --------------------------------------------------------------------------------


@program(EVENT_BATCHES)
def select_columns(spark, F, T, indir):
    return memory(events(spark, indir).select("ts", "device", F.col("temp")), "select_columns")


@program(EVENT_BATCHES)
def select_expr(spark, F, T, indir):
    df = events(spark, indir).selectExpr("device", "temp * 2 AS double_temp", "upper(device) AS big",
                                         "n + 1 AS next")
    return memory(df, "select_expr")


@program(EVENT_BATCHES)
def where_sql_string(spark, F, T, indir):
    return memory(events(spark, indir).where("temp > 20 AND device <> 'c'"), "where_sql_string")


@program(EVENT_BATCHES)
def where_on_a_column_the_select_dropped(spark, F, T, indir):
    return memory(events(spark, indir).select("device").where("temp > 20"), "where_on_a_column_the_select_dropped")


@program(EVENT_BATCHES)
def filter_column(spark, F, T, indir):
    df = events(spark, indir).filter((F.col("temp") >= 19) | F.col("temp").isNull()).filter(F.col("n") != 3)
    return memory(df.select("device", "temp", "n"), "filter_column")


@program(EVENT_BATCHES)
def with_column(spark, F, T, indir):
    df = events(spark, indir).withColumn("fahrenheit", F.col("temp") * 9 / 5 + 32).withColumn("one", F.lit(1))
    return memory(df.select("device", "fahrenheit", "one"), "with_column")


@program(EVENT_BATCHES)
def with_column_renamed_and_drop(spark, F, T, indir):
    df = events(spark, indir).withColumnRenamed("temp", "celsius").drop("payload", "text")
    return memory(df, "with_column_renamed_and_drop")


@program(EVENT_BATCHES)
def dataframe_alias(spark, F, T, indir):
    df = events(spark, indir).alias("e").select(F.col("e.device"), F.col("e.n").alias("count"))
    return memory(df, "dataframe_alias")


@program(EVENT_BATCHES)
def column_operators(spark, F, T, indir):
    c = F.col
    df = events(spark, indir).select(
        (c("n") % 2).alias("odd"), (-c("temp")).alias("neg"), (c("n") * 10 - 1).alias("lin"),
        c("device").isin("a", "b").alias("ab"), c("n").between(2, 4).alias("mid"),
        c("temp").isNull().alias("no_temp"), c("text").isNotNull().alias("has_text"),
        (~(c("n") > 3)).alias("small"), c("n").cast("string").alias("n_text"),
        c("temp").cast(T.IntegerType()).alias("temp_int"), c("text").like("%fox%").alias("foxy"),
        c("text").contains("quick").alias("quick"), c("device").startswith("a").alias("is_a"))
    return memory(df, "column_operators")


@program(EVENT_BATCHES)
def when_otherwise(spark, F, T, indir):
    df = events(spark, indir).select("device", F.when(F.col("temp") > 22, "hot").when(F.col("temp") > 19, "warm")
                                     .otherwise("cold").alias("feel"),
                                     F.when(F.col("n") > 4, F.col("n")).alias("big_n"))
    return memory(df, "when_otherwise")


@program(EVENT_BATCHES)
def string_functions(spark, F, T, indir):
    t = F.col("text")
    df = events(spark, indir).select(
        F.upper(t).alias("up"), F.lower(F.col("device")).alias("low"), F.length(t).alias("len"),
        F.trim(t).alias("trimmed"), F.concat_ws("-", F.col("device"), t).alias("joined"),
        F.substring(t, 1, 3).alias("head"), F.regexp_replace(t, "o", "0").alias("zeroed"),
        F.initcap(t).alias("title"), F.concat(F.col("device"), F.lit("!")).alias("shout"),
        F.regexp_extract(t, r"(\w+) (\w+)", 2).alias("second"), F.reverse(F.col("device")).alias("rev"))
    return memory(df, "string_functions")


@program(EVENT_BATCHES)
def date_functions(spark, F, T, indir):
    ts = F.col("ts")
    df = events(spark, indir).select(
        F.year(ts).alias("y"), F.month(ts).alias("m"), F.dayofmonth(ts).alias("d"), F.hour(ts).alias("h"),
        F.minute(ts).alias("mi"), F.second(ts).alias("s"), F.to_date(ts).alias("day"),
        F.date_format(ts, "yyyy-MM-dd HH:mm:ss").alias("text"), F.date_trunc("minute", ts).alias("minute"),
        F.unix_timestamp(ts).alias("epoch"), F.date_add(F.to_date(ts), 1).alias("tomorrow"))
    return memory(df, "date_functions")


@program(EVENT_BATCHES)
def more_string_date_and_array_functions(spark, F, T, indir):
    t, ts = F.col("text"), F.col("ts")
    df = events(spark, indir).select(
        "n", F.instr(t, "fox").alias("fox_at"), F.lpad("device", 3, "*").alias("lp"),
        F.rpad("device", 3, "-").alias("rp"), F.translate(t, "aeo", "AEO").alias("tr"), F.md5("device").alias("md5"),
        F.date_sub(ts, 1).alias("day_before"), F.add_months(ts, 1).alias("month_on"), F.last_day(ts).alias("eom"),
        F.weekofyear(ts).alias("week"), F.quarter(ts).alias("q"), F.dayofyear(ts).alias("doy"),
        F.array_contains(F.split(t, " "), "fox").alias("has_fox"), F.element_at(F.split(t, " "), 1).alias("w1"),
        F.signum(F.col("temp") - 21).alias("sign"), F.isnan("temp").alias("nan"), F.log("n").alias("ln_n"),
        F.log(2.0, "n").alias("log2_n"), F.pow("n", 2).alias("n2"))
    return memory(df, "more_string_date_and_array_functions")


@program(EVENT_BATCHES)
def numeric_functions(spark, F, T, indir):
    t = F.col("temp")
    df = events(spark, indir).select(
        F.round(t * 1.37, 1).alias("r"), F.abs(t - 21).alias("off"), F.floor(t).alias("fl"), F.ceil(t).alias("ce"),
        F.sqrt(F.col("n")).alias("root"), F.greatest(t, F.lit(20.0)).alias("at_least_20"),
        F.least(F.col("n"), F.lit(3)).alias("at_most_3"), F.coalesce(t, F.lit(-1.0)).alias("or_minus_one"))
    return memory(df, "numeric_functions")


@program(EVENT_BATCHES)
def explode_split_words(spark, F, T, indir):
    df = events(spark, indir).select("device", F.explode(F.split(F.col("text"), " ")).alias("word"))
    return memory(df.where(F.length("word") > 0), "explode_split_words")


@program(EVENT_BATCHES)
def from_json_struct(spark, F, T, indir):
    schema = T.StructType([T.StructField("kind", T.StringType()), T.StructField("v", T.LongType())])
    df = events(spark, indir).select("device", F.from_json(F.col("payload"), schema).alias("p"))
    return memory(df.select("device", "p.*"), "from_json_struct")


@program(EVENT_BATCHES)
def from_json_ddl_and_explode(spark, F, T, indir):
    df = events(spark, indir).select(F.from_json("payload", "kind STRING, tags ARRAY<STRING>").alias("p"))
    return memory(df.select(F.col("p.kind").alias("kind"), F.explode("p.tags").alias("tag")),
                  "from_json_ddl_and_explode")


@program(EVENT_BATCHES)
def from_json_of_malformed_text_is_permissive(spark, F, T, indir):
    # text is not JSON (and once NULL): PySpark's PERMISSIVE default gives a struct of NULL fields, no error
    df = events(spark, indir).select("n", F.from_json("text", "kind STRING, v INT").alias("p"))
    return memory(df.select("n", "p.kind", "p.v", F.col("p").isNull().alias("no_struct")),
                  "from_json_of_malformed_text_is_permissive")


@program(EVENT_BATCHES)
def text_source_lines_counted(spark, F, T, indir):
    # the text source reads each line (here a JSON document) into one string column, value
    lines = spark.readStream.option("maxFilesPerTrigger", 1).text(indir)
    devices = lines.select(F.get_json_object("value", "$.device").alias("device"), F.length("value").alias("len"))
    return memory(devices.groupBy("device").agg(F.count("*").alias("lines"), F.max("len").alias("longest")),
                  "text_source_lines_counted", "complete")


@program(EVENT_BATCHES)
def get_json_object_fields(spark, F, T, indir):
    df = events(spark, indir).select(F.get_json_object("payload", "$.kind").alias("kind"),
                                     F.get_json_object(F.col("payload"), "$.v").alias("v"))
    return memory(df, "get_json_object_fields")


@program(EVENT_BATCHES)
def to_json_of_struct(spark, F, T, indir):
    df = events(spark, indir).select(F.to_json(F.struct("device", "n")).alias("j"))
    return memory(df, "to_json_of_struct")


@program(EVENT_BATCHES)
def select_expr_sql(spark, F, T, indir):
    df = events(spark, indir).selectExpr(
        "CASE WHEN temp IS NULL THEN 'none' WHEN temp > 21 THEN 'hot' ELSE 'ok' END AS level",
        "concat(device, ':', CAST(n AS STRING)) AS tag", "coalesce(text, '?') AS text", "n * n AS sq")
    return memory(df.where(F.expr("sq > 1")), "select_expr_sql")


# -- aggregations -------------------------------------------------------------------------------------------


@program(EVENT_BATCHES)
def group_by_count_complete(spark, F, T, indir):
    return memory(events(spark, indir).groupBy("device").count(), "group_by_count_complete", "complete")


@program(EVENT_BATCHES)
def group_by_agg_complete(spark, F, T, indir):
    df = events(spark, indir).groupBy("device").agg(
        F.count("*").alias("rows"), F.sum("n").alias("total"), F.avg("temp").alias("mean"),
        F.min("temp").alias("low"), F.max("ts").alias("last"))
    return memory(df, "group_by_agg_complete", "complete")


@program(EVENT_BATCHES)
def group_by_statistics_update(spark, F, T, indir):
    """Aggregates only the DataFrame API names (product) beside the co-moments and the bitwise ones."""
    df = events(spark, indir).groupBy("device").agg(
        F.product("n").alias("prod"), F.corr("n", "temp").alias("r"), F.covar_samp("temp", "n").alias("cov"),
        F.regr_slope("temp", "n").alias("slope"), F.bit_or("n").alias("bits"), F.bit_xor(F.col("n") * 3).alias("x"))
    return memory(df, "group_by_statistics_update", "update")


@program(EVENT_BATCHES)
def cube_with_grouping_id_complete(spark, F, T, indir):
    df = events(spark, indir).withColumn("warm", F.col("temp") > 21).cube("device", "warm").agg(
        F.count("*").alias("rows"), F.sum("n"), F.grouping_id().alias("g"))
    return memory(df, "cube_with_grouping_id_complete", "complete")


@program(EVENT_BATCHES)
def rollup_update(spark, F, T, indir):
    df = events(spark, indir).rollup("device").agg(F.max("temp").alias("hottest"), F.grouping("device"))
    return memory(df, "rollup_update", "update")


@program(EVENT_BATCHES)
def grouping_sets_complete(spark, F, T, indir):
    df = events(spark, indir).withColumn("warm", F.col("temp") > 21).groupingSets(
        [["warm"], ["device"], []], "device", "warm").agg(F.avg("temp").alias("mean"), F.grouping_id().alias("g"))
    return memory(df, "grouping_sets_complete", "complete")


@program(EVENT_BATCHES)
def json_array_payload_exploded(spark, F, T, indir):
    """A message holding an array of objects (here each holds one object: Spark reads it as an array of one)."""
    reading = T.StructType([T.StructField("kind", T.StringType()), T.StructField("v", T.LongType())])
    df = events(spark, indir).select(
        "device", F.explode(F.from_json("payload", T.ArrayType(reading))).alias("r"),
        F.from_json("payload", "array<bigint>").alias("numbers")).select("device", "r.kind", "r.v", "numbers")
    return memory(df, "json_array_payload_exploded")


@program(EVENT_BATCHES)
def higher_order_and_generators(spark, F, T, indir):
    words = F.split(F.trim("text"), " ")
    df = events(spark, indir).select(
        "device", F.transform(words, lambda w, i: F.concat(w, i)).alias("indexed"),
        F.forall(words, lambda w: F.length(w) > 2).alias("long_words"),
        F.zip_with(words, F.array("device"), lambda w, d: F.concat(w, d)).alias("zipped"),
        F.posexplode(words).alias("pos", "word"))
    return memory(df, "higher_order_and_generators")


@program(EVENT_BATCHES)
def group_by_sum_update(spark, F, T, indir):
    return memory(events(spark, indir).groupBy("device").sum("n"), "group_by_sum_update", "update")


@program(EVENT_BATCHES)
def group_by_avg_min_max(spark, F, T, indir):
    df = events(spark, indir).groupBy("device").agg(F.avg("temp"), F.min("n"), F.max("n"))
    return memory(df, "group_by_avg_min_max", "complete")


@program(EVENT_BATCHES)
def group_by_expression_dict_agg(spark, F, T, indir):
    df = events(spark, indir).withColumn("odd", F.col("n") % 2 == 1).groupBy("odd").agg({"temp": "max", "n": "sum"})
    return memory(df, "group_by_expression_dict_agg", "complete")


@program(EVENT_BATCHES)
def word_count(spark, F, T, indir):
    words = events(spark, indir).select(F.explode(F.split("text", " ")).alias("word"))
    return memory(words.groupBy("word").count(), "word_count", "complete")


@program(EVENT_BATCHES)
def aggregate_then_filter(spark, F, T, indir):
    df = events(spark, indir).groupBy("device").agg(F.sum("n").alias("total")).where(F.col("total") > 5)
    return memory(df, "aggregate_then_filter", "complete")


# -- event time ---------------------------------------------------------------------------------------------


def watermarked(spark, indir):
    return events(spark, indir).withWatermark("ts", "5 seconds")


@program(EVENT_BATCHES)
def tumbling_window_append(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.window("ts", "10 seconds")).count()
    return memory(df, "tumbling_window_append")


@program(EVENT_BATCHES)
def tumbling_window_update(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.window("ts", "10 seconds"), "device").agg(F.sum("n").alias("total"))
    return memory(df, "tumbling_window_update", "update")


@program(EVENT_BATCHES)
def tumbling_window_complete(spark, F, T, indir):
    df = events(spark, indir).groupBy(F.window(F.col("ts"), "20 seconds")).agg(F.max("temp").alias("hottest"))
    return memory(df, "tumbling_window_complete", "complete")


@program(EVENT_BATCHES)
def watermark_on_a_renamed_column(spark, F, T, indir):
    df = events(spark, indir).withColumnRenamed("ts", "event_time").withWatermark("event_time", "5 seconds")
    return memory(df.groupBy(F.window("event_time", "10 seconds")).agg(F.sum("n").alias("total")),
                  "watermark_on_a_renamed_column")


@program(EVENT_BATCHES)
def watermark_on_a_select_alias(spark, F, T, indir):
    df = events(spark, indir).where("n > 1").select(F.col("ts").alias("t"), "device", "n")
    counts = df.withWatermark("t", "5 seconds").groupBy(F.window("t", "10 seconds"), "device").count()
    return memory(counts, "watermark_on_a_select_alias", "update")


@program(EVENT_BATCHES)
def window_columns_selected(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.window("ts", "10 seconds").alias("w"), "device").count()
    return memory(df.select(F.col("w.start").alias("start"), F.col("w.end").alias("end"), "device", "count"),
                  "window_columns_selected")


@program(EVENT_BATCHES)
def sliding_window_append(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.window("ts", "10 seconds", "5 seconds")).agg(F.avg("temp").alias("t"))
    return memory(df, "sliding_window_append")


@program(EVENT_BATCHES)
def sliding_window_update(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.window("ts", "20 seconds", "10 seconds"), "device").count()
    return memory(df, "sliding_window_update", "update")


@program(EVENT_BATCHES)
def session_window_append(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.session_window("ts", "5 seconds"), "device").agg(
        F.count("*").alias("events"), F.sum("n").alias("total"))
    return memory(df, "session_window_append")


@program(EVENT_BATCHES)
def session_window_complete(spark, F, T, indir):
    # Spark refuses a session window as the only key ("Global aggregation with session window"): with device.
    df = events(spark, indir).groupBy(F.session_window(F.col("ts"), "8 seconds"), "device").count()
    return memory(df, "session_window_complete", "complete")


@program(EVENT_BATCHES)
def window_time_chain(spark, F, T, indir):
    per_device = watermarked(spark, indir).groupBy(F.window("ts", "10 seconds"), "device").agg(
        F.sum("n").alias("total"))
    df = per_device.select(F.window_time("window").alias("t"), "device", "total") \
        .groupBy(F.window("t", "20 seconds")).agg(F.max("total").alias("best"))
    return memory(df, "window_time_chain")


@program(EVENT_BATCHES)
def window_time_chain_as_the_guide(spark, F, T, indir):
    windowed = watermarked(spark, indir).groupBy(F.window("ts", "10 seconds", "5 seconds"), "device").count()
    df = windowed.groupBy(F.window(F.window_time(windowed.window), "20 seconds")).count()
    return memory(df, "window_time_chain_as_the_guide")


# -- deduplication ------------------------------------------------------------------------------------------


@program(EVENT_BATCHES)
def drop_duplicates_without_watermark(spark, F, T, indir):
    return memory(events(spark, indir).select("device", "n").dropDuplicates(["device"]),
                  "drop_duplicates_without_watermark")


@program(EVENT_BATCHES)
def drop_duplicates_with_watermark(spark, F, T, indir):
    df = watermarked(spark, indir).dropDuplicates(["device", "ts"]).select("device", "ts", "n")
    return memory(df, "drop_duplicates_with_watermark")


@program(EVENT_BATCHES)
def drop_duplicates_within_watermark(spark, F, T, indir):
    df = watermarked(spark, indir).dropDuplicatesWithinWatermark(["text"]).select("text", "device", "n")
    return memory(df, "drop_duplicates_within_watermark")


# One key again and again: a duplicate within the delay of its first row is dropped; once the watermark has
# passed that row's time plus the delay the key is forgotten, and its next on-time row is emitted again.
REPEAT_BATCHES = (
    (_event(1, "a", 1.0, 1, "x", None), _event(2, "b", 1.0, 2, "x", None)),
    (_event(4, "a", 1.0, 3, "x", None), _event(20, "c", 1.0, 4, "x", None)),
    (_event(21, "a", 1.0, 5, "x", None), _event(3, "b", 1.0, 6, "x", None)),
    (_event(22, "a", 1.0, 7, "x", None), _event(40, "c", 1.0, 8, "x", None)),
    (_event(23, "a", 1.0, 9, "x", None), _event(41, "c", 1.0, 10, "x", None)),
)


@program(REPEAT_BATCHES)
def drop_duplicates_within_watermark_forgets_a_key_after_the_delay(spark, F, T, indir):
    df = watermarked(spark, indir).dropDuplicatesWithinWatermark(["device"]).select("device", "ts", "n")
    return memory(df, "drop_duplicates_within_watermark_forgets_a_key_after_the_delay")


# -- joins and unions ---------------------------------------------------------------------------------------

ROOMS = [("a", "kitchen", 1), ("b", "garage", 2), ("d", "attic", 3)]


@program(EVENT_BATCHES)
def stream_static_inner_join(spark, F, T, indir):
    rooms = spark.createDataFrame(ROOMS, "device STRING, room STRING, floor INT")
    df = events(spark, indir).join(rooms, "device").select("device", "room", "floor", "n")
    return memory(df, "stream_static_inner_join")


@program(EVENT_BATCHES)
def stream_static_left_outer_join(spark, F, T, indir):
    rooms = spark.createDataFrame(ROOMS, ["device", "room", "floor"])
    df = events(spark, indir).join(rooms, on="device", how="left_outer").select("device", "room", "temp")
    return memory(df, "stream_static_left_outer_join")


@program(EVENT_BATCHES)
def stream_static_join_then_aggregate(spark, F, T, indir):
    rooms = spark.createDataFrame(ROOMS, "device STRING, room STRING, floor INT")
    df = events(spark, indir).join(rooms, "device")
    return memory(df.groupBy("room").agg(F.sum("n").alias("total")), "stream_static_join_then_aggregate",
                  "complete")


def impressions_and_clicks(spark, F, indir):
    both = ads(spark, indir)
    impressions = both.where(F.col("kind") == "imp").select(F.col("ad").alias("impressionAdId"),
                                                            F.col("at").alias("impressionTime"))
    clicks = both.where(F.col("kind") == "click").select(F.col("ad").alias("clickAdId"),
                                                         F.col("at").alias("clickTime"))
    return (impressions.withWatermark("impressionTime", "5 seconds"),
            clicks.withWatermark("clickTime", "5 seconds"))


@program(AD_BATCHES)
def stream_stream_inner_join_time_range(spark, F, T, indir):
    impressions, clicks = impressions_and_clicks(spark, F, indir)
    df = impressions.join(clicks, F.expr("clickAdId = impressionAdId AND clickTime >= impressionTime AND "
                                         "clickTime <= impressionTime + interval 10 seconds"))
    return memory(df, "stream_stream_inner_join_time_range")


@program(AD_BATCHES)
def stream_stream_left_outer_join(spark, F, T, indir):
    impressions, clicks = impressions_and_clicks(spark, F, indir)
    df = impressions.join(clicks, F.expr("clickAdId = impressionAdId AND clickTime >= impressionTime AND "
                                         "clickTime <= impressionTime + interval 10 seconds"), "leftOuter")
    return memory(df, "stream_stream_left_outer_join")


@program(AD_BATCHES)
def stream_stream_join_watermarked_before_the_split(spark, F, T, indir):
    both = ads(spark, indir).withWatermark("at", "5 seconds")
    impressions = both.where("kind = 'imp'").alias("i")
    clicks = both.where("kind = 'click'").alias("c")
    df = impressions.join(clicks, F.expr("i.ad = c.ad AND c.at >= i.at AND c.at <= i.at + interval 10 seconds"))
    return memory(df.select(F.col("i.ad").alias("ad"), F.col("i.at").alias("shown"), F.col("c.at").alias("clicked")),
                  "stream_stream_join_watermarked_before_the_split")


@program(AD_BATCHES)
def union_of_two_streams(spark, F, T, indir):
    both = ads(spark, indir)
    impressions = both.where(F.col("kind") == "imp").select("ad", "at")
    clicks = both.where(F.col("kind") == "click").select(F.col("ad") + 100, "at")
    return memory(impressions.union(clicks), "union_of_two_streams")


# -- SQL and foreachBatch -----------------------------------------------------------------------------------


@program(EVENT_BATCHES)
def spark_sql_over_temp_view(spark, F, T, indir):
    events(spark, indir).createOrReplaceTempView("sensor_events")
    df = spark.sql("SELECT device, count(*) AS readings, max(temp) AS hottest FROM sensor_events "
                   "WHERE n > 1 GROUP BY device")
    return memory(df, "spark_sql_over_temp_view", "complete")


@program(EVENT_BATCHES)
def spark_sql_windowed_view(spark, F, T, indir):
    watermarked(spark, indir).createOrReplaceTempView("watermarked_events")
    df = spark.sql("SELECT window(ts, '10 seconds') AS w, sum(n) AS total FROM watermarked_events "
                   "GROUP BY window(ts, '10 seconds')")
    return memory(df, "spark_sql_windowed_view")


@program(EVENT_BATCHES)
def foreach_batch_aggregates_each_batch(spark, F, T, indir):
    out = COLLECTED["foreach_batch_aggregates_each_batch"] = []

    def each(batch_df, batch_id):
        out.extend(tuple(row) for row in batch_df.groupBy("device").agg(F.sum("n").alias("total")).collect())

    return events(spark, indir).writeStream.foreachBatch(each).queryName(
        "foreach_batch_aggregates_each_batch").start()


@program(EVENT_BATCHES)
def trigger_processing_time(spark, F, T, indir):
    df = events(spark, indir).select("device", "n")
    return df.writeStream.format("memory").queryName("trigger_processing_time").outputMode("append") \
        .trigger(processingTime="0 seconds").start()
