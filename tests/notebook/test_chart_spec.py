"""A chart's options are checked against the query's output: what is left out is filled in, and an option that
does not fit says which column is wrong and which columns there are."""

import pyarrow as pa
import pytest

from stream_nb.notebook.chart_spec import ChartOptionError, ChartSpec
from stream_nb.notebook.results import column_kinds
from stream_nb.types import TIMESTAMP

WINDOWED = pa.schema([("w", pa.struct([("start", TIMESTAMP), ("end", TIMESTAMP)])), ("device", pa.string()),
                      ("avg_temp", pa.float64())])
KINDS = column_kinds(WINDOWED)


@pytest.mark.parametrize(("options", "says"), [
    ({"x": "w"}, "'w' is a struct, e.g. a window: use w.start or w.end"),
    ({"x": "ts"}, "has no column 'ts'; its columns are w.start, w.end, device, avg_temp"),
    ({"y": "device"}, "column 'device' is not a number"),
])
def test_chart_options_that_do_not_fit_the_output_say_why(options, says):
    with pytest.raises(ChartOptionError, match=None) as error:
        ChartSpec.parse("line", **options).resolve(KINDS, "averages")
    assert says in str(error.value)


def test_unknown_chart_kind():
    with pytest.raises(ChartOptionError, match="line, bar, scatter, area"):
        ChartSpec.parse("pie")


def test_left_out_x_and_y_are_the_first_time_column_and_the_first_number_beside_by():
    spec = ChartSpec.parse("line", by="device").resolve(KINDS, "averages")
    assert (spec.x, spec.y, spec.by) == ("w.start", ("avg_temp",), "device")


def test_no_option_asks_for_no_chart():
    assert ChartSpec.parse() is None
