"""Triggers as users write them, in Python or in a magic's --trigger (which keeps the quotes)."""

import pytest

from stream_nb.engine.triggers import Trigger


@pytest.mark.parametrize(("written", "kind", "seconds"), [
    ('"2 seconds"', "interval", 2.0),
    ("'2 seconds'", "interval", 2.0),
    ('"manual"', "manual", 0.0),
    (' "available_now" ', "available_now", 0.0),
    (None, "asap", 0.0),
])
def test_a_quoted_trigger_is_read_without_its_quotes(written, kind, seconds):
    assert Trigger.parse(written) == Trigger(kind, seconds)


def test_case_18_an_unknown_trigger_is_named_without_the_quotes_it_came_with():
    with pytest.raises(ValueError) as caught:
        Trigger.parse('"often"')
    assert str(caught.value).startswith("unknown trigger 'often': use None")


def test_case_18_every_before_the_interval_is_named_and_the_interval_suggested():
    with pytest.raises(ValueError, match=r"unknown trigger 'every 2 seconds': write the interval alone.*'2 seconds'"):
        Trigger.parse('"every 2 seconds"')


@pytest.mark.parametrize("written", ["-1 seconds", -1, -0.5, '"-2 seconds"'])
def test_a_negative_interval_is_refused_as_negative(written):
    with pytest.raises(ValueError, match="an interval cannot be negative"):
        Trigger.parse(written)


def test_every_before_a_negative_interval_suggests_nothing_that_would_fail_too():
    with pytest.raises(ValueError) as caught:
        Trigger.parse("every -1 seconds")
    assert "write the interval alone" not in str(caught.value)


@pytest.mark.parametrize(("written", "seconds"), [
    ("continuous", 1.0),                      # Spark's default checkpoint interval
    ('"continuous 500 milliseconds"', 0.5),   # as a magic's --trigger gives it
    (("continuous", "2 seconds"), 2.0),
    ("Continuous 1 second", 1.0),
])
def test_a_continuous_trigger_carries_its_checkpoint_interval(written, seconds):
    assert Trigger.parse(written) == Trigger("continuous", seconds)


def test_a_continuous_trigger_without_a_positive_interval_is_refused():
    with pytest.raises(ValueError, match="continuous trigger 'continuous soon': the checkpoint interval must be"):
        Trigger.parse("continuous soon")
