"""``q.to_pyspark()``: the query as a PySpark program (readStream ... writeStream) to deploy on a cluster.

Each input becomes a ``spark.readStream`` (Spark's own source where it has one; an in-kernel source becomes a
file directory to fill, named so, since a deployed job cannot reach the kernel), its watermark
``withWatermark``, then a temp view; the SQL is the query's as Spark runs it.
"""

from __future__ import annotations

from stream_nb.engine.triggers import Trigger
from stream_nb.sources.files import FilesSource
from stream_nb.sources.rate import RateSource
from stream_nb.sources.socket import SocketSource
from stream_nb.spark.udfs import program_lines
from stream_nb.sql.plan import Plan
from stream_nb.types import describe_schema


def pyspark_program(plan: Plan, sql: str, *, trigger: Trigger, checkpoint: str | None, name: str) -> str:
    lines = ["from pyspark.sql import SparkSession", "",
             f"spark = (SparkSession.builder.appName({name!r})",
             '         .config("spark.sql.session.timeZone", "UTC")',
             '         .config("spark.sql.ansi.enabled", "false").getOrCreate())', ""]
    for input_name, stream in plan.bindings.streams.items():
        lines.append(f"{input_name} = {_read(stream.source, input_name)}")
        event_time = plan.event_times.get(input_name)
        if event_time is not None:
            lines.append(f"{input_name} = {input_name}.withWatermark({event_time.column!r}, "
                         f"'{event_time.delay_us / 1e6:g} seconds')")
        lines.append(f"{input_name}.createOrReplaceTempView({input_name!r})")
    for static in plan.bindings.statics:
        lines.append(f"spark.read.parquet('{static}.parquet').createOrReplaceTempView({static!r})"
                     "  # the static table, saved where the cluster can read it")
    lines += ["", *program_lines(plan.udfs.values(), sql), f"result = spark.sql('''{sql.strip()}''')", "",
              "query = (result.writeStream", f"         .outputMode({plan.output_mode!r})",
              f"         .queryName({name!r})"]
    if trigger.kind == "interval":
        lines.append(f"         .trigger(processingTime='{trigger.seconds:g} seconds')")
    elif trigger.kind == "available_now":
        lines.append("         .trigger(availableNow=True)")
    elif trigger.kind == "once":
        lines.append("         .trigger(once=True)")
    lines += [f"         .option('checkpointLocation', {str(checkpoint or 'checkpoints/' + name)!r})",
              "         .format('console')  # or parquet, kafka, a foreachBatch function ...",
              "         .start())", "query.awaitTermination()"]
    return "\n".join(lines)


def _read(source, name: str) -> str:
    """The readStream expression for one source."""
    if isinstance(source, FilesSource):
        header = f".option('header', '{str(source.header).lower()}')" if source.format == "csv" else ""
        cap = (f".option('maxFilesPerTrigger', {source.max_per_trigger})"
               if source.max_per_trigger is not None else "")
        return (f"spark.readStream.format({source.format!r}).schema({describe_schema(source.schema)!r})"
                f"{header}{cap}.load({source.path!r})")
    if isinstance(source, RateSource):
        return f"spark.readStream.format('rate').option('rowsPerSecond', {max(1, round(source.rows_per_second))}).load()"
    if isinstance(source, SocketSource):
        return (f"spark.readStream.format('socket').option('host', {source.host!r})"
                f".option('port', {source.port}).load()")
    if type(source).__name__ == "KafkaSource":
        from stream_nb.spark.sources import kafka_options

        options = "".join(f".option({k!r}, {v!r})" for k, v in kafka_options(source).items())
        return f"spark.readStream.format('kafka'){options}.load()"
    # an in-kernel source (memory, sensors, ...): on a cluster its rows come from files (or a broker)
    return (f"spark.readStream.format('json').schema({describe_schema(source.schema)!r})"
            f".load('input/{name}')  # {type(source).__name__} lives in the kernel: write its rows here")
