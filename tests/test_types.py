"""Rows in: user rows (pandas, dicts, Arrow) become Arrow tables of exactly the schema, as Spark would read them.
Results out: ``to_pandas`` gives what DESIGN.md §1 promises (tz-aware UTC timestamps, structs as dicts)."""

import datetime
import gc
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from stream_nb.types import (
    TIMESTAMP,
    SchemaError,
    parse_schema,
    static_table,
    to_arrow,
    to_pandas,
    utc_timestamps,
)

SCHEMA = parse_schema("ts timestamp, d double, n bigint")
UTC = datetime.UTC
NANOS = "2024-05-01 12:00:00.123456789"
MICROS = datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def timestamps(rows):
    table = to_arrow(rows, parse_schema("ts timestamp"))
    assert table.schema.field("ts").type == TIMESTAMP
    return table.column("ts").to_pylist()


@pytest.mark.parametrize("form", ["aware", "naive", "other zone"])
def test_pandas_nanosecond_timestamps_are_truncated_to_microseconds(form):
    ts = pd.Timestamp(NANOS, tz="UTC")
    value = {"aware": ts, "naive": ts.tz_localize(None), "other zone": ts.tz_convert("Europe/Paris")}[form]
    frame = pd.DataFrame({"ts": [value]})
    assert str(frame["ts"].dtype).startswith("datetime64[ns")  # what pandas makes by default
    assert timestamps(frame) == [MICROS]


@pytest.mark.parametrize("value", [
    pd.Timestamp(NANOS), pd.Timestamp(NANOS, tz="UTC"), NANOS, NANOS.replace(" ", "T") + "Z",
    "2024-05-01T14:00:00.1234567+02:00", datetime.datetime(2024, 5, 1, 12, 0, 0, 123456),
])
def test_dict_timestamps_with_up_to_nine_fractional_digits_are_truncated_to_microseconds(value):
    assert timestamps([{"ts": value}]) == [MICROS]


@pytest.mark.parametrize("values", [
    ["2024-05-01T14:00:00+02:00", "2024-05-01T07:00:00-05:00"],
    ["2024-05-01 12:00:00", "2024-05-01T12:00:00Z"],
    [pd.Timestamp("2024-05-01 12:00", tz="UTC"), pd.Timestamp("2024-05-01 12:00")],
    [datetime.datetime(2024, 5, 1, 12), datetime.datetime(2024, 5, 1, 21, tzinfo=datetime.timezone(
        datetime.timedelta(hours=9)))],
    [pd.Timestamp("2024-05-01 14:00", tz="Europe/Paris"), pd.Timestamp("2024-05-01 21:00", tz="Asia/Tokyo")],
])
@pytest.mark.parametrize("form", ["dicts", "pandas"])
def test_one_add_data_may_mix_zones_offsets_and_naive_times(values, form):
    """Each value is read in its own zone (naive: UTC); pandas refused a column mixing them."""
    rows = [{"ts": v} for v in values] if form == "dicts" else pd.DataFrame({"ts": pd.Series(values, dtype=object)})
    noon = datetime.datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert timestamps(rows) == [noon, noon]


def test_nanoseconds_before_1970_truncate_to_the_earlier_microsecond():
    """Truncating the digits of 23:59:59.999999999 gives .999999, not the next second."""
    column = utc_timestamps(pa.array([-1, -1_001], pa.timestamp("ns")))
    assert column.type == TIMESTAMP
    assert column.cast(pa.int64()).to_pylist() == [-1, -2]


