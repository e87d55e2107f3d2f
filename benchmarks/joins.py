"""What the join cases share: two sensors-like streams, the inner join with a 1-minute range, DuckDB's one-shot run.

Left and right are ``sensors`` with different seeds: row i of either comes from device ``i % devices`` at the
same nominal time, out of order within 5 s and never late, so a 10-second watermark drops nothing and the
streaming join's answer is the one-shot join's. A device shows up every ``devices / rate`` seconds on each
side; at 60 s, a row matches about one row of the other side in the 1-minute range (± 30 s).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

SELECT = ("SELECT l.device, l.ts AS left_ts, r.ts AS right_ts, r.temperature - l.temperature AS diff "
          "FROM lefts l{left_watermark} JOIN rights r{right_watermark} ON l.device = r.device "
          "AND r.ts BETWEEN l.ts - INTERVAL 30 SECONDS AND l.ts + INTERVAL 30 SECONDS")
DELAY = "INTERVAL 10 SECONDS"
SQL = SELECT.format(left_watermark=f" WATERMARK ts DELAY OF {DELAY}", right_watermark=f" WATERMARK ts DELAY OF {DELAY}")
SPARK_SQL = SELECT.format(left_watermark="", right_watermark="")  # Spark: withWatermark on each side
PERIOD_S = 60       # a device's rows are this far apart on each side
DISORDER = "5 seconds"
START = "2024-05-01 00:00:00"
SCHEMA = "ts timestamp, device string, temperature double, humidity double"


def sides(rate: int, *, clock=None):
    """The left and right sensors sources (``rate`` rows/s each), a fixed start, optional fake clock."""
    import stream_nb as sn

    devices = PERIOD_S * rate
    return tuple(sn.sources.sensors(devices=devices, rows_per_second=rate, disorder=DISORDER, seed=seed,
                                    start_time=START, clock=clock) for seed in (1, 2))


def one_shot(left: pa.Table, right: pa.Table) -> tuple[int, float]:
    """(rows, sum of diff) of the join over all rows at once, in DuckDB."""
    con = duckdb.connect()
    con.register("lefts", left)
    con.register("rights", right)
    return con.sql(f"SELECT count(*), sum(diff) FROM ({SPARK_SQL})").fetchall()[0]
