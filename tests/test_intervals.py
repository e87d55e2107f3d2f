"""parse_interval: the intervals of the Spark guide ("10 seconds"), for windows, watermarks, triggers, sources."""

import datetime

import pytest

from stream_nb.intervals import parse_interval


@pytest.mark.parametrize("text, seconds", [
    ("0 seconds", 0), ("2 seconds", 2), ("1 second", 1), ("500 milliseconds", 0.5), ("1 minute", 60),
    ("5s", 5), ("250 ms", 0.25), ("1.5 hours", 5400), ("2 days", 172800), ("1 WEEK", 604800),
    ("1 minute 30 seconds", 90), ("INTERVAL 10 SECONDS", 10), ("interval '10' second", 10), ("  3 min ", 180),
])
def test_parse_interval_reads_spark_intervals(text, seconds):
    assert parse_interval(text) == datetime.timedelta(seconds=seconds)


def test_parse_interval_passes_a_timedelta_through():
    assert parse_interval(datetime.timedelta(seconds=3)) == datetime.timedelta(seconds=3)


@pytest.mark.parametrize("text", ["", "10", "ten seconds", "10 fortnights", "-1 seconds", "interval"])
def test_parse_interval_error_names_the_text_and_the_units(text):
    with pytest.raises(ValueError, match=f"cannot read '{text}' as a duration") as error:
        parse_interval(text)
    assert "seconds" in str(error.value)
