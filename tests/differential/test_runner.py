"""The differential runner's own rules, without Spark: how emitted batches become the table compared."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from tests.differential.spark_runner import Case, Emitted, compare, difference, value


def emitted(side, *batches, fed=None):
    out = Emitted(side)
    for i, (columns, rows) in enumerate(batches):
        out.add(i, columns, rows)
    out.fed = fed if fed is not None else [len(batches)]
    return out


def test_append_is_every_row_emitted_update_the_last_row_per_key_complete_the_last_table():
    out = emitted("x", (["k", "n"], [("a", 1), ("b", 1)]), (["k", "n"], [("a", 2)]))
    assert sorted(out.table("append", ())) == [("a", 1), ("a", 2), ("b", 1)]
    assert sorted(out.table("update", ("k",))) == [("a", 2), ("b", 1)]
    assert out.table("complete", ()) == [("a", 2)]
    assert out.table("update", ()) == [("a", 2)]  # no key: the one row of a global aggregation


def test_values_are_normalised_the_same_on_both_sides():
    naive_spark = datetime(2024, 1, 1, 0, 0, 10)  # Spark hands out naive local times; this machine's zone
    aware = naive_spark.astimezone(UTC)
    assert value((naive_spark, naive_spark)) == value({"start": pd.Timestamp(aware), "end": aware})
    assert value(float("nan")) is None and value(pd.NaT) is None and value(pd.NA) is None
    assert difference([(1, 0.1 + 0.2)], [(1.0, 0.3)]) is None
    assert difference([(None, "a")], [(None, "a")]) is None


def test_a_difference_names_the_rows_only_one_side_has():
    report = difference([("a", 1), ("a", 1), ("b", 2)], [("a", 1), ("c", 3)])
    assert "only in Spark (2):\n  ('a', 1)\n  ('b', 2)" in report
    assert "only in stream_nb (1):\n  ('c', 3)" in report


def test_results_are_compared_after_every_input_batch_not_only_at_the_end():
    early = emitted("stream_nb", (["n"], [(1,)]), (["n"], []), fed=[1, 2])
    late = emitted("Spark", (["n"], []), (["n"], [(1,)]), fed=[1, 2])
    two_batches = Case(name="c", sql="SELECT 1", output_mode="append", batches=((), ()))
    report = compare(two_batches, late, early)
    assert "differs after input batch 0" in report and "at the end: the same" in report


def test_update_mode_needs_its_key_in_the_output():
    with pytest.raises(AssertionError, match=r"key column\(s\) \['w'\]"):
        emitted("x", (["k"], [("a",)])).table("update", ("w",))
