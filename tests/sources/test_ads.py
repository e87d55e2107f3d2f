"""The ads source: impressions and their clicks, two streams from one seed, a pure function of (seed, offset)."""

import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb import sources
from stream_nb.sources._protocol import source_traits
from stream_nb.types import TIMESTAMP

START = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)
START_US = int(START.timestamp()) * 1_000_000


def micros(table):
    return table.column("ts").cast(pa.int64()).to_numpy()


def shown_and_clicked(sim, ticks):
    """Every impression of the first ``ticks`` ticks by id, and the clicks that arrived by then."""
    impressions = sim.impressions.read(0, ticks)
    shown = dict(zip(impressions.column("ad_id").to_pylist(), micros(impressions), strict=True))
    return shown, sim.clicks.read(0, ticks)


def test_ads_is_two_sources_impressions_and_clicks_with_their_schemas():
    sim = sources.ads(start_time=START)
    assert sim.impressions.schema == pa.schema([("ts", TIMESTAMP), ("ad_id", pa.string()),
                                                ("campaign", pa.string())])
    assert sim.clicks.schema == pa.schema([("ts", TIMESTAMP), ("ad_id", pa.string())])
    for stream in (sim.impressions, sim.clicks):
        source_traits(stream)  # each fills the Source protocol
        assert stream.read(0, 0).schema == stream.schema == stream.read(0, 200).schema
    assert "impressions" in sim.impressions.description and "clicks" in sim.clicks.description


def test_ads_rows_are_a_pure_function_of_seed_and_offsets():
    options = {"disorder": "2 seconds", "late_fraction": 0.1, "click_through": 0.3, "start_time": START}
    sim = sources.ads(seed=7, **options)
    for stream in ("impressions", "clicks"):
        whole = getattr(sim, stream).read(0, 300)
        pieces = [getattr(sim, stream).read(a, b) for a, b in ((0, 1), (1, 120), (120, 121), (121, 300))]
        assert whole.equals(pa.concat_tables(pieces).combine_chunks())
        assert getattr(sources.ads(seed=7, **options), stream).read(0, 300).equals(whole)
        assert not getattr(sources.ads(seed=8, **options), stream).read(0, 300).equals(whole)


def test_impression_i_is_due_at_tick_i_with_its_own_ad_id():
    sim = sources.ads(rows_per_second=4, start_time=START)
    table = sim.impressions.read(5, 8)
    assert table.column("ad_id").to_pylist() == ["ad-5", "ad-6", "ad-7"]
    assert list(micros(table)) == [START_US + 1_250_000, START_US + 1_500_000, START_US + 1_750_000]
    assert set(sim.impressions.read(0, 500).column("campaign").to_pylist()) == {
        "campaign-1", "campaign-2", "campaign-3"}


def test_each_click_follows_its_impression_within_the_click_delay():
    sim = sources.ads(rows_per_second=20, click_through=0.5, click_delay="30 seconds", start_time=START)
    shown, clicks = shown_and_clicked(sim, 4000)
    delays = np.array([ts - shown[ad] for ad, ts in zip(clicks.column("ad_id").to_pylist(), micros(clicks),
                                                          strict=True)])
    assert len(delays) > 1000
    assert delays.min() >= 0 and delays.max() < 30_000_000
    assert np.median(delays) < 15_000_000  # short delays likelier


def test_click_through_is_the_share_of_impressions_clicked_each_once():
    sim = sources.ads(rows_per_second=50, click_through=0.2, click_delay="10 seconds", start_time=START)
    ticks = 20_000
    shown, clicks = shown_and_clicked(sim, ticks + 50 * 10)  # 10 s more: every click of those has arrived
    clicked = [ad for ad in clicks.column("ad_id").to_pylist() if int(ad[3:]) < ticks]
    assert len(set(clicked)) == len(clicked)  # never twice
    assert 0.18 < len(clicked) / ticks < 0.22
    assert set(clicked) <= set(shown)


def test_a_click_is_due_only_once_it_has_arrived():
    now = [START.timestamp() + 60]
    sim = sources.ads(rows_per_second=10, click_through=0.5, disorder="3 seconds", start_time=START,
                      clock=lambda: now[0])
    assert sim.impressions.latest_offset() == sim.clicks.latest_offset() == 600
    clicks = sim.clicks.read(0, 600)
    # Each arrived by the clock (at or before tick 599's time); its event time is before it arrived.
    assert micros(clicks).max() < START_US + 60_000_000
    now[0] += 30
    later = sim.clicks.read(0, sim.clicks.latest_offset())
    assert later.slice(0, clicks.num_rows).equals(clicks)  # what arrived stays where it was


