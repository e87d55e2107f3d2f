"""The ads source: simulated ad impressions and their clicks, two streams for teaching stream-stream joins.

Like ``sensors``, every value is a pure function of (seed, offset) — a counter-based hash per row — so the
same offsets give the same rows in any process, and a query over either stream is exactly-once across
restarts. Both streams share one schedule: offset i of either is the i-th tick of ``rows_per_second``.
Impression i is due at tick i. Its click, if it has one, happens ``delay`` after it and arrives a little later
still; the clicks stream's offset j holds the clicks that arrive between ticks j - 1 and j, so a click is due
once it has arrived, and ``clicks.read`` finds them among the impressions that can click by then.
"""

from __future__ import annotations

import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.intervals import parse_interval
from stream_nb.sources.errors import check_offsets
from stream_nb.sources.rate import Clock, Schedule, Scheduled, timestamp_array
from stream_nb.sources.sensors import DEFAULT_SEED, _uniform
from stream_nb.types import TIMESTAMP

# One hash stream per random quantity (sensors uses 0-14): independent of each other and of the sensors'.
_SHIFT, _LATE, _LATENESS, _CLICKED, _DELAY, _LAG, _CLICK_LATE, _CLICK_LATENESS, _CAMPAIGN = range(20, 29)
_MIN_LATENESS_US = 30_000_000  # as sensors: late rows fall L to 2.5 L behind, L = max(2 x disorder, 30 s)
_US = datetime.timedelta(microseconds=1)


