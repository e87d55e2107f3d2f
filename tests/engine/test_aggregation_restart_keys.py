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


def test_windowed_string_keys_evicted_and_reused_come_out_once_each_with_their_counts(kernel_path, tmp_path):
    """Windows close and their keys leave the state (slots reused by the next windows' keys, the byte heap
    compacted under live ones), the process restarts in between: append mode emits each (window, key) once,
    with the count of its rows."""
    import numpy as np

    rng = np.random.default_rng(7)
    src = sn.sources.memory("ts timestamp, k string")
    sql = ("SELECT window(ts, '10 seconds') AS w, k, count(*) AS n FROM t "
           "WATERMARK ts DELAY OF INTERVAL 0 SECONDS GROUP BY window(ts, '10 seconds'), k")
    checkpoint = str(tmp_path / "cp")
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows, emitted = [], []
    q = sn.start(sql, sources={"t": src}, trigger="manual", output_mode="append", checkpoint=checkpoint)
    for second in range(0, 200, 5):
        if second == 100:  # a restart: the open windows' keys restored, then evicted in turn
            emitted.append(q.result)  # (a sink of this run's rows: the next run's holds its own)
            q.stop()
            q = sn.start(sql, sources={"t": src}, trigger="manual", output_mode="append", checkpoint=checkpoint)
        keys = [f"{'long-' * int(rng.integers(0, 30))}{int(i)}" for i in rng.integers(0, 300, 400)]
        fed = [{"ts": t0 + pd.Timedelta(seconds=second + int(rng.integers(0, 5))), "k": k} for k in keys]
        rows += fed
        src.add_data(fed)
        q.process_all_available()
    src.add_data([{"ts": t0 + pd.Timedelta(seconds=10_000), "k": "end"}])
    q.process_all_available()
    got = pd.concat([*emitted, q.result], ignore_index=True)
    q.stop()
    frame = pd.DataFrame(rows)
    frame["start"] = frame["ts"].dt.floor("10s")
    expected = frame.groupby(["start", "k"]).size()
    got_counts = pd.Series(got["n"].to_numpy(), index=pd.MultiIndex.from_arrays(
        [pd.to_datetime([w["start"] for w in got["w"]], utc=True), got["k"]], names=["start", "k"]))
    assert not got_counts.index.duplicated().any()  # each (window, key) emitted once
    assert got_counts.sort_index().to_dict() == expected.sort_index().to_dict()