def test_disorder_bounds_how_far_each_stream_runs_out_of_order():
    sim = sources.ads(rows_per_second=50, click_through=0.5, disorder="2 seconds", start_time=START)
    for stream in (sim.impressions, sim.clicks):
        ts = micros(stream.read(0, 5000))
        assert (np.diff(ts) < 0).any()  # really out of order
        # No row is as much as the disorder behind the latest event time before it: a watermark of that
        # delay drops nothing. Clicks: their lag within the disorder is added to the arrival, not the time.
        assert (np.maximum.accumulate(ts)[:-1] - ts[1:]).max() < 2_000_000 + (stream is sim.clicks) * 2_000_000


def test_late_fraction_of_each_stream_falls_far_behind():
    sim = sources.ads(rows_per_second=100, click_through=0.5, disorder="2 seconds", late_fraction=0.1,
                      start_time=START)
    ticks = 20_000
    behind = START_US + np.floor(np.arange(ticks) * 1e6 / 100).astype(np.int64) - micros(sim.impressions.read(0, ticks))
    late = behind >= 2_000_000
    assert 0.085 < late.mean() < 0.115
    assert behind[late].min() >= 30_000_000 and behind[late].max() <= 75_000_000
    clicks = micros(sim.clicks.read(0, ticks))
    running_max = np.maximum.accumulate(clicks)
    assert 0.07 < ((running_max - clicks) >= 30_000_000).mean() < 0.115  # late clicks arrive >= 30 s after


def test_both_streams_keep_and_restore_one_start_time():
    sim = sources.ads(start_time=START)
    assert sim.impressions.checkpoint_metadata() == sim.clicks.checkpoint_metadata() == {
        "start_time": START.isoformat()}
    other = sources.ads()  # starts now
    other.clicks.restore_checkpoint_metadata(sim.clicks.checkpoint_metadata())
    assert other.impressions.start_time == other.clicks.start_time == START
    assert other.clicks.read(0, 400).equals(sim.clicks.read(0, 400))
    assert other.impressions.read(0, 400).equals(sim.impressions.read(0, 400))


@pytest.mark.parametrize(("options", "message"), [
    ({"click_through": 1.5}, "click_through is a share"),
    ({"late_fraction": -0.1}, "late_fraction is a share"),
    ({"campaigns": 0}, "campaigns must be a positive int"),
    ({"click_delay": "0 seconds"}, "click_delay must be positive"),
    ({"disorder": datetime.timedelta(seconds=-1)}, "disorder must not be negative"),
    ({"rows_per_second": 0}, "rows_per_second must be a positive number"),
])
def test_bad_settings_are_refused_naming_the_setting(options, message):
    with pytest.raises(ValueError, match=message):
        sources.ads(**options)



JOIN = """
    SELECT i.ad_id, i.campaign, i.ts AS shown, c.ts AS clicked
    FROM impressions i WATERMARK ts DELAY OF INTERVAL 3 SECONDS
    LEFT JOIN clicks c WATERMARK ts DELAY OF INTERVAL 3 SECONDS
      ON i.ad_id = c.ad_id AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 10 SECONDS
"""
ADS = {"rows_per_second": 20, "click_through": 0.4, "click_delay": "8 seconds", "disorder": "1 seconds", "seed": 3}


def run_join(sim, now, steps, folder):
    """Step a checkpointed left outer join of the simulation's two streams into a files sink, the clock 2 s on
    each step; the rows the sink holds, in order."""
    q = sn.start(JOIN, sources={"impressions": sim.impressions, "clicks": sim.clicks}, trigger="manual",
                 checkpoint=str(folder / "checkpoint"), sink=sn.sinks.files(folder / "out"))
    try:
        for _ in range(steps):
            now[0] += 2
            q.step()
    finally:
        q.stop()
    rows = sn.read_files_sink(folder / "out").itertuples(index=False, name=None)
    return sorted(tuple("NULL" if pd.isna(v) else str(v) for v in row) for row in rows)


def test_a_join_of_both_streams_restarted_from_its_checkpoint_replays_them_exactly(tmp_path):
    now = [START.timestamp()]
    uninterrupted = run_join(sources.ads(start_time=START, clock=lambda: now[0], **ADS), now, 12, tmp_path / "a")
    assert len(uninterrupted) > 100
    assert {row[3] == "NULL" for row in uninterrupted} == {True, False}  # clicked and outer rows both

    now = [START.timestamp()]
    run_join(sources.ads(start_time=START, clock=lambda: now[0], **ADS), now, 5, tmp_path / "b")
    later = sources.ads(clock=lambda: now[0], **ADS)  # a restarted kernel's simulation starts "now" by default
    assert run_join(later, now, 7, tmp_path / "b") == uninterrupted
    assert later.start_time == START  # the checkpoint gave it back its start
