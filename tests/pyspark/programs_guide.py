"""More PySpark programs, as users copy them from the Structured Streaming Programming Guide and blog posts.

Registered as programs.py's are (``@guide``: a function of ``spark``, ``F``, ``T`` and an input directory that
starts a query into a memory sink, or into ``COLLECTED`` from ``foreachBatch``) and run by
``test_programs_guide.py`` on real PySpark and on ``stream_nb.pyspark``, compared after every batch.
"""

from __future__ import annotations

import os

from tests.pyspark.programs import (
    AD_BATCHES,
    COLLECTED,
    EVENT_BATCHES,
    ROOMS,
    Program,
    ads,
    events,
    memory,
    watermarked,
)

GUIDE: list[Program] = []


def guide(batches, pending: str = ""):
    def register(fn):
        GUIDE.append(Program(fn.__name__, fn, batches, pending))
        return fn
    return register


# -- the guide's word counts --------------------------------------------------------------------------------


@guide(EVENT_BATCHES)
def guide_word_count_of_text_lines(spark, F, T, indir):
    lines = spark.readStream.option("maxFilesPerTrigger", 1).text(indir)
    words = lines.select(F.explode(F.split(F.get_json_object(lines.value, "$.text"), " ")).alias("word"))
    return memory(words.groupBy("word").count(), "guide_word_count_of_text_lines", "complete")


@guide(EVENT_BATCHES)
def guide_windowed_word_count(spark, F, T, indir):
    df = events(spark, indir)
    words = df.select(F.explode(F.split(df.text, " ")).alias("word"), df.ts.alias("timestamp"))
    counts = words.withWatermark("timestamp", "10 seconds") \
        .groupBy(F.window(words.timestamp, "10 seconds", "5 seconds"), words.word).count()
    return memory(counts, "guide_windowed_word_count", "update")


@guide(EVENT_BATCHES)
def window_with_start_time(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.window("ts", "10 seconds", startTime="3 seconds")).count()
    return memory(df, "window_with_start_time")


@guide(EVENT_BATCHES)
def sliding_window_with_start_time(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.window("ts", "10 seconds", "5 seconds", "2 seconds"), "device").agg(
        F.sum("n").alias("total"))
    return memory(df, "sliding_window_with_start_time", "update")


@guide(EVENT_BATCHES)
def window_of_a_sql_expression(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.expr("window(ts, '10 seconds')")).agg(F.expr("count(*) AS c"))
    return memory(df, "window_of_a_sql_expression")


@guide(EVENT_BATCHES)
def window_start_and_end_selected(spark, F, T, indir):
    df = watermarked(spark, indir).groupBy(F.window("ts", "10 seconds"), "device").agg(F.avg("temp").alias("t"))
    return memory(df.select(df.window.start.alias("start"), F.col("window.end").alias("end"), "device", "t"),
                  "window_start_and_end_selected", "update")


# -- aggregations -------------------------------------------------------------------------------------------


@guide(EVENT_BATCHES)
def agg_several_aliased(spark, F, T, indir):
    df = events(spark, indir).groupBy(F.col("device").alias("d")).agg(
        F.count("n").alias("c"), F.count("*").alias("rows"), F.avg("temp").alias("mean"), F.sum("n").alias("total"),
        F.min("ts").alias("first_seen"), F.max("temp").alias("hottest"), F.mean("n").alias("mean_n"))
    return memory(df, "agg_several_aliased", "complete")


@guide(EVENT_BATCHES)
def agg_expressions_over_aggregates(spark, F, T, indir):
    df = events(spark, indir).groupBy("device").agg(
        F.round(F.avg("temp"), 1).alias("avg_temp"), (F.max("n") - F.min("n")).alias("spread"),
        F.sum(F.when(F.col("temp") > 20, 1).otherwise(0)).alias("warm"), F.count(F.col("text")).alias("texts"))
    return memory(df, "agg_expressions_over_aggregates", "update")


@guide(EVENT_BATCHES)
def agg_first_and_last(spark, F, T, indir):
    df = events(spark, indir).groupBy("device").agg(F.first("n").alias("first_n"), F.last("n").alias("last_n"))
    return memory(df, "agg_first_and_last", "complete")


@guide(EVENT_BATCHES)
def agg_last_ignoring_nulls(spark, F, T, indir):
    # device c's temperature is NULL in batch 2: last() is NULL then, last(ignorenulls=True) the one before
    df = events(spark, indir).groupBy("device").agg(F.last("temp").alias("last_temp"),
                                                    F.last("temp", ignorenulls=True).alias("last_known"),
                                                    F.first("text", True).alias("first_text"))
    return memory(df, "agg_last_ignoring_nulls", "complete")


