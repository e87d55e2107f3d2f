"""The Kafka source's offsets as Spark writes them, the checkpoint's steps, and Spark's failOnDataLoss rules.

Tansu has no DeleteRecords, so retention (offsets gone from the front of a partition) cannot be made on a real
broker here: ``losses`` is the rule the source applies to what the broker answers, tested with those answers.
"""

import pytest

from stream_nb.sources.errors import SourceError
from stream_nb.sources.kafka_offsets import losses, spark_json, split_backlog, step_from_json, step_json


def test_offsets_are_written_per_topic_then_partition_as_spark_writes_them():
    assert spark_json({("b", 1): 5, ("a", 0): 2, ("b", 0): 23}) == {"a": {"0": 2}, "b": {"0": 23, "1": 5}}


def test_a_step_round_trips_through_its_json_with_its_starts():
    end, starts = {("a", 0): 7, ("b", 2): 3}, {("b", 2): 0}
    assert step_json(end, starts) == {"end": {"a": {"0": 7}, "b": {"2": 3}}, "start": {"b": {"2": 0}}}
    assert step_from_json(step_json(end, starts), None) == (end, starts)


def test_a_step_written_when_the_source_read_one_topic_restores_as_that_topics():
    assert step_from_json({"end": {"0": 2, "1": 5}, "start": {"1": 0}}, "events") == (
        {("events", 0): 2, ("events", 1): 5}, {("events", 1): 0})


@pytest.mark.parametrize("step", [{"end": {"a": {"0": -1}}}, {"end": {"a": {"0": True}}}, {"end": 3}, []])
def test_a_step_that_is_not_one_is_refused(step):
    with pytest.raises((TypeError, ValueError)):
        step_from_json(step, None)


def test_offsets_deleted_by_retention_before_they_were_read_stop_the_query_by_default():
    with pytest.raises(SourceError, match=r"topic 'a' partition 0: offsets 3 to 9 were deleted before the query "
                                          r"read them \(its earliest offset is 10\)\. Some data may have been lost"
                                          r".*fail_on_data_loss=False"):
        losses({("a", 0): 3}, {("a", 0): (10, 12)}, fail=True)


def test_without_fail_on_data_loss_retention_is_a_warning_and_reading_goes_on_from_the_earliest_offset():
    with pytest.warns(UserWarning, match=r"topic 'a' partition 0: offsets 3 to 9 were deleted .* the query goes on"):
        starts = losses({("a", 0): 3, ("a", 1): 4}, {("a", 0): (10, 12), ("a", 1): (0, 6)}, fail=False)
    assert starts == {("a", 0): 10}  # partition 1 lost nothing: it goes on where it was


def test_without_fail_on_data_loss_a_partition_whose_end_went_back_goes_on_from_its_new_end_as_spark():
    with pytest.warns(UserWarning, match="its end offset went back from 8 to 2"):
        assert losses({("a", 0): 8}, {("a", 0): (0, 2)}, fail=False) == {("a", 0): 2}


def test_offsets_the_query_is_at_that_are_still_there_are_no_loss():
    assert losses({("a", 0): 3, ("a", 1): 0}, {("a", 0): (3, 3), ("a", 1): (0, 9)}, fail=True) == {}


def test_a_capped_backlog_is_shared_by_what_each_partition_has_left_and_no_partition_waits_behind_the_big_one():
    steps = split_backlog({("t", 0): 0, ("t", 1): 0, ("t", 2): 0}, {("t", 0): 30, ("t", 1): 2, ("t", 2): 1}, 6)
    sizes = [{p: step[t, p] - (before[t, p] if before else 0) for t, p in step}
             for before, step in zip([None, *steps], steps, strict=False)]
    assert all(sum(size.values()) == 6 for size in sizes[:-1]) and sum(map(sum, map(dict.values, sizes))) == 33
    assert sizes[0] == {0: 4, 1: 1, 2: 1}  # each partition's first message in the first batch, the rest by backlog
    assert sizes[1] == {0: 5, 1: 1, 2: 0} and steps[-1] == {("t", 0): 30, ("t", 1): 2, ("t", 2): 1}
