"""Triggers as users write them, in Python or in a magic's --trigger (which keeps the quotes)."""

import pytest

import stream_nb as sn
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


def _three_files(folder):
    for i in range(3):
        (folder / f"{i}.json").write_text(f'{{"n": {i}}}\n{{"n": {10 + i}}}\n')
    return sn.sources.files(str(folder), format="json", schema="n bigint", max_files_per_trigger=1)


def test_once_runs_one_batch_of_everything_there_read_limits_ignored_then_stops(tmp_path):
    q = sn.start("SELECT n FROM events", sources={"events": _three_files(tmp_path)}, trigger="once")
    assert q.await_termination(timeout=30)
    assert [p["numInputRows"] for p in q.recent_progress] == [6]  # Spark's Trigger.Once: one batch, all files
    assert sorted(q.result["n"]) == [0, 1, 2, 10, 11, 12]
    assert q.trigger.describe() == "once: one batch of all there is, then stop"


def test_available_now_keeps_the_read_limits_batch_by_batch(tmp_path):
    q = sn.start("SELECT n FROM events", sources={"events": _three_files(tmp_path)}, trigger="available_now")
    assert q.await_termination(timeout=30)
    assert [p["numInputRows"] for p in q.recent_progress] == [2, 2, 2]