@guide(EVENT_BATCHES)
def agg_approx_count_distinct(spark, F, T, indir):
    df = events(spark, indir).groupBy("device").agg(F.approx_count_distinct("text").alias("texts"))
    return memory(df, "agg_approx_count_distinct", "complete")


@guide(EVENT_BATCHES)
def agg_collect_list_size(spark, F, T, indir):
    df = events(spark, indir).groupBy("device").agg(F.size(F.collect_list("n")).alias("ns"),
                                                    F.size(F.collect_set("device")).alias("one"))
    return memory(df, "agg_collect_list_size", "complete")


@guide(EVENT_BATCHES)
def agg_then_order_by_complete(spark, F, T, indir):
    df = events(spark, indir).groupBy("device").count().orderBy(F.desc("count"), "device")
    return memory(df, "agg_then_order_by_complete", "complete")


@guide(EVENT_BATCHES)
def global_agg_complete(spark, F, T, indir):
    df = events(spark, indir).agg(F.count("*").alias("rows"), F.max("n"), F.avg("temp"))
    return memory(df, "global_agg_complete", "complete")


@guide(EVENT_BATCHES)
def distinct_of_a_stream_appends(spark, F, T, indir):
    # Spark's distinct() is dropDuplicates(): a streaming deduplication, append mode, no aggregation
    return memory(events(spark, indir).select("device").distinct(), "distinct_of_a_stream_appends")


# -- projections --------------------------------------------------------------------------------------------


@guide(EVENT_BATCHES)
def chain_of_projections_and_filters(spark, F, T, indir):
    df = events(spark, indir)
    out = (df.withColumn("fahrenheit", df.temp * 9 / 5 + 32)
             .withColumnRenamed("device", "sensor")
             .filter("n >= 2")
             .filter(F.col("fahrenheit").isNotNull() & (F.col("sensor") != "c"))
             .withColumn("level", F.when(F.col("fahrenheit") > 70, "hot").when(F.col("fahrenheit") > 65, "warm")
                         .otherwise("cold"))
             .selectExpr("sensor", "level", "round(fahrenheit, 1) AS f", "n * 2 AS twice")
             .where(F.expr("twice < 16")))
    return memory(out, "chain_of_projections_and_filters")


@guide(EVENT_BATCHES)
def casts_of_strings_numbers_and_dates(spark, F, T, indir):
    df = events(spark, indir).select(
        F.col("n").cast("string").alias("s"), F.col("temp").cast("int").alias("i"),
        F.col("ts").cast("date").alias("d"), F.col("n").cast(T.DoubleType()).alias("x"),
        F.lit("42").cast("int").alias("answer"), F.to_date("ts").alias("day"),
        F.date_format("ts", "HH:mm:ss").alias("clock"))
    return memory(df, "casts_of_strings_numbers_and_dates")


@guide(EVENT_BATCHES)
def cast_timestamp_to_epoch_seconds(spark, F, T, indir):
    df = events(spark, indir).select("n", F.col("ts").cast("long").alias("epoch"),
                                     F.col("ts").cast("double").alias("epoch_d"))
    return memory(df, "cast_timestamp_to_epoch_seconds")


@guide(EVENT_BATCHES)
def json_struct_round_trip(spark, F, T, indir):
    schema = T.StructType([T.StructField("kind", T.StringType()), T.StructField("v", T.LongType()),
                           T.StructField("tags", T.ArrayType(T.StringType()))])
    df = events(spark, indir).withColumn("p", F.from_json("payload", schema))
    out = df.select(F.col("p").getField("kind").alias("kind"), df.p["v"].alias("v"),
                    F.to_json(F.struct(F.col("device").alias("d"), F.col("p.v"))).alias("back"))
    return memory(out, "json_struct_round_trip")


@guide(EVENT_BATCHES)
def size_of_a_missing_array(spark, F, T, indir):
    df = events(spark, indir).select("n", F.size(F.from_json("payload", "tags ARRAY<STRING>").getField("tags"))
                                     .alias("tags"))
    return memory(df, "size_of_a_missing_array")


