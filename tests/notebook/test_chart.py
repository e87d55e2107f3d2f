"""The chart turns result deltas into bokeh updates by output mode: append streams, update patches changed
keys and streams new ones, complete replaces; every model exists before display (series take slots made up
front), one update is one message, and nothing the page sends changes the chart. In-process: the widgets need
no kernel to hold their state (tests/browser/test_chart_truth.py compares what the page draws)."""

import json
import warnings

import pandas as pd
import pyarrow as pa
import pytest
from bokeh.document.events import ColumnDataChangedEvent, ColumnsPatchedEvent, ColumnsStreamedEvent

from stream_nb.notebook.chart import ANCHOR, Chart
from stream_nb.notebook.chart_spec import ChartSpec
from stream_nb.notebook.results import ResultTracker, column_kinds, flatten, struct_fields
from stream_nb.types import TIMESTAMP, to_pandas

WINDOWED = pa.schema([("w", pa.struct([("start", TIMESTAMP), ("end", TIMESTAMP)])), ("device", pa.string()),
                      ("avg_temp", pa.float64())])
KINDS = column_kinds(WINDOWED)


def windows(*rows):
    """The result table as the memory sink gives it (a window is a dict), flattened as the view does."""
    table = pa.Table.from_pylist([{"w": {"start": pd.Timestamp(f"2026-11-24 10:00:{s:02d}", tz="UTC"),
                                         "end": pd.Timestamp(f"2026-11-24 10:00:{s + 10:02d}", tz="UTC")},
                                   "device": d, "avg_temp": v} for s, d, v in rows], schema=WINDOWED)
    return flatten(to_pandas(table), struct_fields(WINDOWED))


class Events:
    """The document events the chart causes: what jupyter_bokeh sends to the browser."""

    def __init__(self, chart):
        self.seen = []
        chart.figure.document.on_change(lambda event: self.seen.append(type(event)))

    def take(self):
        seen, self.seen = self.seen, []
        return seen


def chart(kind="line", mode="update", keys=("w.start", "w.end", "device"), **options):
    options = {"x": "w.start", "y": "avg_temp", "by": "device", **options}
    spec = ChartSpec.parse(kind, **options).resolve(KINDS, "averages")
    return Chart(spec, KINDS, mode), ResultTracker(mode, list(keys) if mode == "update" else None)


def series_data(c):
    return {k: (pd.to_datetime(list(s.source.data["x"]), unit="ms").strftime("%S").tolist(),
                [float(v) for v in s.source.data["y0"]]) for k, s in c.series.items()}


def test_update_mode_patches_changed_keys_and_streams_new_ones():
    c, tracker = chart()
    c.apply(tracker.advance(windows((0, "a", 1.0), (0, "b", 2.0))))
    events = Events(c)
    c.apply(tracker.advance(windows((0, "a", 1.5), (0, "b", 2.0), (10, "a", 3.0))))
    assert ColumnsPatchedEvent in events.take()  # a's first window changed: patched in place
    assert series_data(c) == {"a": (["00", "10"], [1.5, 3.0]), "b": (["00"], [2.0])}
    c.apply(tracker.advance(windows((0, "a", 1.5), (0, "b", 2.0), (10, "a", 3.0))))
    assert events.take() == []  # nothing changed, nothing sent


def test_update_mode_keeps_a_line_in_time_order_when_a_late_window_arrives():
    c, tracker = chart()
    c.apply(tracker.advance(windows((10, "a", 1.0), (20, "a", 2.0))))
    c.apply(tracker.advance(windows((10, "a", 1.0), (20, "a", 2.5), (0, "a", 9.0))))
    assert series_data(c) == {"a": (["00", "10", "20"], [9.0, 1.0, 2.5])}
    c.apply(tracker.advance(windows((10, "a", 1.1), (20, "a", 2.5), (0, "a", 9.0))))
    assert series_data(c) == {"a": (["00", "10", "20"], [9.0, 1.1, 2.5])}  # the key map followed the sort