def test_nan_in_a_double_column_stays_nan_whatever_the_input_form():
    """Spark keeps NaN as a value distinct from NULL; only None, pd.NA and NaT are NULL."""
    forms = {
        "dicts": [{"d": math.nan}, {"d": None}, {"d": 1.0}],
        "pandas float64": pd.DataFrame({"d": [np.nan, 2.0, 1.0]}),
        "pandas object": pd.DataFrame({"d": pd.Series([math.nan, pd.NA, 1.0], dtype=object)}),
    }
    for form, rows in forms.items():
        values = to_arrow(rows, parse_schema("d double")).column("d").to_pylist()
        assert math.isnan(values[0]), form
        assert values[2] == 1.0, form
    nulls = {form: to_arrow(rows, parse_schema("d double")).column("d").null_count for form, rows in forms.items()}
    assert nulls == {"dicts": 1, "pandas float64": 0, "pandas object": 1}
    nullable = to_arrow(pd.DataFrame({"d": pd.array([pd.NA, 1.0], dtype="Float64")}), parse_schema("d double"))
    assert nullable.column("d").to_pylist() == [None, 1.0]


def test_pandas_nan_is_null_in_a_column_that_is_not_floating_point():
    """pandas stores a missing int (or string) as NaN: there it can only mean NULL."""
    frame = pd.DataFrame({"n": [None, 3], "s": pd.Series([np.nan, "x"], dtype=object)})
    assert frame["n"].dtype == np.float64
    table = to_arrow(frame, parse_schema("n bigint, s string"))
    assert table.to_pylist() == [{"n": None, "s": None}, {"n": 3, "s": "x"}]


def test_pandas_na_and_nat_in_dicts_are_null():
    table = to_arrow([{"ts": pd.NaT, "d": pd.NA, "n": pd.NA}], SCHEMA)
    assert table.to_pylist() == [{"ts": None, "d": None, "n": None}]


@pytest.mark.parametrize("rows, what", [
    (None, "not NoneType"),
    ("ts,d,n", "not str"),
    ({"ts": NANOS, "d": 1.0, "n": 1}, r"not dict \(one row\? put it in a list: \[row\]\)"),
])
def test_rows_that_are_not_rows_say_what_rows_are(rows, what):
    with pytest.raises(TypeError, match=f"^rows are a pandas DataFrame, a list of dicts or an Arrow table, {what}"):
        to_arrow(rows, SCHEMA)


@pytest.mark.parametrize("rows", [[{"n": 2**70}], pd.DataFrame({"n": [2**70]})])
def test_int_beyond_bigint_names_the_column_and_the_value(rows):
    with pytest.raises(SchemaError, match=r"^column 'n' holds the int 1180591620717411303424, outside bigint's "
                                          r"range -2\*\*63 to 2\*\*63-1 "):
        to_arrow(rows, parse_schema("n bigint"))


def test_int_beyond_bigint_in_a_double_column_says_to_write_a_float():
    with pytest.raises(SchemaError, match=r"^column 'd' holds the int 1180591620717411303424, .*"
                                          r"\(write a float for a double column\)$"):
        to_arrow([{"d": 2**70}], parse_schema("d double"))


def test_duplicate_pandas_column_names_are_refused():
    frame = pd.DataFrame([[1, 2]], columns=["n", "n"])
    with pytest.raises(SchemaError, match=r"duplicate column name\(s\) \['n'\]"):
        to_arrow(frame, parse_schema("n bigint"))


def test_values_are_cast_to_the_declared_type_only_when_nothing_is_lost():
    schema = parse_schema("d double, m decimal(20,2), day date, b boolean")
    table = to_arrow([{"d": 1, "m": 10**17, "day": "2024-05-01", "b": True}], schema)
    assert table.schema == schema
    assert table.to_pylist() == [{"d": 1.0, "m": 10**17, "day": datetime.date(2024, 5, 1), "b": True}]
    with pytest.raises(SchemaError, match="column 'n' is declared bigint but holds double values such as"):
        to_arrow([{"n": 1.5}], parse_schema("n bigint"))


