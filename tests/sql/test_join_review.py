"""Review of joins (issue 14) as a Spark user writes them: a stream LEFT SEMI / LEFT ANTI joined with a static
table, which Spark runs stateless (each batch's rows with / without a match) and refuses only with the stream on
the right. The oracle is a query stream_nb already runs: ``WHERE key IN (SELECT ... FROM static)``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import stream_nb as sn

CAMPAIGNS = pd.DataFrame({"campaign": ["c1", "c2"], "owner": ["x", "y"]})
ROWS = [{"ts": dt.datetime(2024, 1, 1, 0, 0, s), "ad": ad, "campaign": campaign}
        for s, ad, campaign in [(1, "a", "c1"), (2, "b", "c2"), (3, "c", None), (4, "d", "c9"), (5, "e", "c1")]]


def result(sql: str) -> list[str]:
    impressions = sn.sources.memory("ts timestamp, ad string, campaign string")
    q = sn.start(sql, sources={"impressions": impressions, "campaigns": CAMPAIGNS}, trigger="manual")
    try:
        impressions.add_data(ROWS[:3])
        q.process_all_available()
        impressions.add_data(ROWS[3:])
        q.process_all_available()
        return sorted(q.result["ad"])
    finally:
        q.stop()


def test_a_stream_left_semi_joined_with_a_static_table_keeps_the_rows_with_a_match():
    semi = result("SELECT i.ad FROM impressions i LEFT SEMI JOIN campaigns s ON i.campaign = s.campaign")
    assert semi == result("SELECT ad FROM impressions WHERE campaign IN (SELECT campaign FROM campaigns)")
    assert semi, "nothing matched: the case does not test what it says"


def test_a_stream_left_anti_joined_with_a_static_table_keeps_the_rows_without_one_null_keys_included():
    anti = result("SELECT i.ad FROM impressions i LEFT ANTI JOIN campaigns s ON i.campaign = s.campaign")
    semi = result("SELECT ad FROM impressions WHERE campaign IN (SELECT campaign FROM campaigns)")
    assert sorted(anti + semi) == sorted(row["ad"] for row in ROWS) and not set(anti) & set(semi)
    assert next(row["ad"] for row in ROWS if row["campaign"] is None) in anti  # NULL matches nothing: kept


@pytest.mark.parametrize("kind", ["SEMI", "ANTI"])
def test_a_static_table_semi_or_anti_joined_with_a_stream_is_refused_with_spark_s_reason(kind):
    sql = f"SELECT s.owner FROM campaigns s LEFT {kind} JOIN impressions i ON i.campaign = s.campaign"
    with pytest.raises(sn.StreamSQLError, match=f"Left{kind.title()} join with a streaming DataFrame/Dataset on "
                                                "the right") as caught:
        result(sql)
    assert sql[caught.value.start:].startswith("JOIN impressions")  # pointed at the join