GROUPED = pa.schema([("device", pa.string()), ("site", pa.string()), ("n", pa.int64()), ("avg_temp", pa.float64())])


def grouped(*rows):
    return to_pandas(pa.Table.from_pylist([dict(zip(GROUPED.names, r)) for r in rows], schema=GROUPED))


def drawn(c):
    return {k: sorted(zip(s.source.data["x"].tolist() if hasattr(s.source.data["x"], "tolist") else
                          list(s.source.data["x"]), [float(v) for v in s.source.data["y0"]]))
            for k, s in c.series.items()}


@pytest.mark.parametrize("kind", ["scatter", "line"])
def test_update_mode_moves_a_keys_point_when_x_is_not_a_key_or_its_series_changes(kind):
    """x a count and --by a column of the row, neither a key: the chart holds what the result holds."""
    spec = ChartSpec.parse(kind, x="n", y="avg_temp", by="site").resolve(column_kinds(GROUPED), "per_device")
    c, tracker = Chart(spec, column_kinds(GROUPED), "update"), ResultTracker("update", ["device"])
    c.apply(tracker.advance(grouped(("a", "lab", 1, 20.0), ("b", "lab", 2, 21.0))))
    c.apply(tracker.advance(grouped(("a", "lab", 3, 22.0), ("b", "roof", 2, 21.0))))
    assert drawn(c) == {"lab": [(3.0, 22.0)], "roof": [(2.0, 21.0)]}
    c.apply(tracker.advance(grouped(("a", "lab", 0, 19.0), ("b", "lab", 5, 25.0))))
    assert drawn(c) == {"lab": [(0.0, 19.0), (5.0, 25.0)], "roof": []}
    if kind == "line":  # a line's points stay in x order
        assert list(c.series["lab"].source.data["x"]) == [0.0, 5.0]
    c.apply(tracker.advance(grouped(("a", "lab", 9, 1.0), ("b", "lab", 5, 25.0))))
    assert drawn(c) == {"lab": [(5.0, 25.0), (9.0, 1.0)], "roof": []}
    if kind == "line":  # a's point patched from x 0 to x 9: put back after b's
        assert list(c.series["lab"].source.data["x"]) == [5.0, 9.0]
        assert c.series["lab"].where == {("a",): 1, ("b",): 0}


def test_append_mode_streams_only_new_rows_with_a_rollover():
    c, tracker = chart("scatter", mode="append", rollover=3)
    first = windows((0, "a", 1.0), (0, "b", 2.0))
    c.apply(tracker.advance(first))
    events = Events(c)
    c.apply(tracker.advance(pd.concat([first, windows((10, "a", 3.0), (20, "a", 4.0), (30, "a", 5.0))])))
    assert set(events.take()) == {ColumnsStreamedEvent}
    assert series_data(c) == {"a": (["10", "20", "30"], [3.0, 4.0, 5.0]), "b": (["00"], [2.0])}


def test_append_mode_keeps_its_rollover_when_a_view_that_fell_behind_draws_the_whole_result():
    c, tracker = chart("scatter", mode="append", rollover=2)
    c.apply(tracker.advance(windows((0, "a", 1.0), (5, "a", 1.5), (10, "a", 2.0), (20, "b", 3.0))))
    # the memory sink dropped rows the view had not drawn (its max_rows): the view draws what it holds anew
    delta = tracker.advance(windows((25, "a", 4.0), (30, "a", 5.0), (35, "a", 6.0)))
    assert delta.replace
    c.apply(delta)
    assert series_data(c) == {"a": (["30", "35"], [5.0, 6.0]), "b": ([], [])}


def test_complete_mode_replaces_the_data():
    c, tracker = chart(mode="complete")
    c.apply(tracker.advance(windows((0, "a", 1.0), (10, "a", 2.0))))
    events = Events(c)
    c.apply(tracker.advance(windows((10, "a", 2.5))))
    assert ColumnDataChangedEvent in events.take()
    assert series_data(c) == {"a": (["10"], [2.5])}


