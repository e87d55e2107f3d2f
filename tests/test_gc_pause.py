"""The collector is off while any conversion runs and back to what it was once the last one is done; a window
column's dicts are left out of it."""

import gc
import sys
import threading

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from stream_nb.gc_pause import paused, untracked_template
from stream_nb.types import to_pandas


def test_the_collector_is_off_inside_and_on_again_after():
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_pauses_switch_it_on_only_when_the_outer_one_ends():
    with paused():
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_switches_it_back_on():
    try:
        with paused():
            raise KeyError("boom")
    except KeyError:
        pass
    assert gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off():
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_two_threads_overlapping_leave_it_on_once_both_are_done():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with paused():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with paused():
            second_in.set()
            first_out.wait(10)
            seen["after the first left"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"after the first left": False}
    assert gc.isenabled()


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's collector")
def test_copies_of_an_untracked_template_stay_out_of_the_collector_until_they_hold_a_container():
    template = untracked_template({"start": pd.Timestamp(0, tz="UTC"), "end": pd.Timestamp(1, tz="UTC")})
    copies = [template.copy() for _ in range(3)]
    assert copies[0] == template and not any(gc.is_tracked(row) for row in [template, *copies])
    copies[0]["note"] = copies[0]  # a cycle a user makes: CPython tracks the dict again, so it can be collected
    copies[1]["n"] = 1
    assert gc.is_tracked(copies[0]) and not gc.is_tracked(copies[1])


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's collector")
def test_a_window_batchs_dicts_are_not_walked_by_the_collector():
    starts = pa.array([0, 0, 10_000_000, 10_000_000] * 50, pa.timestamp("us", "UTC"))
    windows = pa.StructArray.from_arrays([starts, pc.add(starts, pa.scalar(10_000_000, pa.duration("us")))],
                                         names=["start", "end"])
    rows = to_pandas(pa.table({"w": windows}))["w"].tolist()
    assert rows[0] == {"start": pd.Timestamp(0, tz="UTC"), "end": pd.Timestamp(10_000_000, unit="us", tz="UTC")}
    assert not any(gc.is_tracked(row) for row in rows) and len({id(row) for row in rows}) == len(rows)