class Ads:
    """Impressions and clicks from one seed and one schedule (see ``ads``); ``impressions`` and ``clicks`` are
    the two sources."""

    def __init__(self, rows_per_second: float = 10, *, click_through: float = 0.2, click_delay="30 seconds",
                 disorder="0 seconds", late_fraction: float = 0.0, campaigns: int = 3,
                 seed: int | None = None, start_time=None, clock: Clock | None = None):
        if not 0.0 <= click_through <= 1.0:
            raise ValueError(f"click_through is a share of impressions between 0 and 1, not {click_through!r}")
        if not 0.0 <= late_fraction <= 1.0:
            raise ValueError(f"late_fraction is a share of rows between 0 and 1, not {late_fraction!r}")
        if isinstance(campaigns, bool) or not isinstance(campaigns, int) or campaigns < 1:
            raise ValueError(f"campaigns must be a positive int, not {campaigns!r}")
        self.click_delay, self.disorder = parse_interval(click_delay), parse_interval(disorder)
        if self.click_delay <= datetime.timedelta(0):
            raise ValueError(f"click_delay must be positive, not {click_delay!r}")
        if self.disorder < datetime.timedelta(0):
            raise ValueError(f"disorder must not be negative, not {disorder!r}")
        self.rows_per_second, self.click_through, self.late_fraction = rows_per_second, click_through, late_fraction
        self.campaigns = campaigns
        self.seed = DEFAULT_SEED if seed is None else int(seed) % 2**64
        self.schedule = Schedule(rows_per_second, None, start_time, clock)
        settings = (f"rowsPerSecond={rows_per_second:g}, clickThrough={click_through:g}, "
                    f"clickDelay={self.click_delay.total_seconds():g} seconds, "
                    f"disorder={self.disorder.total_seconds():g} seconds, lateFraction={late_fraction:g}, "
                    f"seed={self.seed}")
        self.impressions = Impressions(self, f"AdsSource[impressions, {settings}]")
        self.clicks = Clicks(self, f"AdsSource[clicks, {settings}]")
        width = len(str(campaigns))
        self._campaign_names = pa.array([f"campaign-{c + 1:0{width}d}" for c in range(campaigns)])

    @property
    def start_time(self) -> datetime.datetime:
        return self.schedule.start_time

    @property
    def start_us(self) -> int:
        """Microseconds since the epoch of tick 0."""
        return int(self.schedule.timestamps_us(np.zeros(1, dtype=np.int64))[0])

    # -- each impression's facts, as functions of its index ---------------------------------------------------

    def _late_us(self, stream: int, lateness: int, index: np.ndarray) -> np.ndarray:
        """How far behind a late row falls (0 for the others)."""
        low = max(2 * (self.disorder // _US), _MIN_LATENESS_US)
        late = _uniform(self.seed, stream, index) < self.late_fraction
        return np.where(late, low * (1 + 1.5 * _uniform(self.seed, lateness, index)), 0).astype(np.int64)

    def _shown_us(self, index: np.ndarray) -> np.ndarray:
        """An impression's event time: its tick, less a random shift within ``disorder`` (or far back if late)."""
        shift = np.floor(_uniform(self.seed, _SHIFT, index) * (self.disorder // _US)).astype(np.int64)
        late = self._late_us(_LATE, _LATENESS, index)
        return self.schedule.timestamps_us(index) - np.where(late > 0, late, shift)

    def _clicked(self, index: np.ndarray) -> np.ndarray:
        return _uniform(self.seed, _CLICKED, index) < self.click_through

    def _click_us(self, index: np.ndarray) -> np.ndarray:
        """When the impression is clicked: after it by less than ``click_delay``, short delays likelier."""
        delay = (self.click_delay // _US) * _uniform(self.seed, _DELAY, index) ** 2
        return self._shown_us(index) + delay.astype(np.int64)

    def _click_arrival_us(self, index: np.ndarray, click_us: np.ndarray) -> np.ndarray:
        """When the click reaches the stream: within ``disorder`` after it happened (or far later if late)."""
        lag = np.floor(_uniform(self.seed, _LAG, index) * (self.disorder // _US)).astype(np.int64)
        late = self._late_us(_CLICK_LATE, _CLICK_LATENESS, index)
        return click_us + np.where(late > 0, late, lag)

    def _tick_at_or_after(self, micros: np.ndarray) -> np.ndarray:
        """The first tick due at or after each time (0 for times before the start)."""
        guess = np.maximum(np.ceil((micros - self.start_us) * (self.rows_per_second / 1e6)), 0).astype(np.int64)
        # The float guess may be one off either way: settle it with the schedule read() uses.
        guess = np.where(self.schedule.timestamps_us(np.maximum(guess - 1, 0)) >= micros, guess - 1, guess)
        guess = np.maximum(guess, 0)
        return np.where(self.schedule.timestamps_us(guess) < micros, guess + 1, guess)

    def _most_behind_us(self) -> int:
        """The most a row can fall behind: an impression's event time behind its tick, a click's arrival
        behind its event time."""
        late = 2.5 * max(2 * (self.disorder // _US), _MIN_LATENESS_US) if self.late_fraction else 0
        return int(max(self.disorder // _US, late)) + 1

    def __repr__(self) -> str:
        return f"ads({self.impressions.description[len('AdsSource[impressions, '):-1]}) from " \
               f"{self.start_time.isoformat()}"


class _AdsStream(Scheduled):
    """What both streams share: the schedule (kept in the checkpoint as ``start_time``) and the offsets."""

    def __init__(self, ads: Ads, description: str):
        self.ads, self.description = ads, description
        self._schedule = ads.schedule

    @property
    def start_time(self) -> datetime.datetime:
        return self._schedule.start_time

    @start_time.setter
    def start_time(self, value) -> None:  # Scheduled.restore_checkpoint_metadata sets it after the rebase
        pass

    def latest_offset(self) -> int:
        """Ticks due by now on the wall clock (or on the simulation's ``clock``)."""
        return self._schedule.due()

    def __repr__(self) -> str:
        return f"{self.description} from {self.start_time.isoformat()}"


class Impressions(_AdsStream):
    """Impressions: ``ts``, ``ad_id`` (one per impression), ``campaign``; offset i is impression i."""

    schema = pa.schema([pa.field("ts", TIMESTAMP), pa.field("ad_id", pa.string()),
                        pa.field("campaign", pa.string())])

    def read(self, start: int, end: int) -> pa.Table:
        """Impressions ``start`` to ``end`` (exclusive): a pure function of the seed and the offsets."""
        check_offsets(start, end, None, self.description)
        index = np.arange(start, end, dtype=np.int64)
        ads = self.ads
        campaign = np.floor(_uniform(ads.seed, _CAMPAIGN, index) * ads.campaigns).astype(np.int64)
        columns = [timestamp_array(ads._shown_us(index)), _ad_ids(index), ads._campaign_names.take(campaign)]
        return pa.Table.from_arrays(columns, schema=self.schema)


class Clicks(_AdsStream):
    """Clicks: ``ts`` (when the ad was clicked), ``ad_id``; offset j holds the clicks arriving at tick j."""

    schema = pa.schema([pa.field("ts", TIMESTAMP), pa.field("ad_id", pa.string())])

    def read(self, start: int, end: int) -> pa.Table:
        """The clicks that arrive at ticks ``start`` to ``end`` (exclusive), by arrival, then impression."""
        check_offsets(start, end, None, self.description)
        ads = self.ads
        if end <= start:
            return self.schema.empty_table()
        # A click arrives at most click_delay + most_behind after its impression's tick (which is at or after
        # the impression's event time), and at least most_behind before it (a late impression's click): only
        # the impressions due in that span around these ticks can have a click among them.
        first_us, last_us = ads.schedule.timestamps_us(np.array([max(start - 1, 0), end], dtype=np.int64))
        rate, behind = ads.rows_per_second / 1e6, ads._most_behind_us()
        low = max(int(np.floor((first_us - ads.click_delay // _US - behind - ads.start_us) * rate)) - 2, 0)
        high = max(int(np.ceil((last_us + behind - ads.start_us) * rate)) + 2, low)
        index = np.arange(low, high, dtype=np.int64)
        index = index[ads._clicked(index)]
        clicked_us = ads._click_us(index)
        tick = ads._tick_at_or_after(ads._click_arrival_us(index, clicked_us))
        keep = (tick >= start) & (tick < end)
        order = np.lexsort((index[keep], tick[keep]))
        index, clicked_us = index[keep][order], clicked_us[keep][order]
        return pa.Table.from_arrays([timestamp_array(clicked_us), _ad_ids(index)], schema=self.schema)


def _ad_ids(index: np.ndarray) -> pa.Array:
    """``ad-<i>`` for impression i: the id its click carries too."""
    return pc.binary_join_element_wise("ad-", pc.cast(pa.array(index), pa.string()), "")


def ads(rows_per_second: float = 10, *, click_through: float = 0.2, click_delay="30 seconds",
        disorder="0 seconds", late_fraction: float = 0.0, campaigns: int = 3, seed: int | None = None,
        start_time=None, clock: Clock | None = None) -> Ads:
    """Simulated ad impressions and their clicks: two streams to join, ``ads.impressions`` and ``ads.clicks``.

    ``impressions``: ``ts``, ``ad_id`` (``"ad-<i>"``, one per impression), ``campaign`` (``"campaign-1"``...),
    ``rows_per_second`` of them. ``clicks``: ``ts``, ``ad_id``: a ``click_through`` share of the impressions is
    clicked, each at most ``click_delay`` after it was shown (short delays likelier), so
    ``c.ts BETWEEN i.ts AND i.ts + INTERVAL <click_delay>`` finds every click's impression. Both streams arrive
    out of order by less than ``disorder`` (a watermark of that delay drops none of their rows); a
    ``late_fraction`` of each arrives much later than that (as in ``sensors``): late data for the watermark.
    A pure function of (seed, offset), so both streams replay exactly after a restart.

    Args:
        rows_per_second: impressions per second; the clicks stream ticks at the same rate.
        click_through: share of impressions clicked (0 to 1).
        click_delay: a duration like ``"30 seconds"``: the longest time from an impression to its click.
        disorder: a duration: the bound on out-of-order event times in each stream.
        late_fraction: share of rows (0 to 1) of each stream that arrive late.
        campaigns: how many campaigns the impressions belong to.
        seed: any int; None means 42, so a notebook shows the same ads every run.
        start_time: when impression 0 is shown: a datetime or ISO 8601 string (naive means UTC); default: now.
        clock: seconds since the epoch, instead of ``time.time`` (for tests and replays).

    >>> sim = ads(rows_per_second=2, click_through=0.5, click_delay="4 seconds", start_time="2024-05-01 12:00")
    >>> sim.impressions.read(0, 3).to_pandas()
                                 ts ad_id    campaign
    0 2024-05-01 12:00:00.000+00:00  ad-0  campaign-2
    1 2024-05-01 12:00:00.500+00:00  ad-1  campaign-3
    2 2024-05-01 12:00:01.000+00:00  ad-2  campaign-1
    >>> sim.clicks.read(0, 4).to_pandas()  # ad-0 clicked 0.47 s after it was shown, ad-2 0.25 s after
                                    ts ad_id
    0 2024-05-01 12:00:00.467412+00:00  ad-0
    1 2024-05-01 12:00:01.245547+00:00  ad-2
    """
    return Ads(rows_per_second, click_through=click_through, click_delay=click_delay, disorder=disorder,
               late_fraction=late_fraction, campaigns=campaigns, seed=seed, start_time=start_time, clock=clock)
