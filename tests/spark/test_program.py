"""``q.to_pyspark()``: any query, in the kernel or on Spark, as the PySpark program that runs it on a cluster."""

from __future__ import annotations

import stream_nb as sn
from stream_nb.engine.triggers import Trigger
from stream_nb.spark.program import pyspark_program
from stream_nb.sql.plan import plan_query


def test_a_query_in_the_kernel_prints_the_program_that_runs_it_on_spark(tmp_path, capsys):
    inbox = tmp_path / "in"
    inbox.mkdir()
    events = sn.sources.files(str(inbox), format="json", schema="ts timestamp, device string, temp double")
    q = sn.start("SELECT window(ts, '10 seconds') AS w, device, avg(temp) AS t FROM events "
                 "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '10 seconds'), device",
                 sources={"events": events}, name="per_window", trigger="manual", checkpoint=tmp_path / "ck")
    q.to_pyspark()
    q.stop()
    program = capsys.readouterr().out
    assert (f"events = spark.readStream.format('json').schema('ts timestamp, device string, temp double')"
            f".load({str(inbox)!r})") in program
    assert "events = events.withWatermark('ts', '5 seconds')" in program
    assert "WATERMARK" not in program     # Spark's own withWatermark instead of stream_nb's clause
    assert f".option('checkpointLocation', {str(tmp_path / 'ck')!r})" in program
    compile(program, "program.py", "exec")


def test_a_kafka_pattern_source_becomes_sparks_subscribe_pattern():
    readings = sn.sources.kafka("127.0.0.1:9092", pattern="sensor-.*", starting_offsets="latest",
                                max_offsets_per_trigger=500, fail_on_data_loss=False)
    sql = "SELECT CAST(value AS STRING) AS v FROM readings"
    program = pyspark_program(plan_query(sql, namespaces=[{"readings": readings}]), sql,
                              trigger=Trigger.parse(None), checkpoint=None, name="q")
    assert ("readings = spark.readStream.format('kafka').option('kafka.bootstrap.servers', '127.0.0.1:9092')"
            ".option('startingOffsets', 'latest').option('failOnDataLoss', 'false')"
            ".option('subscribePattern', 'sensor-.*').option('maxOffsetsPerTrigger', '500').load()") in program
    compile(program, "program.py", "exec")