def test_several_y_columns_one_glyph_each_and_bars_side_by_side_on_categories():
    schema = pa.schema([("device", pa.string()), ("avg_temp", pa.float64()), ("n", pa.int64())])
    kinds = column_kinds(schema)
    c = Chart(ChartSpec.parse("bar", x="device", y="avg_temp,n").resolve(kinds, "q"), kinds, "update")
    tracker = ResultTracker("update", ["device"])
    c.apply(tracker.advance(pd.DataFrame({"device": ["b", "a"], "avg_temp": [1.0, 2.0], "n": [1, 2]})))
    c.apply(tracker.advance(pd.DataFrame({"device": ["b", "a", "c"], "avg_temp": [1.0, 2.5, 3.0],
                                          "n": [1, 3, 1]})))
    assert list(c.figure.x_range.factors) == ["a", "b", "c"]
    (series,) = c.series.values()
    assert len(series.glyphs) == 2
    assert [r.glyph.width for r in series.glyphs] == [0.4, 0.4]
    assert [r.glyph.x.transform.value for r in series.glyphs] == [-0.2, 0.2]
    assert dict(zip(series.source.data["x"], series.source.data["y1"])) == {"b": 1, "a": 3, "c": 1}
    assert c.figure.xaxis[0].__class__.__name__ == "CategoricalAxis"   # the categories are labelled


def test_window_bars_are_as_wide_as_the_window_and_the_axis_is_a_time_axis():
    c, tracker = chart("bar")
    c.apply(tracker.advance(windows((0, "a", 1.0), (0, "b", 2.0))))
    assert c.figure.xaxis[0].__class__.__name__ == "DatetimeAxis"
    assert [s.glyphs[0].glyph.width for s in c.series.values()] == [4000.0, 4000.0]  # 0.8 x 10 s, 2 bars


