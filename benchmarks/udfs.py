"""Case ``udfs``: what a Python function in SQL costs against the same built-in expression.

``SELECT device, avg(f(temp)) AS f FROM events GROUP BY device`` through a streaming query (memory source,
manual trigger, one ``q.step()`` per batch), with ``f`` the Celsius-to-Fahrenheit conversion written four
ways: DuckDB's built-in arithmetic ``temp * 9 / 5 + 32`` (the baseline), a vectorised ``sn.udf`` (pandas
Series in and out), a scalar ``sn.udf`` (a Python call per row, as stream_nb runs it: DuckDB hands a vector
of rows to one Arrow call that loops). For the choice of that form, the scalar function is also run once over
all rows on a plain DuckDB connection three ways: stream_nb's Arrow loop, ``type="native"`` bare (DuckDB calls
Python once per row: fastest, but a failure cannot say which row), and native wrapped in the Python frame
that naming the row takes. Costs are per million rows.

A function of the key, ``device_number(device)`` (``int(device[1:])``; built-in ``CAST(substr(device, 2) AS
INT)``), shows what a deterministic function's repeated arguments save: the 1,000 devices repeat within each
vector of 2,048 rows, so stream_nb calls it once per distinct device of a vector (about 870 calls, not 2,048);
registered ``deterministic=False`` it is called once a row.
"""

from __future__ import annotations

import duckdb

from . import workload
from .harness import Contender, Report, Stopwatch, Target, check_same

NAME = "udfs"
TITLE = "a Python function in SQL vs the same built-in expression"
SIZES = {False: (2_000_000, 200_000), True: (200_000, 50_000)}  # quick -> (rows, rows per batch)
SQL = "SELECT device, avg({f}) AS f FROM events GROUP BY device"

BUILTIN, VECTORIZED, SCALAR = "built-in temp * 9 / 5 + 32", "vectorised sn.udf (pandas)", "scalar sn.udf"
KEY_BUILTIN, KEY_SCALAR = "built-in CAST(substr(device, 2) AS INT)", "scalar sn.udf of the device"
KEY_EACH = "scalar sn.udf of the device, deterministic=False (a call a row)"
ONE_SHOT_ARROW = "scalar, one-shot DuckDB, Arrow loop (stream_nb's)"
ONE_SHOT_NATIVE = "scalar, one-shot DuckDB, type='native', bare"
ONE_SHOT_WRAPPED = "scalar, one-shot DuckDB, type='native', wrapped to name a failing row"


def fahrenheit(c):
    return None if c is None else c * 9 / 5 + 32


def _wrapped(c):  # what naming a failing row takes in the native form: a Python frame around each call
    try:
        return fahrenheit(c)
    except Exception as err:
        raise RuntimeError(f"fahrenheit failed on ({c!r})") from err


def device_number(device):
    return None if device is None else int(device[1:])


def fahrenheit_series(c):
    return c * 9 / 5 + 32


def run(quick: bool, repeats: int) -> Report:
    total, per_batch = SIZES[quick]
    table = workload.events(total)
    parts = workload.batches(table, per_batch)
    ref = duckdb.connect()
    ref.register("events", table)
    reference = ref.sql(SQL.format(f="temp * 9 / 5 + 32")).to_df()
    key_reference = ref.sql(SQL.format(f="CAST(substr(device, 2) AS INT)")).to_df()
    report = Report(NAME, f"{TITLE}: {total:,} rows, in {len(parts)} batches of {per_batch:,}", baseline=BUILTIN)
    sn = workload.stream_nb()
    sn.udf("bench_fahrenheit", fahrenheit, "double")
    sn.udf("bench_fahrenheit_v", fahrenheit_series, "double", vectorized=True)
    sn.udf("bench_device_number", device_number, "int")
    sn.udf("bench_device_number_each", device_number, "int", deterministic=False)

    def streaming(expression: str):
        def once(clock: Stopwatch):
            src = sn.sources.memory(workload.SCHEMA)
            q = sn.start(SQL.format(f=expression), sources={"events": src}, output_mode="update", trigger="manual")
            try:
                for part in parts:
                    src.add_data(part)
                    with clock:
                        q.step()
                return q.result
            finally:
                q.stop()
        return once

    def one_shot(kind: str):
        from stream_nb.engine.udf_calls import register_udfs
        from stream_nb.udfs import registered

        con = duckdb.connect()
        if kind in ("native", "wrapped"):
            con.create_function("bench_fahrenheit", fahrenheit if kind == "native" else _wrapped, ["DOUBLE"],
                                "DOUBLE", type="native", null_handling="special")
        else:
            register_udfs(con, [registered()["bench_fahrenheit"]])
        con.register("events", table)

        def once(clock: Stopwatch):
            with clock:
                return con.sql(SQL.format(f="bench_fahrenheit(temp)")).to_df()
        return once

    def check(result):
        check_same(result, reference, key="device", what="avg(f(temp))")

    def key_check(result):
        check_same(result, key_reference, key="device", what="avg(f(device))")

    report.run([
        Contender(BUILTIN, streaming("temp * 9 / 5 + 32"), total, check),
        Contender(VECTORIZED, streaming("bench_fahrenheit_v(temp)"), total, check),
        Contender(SCALAR, streaming("bench_fahrenheit(temp)"), total, check),
        Contender(KEY_BUILTIN, streaming("CAST(substr(device, 2) AS INT)"), total, key_check),
        Contender(KEY_SCALAR, streaming("bench_device_number(device)"), total, key_check),
        Contender(KEY_EACH, streaming("bench_device_number_each(device)"), total, key_check),
        Contender(ONE_SHOT_ARROW, one_shot("arrow"), total, check),
        Contender(ONE_SHOT_NATIVE, one_shot("native"), total, check),
        Contender(ONE_SHOT_WRAPPED, one_shot("wrapped"), total, check),
    ], repeats)
    for row in report.rows:
        if "seconds" in row:
            row["s per M rows"] = row["seconds"] / total * 1e6
    builtin = report.row(BUILTIN)
    for name in (VECTORIZED, SCALAR):
        mine = report.row(name)
        report.targets.append(Target(f"{name} / built-in (time per row)",
                                     mine["seconds"] / builtin["seconds"] if mine and builtin else None))
    key_builtin = report.row(KEY_BUILTIN)
    for name in (KEY_SCALAR, KEY_EACH):
        mine = report.row(name)
        report.targets.append(Target(f"{name} / its built-in (time per row)",
                                     mine["seconds"] / key_builtin["seconds"] if mine and key_builtin else None))
    arrow = report.row(ONE_SHOT_ARROW)
    for name, label in ((ONE_SHOT_NATIVE, "bare"), (ONE_SHOT_WRAPPED, "wrapped")):
        native = report.row(name)
        report.targets.append(Target(f"scalar: native {label} / Arrow loop (time; > 1: the Arrow loop is faster)",
                                     native["seconds"] / arrow["seconds"] if arrow and native else None))
    report.notes.append("Each stream_nb contender runs the same streaming query; only the function differs, so "
                        "the time above the built-in's is the Python function's. The one-shot rows compare the "
                        "two ways DuckDB can call a scalar Python function, outside the engine.")
    return report
