"""The rate source: Spark's load generator, with a clock that tests control."""

import datetime

import numpy as np
import pyarrow as pa
import pytest

from stream_nb import sources
from stream_nb.types import TIMESTAMP

START = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)
T0 = START.timestamp()


def at(seconds):
    """A clock stopped ``seconds`` after START."""
    return lambda: T0 + seconds


def test_rate_schema_is_timestamp_and_value():
    src = sources.rate(start_time=START, clock=at(0))
    assert src.schema == pa.schema([("timestamp", TIMESTAMP), ("value", pa.int64())])
    assert src.read(0, 0).schema == src.schema
    assert src.description == "RateSource[rowsPerSecond=1]"


def test_rate_row_i_has_value_i_and_time_i_over_the_rate():
    src = sources.rate(4, start_time=START)
    table = src.read(0, 9)
    assert table.column("value").to_pylist() == list(range(9))
    expected = [START + datetime.timedelta(seconds=i / 4) for i in range(9)]
    assert table.column("timestamp").to_pylist() == expected


def test_rate_latest_offset_counts_the_rows_due_by_the_clock():
    now = [0.0]
    src = sources.rate(10, start_time=START, clock=lambda: T0 + now[0])
    for seconds, due in [(-5, 0), (0, 0), (0.05, 1), (0.1, 1), (0.1001, 2), (10, 100)]:
        now[0] = seconds
        assert src.latest_offset() == due, seconds


@pytest.mark.parametrize("rate", [1, 3, 7, 0.5, 1000])
def test_rate_latest_offset_agrees_with_the_timestamps_read(rate):
    for seconds in [0.3, 1, 2.5, 17.77, 3600]:
        src = sources.rate(rate, ramp_up_time="5 seconds", start_time=START, clock=at(seconds))
        n = src.latest_offset()
        times = src.read(max(n - 1, 0), n + 1).column("timestamp").to_pylist()
        now = START + datetime.timedelta(seconds=seconds)
        assert (n == 0 or times[0] < now) and times[-1] >= now


def test_rate_read_is_a_pure_function_of_start_time_and_offsets():
    a = sources.rate(7, start_time=START, clock=at(100))
    b = sources.rate(7, start_time="2024-05-01T12:00:00Z")
    whole = a.read(0, 50)
    assert whole.equals(pa.concat_tables([b.read(0, 13), b.read(13, 14), b.read(14, 50)]).combine_chunks())


def test_rate_ramp_up_grows_linearly_to_the_rate():
    src = sources.rate(10, ramp_up_time="4 seconds", start_time=START, clock=at(4))
    assert src.latest_offset() == 20  # 10 rows/s x 4 s / 2: the ramp's average rate is half the rate
    assert sources.rate(10, ramp_up_time="4 seconds", start_time=START, clock=at(10)).latest_offset() == 80
    micros = src.read(0, 40).column("timestamp").cast(pa.int64()).to_numpy()
    gaps = np.diff(micros)
    assert (np.diff(gaps[:19]) <= 0).all()  # the rate grows: rows come closer and closer
    assert (gaps[20:] == 100_000).all()  # then 10 a second
    assert "rampUpTimeSeconds=4" in src.description


def test_rate_start_time_defaults_to_when_the_source_was_created():
    src = sources.rate(clock=lambda: 1000.1234)
    assert src.start_time == datetime.datetime(1970, 1, 1, 0, 16, 40, 123000, tzinfo=datetime.UTC)


def test_rate_start_time_accepts_datetimes_and_iso_strings_naive_ones_as_utc():
    for start in ["2024-05-01 12:00:00", "2024-05-01T14:00:00+02:00", datetime.datetime(2024, 5, 1, 12)]:
        assert sources.rate(start_time=start).start_time == START
    with pytest.raises(ValueError, match="'yesterday' is not an ISO 8601 time"):
        sources.rate(start_time="yesterday")


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "10"])
def test_rate_rejects_a_rate_that_is_not_a_positive_number(bad):
    with pytest.raises(ValueError, match="rows_per_second must be a positive number"):
        sources.rate(bad)
