"""The same query over Spark Connect (``spark="sc://host:port"``): a real Spark Connect server started on
loopback from the installed pyspark runs the quickstart's query; its batches come back to the kernel's sink
through the kernel's feed (the server's Python runs foreachBatch), and the result equals the in-kernel
engine's."""

from __future__ import annotations

import pandas as pd
import pytest

import stream_nb as sn

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]
_TIMEOUT_S = 300  # the first batch starts the server's Python workers

START = pd.Timestamp("2026-01-01 00:00:00", tz="UTC")
QUICKSTART = """
SELECT window(ts, '5 seconds') AS w, device, avg(temperature) AS avg_temp, count(*) AS n
FROM readings WATERMARK ts DELAY OF INTERVAL 2 SECONDS
GROUP BY window(ts, '5 seconds'), device
"""


@pytest.fixture(scope="module")
def connect_url():
    pytest.importorskip("pyspark", reason="Spark Connect needs the `spark` extra")
    pytest.importorskip("grpc", reason="Spark Connect's client needs the `spark` extra (grpcio)")
    from stream_nb.spark.connect import local_connect_server

    with local_connect_server(master="local[2]") as url:
        yield url


def frozen_readings():
    """30 seconds of three devices' readings, a pure function of the offsets: both engines read the same rows."""
    return sn.sources.sensors(devices=3, rows_per_second=20, disorder="1 second", seed=7, start_time=START,
                              clock=lambda: (START + pd.Timedelta(seconds=30)).timestamp())


def by_window(result: pd.DataFrame) -> list[tuple]:
    return sorted((w["start"], d, round(a, 9), n) for w, d, a, n in
                  zip(result["w"], result["device"], result["avg_temp"], result["n"]))


def test_the_quickstart_over_spark_connect_equals_the_in_kernel_engine(connect_url):
    readings = frozen_readings()
    in_kernel = sn.start(QUICKSTART, sources={"readings": readings}, output_mode="complete", name="qs_kernel")
    in_kernel.process_all_available(timeout=60)
    expected = by_window(in_kernel.result)
    in_kernel.stop()

    q = sn.start(QUICKSTART, sources={"readings": frozen_readings()}, output_mode="complete", engine="spark",
                 spark=connect_url, name="qs_connect")
    try:
        assert q.connect and repr(q).endswith(f"on {connect_url}, complete mode>")
        q.process_all_available(timeout=_TIMEOUT_S)
        assert len(expected) > 3 and by_window(q.result) == expected
        read = sum(source["numInputRows"] for p in q.recent_progress for source in p["sources"])
        assert read == frozen_readings().latest_offset() and q.exception is None   # every reading, once
    finally:
        q.stop()
    assert q.state is sn.QueryState.STOPPED


def test_a_sink_error_over_spark_connect_fails_the_query_with_the_sinks_error(connect_url):
    events = sn.sources.memory("ts timestamp, device string")

    def refuse(df, batch_id):
        raise ValueError(f"batch {batch_id} refused by the notebook's function")

    q = sn.start("SELECT device FROM events", sources={"events": events}, engine="spark", spark=connect_url,
                 sink=sn.sinks.foreach_batch(refuse), name="refusing_connect")
    try:
        events.add_data([{"ts": "2026-01-01 00:00:01", "device": "a"}])
        with pytest.raises(sn.StreamingQueryException, match="refused by the notebook's function"):
            q.process_all_available(timeout=_TIMEOUT_S)
    finally:
        q.stop()


def test_python_functions_in_the_sql_run_over_spark_connect(connect_url):
    sn.udf("to_fahrenheit_sc", lambda c: None if c is None else c * 9 / 5 + 32, "double")
    sn.udf("doubled_sc", lambda s: s * 2.0, "double", vectorized=True)
    sql = "SELECT device, to_fahrenheit_sc(temp) AS f, doubled_sc(temp) AS d FROM events"

    def run(**engine):
        events = sn.sources.memory("ts timestamp, device string, temp double")
        events.add_data([{"ts": "2026-01-01 00:00:01", "device": "a", "temp": 20.0},
                         {"ts": "2026-01-01 00:00:02", "device": "b", "temp": -40.0}])
        q = sn.start(sql, sources={"events": events}, **engine)
        try:
            q.process_all_available(timeout=_TIMEOUT_S)
            return sorted(q.result.itertuples(index=False, name=None))
        finally:
            q.stop()

    assert run(engine="spark", spark=connect_url) == run() == [("a", 68.0, 40.0), ("b", -40.0, -80.0)]
