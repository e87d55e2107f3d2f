"""The several-streams runner's own rules, without Spark: what a case may hold and how each side is fed."""

import pytest

from tests.differential.cases import t
from tests.differential.streams import Input, StreamsCase, _raw_schema, feed, run_stream_nb

TWO = (Input("a", "ts timestamp, k string, amount decimal(10,2)"), Input("b", "ts timestamp, k string"))


def case(batches, sql="SELECT k FROM a UNION ALL SELECT k FROM b"):
    return StreamsCase(name="c", sql=sql, output_mode="append", inputs=TWO, batches=batches)


def test_a_batch_feeds_only_the_case_inputs_with_rows_that_fit_their_schema():
    with pytest.raises(ValueError, match="batch 0 feeds 'c', not an input"):
        case((feed(c=((t(1), "x"),)),))
    with pytest.raises(ValueError, match="batch 1 row .* does not fit b's schema"):
        case((feed(a=()), feed(b=((t(1), "x", 1.0),))))


def test_spark_reads_one_stream_with_every_input_columns_prefixed_by_its_name():
    assert _raw_schema(case(())) == ("__input string, a__ts timestamp, a__k string, a__amount decimal(10,2), "
                                     "b__ts timestamp, b__k string")


def test_stream_nb_gets_each_input_its_own_rows_of_a_batch_in_one_micro_batch():
    emitted = run_stream_nb(case((feed(a=((t(1), "a1", 1.5),), b=((t(2), "b1"),)), feed(b=((t(3), "b2"),)), feed())))
    assert emitted.fed == [1, 2, 2]  # one micro-batch per fed batch; nothing to run for an empty one
    assert sorted(emitted.table("append", ())) == [("a1",), ("b1",), ("b2",)]
    assert sorted(emitted.batches[0][2]) == [("a1",), ("b1",)]