@guide(EVENT_BATCHES)
def more_functions_blog_posts_use(spark, F, T, indir):
    t, ts, words = F.col("text"), F.col("ts"), F.split(F.col("text"), " ")
    df = events(spark, indir).select(
        "n", F.sha1("device").alias("sha1"), F.sha2("device", 256).alias("sha2"), F.ascii("device").alias("ascii"),
        F.repeat("device", 2).alias("twice"), F.levenshtein(t, F.lit("the fox")).alias("edits"),
        F.substring_index(t, " ", 1).alias("first_word"), F.locate("o", t).alias("o_at"),
        F.array_join(words, "+").alias("joined"), F.sort_array(words).alias("sorted"),
        F.sort_array(words, asc=False).alias("desc"), F.array_max(words).alias("max_word"), F.array_min(words).alias("min_word"),
        F.ifnull("text", F.lit("?")).alias("ifnull"), F.nvl(F.col("temp"), F.lit(0.0)).alias("nvl"),
        F.nullif(F.col("n"), F.lit(3)).alias("nullif"), F.log10("n").alias("log10"), F.log2("n").alias("log2"),
        F.trunc(ts, "MM").alias("month_start"), F.to_utc_timestamp(ts, "America/New_York").alias("utc"),
        F.from_utc_timestamp(ts, "Asia/Tokyo").alias("tokyo"))
    return memory(df, "more_functions_blog_posts_use")


@guide(EVENT_BATCHES)
def array_distinct_and_months_between(spark, F, T, indir):
    df = events(spark, indir).select("n", F.expr("array_distinct(split(text, ' '))").alias("distinct"),
                                     F.months_between("ts", F.lit("2023-11-15 00:00:00").cast("timestamp"))
                                     .alias("months"))
    return memory(df, "array_distinct_and_months_between")


@guide(EVENT_BATCHES)
def lit_and_null_literals(spark, F, T, indir):
    df = events(spark, indir).select("n", F.lit(1).alias("one"), F.lit(0.5).alias("half"), F.lit("x").alias("x"),
                                     F.lit(True).alias("yes"), F.lit(None).cast("string").alias("nothing"))
    return memory(df, "lit_and_null_literals")


@guide(EVENT_BATCHES)
def fillna_and_dropna(spark, F, T, indir):
    df = events(spark, indir).select("device", "temp", "n", "text").fillna(-1.0, subset=["temp"]).fillna(
        {"text": "(none)"}).na.fill(0)
    return memory(df, "fillna_and_dropna")


@guide(EVENT_BATCHES)
def dropna_rows(spark, F, T, indir):
    return memory(events(spark, indir).dropna(subset=["temp", "text"]).select("device", "n"), "dropna_rows")


# -- joins and unions ---------------------------------------------------------------------------------------


@guide(EVENT_BATCHES)
def stream_static_join_on_a_column_condition(spark, F, T, indir):
    rooms = spark.createDataFrame(ROOMS, "dev STRING, room STRING, floor INT")
    stream = events(spark, indir)
    df = stream.join(F.broadcast(rooms), stream.device == rooms.dev, "left").select(stream.device, rooms.room, "n")
    return memory(df, "stream_static_join_on_a_column_condition")


@guide(AD_BATCHES)
def stream_stream_join_on_a_column_condition(spark, F, T, indir):
    both = ads(spark, indir)
    impressions = both.where(both.kind == "imp").select(both.ad.alias("iad"), both.at.alias("shown")) \
        .withWatermark("shown", "5 seconds")
    clicks = both.where(both.kind == "click").select(both.ad.alias("cad"), both.at.alias("clicked")) \
        .withWatermark("clicked", "5 seconds")
    df = impressions.join(clicks, (impressions.iad == clicks.cad) & (clicks.clicked >= impressions.shown)
                          & (clicks.clicked <= impressions.shown + F.expr("INTERVAL 10 SECONDS")), "leftOuter")
    return memory(df, "stream_stream_join_on_a_column_condition")


@guide(AD_BATCHES)
def stream_stream_join_with_select_expr(spark, F, T, indir):
    both = ads(spark, indir)
    impressions = both.where("kind = 'imp'").selectExpr("ad AS impressionAdId", "at AS impressionTime") \
        .withWatermark("impressionTime", "5 seconds")
    clicks = both.where("kind = 'click'").selectExpr("ad AS clickAdId", "at AS clickTime") \
        .withWatermark("clickTime", "5 seconds")
    df = impressions.join(clicks, F.expr("clickAdId = impressionAdId AND clickTime >= impressionTime AND "
                                         "clickTime <= impressionTime + interval 10 seconds"))
    return memory(df.select("impressionAdId", "clickTime"), "stream_stream_join_with_select_expr")


