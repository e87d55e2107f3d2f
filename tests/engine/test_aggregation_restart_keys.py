"""A batch's partial aggregates are hashed on the look-ahead (``key_hashes(..., distinct_rows=True)``: one string
key hashed value by value), a restore hashes the checkpoint's rows through ``KeyedState.hash_keys`` (encoded or
not, by a random sample): the two must agree, or a key restored and seen again after a restart becomes a second
group. Pinned end to end, on both of keyed state's paths, with keys that repeat and keys that do not."""

import pandas as pd
import pytest

import stream_nb as sn

SQL = "SELECT k, count(*) AS n, sum(x) AS total FROM t GROUP BY k"


def _keys(count: int) -> list[str | None]:
    odd = ["", None, "é", "日本語のキー", "🙂" * 40, "tab\there", "a "]
    return odd + [f"key-{i:05d}" for i in range(count - len(odd))]


@pytest.mark.parametrize("count", [50, 6_000])  # a restore's rows encoded first / hashed one by one
def test_a_string_key_seen_again_after_a_restart_counts_in_its_restored_group(kernel_path, tmp_path, count):
    src = sn.sources.memory("k string, x double")
    checkpoint = str(tmp_path / "cp")
    q = sn.start(SQL, sources={"t": src}, trigger="manual", checkpoint=checkpoint)
    keys = _keys(count)
    rows = []
    for batch in range(3):  # every key once a batch: the partials' rows all differ, as the restore's do not
        fed = [{"k": k, "x": float(batch)} for k in keys[batch::2] + keys[::3]]
        rows += fed
        src.add_data(fed)
        q.step()
    q.stop()
    again = sn.start(SQL, sources={"t": src}, trigger="manual", checkpoint=checkpoint)
    fed = [{"k": k, "x": 10.0} for k in reversed(keys)]
    rows += fed
    src.add_data(fed)
    again.step()
    expected = (pd.DataFrame(rows).groupby("k", dropna=False).agg(n=("x", "size"), total=("x", "sum"))
                .reset_index().sort_values("k", na_position="first").reset_index(drop=True))
    got = again.result.sort_values("k", na_position="first").reset_index(drop=True)
    again.stop()
    assert len(got) == count  # one group a key, the null key's included
    pd.testing.assert_frame_equal(got[["k", "n", "total"]], expected, check_dtype=False)