def test_static_table_reads_pandas_as_rows_are_read():
    frame = pd.DataFrame({"since": [pd.Timestamp(NANOS), pd.NaT], "w": [np.nan, 1.0], "n": [None, 2],
                          "s": pd.Series(["x", np.nan], dtype=object)})
    table = static_table(frame)
    assert table.schema == pa.schema([("since", TIMESTAMP), ("w", pa.float64()), ("n", pa.float64()),
                                      ("s", pa.string())])
    rows = table.to_pylist()
    assert rows[0]["since"] == MICROS and rows[1]["since"] is None
    assert math.isnan(rows[0]["w"]) and math.isnan(rows[0]["n"])  # float64 columns: NaN is a value
    assert rows[1]["s"] is None
    arrow = static_table(pa.table({"t": pa.array([-1], pa.timestamp("ns"))}))
    assert arrow.column("t").type == TIMESTAMP and arrow.column("t").cast(pa.int64()).to_pylist() == [-1]


def test_stream_static_join_takes_pandas_nanosecond_timestamps():
    """Issue 11.7: the static side of a join holds timestamps as the stream does (microseconds, UTC)."""
    import stream_nb as sn

    src = sn.sources.memory("ts timestamp, device string")
    devices = pd.DataFrame({"device": ["a", "b"], "since": [pd.Timestamp(NANOS), pd.Timestamp("2024-05-01 13:00")]})
    src.add_data([{"ts": "2024-05-01 12:00:00.123456", "device": "a"}, {"ts": "2024-05-01 12:30", "device": "b"}])
    q = sn.start("SELECT s.device, d.since, s.ts >= d.since AS installed FROM src s JOIN devices d "
                 "ON s.device = d.device", sources={"src": src, "devices": devices}, trigger="manual")
    try:
        q.step()
        result = q.result.sort_values("device").reset_index(drop=True)
    finally:
        q.stop()
    assert q.schema.field("since").type == TIMESTAMP
    assert [(r.device, r.since.isoformat(), r.installed) for r in result.itertuples()] == [
        ("a", "2024-05-01T12:00:00.123456+00:00", True), ("b", "2024-05-01T13:00:00+00:00", False)]


WINDOW = pa.struct([("start", TIMESTAMP), ("end", TIMESTAMP)])


def utc(text):
    return pd.Timestamp(text, tz="UTC")


def test_a_window_column_holds_one_dict_a_row_with_utc_timestamps():
    starts = np.array([0, 10_000_000, 0])
    bounds = [pa.array(starts).cast(TIMESTAMP), pa.array(starts + 10_000_000).cast(TIMESTAMP)]
    windows = pa.StructArray.from_arrays(bounds, names=["start", "end"])
    frame = to_pandas(pa.table({"w": windows, "n": [3, 1, 2]}))
    assert frame["w"].tolist() == [
        {"start": utc("1970-01-01 00:00:00"), "end": utc("1970-01-01 00:00:10")},
        {"start": utc("1970-01-01 00:00:10"), "end": utc("1970-01-01 00:00:20")},
        {"start": utc("1970-01-01 00:00:00"), "end": utc("1970-01-01 00:00:10")},
    ]
    assert frame["w"].dtype == object and str(frame["n"].dtype) == "Int64"
    first, third = frame["w"][0], frame["w"][2]
    assert first is not third  # a dict a row: a user may edit one without changing another
    first["start"] = None
    assert third["start"] == utc("1970-01-01 00:00:00")


def test_a_null_struct_is_none_and_null_fields_are_missing_values_of_their_pandas_type():
    kind = pa.struct([("n", pa.int64()), ("s", pa.string()), ("f", pa.float64()), ("t", TIMESTAMP),
                      ("inner", pa.struct([("x", pa.int32())]))])
    full = {"n": 1, "s": "x", "f": 1.5, "t": datetime.datetime(2024, 1, 1, tzinfo=UTC), "inner": {"x": 1}}
    empty = {"n": None, "s": None, "f": None, "t": None, "inner": None}
    frame = to_pandas(pa.table({"s": pa.array([full, None, empty, {**full, "inner": {"x": None}}], kind)}))
    rows = frame["s"].tolist()
    assert rows[0] == {"n": 1, "s": "x", "f": 1.5, "t": utc("2024-01-01"), "inner": {"x": 1}}
    assert rows[1] is None
    assert rows[2]["n"] is pd.NA and math.isnan(rows[2]["f"]) and rows[2]["t"] is pd.NaT
    assert pd.isna(rows[2]["s"]) and rows[2]["inner"] is None
    assert list(rows[3]["inner"]) == ["x"] and rows[3]["inner"]["x"] is pd.NA