@guide(AD_BATCHES)
def union_then_count(spark, F, T, indir):
    both = ads(spark, indir)
    imps = both.where("kind = 'imp'").select("ad", "at")
    clicks = both.where("kind = 'click'").select("ad", "at")
    return memory(imps.union(clicks).groupBy("ad").count(), "union_then_count", "complete")


@guide(AD_BATCHES)
def union_then_watermark_then_window(spark, F, T, indir):
    both = ads(spark, indir)
    imps = both.where("kind = 'imp'").select("ad", "at")
    clicks = both.where("kind = 'click'").select("ad", "at")
    windows = imps.union(clicks).withWatermark("at", "5 seconds").groupBy(F.window("at", "10 seconds")).count()
    return memory(windows, "union_then_watermark_then_window")


@guide(AD_BATCHES)
def union_by_name_of_watermarked_streams_then_drop_duplicates(spark, F, T, indir):
    both = ads(spark, indir)
    imps = both.where("kind = 'imp'").select("ad", "at").withWatermark("at", "5 seconds")
    clicks = both.where("kind = 'click'").select("at", "ad").withWatermark("at", "5 seconds")
    return memory(imps.unionByName(clicks).dropDuplicates(["ad", "at"]),
                  "union_by_name_of_watermarked_streams_then_drop_duplicates")


# -- SQL over views -----------------------------------------------------------------------------------------


@guide(EVENT_BATCHES)
def spark_sql_join_of_a_stream_and_a_static_view(spark, F, T, indir):
    spark.createDataFrame(ROOMS, "device STRING, room STRING, floor INT").createOrReplaceTempView("rooms_view")
    events(spark, indir).createOrReplaceTempView("events_view")
    df = spark.sql("SELECT r.room, count(*) AS readings, round(avg(e.temp), 2) AS avg_temp "
                   "FROM events_view e JOIN rooms_view r ON e.device = r.device GROUP BY r.room")
    return memory(df, "spark_sql_join_of_a_stream_and_a_static_view", "complete")


@guide(EVENT_BATCHES)
def spark_sql_filter_then_dataframe_agg(spark, F, T, indir):
    events(spark, indir).createOrReplaceTempView("raw_events")
    df = spark.sql("SELECT device, n, temp FROM raw_events WHERE temp IS NOT NULL")
    return memory(df.groupBy("device").agg(F.max("temp").alias("hottest")), "spark_sql_filter_then_dataframe_agg",
                  "update")


# -- foreachBatch with batch DataFrame methods --------------------------------------------------------------


@guide(EVENT_BATCHES)
def foreach_batch_with_batch_methods(spark, F, T, indir):
    out = COLLECTED["foreach_batch_with_batch_methods"] = []
    written = os.path.join(indir, "..", "batches_written")

    def each(batch_df, batch_id):
        if batch_df.isEmpty():
            return
        batch_df.persist()
        devices = sorted(r.device for r in batch_df.select("device").distinct().collect())
        hot = batch_df.filter(F.col("temp") > 20).count()
        frame = batch_df.toPandas()
        batch_df.select("device", "n").write.mode("append").parquet(written)
        stored = spark.read.parquet(written).count()
        out.append((batch_id, batch_df.count(), ",".join(devices), hot, int(frame["n"].sum()), stored))
        batch_df.unpersist()

    return events(spark, indir).writeStream.foreachBatch(each).queryName("foreach_batch_with_batch_methods").start()


# -- a watermark on a computed column (the usual Kafka program: from_json, then withWatermark) ----------------


@guide(EVENT_BATCHES)
def watermark_on_a_computed_timestamp(spark, F, T, indir):
    shifted = events(spark, indir).withColumn("et", F.col("ts") + F.expr("INTERVAL 2 SECONDS"))
    df = shifted.withWatermark("et", "5 seconds").groupBy(F.window("et", "10 seconds"), "device").count()
    return memory(df, "watermark_on_a_computed_timestamp")


@guide(EVENT_BATCHES)
def watermark_on_a_field_of_parsed_json(spark, F, T, indir):
    raw = events(spark, indir)
    parsed = raw.select(F.from_json("payload", "kind STRING, v INT").alias("p"),
                        (F.col("ts") - F.expr("INTERVAL 1 SECONDS")).alias("at")) \
        .where(F.col("device") != "c").select("p.*", "at")
    df = parsed.withWatermark("at", "5 seconds").groupBy(F.window("at", "10 seconds"), "kind") \
        .agg(F.count("*").alias("n"), F.sum("v").alias("v"))
    return memory(df, "watermark_on_a_field_of_parsed_json")