def test_patching_arrays_from_pandas_does_not_warn():
    c, tracker = chart(by=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c.apply(tracker.advance(windows((0, "a", 1.0))))
        c.apply(tracker.advance(windows((0, "a", 2.0))))


def test_update_mode_rollover_keeps_the_key_map_true():
    c, tracker = chart(rollover=2)
    c.apply(tracker.advance(windows((0, "a", 1.0), (10, "a", 2.0))))
    c.apply(tracker.advance(windows((0, "a", 1.0), (10, "a", 2.0), (20, "a", 3.0))))
    assert series_data(c) == {"a": (["10", "20"], [2.0, 3.0])}
    c.apply(tracker.advance(windows((0, "a", 1.0), (10, "a", 2.5), (20, "a", 3.0))))
    assert series_data(c) == {"a": (["10", "20"], [2.5, 3.0])}


def model_ids(c):
    return {m.id for m in c.figure.document.models}


@pytest.mark.parametrize("kind", ["line", "scatter", "bar", "area"])
@pytest.mark.parametrize("mode", ["update", "append", "complete"])
def test_no_model_is_added_after_the_chart_is_built_whatever_the_series_do(kind, mode):
    c, tracker = chart(kind, mode=mode)
    before = model_ids(c)
    rows = [(0, "a", 1.0)]
    c.apply(tracker.advance(windows(*rows)))
    rows += [(10, "a", 2.0), (10, "b", 3.0), (0, "c", 4.0)]       # two series appear late, one of them late
    c.apply(tracker.advance(windows(*rows)))
    rows = [(s, d, v + 1) for s, d, v in rows] + [(20, "d", 5.0)]   # every value changes, a fourth series
    c.apply(tracker.advance(windows(*rows)))
    assert model_ids(c) == before
    assert sorted(c.series) == ["a", "b", "c", "d"]
    visible = [item.label.value for item in c.legend.items if item.visible]
    assert visible == ["a", "b", "c", "d"] and c.legend.visible


def test_one_update_is_one_message_however_many_series_change():
    c, tracker = chart()
    five = [(0, d, 1.0) for d in "abcde"]
    c.apply(tracker.advance(windows(*five)))
    events, sent = Events(c), c.widget.patches_sent
    c.apply(tracker.advance(windows(*[(s, d, 2.0) for s in (0, 10) for d in "abcde"])))
    assert len(events.take()) == 10                       # a patch and a stream per series ...
    assert c.widget.patches_sent == sent + 1              # ... sent as one PATCH-DOC


def test_nothing_the_page_sends_changes_the_chart():
    c, tracker = chart()
    c.apply(tracker.advance(windows((0, "a", 1.0))))
    source = c.series["a"].source
    echo = {"event": "jsevent", "kind": "ColumnsStreamed", "model": {"id": source.id}, "attr": "data",
            "data": {"type": "map", "entries": [["x", [1.0]], ["y0", [1.0]]]}, "rollover": None}
    c.widget._sync_model(c.widget, echo, [])              # jupyter_bokeh's page echoes what it applied
    assert series_data(c) == {"a": (["00"], [1.0])}
    assert c.widget.messages_from_page == 1


def test_the_page_is_told_to_send_nothing_once_its_document_is_ready():
    from stream_nb.notebook.bokeh_widget import ONE_WAY_JS

    c, _ = chart()
    (document,) = c.widget.render_bundle["docs_json"].values()
    (event, (callback,)), = document["callbacks"]["entries"]
    assert event == "document_ready" and callback["attributes"]["code"] == ONE_WAY_JS


def test_a_time_axis_reads_as_times_from_the_first_point():
    c, tracker = chart()
    c.apply(tracker.advance(windows((0, "a", 1.0))))       # one x value: the axis spans 10 s around it
    assert c.figure.x_range.default_span == 10_000
    formatter = c.figure.xaxis[0].formatter
    assert "us" not in formatter.microseconds + formatter.milliseconds
    assert formatter.seconds == "%H:%M:%S"


def test_the_legend_sits_beside_the_plot_and_only_when_there_are_series_to_tell_apart():
    c, _ = chart()
    assert c.figure.right == [c.legend] and not c.figure.center[2:]
    single, _ = chart(by=None)
    assert single.legend is None and not single.figure.right


def test_series_beyond_the_slots_are_left_out_and_counted():
    from stream_nb.notebook.chart_slots import MAX_SERIES

    c, tracker = chart("scatter", mode="append")
    c.apply(tracker.advance(windows(*[(0, f"d{i:02d}", float(i)) for i in range(MAX_SERIES + 2)])))
    assert len(c.series) == MAX_SERIES and c.left_out == {f"d{MAX_SERIES}", f"d{MAX_SERIES + 1}"}


def test_an_empty_chart_keeps_valid_ranges_with_a_hidden_anchor_point_until_the_first_point():
    c, tracker = chart(mode="complete")
    anchor = c.figure.select_one({"name": ANCHOR})
    assert not anchor.visible and len(anchor.data_source.data["x"]) == 1 and c.points == 0
    c.apply(tracker.advance(windows((0, "a", 1.0))))
    assert anchor.data_source.data == {"x": [], "y": []}
    c.apply(tracker.advance(windows()))                   # complete mode: the result is empty again
    assert c.points == 0 and len(anchor.data_source.data["x"]) == 1


def test_the_first_view_in_the_page_gets_the_whole_figure_again():
    c, tracker = chart()
    c.apply(tracker.advance(windows((0, "a", 1.0))))      # sent before the page had a view: lost there
    assert '"a"' not in json.dumps(c.widget.render_bundle)
    c.widget._view_count = 1                              # the page made the widget's view
    assert '"a"' in json.dumps(c.widget.render_bundle)


def test_a_line_series_with_one_point_is_drawn_as_a_marker():
    """A line needs two points: a series' first window shows as a marker on the line's own data."""
    from bokeh.models import Scatter

    c, tracker = chart("line")
    c.apply(tracker.advance(windows((0, "a", 1.0))))
    series = c.series["a"]
    markers = [r for r in c.figure.renderers
               if isinstance(r.glyph, Scatter) and r.data_source is series.source]
    assert len(markers) == 1 and markers[0].visible
    assert markers[0] in series.items[0].renderers  # the legend entry stands for line and markers together