def test_a_struct_with_duplicate_field_names_keeps_the_last_value_as_a_dict_does():
    twice = pa.StructArray.from_arrays([pa.array([1, 2]), pa.array(["a", "b"])], names=["k", "k"])
    assert to_pandas(pa.table({"s": twice}))["s"].tolist() == [{"k": "a"}, {"k": "b"}]


def test_a_struct_without_fields_is_an_empty_dict_a_row():
    frame = to_pandas(pa.table({"s": pa.array([{}, None], pa.struct([]))}))
    assert frame["s"].tolist() == [{}, None]


def test_a_wide_struct_is_a_dict_of_all_its_fields_in_order():
    names = [f"f{i}" for i in range(100)]
    wide = pa.StructArray.from_arrays([pa.array([i, -i]) for i in range(100)], names=names)
    rows = to_pandas(pa.table({"s": wide}))["s"].tolist()
    assert list(rows[1]) == names and rows[1]["f99"] == -99 and rows[0]["f7"] == 7


def test_timestamps_without_a_zone_are_utc_at_the_top_and_inside_a_struct():
    naive = pa.array([0, None], pa.timestamp("us"))
    frame = to_pandas(pa.table({"t": naive, "s": pa.StructArray.from_arrays([naive], names=["t"])}))
    assert str(frame["t"].dtype) == "datetime64[us, UTC]"
    assert frame["t"][0] == utc("1970-01-01") and frame["t"][1] is pd.NaT
    assert frame["s"][0] == {"t": utc("1970-01-01")} and frame["s"][1]["t"] is pd.NaT


def test_a_struct_timestamp_is_made_for_its_own_unit_and_zone_whatever_came_before_with_the_same_number():
    for unit, zone, expected in [("us", "UTC", utc("1970-01-01 00:00:00.000007")),
                                 ("ms", "UTC", utc("1970-01-01 00:00:00.007")),
                                 ("s", None, utc("1970-01-01 00:00:07")),
                                 ("us", "Asia/Tokyo", pd.Timestamp(7, unit="us", tz="Asia/Tokyo"))]:
        kind = pa.timestamp(unit, tz=zone)
        for _ in range(2):  # the second batch of the same type gets what the first did
            made = to_pandas(pa.table({"s": pa.StructArray.from_arrays([pa.array([7, 7], kind)], names=["t"])}))
            values = [row["t"] for row in made["s"]]
            assert values == [expected, expected]
            assert [(v.unit, str(v.tz)) for v in values] == [(unit, zone or "UTC")] * 2
            assert values[0] == made["s"][1]["t"] and made["s"][0] is not made["s"][1]


def test_duplicate_column_names_convert_by_position():
    table = pa.table([pa.array([1]), pa.StructArray.from_arrays([pa.array([2])], names=["x"]), pa.array(["q"])],
                     names=["a", "a", "a"])
    frame = to_pandas(table)
    assert list(frame.columns) == ["a", "a", "a"]
    assert frame.iloc[0].tolist() == [1, {"x": 2}, "q"]


def test_an_empty_table_keeps_its_columns_and_their_dtypes():
    schema = pa.schema([("w", WINDOW), ("device", pa.string()), ("n", pa.int64()), ("t", TIMESTAMP)])
    frame = to_pandas(schema.empty_table())
    assert list(frame.columns) == ["w", "device", "n", "t"] and len(frame) == 0
    assert str(frame["n"].dtype) == "Int64" and str(frame["t"].dtype) == "datetime64[us, UTC]"


def test_the_garbage_collector_is_on_again_after_a_conversion():
    to_pandas(pa.table({"w": pa.array([{"start": 0, "end": 1}], WINDOW)}))
    assert gc.isenabled()
    gc.disable()
    try:  # a user who turned it off keeps it off
        to_pandas(pa.table({"w": pa.array([{"start": 0, "end": 1}], WINDOW)}))
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("rows", [4_000, 7])
def test_windows_repeating_a_few_values_are_a_dict_of_their_own_a_row(rows):
    # many rows, a few windows (a batch's output): the same dicts as one made a row at a time, each its own
    index = np.arange(rows)
    starts = (index % 3) * 10_000_000 + (index % 2) * 5_000_000  # six distinct (start, end) pairs
    ends = starts + 10_000_000
    marks = (index % 4) * 1_000
    fields = [pa.array(starts).cast(TIMESTAMP), pa.array(ends).cast(TIMESTAMP),
              pa.array(marks).cast(pa.timestamp("ms", "Asia/Tokyo"))]
    windows = pa.StructArray.from_arrays(fields, names=["start", "end", "mark"])
    values = to_pandas(pa.table({"w": windows}))["w"].tolist()
    assert values == [{"start": pd.Timestamp(s, unit="us", tz="UTC"), "end": pd.Timestamp(e, unit="us", tz="UTC"),
                       "mark": pd.Timestamp(m, unit="ms", tz="Asia/Tokyo")}
                      for s, e, m in zip(starts.tolist(), ends.tolist(), marks.tolist())]
    assert [list(v) for v in values[:2]] == [["start", "end", "mark"]] * 2
    assert len({id(v) for v in values}) == rows  # never one dict shared by rows
    values[0]["start"] = None
    assert values[6]["start"] == pd.Timestamp(0, unit="us", tz="UTC")  # the same window as the first


def test_a_repeated_timestamp_struct_with_duplicate_field_names_keeps_the_last_value():
    first, last = pa.array([0] * 6).cast(TIMESTAMP), pa.array([10_000_000] * 6).cast(TIMESTAMP)
    twice = pa.StructArray.from_arrays([first, last], names=["t", "t"])
    assert to_pandas(pa.table({"s": twice}))["s"].tolist() == [{"t": utc("1970-01-01 00:00:10")}] * 6


def test_a_map_column_is_declared_in_ddl_read_from_dicts_or_pairs_and_shown_as_dicts_as_pyspark_shows_it():
    schema = parse_schema("id int, m map<string, double>, s struct<tags: map<string, int>>")
    assert schema.field("m").type == pa.map_(pa.string(), pa.float64())
    table = to_arrow([{"id": 1, "m": {"a": 1.5}, "s": {"tags": {"x": 1}}},
                      {"id": 2, "m": [("b", 2.0), ("c", None)], "s": None}, {"id": 3, "m": None, "s": {"tags": None}}],
                     schema)
    frame = to_pandas(table)
    assert frame["m"].tolist() == [{"a": 1.5}, {"b": 2.0, "c": None}, None]
    assert frame["s"].tolist() == [{"tags": {"x": 1}}, None, {"tags": None}]


def test_a_day_time_interval_is_a_timedelta_as_pyspark_gives_it_and_one_of_months_a_dateoffset():
    column = pa.array([pa.MonthDayNano([0, 0, 43_201_000_000_000]), None, pa.MonthDayNano([1, 0, 0])])
    frame = to_pandas(pa.table({"d": column}))
    assert frame["d"].tolist()[:2] == [pd.Timedelta(hours=12, seconds=1), None]
    assert isinstance(frame["d"][2], pd.DateOffset) and frame["d"][2].months == 1
